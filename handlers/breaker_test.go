package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestPausedWebhookIsShown: a receiver failing BreakerFailures attempts in
// a row trips the circuit breaker; the list's badge, the webhook page and
// the API's paused_until say so, and once the pause is over the console
// says a probe is being sent.
func TestPausedWebhookIsShown(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	bad := liveHook(t, app, tn, "Breaker receiver", http.StatusInternalServerError)
	for i := range models.BreakerFailures {
		ingest(t, app, tn, "call.hangup", fmt.Sprintf("CA-BREAKER-%d", i))
	}
	var row models.Webhook
	if err := app.DB.Where("id = ?", bad.ID).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.PausedUntil == nil || row.ConsecutiveFailures != models.BreakerFailures {
		t.Fatalf("after %d failures: paused until %v, streak %d", models.BreakerFailures, row.PausedUntil, row.ConsecutiveFailures)
	}
	// Hold the pause still for what follows (it lasts a second).
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := app.DB.Exec(`UPDATE webhooks SET paused_until = ? WHERE id = ?`, until, bad.ID).Error; err != nil {
		t.Fatal(err)
	}
	want := "Paused until " + until.In(tn.Account.Location()).Format("Jan 2, 15:04:05 MST") + ", after 5 failures in a row"
	c := app.SignIn(t, tn)
	if row := between(c.Get(t, "/webhooks").Body, `id="row-`+bad.ID+`"`, "</tr>"); !strings.Contains(row, `badge-warn">`+want) {
		t.Errorf("list row lacks %q: %s", want, row)
	}
	if health := between(c.Get(t, "/webhooks/"+bad.ID).Body, `id="webhook-health"`, "</dd>"); !strings.Contains(health, `id="webhook-paused"`) || !strings.Contains(health, want) {
		t.Errorf("webhook page lacks %q: %s", want, health)
	}

	key := mustAPIKey(t, app, tn, "breaker", true)
	res := apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+bad.ID, key, "")
	wantStatus(t, res, http.StatusOK)
	var got struct {
		Data struct {
			PausedUntil *time.Time `json:"paused_until"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Data.PausedUntil == nil || !got.Data.PausedUntil.Equal(until) {
		t.Errorf("API paused_until %v, want %v: %s", got.Data.PausedUntil, until, res.Body)
	}

	if err := app.DB.Exec(`UPDATE webhooks SET paused_until = ? WHERE id = ?`, time.Now().Add(-time.Second), bad.ID).Error; err != nil {
		t.Fatal(err)
	}
	if row := between(c.Get(t, "/webhooks").Body, `id="row-`+bad.ID+`"`, "</tr>"); !strings.Contains(row, "Testing the receiver with one delivery at a time, after 5 failures in a row") {
		t.Errorf("half-open row: %s", row)
	}

	// Re-enabling clears the breaker with the streak.
	if _, err := app.Store.SetWebhookEnabled(t.Context(), tn.Account.ID, bad.ID, models.Actor{Label: "test"}, false, "off"); err != nil {
		t.Fatal(err)
	}
	w, err := app.Store.SetWebhookEnabled(t.Context(), tn.Account.ID, bad.ID, models.Actor{Label: "test"}, true, "")
	if err != nil || w.PausedUntil != nil || w.PauseTrips != 0 || w.ConsecutiveFailures != 0 {
		t.Fatalf("after re-enabling: %+v %v", w, err)
	}
	res = apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+bad.ID, key, "")
	if wantStatus(t, res, http.StatusOK); !strings.Contains(res.Body, `"paused_until":null`) {
		t.Errorf("API after re-enabling: %s", res.Body)
	}
}
