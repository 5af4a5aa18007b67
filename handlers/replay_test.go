package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestReEnableAndReplay: a receiver answers 410, the webhook is disabled;
// the banner offers to re-enable and replay what failed, and the replay
// (a bulk-retry job) delivers the same events, as manual attempts, once
// the receiver is back.
func TestReEnableAndReplay(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	var gone atomic.Bool
	gone.Store(true)
	var ok atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
			return
		}
		ok.Add(1)
	}))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.MaxAttempts = "flaky", rc.URL, []string{"call.hangup"}, 1
	in.OrderedByCall = false // both hangups share a call id and must fail in the same turn
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	key := mustAPIKey(t, app, tn, "pbx", true)
	c := app.NewClient(t)
	for _, id := range []string{"01JRB3Q7Z8K2M4N6P8R0S2T4A1", "01JRB3Q7Z8K2M4N6P8R0S2T4A2"} {
		if res := apiPost(t, c, "/api/v1/events", key, "application/json", strings.Replace(hangupEvent, "%s", id, 1)); res.Status != http.StatusAccepted {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	}
	if _, err := app.Dispatcher.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
	if got.Enabled {
		t.Fatal("410 should have disabled the webhook")
	}

	admin := app.SignIn(t, tn)
	page := admin.Get(t, "/webhooks/"+w.ID)
	if !strings.Contains(page.Body, "Replay 2 failed deliveries") {
		t.Fatalf("no replay offer on the disabled banner:\n%.3000s", page.Body)
	}
	since := regexp.MustCompile(`name="since" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if since == nil {
		t.Fatal("no since value in the form")
	}
	gone.Store(false)
	res := admin.Post(t, "/webhooks/"+w.ID+"/replay", url.Values{"since": {since[1]}, "enable": {"true"}, "replay": {"failed"}})
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/jobs/job_") {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	got, _ = app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
	if !got.Enabled {
		t.Fatal("not re-enabled")
	}
	// The replay is a bulk-retry job: its page shows it finishing.
	deadline := time.Now().Add(15 * time.Second)
	for page := admin.Get(t, res.Location); !strings.Contains(page.Body, "Done: 2 failed deliveries were queued again"); page = admin.Get(t, res.Location) {
		if time.Now().After(deadline) {
			t.Fatalf("replay job never finished:\n%.3000s", page.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, err := app.Dispatcher.ProcessDue(context.Background()); err != nil || n != 2 {
		t.Fatalf("replayed %d: %v", n, err)
	}
	if ok.Load() != 2 {
		t.Fatalf("receiver got %d replayed deliveries", ok.Load())
	}
	var attempts []models.Attempt
	app.DB.Where("webhook_id = ?", w.ID).Order("delivery_id, number").Find(&attempts)
	if len(attempts) != 4 || attempts[1].Number != 2 || !attempts[1].Succeeded() || attempts[1].Trigger != models.TriggerManual {
		t.Fatalf("%d attempts; second %+v", len(attempts), attempts[1])
	}
	t.Run("another account cannot replay it", func(t *testing.T) {
		other := app.SignIn(t, app.NewTenant(t, models.RoleAdmin))
		other.Get(t, "/webhooks")
		if res := other.Post(t, "/webhooks/"+w.ID+"/replay", url.Values{"enable": {"true"}}); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}
