package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// liveHook is a webhook of tn whose URL is a real receiver answering code.
func liveHook(t *testing.T, app *handlertest.App, tn handlertest.Tenant, name string, code int) *models.Webhook {
	t.Helper()
	rc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(code)
		fmt.Fprint(rw, http.StatusText(code))
	}))
	t.Cleanup(rc.Close)
	w := logWebhook(t, app, tn, name)
	if err := app.DB.Exec(`UPDATE webhooks SET url = ? WHERE id = ?`, rc.URL+"/in", w.ID).Error; err != nil {
		t.Fatal(err)
	}
	w.URL = rc.URL + "/in"
	return w
}

// ingest sends one call event of type typ for callID through the
// dispatcher and lets it make the first attempts.
func ingest(t *testing.T, app *handlertest.App, tn handlertest.Tenant, typ, callID string) string {
	t.Helper()
	id := models.NewID("evt_")
	raw := map[string]any{}
	body := strings.Replace(strings.Replace(hangupEvent, "evt_%s", id, 1), "call_01JRB3PZ5X", callID, 1)
	body = strings.Replace(body, `"event":"call.hangup"`, `"event":"`+typ+`"`, 1)
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Dispatcher.Ingest(context.Background(), tn.Account.ID, raw); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if _, err := app.Dispatcher.ProcessDue(context.Background()); err != nil {
		t.Fatalf("process: %v", err)
	}
	return id
}

// TestFailingWhileRetrying: a receiver answering 500 makes its webhook
// failing on the list, its page and the dashboard while the delivery is
// still being retried, and the dashboard's counters and recent failures
// agree (test sends in neither).
func TestFailingWhileRetrying(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	bad := liveHook(t, app, tn, "Broken receiver", http.StatusInternalServerError)
	good := liveHook(t, app, tn, "Fine receiver", http.StatusOK)
	ingest(t, app, tn, "call.hangup", "CA-HEALTH-1")
	if _, err := app.Dispatcher.SendTest(context.Background(), bad, "call.hangup"); err != nil {
		t.Fatalf("test send: %v", err)
	}
	var d models.Delivery
	if err := app.DB.Where("webhook_id = ? AND NOT test", bad.ID).Take(&d).Error; err != nil {
		t.Fatal(err)
	}
	if d.Status != models.StatusPending || d.AttemptCount != 1 {
		t.Fatalf("the failing delivery is %s after %d attempts, want pending (retrying) after 1", d.Status, d.AttemptCount)
	}
	var testID int64
	if err := app.DB.Raw(`SELECT id FROM deliveries WHERE webhook_id = ? AND test`, bad.ID).Scan(&testID).Error; err != nil || testID == 0 {
		t.Fatalf("no test delivery: %v", err)
	}
	c := app.SignIn(t, tn)

	t.Run("list", func(t *testing.T) {
		body := c.Get(t, "/webhooks").Body
		row := between(body, `id="row-`+bad.ID+`"`, "</tr>")
		for _, want := range []string{"0.0%", `badge-bad">Failing: 1 failed attempt in a row, 1 delivery retrying`} {
			if !strings.Contains(row, want) {
				t.Errorf("failing row lacks %q: %s", want, row)
			}
		}
		if okRow := between(body, `id="row-`+good.ID+`"`, "</tr>"); !strings.Contains(okRow, "100.0%") || !strings.Contains(okRow, `badge-ok">Healthy`) {
			t.Errorf("healthy row: %s", okRow)
		}
	})
	t.Run("detail", func(t *testing.T) {
		health := between(c.Get(t, "/webhooks/"+bad.ID).Body, `id="webhook-health"`, "</dd>")
		if !strings.Contains(health, `badge-bad">Failing`) || !strings.Contains(health, "0.0% of attempts succeeded") {
			t.Errorf("health: %s", health)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		body := c.Get(t, "/").Body
		for _, want := range []string{
			`<span class="stat-value">1</span><span class="stat-label">delivered, last 24 h`,
			`<span class="stat-value">1</span><span class="stat-label">failed or retrying, last 24 h`,
			`<span class="stat-value">50.0%</span><span class="stat-label">attempts succeeded`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		failing := between(body, `id="failing-webhooks"`, "</section>")
		if !strings.Contains(failing, "Broken receiver") || strings.Contains(failing, "Fine receiver") {
			t.Errorf("failing webhooks: %s", failing)
		}
		recent := between(body, `id="recent-failures"`, "</section>")
		if !strings.Contains(recent, `id="failure-`+pubID(t, app, d.ID)+`"`) || !strings.Contains(recent, "retrying") {
			t.Errorf("recent failures lack the retrying delivery: %s", recent)
		}
		if strings.Contains(recent, `id="failure-`+pubID(t, app, testID)+`"`) {
			t.Errorf("recent failures list the test send, which the counters leave out: %s", recent)
		}
	})
}

// between is the part of s from the first start to the next end after it.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}
