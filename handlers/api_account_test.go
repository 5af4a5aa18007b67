package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

type apiEventShape struct {
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	CallID     *string            `json:"call_id"`
	OccurredAt time.Time          `json:"occurred_at"`
	ReceivedAt time.Time          `json:"received_at"`
	Payload    map[string]any     `json:"payload"`
	Deliveries []apiDeliveryShape `json:"deliveries"`
}

func TestAPIEventsAndCalls(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	key, bKey := mustAPIKey(t, app, a, "a", true), mustAPIKey(t, app, b, "b", true)
	c := app.NewClient(t)
	createAPIWebhook(t, c, key, webhookBody("one", "https://a.example/1"))
	createAPIWebhook(t, c, key, `{"name":"two","url":"https://a.example/2","event_types":["call.hangup","call.answered"]}`)
	// A call answered, then hung up (sent out of order), and another call.
	answered := strings.NewReplacer(`"call.hangup"`, `"call.answered"`, `"occurred_at":"2026-04-09T07:24:53Z"`, `"occurred_at":"2026-04-09T07:24:23Z"`,
		`,"ended_at":"2026-04-09T07:24:53Z","duration_seconds":31,"talk_seconds":30`, ``).Replace(strings.Replace(hangupEvent, "%s", "CALL0000000000000000000002", 1))
	answered = strings.Replace(answered, "call_01JRB3PZ5X", "call_timeline", 1)
	sendEvent(t, c, key, "CALL0000000000000000000003", "call_timeline", "+919240202904")
	wantStatus(t, apiPost(t, c, "/api/v1/events", key, "application/json", answered), http.StatusAccepted)
	sendEvent(t, c, key, "CALL0000000000000000000004", "call_other", "+919240202904")

	t.Run("an event with its deliveries", func(t *testing.T) {
		res := apiDo(t, c, http.MethodGet, "/api/v1/events/evt_CALL0000000000000000000003", key, "")
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Data apiEventShape `json:"data"`
		}
		strictJSON(t, res, &got)
		ev := got.Data
		if ev.Type != "call.hangup" || ev.CallID == nil || *ev.CallID != "call_timeline" || len(ev.Deliveries) != 2 || ev.Payload["from_number"] != "+919240202904" {
			t.Fatalf("%+v", ev)
		}
		// Ids are opaque; the order is the one they were made in.
		d0, d1 := ev.Deliveries[0], ev.Deliveries[1]
		if d1.CreatedAt.Before(d0.CreatedAt) || rowID(t, app, d0.ID) >= rowID(t, app, d1.ID) || !strings.HasPrefix(d0.ID, "dlv_") {
			t.Fatal("deliveries not oldest first")
		}
	})
	t.Run("a call's timeline is its events in the order they happened", func(t *testing.T) {
		res := apiDo(t, c, http.MethodGet, "/api/v1/calls/call_timeline", key, "")
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Data struct {
				CallID string          `json:"call_id"`
				Events []apiEventShape `json:"events"`
			} `json:"data"`
		}
		strictJSON(t, res, &got)
		evs := got.Data.Events
		if got.Data.CallID != "call_timeline" || len(evs) != 2 || evs[0].Type != "call.answered" || evs[1].Type != "call.hangup" {
			t.Fatalf("%+v", got.Data)
		}
		if len(evs[0].Deliveries) != 1 || len(evs[1].Deliveries) != 2 {
			t.Fatalf("deliveries %d %d", len(evs[0].Deliveries), len(evs[1].Deliveries))
		}
	})
	t.Run("unknown and other accounts' events and calls are 404", func(t *testing.T) {
		for _, p := range []string{"/api/v1/events/evt_nope", "/api/v1/events/%00", "/api/v1/calls/call_nope", "/api/v1/calls/%FF"} {
			assertAPIError(t, apiDo(t, c, http.MethodGet, p, key, ""), http.StatusNotFound, "not_found")
		}
		for _, p := range []string{"/api/v1/events/evt_CALL0000000000000000000003", "/api/v1/calls/call_timeline"} {
			assertAPIError(t, apiDo(t, c, http.MethodGet, p, bKey, ""), http.StatusNotFound, "not_found")
		}
	})
}

func TestAPINumbersAndKeys(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	key, bKey := mustAPIKey(t, app, a, "a", true), mustAPIKey(t, app, b, "b", true)
	c := app.NewClient(t)
	type number struct {
		ID        string    `json:"id"`
		Number    string    `json:"number"`
		Label     string    `json:"label"`
		CreatedAt time.Time `json:"created_at"`
	}
	numbers := func(key string) []number {
		res := apiDo(t, c, http.MethodGet, "/api/v1/numbers", key, "")
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Data []number `json:"data"`
		}
		strictJSON(t, res, &got)
		return got.Data
	}
	t.Run("numbers: add, list, refuse, delete", func(t *testing.T) {
		before := len(numbers(key))
		res := apiDo(t, c, http.MethodPost, "/api/v1/numbers", key, `{"number":"+91 82878 42499","label":"Sales"}`)
		wantStatus(t, res, http.StatusCreated)
		var got struct {
			Data number `json:"data"`
		}
		strictJSON(t, res, &got)
		if got.Data.Number != "+918287842499" || got.Data.Label != "Sales" {
			t.Fatalf("%+v", got.Data)
		}
		if len(numbers(key)) != before+1 {
			t.Fatal("not listed")
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/numbers", key, `{"number":"+918287842499"}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/numbers", key, `{"number":"call me"}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/numbers", key, `{"number":1}`), http.StatusBadRequest, "bad_request")
		// A webhook limited to the number keeps it.
		hook := createAPIWebhook(t, c, key, `{"name":"sales","url":"https://a.example","event_types":["call.hangup"],"did_numbers":["+918287842499"]}`)
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/numbers/"+got.Data.ID, key, ""), http.StatusUnprocessableEntity, "invalid")
		wantStatus(t, apiDo(t, c, http.MethodDelete, "/api/v1/webhooks/"+hook.ID, key, ""), http.StatusNoContent)
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/numbers/"+got.Data.ID, bKey, ""), http.StatusNotFound, "not_found")
		for _, n := range numbers(bKey) {
			if n.ID == got.Data.ID {
				t.Fatal("B lists A's number")
			}
		}
		wantStatus(t, apiDo(t, c, http.MethodDelete, "/api/v1/numbers/"+got.Data.ID, key, ""), http.StatusNoContent)
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/numbers/"+got.Data.ID, key, ""), http.StatusNotFound, "not_found")
	})
	type apiKeyShape struct {
		ID         string     `json:"id"`
		Name       string     `json:"name"`
		Prefix     string     `json:"prefix"`
		Scope      string     `json:"scope"`
		Mode       string     `json:"mode"`
		CreatedBy  string     `json:"created_by"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
		RevokedAt  *time.Time `json:"revoked_at"`
		Key        string     `json:"key"`
	}
	t.Run("api keys: create shows the key once, it works with its scope, revoke stops it", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/api-keys", key, `{"name":"dash","scope":"read","mode":"test"}`)
		wantStatus(t, res, http.StatusCreated)
		var got struct {
			Data apiKeyShape `json:"data"`
		}
		strictJSON(t, res, &got)
		k := got.Data
		if !strings.HasPrefix(k.Key, models.TestKeyPrefix) || k.Scope != "read" || k.Mode != "test" || !strings.HasPrefix(k.Key, k.Prefix) {
			t.Fatalf("%+v", k)
		}
		wantStatus(t, apiDo(t, c, http.MethodGet, "/api/v1/account", k.Key, ""), http.StatusOK)
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/api-keys", k.Key, `{"name":"escalate"}`), http.StatusForbidden, "forbidden")
		list := apiDo(t, c, http.MethodGet, "/api/v1/api-keys", key, "")
		wantStatus(t, list, http.StatusOK)
		if strings.Contains(list.Body, k.Key) || !strings.Contains(list.Body, k.ID) {
			t.Fatalf("list: %s", list.Body)
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/api-keys", key, `{"name":"x","scope":"admin"}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/api-keys", key, `{"name":"x","mode":"prod"}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/api-keys", key, `{"name":""}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/api-keys/"+k.ID, bKey, ""), http.StatusNotFound, "not_found")
		wantStatus(t, apiDo(t, c, http.MethodGet, "/api/v1/account", k.Key, ""), http.StatusOK) // B's attempt changed nothing
		bList := apiDo(t, c, http.MethodGet, "/api/v1/api-keys", bKey, "")
		if strings.Contains(bList.Body, k.ID) {
			t.Fatal("B lists A's key")
		}
		wantStatus(t, apiDo(t, c, http.MethodDelete, "/api/v1/api-keys/"+k.ID, key, ""), http.StatusNoContent)
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/account", k.Key, ""), http.StatusUnauthorized, "unauthorized")
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/api-keys/"+k.ID, key, ""), http.StatusNotFound, "not_found")
	})
	t.Run("the event catalog: fields with types and samples in three forms", func(t *testing.T) {
		res := apiDo(t, c, http.MethodGet, "/api/v1/event-types", key, "")
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Data []struct {
				ID           string `json:"id"`
				Label        string `json:"label"`
				Description  string `json:"description"`
				Group        string `json:"group"`
				Subscribable bool   `json:"subscribable"`
				Fields       []struct {
					Name     string   `json:"name"`
					Type     string   `json:"type"`
					Required bool     `json:"required"`
					Values   []string `json:"values"`
				} `json:"fields"`
				Sample struct {
					JSON  json.RawMessage `json:"json"`
					Form  *string         `json:"form"`
					Query *string         `json:"query"`
				} `json:"sample"`
			} `json:"data"`
		}
		strictJSON(t, res, &got)
		found := false
		for _, et := range got.Data {
			if et.ID != "call.hangup" {
				continue
			}
			found = true
			types := map[string]string{}
			for _, f := range et.Fields {
				types[f.Name] = f.Type
			}
			if types["from_number"] != "phone" || types["occurred_at"] != "time" || types["duration_seconds"] != "integer" || types["call_status"] != "enum" {
				t.Fatalf("field types %v", types)
			}
			var sample map[string]any
			if err := json.Unmarshal(et.Sample.JSON, &sample); err != nil || sample["event"] != "call.hangup" {
				t.Fatalf("json sample %s: %v", et.Sample.JSON, err)
			}
			if et.Sample.Form == nil || !strings.Contains(*et.Sample.Form, "event=call.hangup") ||
				et.Sample.Query == nil || !strings.Contains(*et.Sample.Query, "event=call.hangup") {
				t.Fatalf("form %v query %v", et.Sample.Form, et.Sample.Query)
			}
		}
		if !found || len(got.Data) < 11 {
			t.Fatalf("%d types, call.hangup found %v", len(got.Data), found)
		}
	})
}

// TestAPIWithoutDispatcher: a process without a dispatcher answers the
// sending routes 503 and still lists the catalog (without rendered samples).
func TestAPIWithoutDispatcher(t *testing.T) {
	app := handlertest.New(t, func(d *handlers.Deps) { d.Tester, d.Redeliverer, d.Previewer = nil, nil, nil })
	tn := app.NewTenant(t, models.RoleOwner)
	key := mustAPIKey(t, app, tn, "no dispatcher", true)
	c := app.NewClient(t)
	hook := createAPIWebhook(t, c, key, webhookBody("x", "https://a.example"))
	sendEvent(t, c, key, "NODISPATCH0000000000000001", "call_x", "+919240202904")
	rows := listDeliveries(t, c, key, "/api/v1/deliveries")
	if len(rows.Data) != 1 {
		t.Fatalf("%d deliveries", len(rows.Data))
	}
	for _, p := range []string{"/api/v1/webhooks/" + hook.ID + "/test", "/api/v1/webhooks/test", "/api/v1/deliveries/" + rows.Data[0].ID + "/redeliver"} {
		assertAPIError(t, apiDo(t, c, http.MethodPost, p, key, ""), http.StatusServiceUnavailable, "unavailable")
	}
	res := apiDo(t, c, http.MethodGet, "/api/v1/event-types", key, "")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.Body, `"form":null`) {
		t.Fatalf("samples rendered without a renderer: %.300s", res.Body)
	}
}
