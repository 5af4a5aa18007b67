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
func wantStatus(t *testing.T, res handlertest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, handlertest.Describe(res))
	}
}

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

// receiver records the bodies it is sent.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
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

func (r *receiver) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		return ""
	}
	return r.bodies[len(r.bodies)-1]
}
