package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/publicid"
)

// TestPublicDeliveryIDs: the console and the API address deliveries only by
// their opaque public ids. Row numbers, tampered ids, attempt ids and
// another account's ids are all "not found", and another account's id
// changes nothing.
func TestPublicDeliveryIDs(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	w := logWebhook(t, app, a, "Opaque hook")
	d := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-OPAQUE", time.Now())
	seedAttempt(t, app, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto,
		StartedAt: time.Now(), DurationMS: 5, RequestMethod: "POST", RequestURL: w.URL, ErrorKind: models.ErrKindConnect, ErrorMessage: "refused"})
	pub := pubID(t, app, d.ID)
	numeric := fmt.Sprint(d.ID)
	last := pub[len(pub)-1]
	swap := byte('0')
	if last == '0' {
		swap = '1'
	}
	tampered := pub[:len(pub)-1] + string(swap)
	ca, cb := app.SignIn(t, a), app.SignIn(t, b)
	keyA, keyB := mustAPIKey(t, app, a, "a", true), mustAPIKey(t, app, b, "b", true)
	api := app.NewClient(t)

	t.Run("the log links the public id, never the row number", func(t *testing.T) {
		res := ca.Get(t, "/deliveries")
		if !strings.Contains(res.Body, `href="/deliveries/`+pub+`"`) || strings.Contains(res.Body, `/deliveries/`+numeric+`"`) {
			t.Fatalf("log links: %s", handlertest.Describe(res))
		}
		if page := ca.Get(t, "/deliveries/"+pub); page.Status != http.StatusOK || !strings.Contains(page.Body, "Delivery "+pub) {
			t.Fatalf("%s", handlertest.Describe(page))
		}
	})
	t.Run("the API answers public ids for the delivery and its attempts", func(t *testing.T) {
		res := apiDo(t, api, http.MethodGet, "/api/v1/deliveries/"+pub, keyA, "")
		wantStatus(t, res, http.StatusOK)
		var got apiDeliveryDetailShape
		strictJSON(t, res, &got)
		if got.Data.ID != pub || len(got.Data.Attempts) != 1 || !strings.HasPrefix(got.Data.Attempts[0].ID, "att_") {
			t.Fatalf("%+v", got.Data)
		}
		if _, err := publicid.Parse(got.Data.Attempts[0].ID); err != nil {
			t.Fatal(err)
		}
		// An attempt's id does not name a delivery.
		assertAPIError(t, apiDo(t, api, http.MethodGet, "/api/v1/deliveries/"+got.Data.Attempts[0].ID, keyA, ""), http.StatusNotFound, "not_found")
	})
	t.Run("row numbers and tampered ids are not found", func(t *testing.T) {
		for _, id := range []string{numeric, tampered, strings.ToUpper(pub), "dlv_" + strings.Repeat("z", 26)} {
			if res := ca.Get(t, "/deliveries/"+id); res.Status != http.StatusNotFound {
				t.Errorf("console %s: %s", id, handlertest.Describe(res))
			}
			for _, p := range []string{"", "/redeliver", "/cancel"} {
				method := http.MethodPost
				if p == "" {
					method = http.MethodGet
				}
				assertAPIError(t, apiDo(t, api, method, "/api/v1/deliveries/"+id+p, keyA, ""), http.StatusNotFound, "not_found")
			}
		}
	})
	t.Run("old numeric page links are a clear 4xx", func(t *testing.T) {
		for _, p := range []string{"/deliveries?before=" + numeric, "/deliveries?after=" + numeric, "/audit?before=" + numeric,
			"/deliveries?before=" + pub, "/audit?before=" + cursorID(t, app, publicid.DeliveryCursor, d.ID)} {
			if res := ca.Get(t, p); res.Status != http.StatusBadRequest {
				t.Errorf("%s: %s", p, handlertest.Describe(res))
			}
		}
		assertAPIError(t, apiDo(t, api, http.MethodGet, "/api/v1/deliveries?cursor="+numeric, keyA, ""), http.StatusUnprocessableEntity, "invalid")
	})
	t.Run("another account's public id is not found and changes nothing", func(t *testing.T) {
		var before models.Delivery
		if err := app.DB.Where("id = ?", d.ID).Take(&before).Error; err != nil {
			t.Fatal(err)
		}
		if res := cb.Get(t, "/deliveries/"+pub); res.Status != http.StatusNotFound {
			t.Errorf("console detail: %s", handlertest.Describe(res))
		}
		if res := cb.Post(t, "/deliveries/"+pub+"/redeliver", url.Values{}); res.Status != http.StatusNotFound {
			t.Errorf("console redeliver: %s", handlertest.Describe(res))
		}
		assertAPIError(t, apiDo(t, api, http.MethodGet, "/api/v1/deliveries/"+pub, keyB, ""), http.StatusNotFound, "not_found")
		assertAPIError(t, apiDo(t, api, http.MethodPost, "/api/v1/deliveries/"+pub+"/redeliver", keyB, ""), http.StatusNotFound, "not_found")
		assertAPIError(t, apiDo(t, api, http.MethodPost, "/api/v1/deliveries/"+pub+"/cancel", keyB, ""), http.StatusNotFound, "not_found")
		var after models.Delivery
		if err := app.DB.Where("id = ?", d.ID).Take(&after).Error; err != nil {
			t.Fatal(err)
		}
		var attempts int64
		app.DB.Model(&models.Attempt{}).Where("delivery_id = ?", d.ID).Count(&attempts)
		if after.Status != before.Status || after.AttemptCount != before.AttemptCount || !after.UpdatedAt.Equal(before.UpdatedAt) || attempts != 1 {
			t.Fatalf("B changed A's delivery: %+v -> %+v, %d attempts", before.Status, after.Status, attempts)
		}
	})
}
