package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestIngestWhileDatabaseAway: while PostgreSQL is unreachable, ingest
// answers 503 with Retry-After (producers retry 5xx, so the event is not
// lost and not poisoned) and /readyz says not ready; once it is back the
// same event is accepted once.
func TestIngestWhileDatabaseAway(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{DBProxy: true})
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "pbx", true)
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", "http://127.0.0.1:9/in", []string{"call.hangup"}
	if _, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in); err != nil {
		t.Fatal(err)
	}
	c := app.NewClient(t)
	body := strings.Replace(hangupEvent, "%s", "01JRB3Q7Z8K2M4N6P8R0AWAY01", 1)

	app.DBProxy.Stop()
	res := apiPost(t, c, "/api/v1/events", key, "application/json", body)
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(res.Body, `"code":"unavailable"`) || strings.Contains(res.Body, "dial") {
		t.Fatalf("ingest with the database away: %s", handlertest.Describe(res))
	}
	if ready := c.Get(t, "/readyz"); ready.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database away: %s", handlertest.Describe(ready))
	}

	app.DBProxy.Start()
	res = apiPost(t, c, "/api/v1/events", key, "application/json", body)
	if res.Status != http.StatusAccepted || !strings.Contains(res.Body, `"deliveries":1`) {
		t.Fatalf("ingest after the database came back: %s", handlertest.Describe(res))
	}
	if again := apiPost(t, c, "/api/v1/events", key, "application/json", body); again.Status != http.StatusOK {
		t.Fatalf("the retried event must be a duplicate now: %s", handlertest.Describe(again))
	}
}

// TestIngestBatchWhileDatabaseAway: a batch sent while PostgreSQL is
// unreachable answers 503 and stores nothing; sent again once it is back,
// every event is accepted once.
func TestIngestBatchWhileDatabaseAway(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{DBProxy: true})
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "pbx", true)
	newHangupHook(t, app, tn, "http://127.0.0.1:9/in")
	c := app.NewClient(t)
	events := []string{hangup("away0001"), hangup("away0002")}

	app.DBProxy.Stop()
	if res := postBatch(t, c, key, "", events...); res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("batch with the database away: %s", handlertest.Describe(res))
	}
	app.DBProxy.Start()
	if n := countRows(t, app, "events", "evt_away0001"); n != 0 {
		t.Fatalf("%d events stored while the database was away", n)
	}
	if got := decodeBatch(t, postBatch(t, c, key, "", events...)); got.Accepted != 2 || got.Results[1].Deliveries != 1 {
		t.Fatalf("batch after the database came back: %+v", got)
	}
	if got := decodeBatch(t, postBatch(t, c, key, "", events...)); got.Duplicates != 2 {
		t.Fatalf("the retried batch must be duplicates now: %+v", got)
	}
}
