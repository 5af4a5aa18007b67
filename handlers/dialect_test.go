package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// Helpers shared by the vendor dialect tests.

// send makes one request with a raw body ("" for none) and headers.
func send(t *testing.T, c *handlertest.Client, method, path, body string, header map[string]string) handlertest.Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.Base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.Do(t, req)
}

// decodeInto decodes a JSON answer into v, failing the test otherwise.
func decodeInto(t *testing.T, res handlertest.Response, v any) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %s", ct, handlertest.Describe(res))
	}
	if err := json.Unmarshal([]byte(res.Body), v); err != nil {
		t.Fatalf("answer is not the expected JSON: %v: %s", err, handlertest.Describe(res))
	}
}

// wantStatus fails the test unless res has status.
// formFromInput is what the console's edit form submits for in (the page
// fills its fields from the stored webhook).
func formFromInput(in models.WebhookInput) url.Values {
	v := url.Values{
		"name": {in.Name}, "description": {in.Description}, "event_types": in.EventTypes, "url": {in.URL},
		"method": {in.Method}, "content_type": {in.ContentType}, "call_types": in.CallTypes, "did_numbers": in.DIDNumbers,
		"time_zone": {in.TimeZone}, "auth_type": {in.AuthType}, "auth_username": {in.AuthUsername},
		"custom_data_mode": {string(in.CustomDataMode)}, "max_attempts": {strconv.Itoa(in.MaxAttempts)},
		"timeout": {strconv.Itoa(in.TimeoutSeconds)}, "op": {"save"},
	}
	if in.Enabled {
		v.Set("enabled", "true")
	}
	for _, h := range in.Headers {
		v.Add("header_name", h.Name)
		v.Add("header_value", h.Value)
	}
	for _, kv := range in.CustomData {
		v.Add("cd_key", kv.Key)
		v.Add("cd_value", models.ScalarString(kv.Value))
		v.Add("cd_type", models.ScalarKind(kv.Value))
	}
	for _, f := range in.Filters {
		v.Add("filter_field", f.Field)
		v.Add("filter_op", f.Op)
		v.Add("filter_values", strings.Join(f.Values, ","))
	}
	return v
}

// consoleEdit edits webhook id in the console: it opens the edit page,
// changes the form with mutate and saves it.
func consoleEdit(t *testing.T, app *handlertest.App, c *handlertest.Client, tn handlertest.Tenant, id string, mutate func(url.Values)) *models.Webhook {
	t.Helper()
	if res := c.Get(t, "/webhooks/"+id+"/edit"); res.Status != http.StatusOK {
		t.Fatalf("edit page: %s", handlertest.Describe(res))
	}
	w, err := app.Store.Webhook(context.Background(), tn.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	f := formFromInput(models.InputFrom(w))
	mutate(f)
	if res := c.Post(t, "/webhooks/"+id+"/edit", f); res.Status != http.StatusSeeOther {
		t.Fatalf("console edit: %s", handlertest.Describe(res))
	}
	if w, err = app.Store.Webhook(context.Background(), tn.Account.ID, id); err != nil {
		t.Fatal(err)
	}
	return w
}

// auditActors returns the actor of each audit entry about object id.
func auditActors(t *testing.T, app *handlertest.App, tn handlertest.Tenant, id string) []string {
	t.Helper()
	entries, err := app.Store.AuditLog(context.Background(), tn.Account.ID, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.ObjectID == id {
			out = append(out, e.Action+" by "+e.Actor)
		}
	}
	return out
}

// bodyReceiver records the bodies it is sent.
type bodyReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newBodyReceiver(t *testing.T) *bodyReceiver {
	r := &bodyReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *bodyReceiver) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		return ""
	}
	return r.bodies[len(r.bodies)-1]
}

// TestEveryDialectSeesEveryWebhook: a webhook made through each dialect,
// renamed in the console, reads back under its new name and its URL
// through all four dialects, the native API, the console list and the
// Store.
func TestEveryDialectSeesEveryWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "all", true)
	c := app.NewClient(t)
	console := app.SignIn(t, tn)
	acct := tn.Account.ID
	kz := map[string]string{"X-Auth-Token": key}
	create := map[string]func(url string) string{
		"kazoo": func(u string) string {
			return kazooOK[kazooHook](t, send(t, c, http.MethodPut, "/api/v1/accounts/"+acct+"/webhooks",
				`{"data":{"name":"k","uri":"`+u+`","hook":"channel_destroy"}}`, kz), http.StatusCreated).ID
		},
		"backend": func(u string) string {
			return backendData[backendHook](t, send(t, c, http.MethodPost, "/v1/backend/webhooks", `{"url":"`+u+`"}`,
				map[string]string{"Authorization": "Bearer " + key}), http.StatusCreated).ID
		},
		"kixie": func(u string) string {
			return kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook", kixieBody(kixieCreateDoc, key, acct, "", u), nil)).WebhookID
		},
		"dixa": func(u string) string {
			return dixaData[dixaHook](t, send(t, c, http.MethodPost, "/beta/webhooks", strings.Replace(dixaCreateDoc, "https://example.webhook/dashboard_integration", u, 1),
				map[string]string{"Authorization": key}), http.StatusCreated).ID
		},
	}
	for name, mk := range create {
		t.Run(name, func(t *testing.T) {
			u := "https://" + name + ".example.com/hook"
			id := mk(u)
			renamed := "Made in " + name
			consoleEdit(t, app, console, tn, id, func(f url.Values) { f.Set("name", renamed) })

			k := kazooOK[kazooHook](t, send(t, c, http.MethodGet, "/api/v1/accounts/"+acct+"/webhooks/"+id, "", kz), http.StatusOK)
			b := backendData[backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+id, "", map[string]string{"Authorization": "Bearer " + key}), http.StatusOK)
			d := dixaData[dixaHook](t, send(t, c, http.MethodGet, "/beta/webhooks/"+id, "", map[string]string{"Authorization": key}), http.StatusOK)
			var kx kixieHook
			for _, h := range kixieList(t, c, kixieBody(kixieListDoc, key, acct, "", "")) {
				if h.WebhookID == id {
					kx = h
				}
			}
			if k.Name != renamed || d.Name != renamed || kx.Name != renamed || k.URI != u || b.URL != u || d.URL != u || kx.Location != u {
				t.Errorf("kazoo %s %s, backend %s, dixa %s %s, kixie %s %s", k.Name, k.URI, b.URL, d.Name, d.URL, kx.Name, kx.Location)
			}
			if list := console.Get(t, "/webhooks"); !strings.Contains(list.Body, renamed) || !strings.Contains(list.Body, name+".example.com/hook") {
				t.Errorf("the console list does not show %q", renamed)
			}
			if w, err := app.Store.Webhook(context.Background(), acct, id); err != nil || w.Name != renamed {
				t.Errorf("store: %+v %v", w, err)
			}
			var native apiWebhookData // the native API, validated against its OpenAPI document
			res := apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+id, key, "")
			wantStatus(t, res, http.StatusOK)
			strictJSON(t, res, &native)
			if native.Data.ID != id || native.Data.Name != renamed || native.Data.URL != u {
				t.Errorf("native API: %s %q %s", native.Data.ID, native.Data.Name, native.Data.URL)
			}
		})
	}
}
