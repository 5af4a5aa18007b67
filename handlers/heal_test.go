package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestHealOnWebhookPageAndAPI: a webhook disabled by a 410 shows its
// probes on its page and in the API while they fail; after a probe
// answers 2xx the page says it was re-enabled and how many deliveries
// were replayed, and the API's probe object says the same.
func TestHealOnWebhookPageAndAPI(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	var gone atomic.Bool
	gone.Store(true)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
		}
	}))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.MaxAttempts, in.OrderedByCall = "healing", rc.URL, []string{"call.hangup"}, 1, false
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	key := mustAPIKey(t, app, tn, "pbx", true)
	c := app.NewClient(t)
	for _, id := range []string{"01JRB3Q7Z8K2M4N6P8R0S2T4H1", "01JRB3Q7Z8K2M4N6P8R0S2T4H2"} {
		if res := apiPost(t, c, "/api/v1/events", key, "application/json", strings.Replace(hangupEvent, "%s", id, 1)); res.Status != http.StatusAccepted {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	}
	if _, err := app.Dispatcher.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The first probe is due a minute after the disable; the fixture
	// brings it forward instead of waiting.
	dueNow := func() {
		t.Helper()
		if err := app.DB.Exec("UPDATE webhooks SET probe_next_at = ? WHERE id = ? AND probe_next_at IS NOT NULL", time.Now().Add(-time.Second), w.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	dueNow()
	if n, err := app.Dispatcher.ProcessProbes(context.Background()); err != nil || n != 1 {
		t.Fatalf("probes sent %d, %v", n, err)
	}
	admin := app.SignIn(t, tn)
	page := admin.Get(t, "/webhooks/"+w.ID)
	for _, want := range []string{"This webhook is disabled.", "Ringhook probes the endpoint", "1 probe so far, last: HTTP 410", "Probe attempts"} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("page lacks %q:\n%.4000s", want, page.Body)
		}
	}
	res := apiGet(t, c, "/api/v1/webhooks/"+w.ID, "Bearer "+key)
	var env struct {
		Data *struct {
			Enabled bool `json:"enabled"`
			Probe   *struct {
				NextProbeAt     *time.Time `json:"next_probe_at"`
				Probes          int        `json:"probes"`
				LastProbeResult *string    `json:"last_probe_result"`
				HealedAt        *time.Time `json:"healed_at"`
				Replayed        int        `json:"replayed"`
			} `json:"probe"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.Body), &env); err != nil || res.Status != http.StatusOK {
		t.Fatalf("%s: %v", handlertest.Describe(res), err)
	}
	body := env.Data
	if body.Enabled || body.Probe == nil || body.Probe.Probes != 1 || body.Probe.NextProbeAt == nil || body.Probe.LastProbeResult == nil {
		t.Fatalf("API while probing: %s", res.Body)
	}

	gone.Store(false)
	dueNow()
	if n, err := app.Dispatcher.ProcessProbes(context.Background()); err != nil || n != 1 {
		t.Fatalf("probes sent %d, %v", n, err)
	}
	page = admin.Get(t, "/webhooks/"+w.ID)
	if !strings.Contains(page.Body, "Re-enabled automatically at") || !strings.Contains(page.Body, "after a successful probe; 2 deliveries replayed.") {
		t.Fatalf("no heal banner:\n%.4000s", page.Body)
	}
	res = apiGet(t, c, "/api/v1/webhooks/"+w.ID, "Bearer "+key)
	env.Data = nil
	if err := json.Unmarshal([]byte(res.Body), &env); err != nil {
		t.Fatal(err)
	}
	body = env.Data
	if !body.Enabled || body.Probe == nil || body.Probe.HealedAt == nil || body.Probe.Replayed != 2 || body.Probe.NextProbeAt != nil {
		t.Fatalf("API after the heal: %s", res.Body)
	}
	audit := admin.Get(t, "/audit")
	if !strings.Contains(audit.Body, "Re-enabled automatically") {
		t.Fatalf("audit log lacks the re-enable:\n%.3000s", audit.Body)
	}
}

// TestOperationalEventsFromConsoleAndAPI: disabling and enabling a webhook
// in the console and through the API emits webhook.disabled and
// webhook.enabled to the account's other subscribed webhook, never to the
// webhook concerned.
func TestOperationalEventsFromConsoleAndAPI(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	mk := func(name string) *models.Webhook {
		in := models.NewWebhookInput("UTC")
		in.Name, in.URL, in.EventTypes = name, "http://127.0.0.1:9/hook", []string{"webhook.disabled", "webhook.enabled"}
		w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	subject, watcher := mk("subject"), mk("watcher")
	admin := app.SignIn(t, tn)
	if res := admin.Post(t, "/webhooks/"+subject.ID+"/toggle", map[string][]string{"enabled": {"false"}}); res.Status >= 400 {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	key := mustAPIKey(t, app, tn, "ops", true)
	c := app.NewClient(t)
	if res := apiPost(t, c, "/api/v1/webhooks/"+subject.ID+"/enable", key, "application/json", `{}`); res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	count := func(webhookID, typ string) int {
		var n int64
		if err := app.DB.Raw(`SELECT count(*) FROM deliveries d JOIN events e ON e.account_id = d.account_id AND e.id = d.event_id
			WHERE d.account_id = ? AND d.webhook_id = ? AND d.event_type = ? AND e.payload->>'about_webhook_id' = ?`,
			tn.Account.ID, webhookID, typ, subject.ID).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	if count(watcher.ID, "webhook.disabled") != 1 || count(watcher.ID, "webhook.enabled") != 1 {
		t.Fatalf("watcher got %d webhook.disabled and %d webhook.enabled about subject, want 1 and 1",
			count(watcher.ID, "webhook.disabled"), count(watcher.ID, "webhook.enabled"))
	}
	if n := count(subject.ID, "webhook.disabled") + count(subject.ID, "webhook.enabled"); n != 0 {
		t.Fatalf("subject got %d events about itself", n)
	}
}
