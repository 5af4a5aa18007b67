package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// dixaHook is a webhook subscription as a Dixa client reads it.
type dixaHook struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	SubscribedEvents []string          `json:"subscribedEvents"`
	URL              string            `json:"url"`
	Headers          map[string]string `json:"headers"`
	Authorization    map[string]string `json:"authorization"`
	SecretKey        string            `json:"secretKey"`
	Enabled          bool              `json:"enabled"`
	CreatedAt        time.Time         `json:"createdAt"`
	CreatedBy        string            `json:"createdBy"`
	UpdatedAt        time.Time         `json:"updatedAt"`
	UpdatedBy        string            `json:"updatedBy"`
	Filters          json.RawMessage   `json:"filters"`
}

func dixaData[T any](t *testing.T, res handlertest.Response, status int) T {
	t.Helper()
	return backendData[T](t, res, status) // the same {"data": …} envelope
}

const dixaCreateDoc = `{
"name": "Dashboard Integration",
"events": [
"ConversationCreated",
"ConversationClosed"
],
"url": "https://example.webhook/dashboard_integration",
"authorization": {
"username": "webhook_user",
"password": "webhook_password",
"_type": "BasicAuth"
},
"customHeaders": {
"X-Automation-Webhook-Token": "<TOKEN>",
"X-Example-Header": "ExampleValue"
},
"enabled": true,
"filters": {
"Conversation": {
"strategy": "All",
"conditions": [
{
"field": "InitialChannel",
"values": [
"email",
"pstn_phone"
],
"_type": "IsOneOf"
},
{
"field": "QueueId",
"values": [
"f0475e4c-64ae-4c8e-8644-4ed10dc8d752"
],
"_type": "IsNotOneOf"
}
],
"_type": "CombinedFilters"
}
}
}`

const dixaPatchDoc = `{
"name": "New name",
"events": [
"ConversationNoteAdded"
],
"authorization": {
"value": "eyDoiGciOqGYUzI1NiJ4.eyJ0eQJRUapoYXBpIiwib4JxA5lkIjoiNTVmMmE6MmItYjU4NF33MDMxLTk2NTktOTE2M.qPoOZoQYDn4rn-akaLmVFka15JAV7TF6QT8UHOUTIy0",
"_type": "TokenAuth"
},
"customHeaders": {
"X-Automation-Webhook-Token": "<TOKEN>",
"X-Example-Header": "ExampleValue"
},
"filters": {
"Conversation": {
"strategy": "All",
"conditions": [
{
"field": "InitialChannel",
"values": [
"email",
"pstn_phone"
],
"_type": "IsOneOf"
},
{
"field": "QueueId",
"values": [
"f0475e4c-64ae-4c8e-8644-4ed10dc8d752"
],
"_type": "IsNotOneOf"
}
],
"_type": "CombinedFilters"
}
}
}`

// compactJSON is raw JSON without insignificant space, for comparisons.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON %q: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDixaDocumentExamples sends the Dixa document's requests (host, key
// and ids replaced) in a sensible order.
func TestDixaDocumentExamples(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "dixa", true)
	c := app.NewClient(t)
	auth := map[string]string{"Authorization": key}
	authJSON := map[string]string{"Authorization": key, "Content-Type": "application/json"}
	var doc struct {
		Filters json.RawMessage `json:"filters"`
	}
	if err := json.Unmarshal([]byte(dixaCreateDoc), &doc); err != nil {
		t.Fatal(err)
	}
	sentFilters := compactJSON(t, doc.Filters)

	made := dixaData[dixaHook](t, send(t, c, http.MethodPost, "/beta/webhooks", dixaCreateDoc, authJSON), http.StatusCreated)
	if made.ID == "" || made.Name != "Dashboard Integration" || !slices.Equal(made.SubscribedEvents, []string{"ConversationCreated", "ConversationClosed"}) ||
		made.URL != "https://example.webhook/dashboard_integration" || !made.Enabled || made.SecretKey == "" || made.CreatedAt.IsZero() || made.CreatedBy == "" ||
		made.Headers["X-Example-Header"] != "ExampleValue" || compactJSON(t, made.Filters) != sentFilters {
		t.Fatalf("created %+v", made)
	}
	if made.Authorization["_type"] != "BasicAuth" || made.Authorization["username"] != "webhook_user" || strings.Contains(made.Authorization["password"], "webhook_password") {
		t.Fatalf("authorization echoed %v", made.Authorization)
	}
	w, err := app.Store.Webhook(context.Background(), tn.Account.ID, made.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.EventTypes, []string{"call.received", "call.ended"}) || w.AuthType != models.AuthBasic || w.AuthSecret != "webhook_password" ||
		len(w.Filters.V) != 1 || w.Filters.V[0].Field != "queue_id" || w.Filters.V[0].Op != "not_in" || len(w.Headers.V) != 2 || w.Headers.V[0].Name != "X-Automation-Webhook-Token" {
		t.Fatalf("stored %+v", w)
	}

	list := dixaData[[]dixaHook](t, send(t, c, http.MethodGet, "/beta/webhooks", "", auth), http.StatusOK)
	if len(list) != 1 || list[0].ID != made.ID {
		t.Fatalf("list %+v", list)
	}
	got := dixaData[dixaHook](t, send(t, c, http.MethodGet, "/beta/webhooks/"+made.ID, "", auth), http.StatusOK)
	if got.ID != made.ID || compactJSON(t, got.Filters) != sentFilters {
		t.Fatalf("get %+v", got)
	}

	patched := dixaData[dixaHook](t, send(t, c, http.MethodPatch, "/beta/webhooks/"+made.ID, dixaPatchDoc, authJSON), http.StatusOK)
	if patched.Name != "New name" || !slices.Equal(patched.SubscribedEvents, []string{"ConversationNoteAdded"}) || patched.URL != made.URL || !patched.Enabled ||
		patched.Authorization["_type"] != "TokenAuth" || strings.Contains(patched.Authorization["value"], "eyDoi") || patched.UpdatedBy == "" {
		t.Fatalf("patched %+v", patched)
	}

	// One delivery of the subscribed event, through the console's test.
	console := app.SignIn(t, tn)
	console.Get(t, "/webhooks/"+made.ID)
	console.Post(t, "/webhooks/"+made.ID+"/test", url.Values{"event_type": {"call.note_added"}})
	type status struct {
		Event         string     `json:"event"`
		LatestStatus  string     `json:"latestStatus"`
		Delivered     int        `json:"delivered"`
		Failed        int        `json:"failed"`
		Pending       int        `json:"pending"`
		LastAttemptAt *time.Time `json:"lastAttemptAt"`
	}
	st := dixaData[[]status](t, send(t, c, http.MethodGet, "/beta/webhooks/"+made.ID+"/delivery-status", "", auth), http.StatusOK)
	if len(st) != 1 || st[0].Event != "ConversationNoteAdded" || st[0].Delivered+st[0].Failed+st[0].Pending != 1 || st[0].LatestStatus == "NoDeliveries" || st[0].LastAttemptAt == nil {
		t.Fatalf("delivery status %+v", st)
	}
	logs := dixaData[[]map[string]any](t, send(t, c, http.MethodGet, "/beta/webhooks/"+made.ID+"/delivery-status/logs/ConversationNoteAdded", "", auth), http.StatusOK)
	if len(logs) != 1 || logs[0]["status"] != st[0].LatestStatus || logs[0]["attempts"] != float64(1) {
		t.Fatalf("logs %+v", logs)
	}

	wantStatus(t, send(t, c, http.MethodDelete, "/beta/webhooks/"+made.ID, "", auth), http.StatusNoContent)
	wantStatus(t, send(t, c, http.MethodGet, "/beta/webhooks/"+made.ID, "", auth), http.StatusNotFound)

	by := " by api key " + key[:16] + " via Dixa API"
	if actors := auditActors(t, app, tn, made.ID); !slices.Equal(actors, []string{"webhook.deleted" + by, "webhook.updated" + by, "webhook.created" + by}) {
		t.Fatalf("audit %q", actors)
	}
}

// TestDixaBadInput: mistakes answer {"message", "code", "errors"} with
// the right status and change nothing.
func TestDixaBadInput(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	other := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "dixa", true)
	otherKey := mustAPIKey(t, app, other, "other", true)
	c := app.NewClient(t)
	theirs := dixaData[dixaHook](t, send(t, c, http.MethodPost, "/beta/webhooks", dixaCreateDoc, map[string]string{"Authorization": otherKey}), http.StatusCreated)
	mine := dixaData[dixaHook](t, send(t, c, http.MethodPost, "/beta/webhooks", dixaCreateDoc, map[string]string{"Authorization": key}), http.StatusCreated)
	auth := map[string]string{"Authorization": key, "Content-Type": "application/json"}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		message                  string
	}{
		{"no key", http.MethodGet, "/beta/webhooks", "", nil, 401, "API key"},
		{"wrong key", http.MethodGet, "/beta/webhooks", "", map[string]string{"Authorization": "sk_live_" + strings.Repeat("Z", 40)}, 401, "not valid"},
		{"malformed JSON", http.MethodPost, "/beta/webhooks", `{"name":`, auth, 400, "JSON"},
		{"unknown event", http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, `"ConversationClosed"`, `"AgentBannedIp"`, 1), auth, 422, "AgentBannedIp"},
		{"unknown event lists the allowed", http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, `"ConversationClosed"`, `"ConversationRated"`, 1), auth, 422, "ConversationCreated, ConversationAssigned"},
		{"unknown field", http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, `"enabled": true`, `"enabled": true, "colour": "red"`, 1), auth, 400, "colour"},
		{"unknown filter field", http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, `"QueueId"`, `"Language"`, 1), auth, 422, "Language"},
		{"bad authorization type", http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, `"BasicAuth"`, `"OAuth"`, 1), auth, 422, "BasicAuth, TokenAuth"},
		{"another account's webhook", http.MethodGet, "/beta/webhooks/" + theirs.ID, "", auth, 404, ""},
		{"patch another account's webhook", http.MethodPatch, "/beta/webhooks/" + theirs.ID, `{"name":"mine now"}`, auth, 404, ""},
		{"delete another account's webhook", http.MethodDelete, "/beta/webhooks/" + theirs.ID, "", auth, 404, ""},
		{"status of another account's webhook", http.MethodGet, "/beta/webhooks/" + theirs.ID + "/delivery-status", "", auth, 404, ""},
		{"logs of an unknown event", http.MethodGet, "/beta/webhooks/" + mine.ID + "/delivery-status/logs/Nope", "", auth, 422, "ConversationCreated"},
		{"patch with a bad url changes nothing", http.MethodPatch, "/beta/webhooks/" + mine.ID, `{"url":"ftp://x", "name":"changed"}`, auth, 422, "url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := send(t, c, tc.method, tc.path, tc.body, tc.header)
			wantStatus(t, res, tc.status)
			var e struct {
				Message string            `json:"message"`
				Code    string            `json:"code"`
				Errors  map[string]string `json:"errors"`
			}
			decodeInto(t, res, &e)
			if e.Message == "" || e.Code == "" || !strings.Contains(e.Message, tc.message) {
				t.Fatalf("answer %s, want a message with %q", res.Body, tc.message)
			}
		})
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 1 || hooks[0].Name != "Dashboard Integration" {
		t.Errorf("bad requests changed the account's webhooks: %+v", hooks)
	}
	if w, err := app.Store.Webhook(context.Background(), other.Account.ID, theirs.ID); err != nil || w.Name != "Dashboard Integration" {
		t.Errorf("the other account's webhook changed: %+v %v", w, err)
	}
}

// TestDixaOneWebhook: made through Dixa, edited in the console, read back
// through Dixa, Kazoo, Kixie, the backend API and the Store. A PATCH that
// carries only enabled keeps the url; a console edit of the filters makes
// Dixa answer the new filters, not the stale ones as sent.
func TestDixaOneWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "dixa", true)
	c := app.NewClient(t)
	auth := map[string]string{"Authorization": key}
	made := dixaData[dixaHook](t, send(t, c, http.MethodPost, "/beta/webhooks", dixaCreateDoc, auth), http.StatusCreated)
	p := dixaData[dixaHook](t, send(t, c, http.MethodPatch, "/beta/webhooks/"+made.ID, `{"enabled": false}`, auth), http.StatusOK)
	if p.Enabled || p.URL != made.URL || !slices.Equal(p.SubscribedEvents, made.SubscribedEvents) || p.Name != made.Name {
		t.Fatalf("partial patch %+v", p)
	}

	console := app.SignIn(t, tn)
	w := consoleEdit(t, app, console, tn, made.ID, func(f url.Values) {
		f.Set("name", "Edited in console")
		f["filter_field"], f["filter_op"], f["filter_values"] = []string{"queue_id"}, []string{"in"}, []string{"q-7"}
	})
	if w.AuthSecret != "webhook_password" {
		t.Fatalf("the console edit lost the stored password")
	}
	got := dixaData[dixaHook](t, send(t, c, http.MethodGet, "/beta/webhooks/"+made.ID, "", auth), http.StatusOK)
	wantFilters := `{"Conversation":{"_type":"CombinedFilters","conditions":[{"_type":"IsOneOf","field":"QueueId","values":["q-7"]}],"strategy":"All"}}`
	if got.Name != "Edited in console" || compactJSON(t, got.Filters) != wantFilters || !slices.Equal(got.SubscribedEvents, []string{"ConversationCreated", "ConversationClosed"}) {
		t.Fatalf("Dixa reads %+v filters %s", got, got.Filters)
	}
	k := kazooOK[kazooHook](t, send(t, c, http.MethodGet, "/api/v1/accounts/"+tn.Account.ID+"/webhooks/"+made.ID, "", map[string]string{"X-Auth-Token": key}), http.StatusOK)
	b := backendData[backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+made.ID, "", map[string]string{"Authorization": "Bearer " + key}), http.StatusOK)
	kx := kixieList(t, c, kixieBody(kixieListDoc, key, tn.Account.ID, "", ""))
	if k.Name != "Edited in console" || k.Hook != "channel_create" || b.URL != made.URL || len(kx) != 1 || kx[0].Name != "Edited in console" {
		t.Fatalf("kazoo %+v backend %+v kixie %+v", k, b, kx)
	}

	// Ringhook's own catalog ids are accepted, and echoed as sent.
	ids := dixaData[dixaHook](t, send(t, c, http.MethodPatch, "/beta/webhooks/"+made.ID, `{"events": ["call.hangup", "ConversationCreated"]}`, auth), http.StatusOK)
	if !slices.Equal(ids.SubscribedEvents, []string{"call.hangup", "ConversationCreated"}) {
		t.Fatalf("events %v", ids.SubscribedEvents)
	}
}
