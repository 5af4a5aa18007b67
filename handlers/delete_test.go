package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestDeleteKeepsHistory: the confirmation says the history is kept for
// the account's retention; after the delete the webhook is gone from the
// list, its page, matching, the dispatcher and the API, but the delivery
// log, the delivery page, the call view and GET /api/v1/deliveries/{id}
// still show its deliveries, marked "deleted webhook"; the delivery that
// was waiting is cancelled and never sent, and none can be redelivered.
func TestDeleteKeepsHistory(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.OrderedByCall = "Old CRM", rc.URL, []string{"call.hangup"}, false
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	key := mustAPIKey(t, app, tn, "pbx", true)
	api := app.NewClient(t)
	n := 0
	ingest := func() {
		t.Helper()
		n++
		if res := apiPost(t, api, "/api/v1/events", key, "application/json", strings.Replace(hangupEvent, "%s", fmt.Sprintf("01JRB3Q7Z8K2M4N6P8R0S2TD%02d", n), 1)); res.Status != http.StatusAccepted {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	}
	ingest()
	if _, err := app.Dispatcher.ProcessDue(ctx); err != nil || got.Load() != 1 {
		t.Fatalf("first delivery: %d sent, %v", got.Load(), err)
	}
	ingest() // waits, pending, when the webhook is deleted
	var ids []int64
	app.DB.Model(&models.Delivery{}).Where("webhook_id = ?", w.ID).Order("id").Pluck("id", &ids)
	if len(ids) != 2 {
		t.Fatalf("deliveries %v", ids)
	}
	sent, waiting := pubID(t, app, ids[0]), pubID(t, app, ids[1])

	c := app.SignIn(t, tn)
	confirm := c.Get(t, "/webhooks/"+w.ID+"/delete")
	if text := pageText(confirm.Body); !strings.Contains(text, `stay readable, marked "deleted webhook", for 30 days`) || !strings.Contains(text, "cancelled and never sent") {
		t.Errorf("the confirmation does not say the history is kept: %.800s", text)
	}
	if page := c.Get(t, "/webhooks/"+w.ID); !strings.Contains(page.Body, "deleted webhook&#34;, for 30 days") && !strings.Contains(page.Body, "deleted webhook&quot;, for 30 days") {
		t.Errorf("the Delete question on the page does not say the history is kept")
	}
	if res := c.Post(t, "/webhooks/"+w.ID+"/delete", url.Values{}); res.Status != http.StatusSeeOther || res.Location != "/webhooks" {
		t.Fatalf("delete: %s", handlertest.Describe(res))
	}

	t.Run("gone from the console and the API", func(t *testing.T) {
		if list := c.Get(t, "/webhooks"); strings.Contains(list.Body, `href="/webhooks/`+w.ID+`"`) {
			t.Error("the list shows the deleted webhook")
		}
		for _, p := range []string{"/webhooks/" + w.ID, "/webhooks/" + w.ID + "/edit", "/webhooks/" + w.ID + "/delete"} {
			if res := c.Get(t, p); res.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", p, res.Status)
			}
		}
		if res := c.Post(t, "/webhooks/"+w.ID+"/toggle", url.Values{"enabled": {"true"}}); res.Status != http.StatusNotFound {
			t.Errorf("re-enable a deleted webhook: %d", res.Status)
		}
		wantStatus(t, apiDo(t, api, http.MethodGet, "/api/v1/webhooks/"+w.ID, key, ""), http.StatusNotFound)
		wantStatus(t, apiDo(t, api, http.MethodDelete, "/api/v1/webhooks/"+w.ID, key, ""), http.StatusNotFound)
		if res := apiDo(t, api, http.MethodGet, "/api/v1/webhooks", key, ""); strings.Contains(res.Body, w.ID) {
			t.Error("GET /api/v1/webhooks lists the deleted webhook")
		}
	})

	t.Run("never sent", func(t *testing.T) {
		ingest() // matches nothing now
		if _, err := app.Dispatcher.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		if got.Load() != 1 {
			t.Fatalf("the receiver got %d requests after the delete, want the 1 from before", got.Load())
		}
		var d models.Delivery
		app.DB.Where("id = ?", ids[1]).Take(&d)
		if d.Status != models.StatusCancelled {
			t.Errorf("the waiting delivery is %s, want cancelled", d.Status)
		}
		var count int64
		app.DB.Model(&models.Delivery{}).Where("webhook_id = ?", w.ID).Count(&count)
		if count != 2 {
			t.Errorf("a new event made a delivery for the deleted webhook: %d", count)
		}
	})

	t.Run("history readable, labelled", func(t *testing.T) {
		log := c.Get(t, "/deliveries")
		if log.Status != http.StatusOK || strings.Count(log.Body, "deleted webhook") < 2 || strings.Contains(log.Body, `href="/webhooks/`+w.ID+`"`) {
			t.Errorf("the log does not label both deliveries (or links the deleted webhook): %.2000s", pageText(log.Body))
		}
		byHook := c.Get(t, "/deliveries?webhook="+w.ID)
		if byHook.Status != http.StatusOK || !strings.Contains(byHook.Body, "Old CRM (deleted webhook)") || !strings.Contains(byHook.Body, `href="/deliveries/`+sent+`"`) ||
			!strings.Contains(byHook.Body, `href="/deliveries/`+waiting+`"`) || strings.Contains(byHook.Body, "/retry-failed") {
			t.Errorf("the log filtered by the deleted webhook: %s", handlertest.Describe(byHook))
		}
		for _, id := range []string{sent, waiting} {
			page := c.Get(t, "/deliveries/"+id)
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Old CRM") || !strings.Contains(page.Body, "deleted webhook") {
				t.Errorf("delivery %s: %s", id, handlertest.Describe(page))
			}
			if strings.Contains(page.Body, "/redeliver") {
				t.Errorf("delivery %s of a deleted webhook offers Redeliver", id)
			}
		}
		if att := c.Get(t, "/deliveries/"+sent); !strings.Contains(att.Body, "Attempt") && !strings.Contains(att.Body, "attempt") {
			t.Error("the delivered one shows no attempts")
		}
		if call := c.Get(t, "/calls/call_01JRB3PZ5X"); call.Status != http.StatusOK || !strings.Contains(call.Body, "deleted webhook") {
			t.Errorf("call view: %s", handlertest.Describe(call))
		}
		res := apiDo(t, api, http.MethodGet, "/api/v1/deliveries/"+sent, key, "")
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(res.Body, `"webhook_deleted":true`) || !strings.Contains(res.Body, `"attempts":[{`) {
			t.Errorf("GET /api/v1/deliveries/%s: %s", sent, res.Body)
		}
		if res := apiDo(t, api, http.MethodGet, "/api/v1/deliveries", key, ""); strings.Count(res.Body, `"webhook_deleted":true`) != 2 {
			t.Errorf("GET /api/v1/deliveries does not label both: %s", res.Body)
		}
	})

	t.Run("no redelivery", func(t *testing.T) {
		res := c.Post(t, "/deliveries/"+sent+"/redeliver", url.Values{})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("console redeliver: %s", handlertest.Describe(res))
		}
		if page := c.Get(t, res.Location); !strings.Contains(page.Body, "webhook was deleted") {
			t.Errorf("no notice that the webhook was deleted: %.1500s", pageText(page.Body))
		}
		r := apiDo(t, api, http.MethodPost, "/api/v1/deliveries/"+sent+"/redeliver", key, "")
		wantStatus(t, r, http.StatusConflict)
		if got.Load() != 1 {
			t.Errorf("a redelivery went out: %d requests", got.Load())
		}
	})
}
