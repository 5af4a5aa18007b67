package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestConsoleShowsHeldBehind: on a webhook ordered by call, a delivery
// waiting behind an earlier one of its call says so, with a link to it, in
// the delivery log and on its page; another account sees neither.
func TestConsoleShowsHeldBehind(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "ordered", rc.URL, []string{"call.hangup"}
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
	if n, err := app.Dispatcher.ProcessDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d (%v), want the call's first delivery alone", n, err)
	}
	rows, err := app.Store.Deliveries(context.Background(), tn.Account.ID, models.DeliveryFilter{WebhookID: w.ID})
	if err != nil || len(rows) != 2 {
		t.Fatalf("deliveries %v %v", rows, err)
	}
	head, held := pubID(t, app, rows[1].ID), pubID(t, app, rows[0].ID) // newest first
	want := `held behind <a href="/deliveries/` + head + `">delivery ` + head + `</a>`
	admin := app.SignIn(t, tn)
	if page := admin.Get(t, "/deliveries"); !strings.Contains(page.Body, want) || strings.Count(page.Body, "held behind") != 1 {
		t.Errorf("the log does not show the waiting delivery as held behind %s (once):\n%.4000s", head, page.Body)
	}
	if page := admin.Get(t, "/deliveries/"+held); !strings.Contains(page.Body, want) {
		t.Errorf("the delivery page does not say held behind %s", head)
	}
	if page := admin.Get(t, "/deliveries/"+head); strings.Contains(page.Body, "held behind") {
		t.Error("the call's head is shown as held")
	}
	other := app.SignIn(t, app.NewTenant(t, models.RoleAdmin))
	if page := other.Get(t, "/deliveries/"+held); page.Status != http.StatusNotFound {
		t.Errorf("another account opened the delivery: %d", page.Status)
	}
	if got, err := app.Store.HeldBehind(context.Background(), "acc_other000000", []int64{rows[0].ID}, time.Now()); err != nil || len(got) != 0 {
		t.Errorf("HeldBehind answered another account: %v %v", got, err)
	}
}
