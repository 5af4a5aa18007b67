package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// backendHook is a webhook endpoint as a backend API client reads it.
type backendHook struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	EventTypes  []string  `json:"event_types"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret"`
}

func backendData[T any](t *testing.T, res handlertest.Response, status int) T {
	t.Helper()
	wantStatus(t, res, status)
	var env struct {
		Data T `json:"data"`
	}
	decodeInto(t, res, &env)
	return env.Data
}

func backendErr(t *testing.T, res handlertest.Response, status int, code, wantInMessage string) {
	t.Helper()
	wantStatus(t, res, status)
	var env apiErrorShape
	decodeInto(t, res, &env)
	if env.Error.Code != code || !strings.Contains(env.Error.Message, wantInMessage) {
		t.Fatalf("error %+v, want code %s and a message with %q", env.Error, code, wantInMessage)
	}
}

// TestBackendDocumentExamples sends the backend API document's requests
// (host, key and ids replaced) in a sensible order.
func TestBackendDocumentExamples(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "backend", true)
	c := app.NewClient(t)
	auth := map[string]string{"Authorization": "Bearer " + key}
	authJSON := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}

	created := backendData[backendHook](t, send(t, c, http.MethodPost, "/v1/backend/webhooks", `{ "url": "http://example.com" }`, authJSON), http.StatusCreated)
	if created.ID == "" || created.URL != "http://example.com" || !created.Enabled || !strings.HasPrefix(created.Secret, "whsec_") || created.CreatedAt.IsZero() {
		t.Fatalf("created %+v", created)
	}
	w, err := app.Store.Webhook(context.Background(), tn.Account.ID, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "example.com" || w.Method != "POST" || w.ContentType != models.ContentJSON || !slices.Contains(w.EventTypes, "call.received") ||
		!slices.Contains(w.EventTypes, "call.ended") || slices.Contains(w.EventTypes, "message.received") || !slices.Equal(created.EventTypes, w.EventTypes) {
		t.Fatalf("defaults: name %q method %s %s events %v", w.Name, w.Method, w.ContentType, w.EventTypes)
	}

	list := backendData[[]backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks", "", auth), http.StatusOK)
	if len(list) != 1 || list[0].ID != created.ID || list[0].Secret != "" {
		t.Fatalf("list %+v (the secret is answered only once)", list)
	}
	got := backendData[backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+created.ID, "", auth), http.StatusOK)
	if got.ID != created.ID || got.Secret != "" || got.URL != created.URL {
		t.Fatalf("get %+v", got)
	}
	secret := backendData[map[string]string](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+created.ID+"/secret", "", auth), http.StatusOK)
	if secret["secret"] != created.Secret {
		t.Fatalf("secret %v, want the one answered on create", secret)
	}
	test := backendData[map[string]any](t, send(t, c, http.MethodPost, "/v1/backend/webhooks/test", "", auth), http.StatusOK)
	if test["success"] != true || test["message_id"] == "" {
		t.Fatalf("test %v", test)
	}
	rows, err := app.Store.Deliveries(context.Background(), tn.Account.ID, models.DeliveryFilter{WebhookID: created.ID})
	if err != nil || len(rows) != 1 || !rows[0].Test {
		t.Fatalf("test deliveries %+v %v", rows, err)
	}
	wantStatus(t, send(t, c, http.MethodDelete, "/v1/backend/webhooks/"+created.ID, "", auth), http.StatusNoContent)
	backendErr(t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+created.ID, "", auth), http.StatusNotFound, "not_found", "")

	by := " by api key " + key[:16] + " via backend API"
	if actors := auditActors(t, app, tn, created.ID); !slices.Equal(actors, []string{"webhook.deleted" + by, "webhook.created" + by}) {
		t.Fatalf("audit %q", actors)
	}
}

// TestBackendBadInput: mistakes answer {"error":{"code","message"}} with
// the right status and change nothing.
func TestBackendBadInput(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	other := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "backend", true)
	otherKey := mustAPIKey(t, app, other, "other", true)
	c := app.NewClient(t)
	auth := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	theirs := backendData[backendHook](t, send(t, c, http.MethodPost, "/v1/backend/webhooks", `{"url":"https://theirs.example"}`,
		map[string]string{"Authorization": "Bearer " + otherKey}), http.StatusCreated)
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code, message            string
	}{
		{"no key", http.MethodGet, "/v1/backend/webhooks", "", nil, 401, "unauthorized", "API key"},
		{"wrong key", http.MethodGet, "/v1/backend/webhooks", "", map[string]string{"Authorization": "Bearer sk_test_" + strings.Repeat("Q", 40)}, 401, "unauthorized", "not valid"},
		{"malformed JSON", http.MethodPost, "/v1/backend/webhooks", `{"url":`, auth, 400, "bad_request", "JSON"},
		{"unknown field", http.MethodPost, "/v1/backend/webhooks", `{"url":"https://a.example","colour":"red"}`, auth, 400, "bad_request", "url, description, event_types"},
		{"unknown event type", http.MethodPost, "/v1/backend/webhooks", `{"url":"https://a.example","event_types":["call.exploded"]}`, auth, 422, "invalid", "call.received"},
		{"no url", http.MethodPost, "/v1/backend/webhooks", `{}`, auth, 422, "invalid", "url"},
		{"another account's webhook", http.MethodGet, "/v1/backend/webhooks/" + theirs.ID, "", auth, 404, "not_found", ""},
		{"another account's secret", http.MethodGet, "/v1/backend/webhooks/" + theirs.ID + "/secret", "", auth, 404, "not_found", ""},
		{"delete another account's webhook", http.MethodDelete, "/v1/backend/webhooks/" + theirs.ID, "", auth, 404, "not_found", ""},
		{"unknown path", http.MethodGet, "/v1/backend/nothing", "", auth, 404, "not_found", "paths"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backendErr(t, send(t, c, tc.method, tc.path, tc.body, tc.header), tc.status, tc.code, tc.message)
		})
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 0 {
		t.Errorf("bad requests created %d webhooks", len(hooks))
	}
	if _, err := app.Store.Webhook(context.Background(), other.Account.ID, theirs.ID); err != nil {
		t.Errorf("the other account's webhook: %v", err)
	}
}

// TestBackendOneWebhook: made through the backend API, edited in the
// console, read back through the backend API, Kazoo and the Store (the
// native API has no webhook routes yet).
func TestBackendOneWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "backend", true)
	c := app.NewClient(t)
	auth := map[string]string{"Authorization": "Bearer " + key}
	made := backendData[backendHook](t, send(t, c, http.MethodPost, "/v1/backend/webhooks",
		`{"url":"https://crm.example.com/b","event_types":["conversation.completed"],"description":"CRM"}`, auth), http.StatusCreated)
	if !slices.Equal(made.EventTypes, []string{"call.ended"}) {
		t.Fatalf("conversation.completed maps to %v", made.EventTypes)
	}
	console := app.SignIn(t, tn)
	consoleEdit(t, app, console, tn, made.ID, func(f url.Values) {
		f.Set("url", "https://crm.example.com/edited")
		f["event_types"] = []string{"call.answered"}
	})
	got := backendData[backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+made.ID, "", auth), http.StatusOK)
	if got.URL != "https://crm.example.com/edited" || !slices.Equal(got.EventTypes, []string{"call.answered"}) || got.Description != "CRM" {
		t.Fatalf("backend reads %+v", got)
	}
	k := kazooOK[kazooHook](t, send(t, c, http.MethodGet, "/api/v1/accounts/"+tn.Account.ID+"/webhooks/"+made.ID, "", map[string]string{"X-Auth-Token": key}), http.StatusOK)
	if k.URI != got.URL || k.Hook != "channel_answer" || k.Name != "crm.example.com" {
		t.Fatalf("Kazoo reads %+v", k)
	}
}
