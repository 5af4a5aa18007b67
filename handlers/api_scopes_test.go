package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// apiRoutes lists the /api routes of the route table as "METHOD path"
// (Echo's :param syntax).
func apiRoutes(e *echo.Echo) []string {
	var out []string
	for _, r := range e.Routes() {
		// Vendor dialects (the Kazoo routes under /api/v1/accounts) are
		// excluded on purpose: they follow their vendor's document, not
		// the OpenAPI contract; dialect_kazoo_test.go checks their shapes.
		if r.Method != echo.RouteNotFound && strings.HasPrefix(r.Path, "/api/") && !handlers.IsDialectPath(r.Path) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// documentedScope is the x-ringhook-scope the OpenAPI document gives the
// route's operation ("" when it has none).
func documentedScope(app *handlertest.App, route string) string {
	method, path, _ := strings.Cut(route, " ")
	item := app.API.Doc.Paths.Find(openAPIPath(path))
	if item == nil || item.GetOperation(method) == nil {
		return ""
	}
	s, _ := item.GetOperation(method).Extensions["x-ringhook-scope"].(string)
	return s
}

// openAPIPath turns Echo's /webhooks/:id into OpenAPI's /webhooks/{id}.
func openAPIPath(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestAPIKeyScopes calls every /api/v1 route of the route table with a key
// of every scope: a key outside the scope the OpenAPI document gives the
// operation (x-ringhook-scope) gets 403 before the handler runs, one inside
// it gets past the scope check. A new route is covered here without
// editing the test.
func TestAPIKeyScopes(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	keys := map[models.APIKeyScope]string{}
	for _, s := range models.APIKeyScopes {
		keys[s] = mustScopedKey(t, app, tn, models.NewAPIKey{Name: string(s), Scope: s})
	}
	c := app.NewClient(t)
	var routes []string
	for _, r := range apiRoutes(app.Echo) {
		if strings.Contains(r, " /api/v1/") {
			routes = append(routes, r)
		}
	}
	if len(routes) < 2 {
		t.Fatalf("found only %v in the route table", routes)
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer(":id", "x").Replace(path)
		need := models.APIKeyScope(documentedScope(app, route))
		if !need.Valid() {
			t.Errorf("%s: the OpenAPI document gives it no x-ringhook-scope (full, read or ingest)", route)
			continue
		}
		for _, scope := range models.APIKeyScopes {
			t.Run(route+" with a "+string(scope)+" key", func(t *testing.T) {
				req, err := http.NewRequest(method, c.Base+path, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+keys[scope])
				req.Header.Set("Content-Type", "application/json")
				res := c.Do(t, req)
				if scope.Permits(need) {
					if res.Status == http.StatusForbidden || res.Status == http.StatusUnauthorized {
						t.Fatalf("refused inside its scope: %s", handlertest.Describe(res))
					}
					return
				}
				e := assertAPIError(t, res, http.StatusForbidden, "forbidden")
				if !strings.Contains(e.Error.Message, string(scope)+" scope") {
					t.Errorf("the message does not name the key's scope: %q", e.Error.Message)
				}
			})
		}
	}
	t.Run("a read key's refused event is not stored", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2READ"
		res := apiPost(t, c, "/api/v1/events", keys[models.ScopeRead], "application/json", strings.Replace(hangupEvent, "%s", id, 1))
		assertAPIError(t, res, http.StatusForbidden, "forbidden")
		var n int64
		if err := app.DB.Table("events").Where("id = ?", "evt_"+id).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d events stored: %v", n, err)
		}
	})
}

// TestTestModeKeys ingests one event with an sk_test_ key and one with a
// live key: the test one reaches the receiver marked test, shows as test in
// the log and stays out of the stats; the live one is live traffic.
func TestTestModeKeys(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	var mu sync.Mutex
	bodies := map[string]map[string]any{} // by webhook-id header (the event id)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		mu.Lock()
		bodies[r.Header.Get("webhook-id")] = v
		mu.Unlock()
	}))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", rc.URL, []string{"call.hangup"}
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	testKey := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "staging pbx", Scope: models.ScopeIngest, Test: true})
	liveKey := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})
	if !strings.HasPrefix(testKey, "sk_test_") || !strings.HasPrefix(liveKey, "sk_live_") {
		t.Fatalf("keys %q %q", testKey[:8], liveKey[:8])
	}
	c := app.NewClient(t)
	const testID, liveID = "01JRB3Q7Z8K2M4N6P8R0S2TEST", "01JRB3Q7Z8K2M4N6P8R0S2PR0D"
	for key, id := range map[string]string{testKey: testID, liveKey: liveID} {
		res := apiPost(t, c, "/api/v1/events", key, "application/json", strings.Replace(hangupEvent, "%s", id, 1))
		if res.Status != http.StatusAccepted || !strings.Contains(res.Body, `"deliveries":1`) {
			t.Fatalf("ingest: %s", handlertest.Describe(res))
		}
	}
	if n, err := app.Dispatcher.ProcessDue(ctx); err != nil || n != 2 {
		t.Fatalf("sent %d: %v", n, err)
	}

	t.Run("the payload says test", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if got := bodies["evt_"+testID]["test"]; got != true {
			t.Errorf("test-key event: test = %v", got)
		}
		if got := bodies["evt_"+liveID]["test"]; got != false {
			t.Errorf("live-key event: test = %v", got)
		}
	})
	t.Run("the deliveries and the stored event are marked", func(t *testing.T) {
		rows, err := app.Store.Deliveries(ctx, tn.Account.ID, models.DeliveryFilter{})
		if err != nil || len(rows) != 2 {
			t.Fatalf("%d rows: %v", len(rows), err)
		}
		for _, r := range rows {
			if want := r.EventID == "evt_"+testID; r.Test != want {
				t.Errorf("delivery of %s: test %v, want %v", r.EventID, r.Test, want)
			}
		}
		var payload string
		if err := app.DB.Raw(`SELECT payload->>'test' FROM events WHERE account_id = ? AND id = ?`, tn.Account.ID, "evt_"+testID).Scan(&payload).Error; err != nil || payload != "true" {
			t.Errorf("stored test event: test %q: %v", payload, err)
		}
	})
	t.Run("the stats leave the test delivery out", func(t *testing.T) {
		stats, err := app.Store.WebhookStats(ctx, tn.Account.ID, time.Now().Add(-time.Hour), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st := stats[w.ID]; st.Succeeded != 1 || st.Failed != 0 || st.Pending != 0 {
			t.Errorf("webhook stats %+v, want the one live delivery", st)
		}
		buckets, err := app.Store.DeliveryCounts(ctx, tn.Account.ID, models.LocalHours(time.Now(), time.UTC, 2))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, b := range buckets {
			total += b.Succeeded + b.Failed + b.Retried
		}
		if total != 1 {
			t.Errorf("dashboard counts %d deliveries, want 1", total)
		}
	})
	t.Run("the log shows it as test", func(t *testing.T) {
		console := app.SignIn(t, tn)
		res := console.Get(t, "/deliveries?"+url.Values{"call_id": {"call_01JRB3PZ5X"}}.Encode())
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if n := strings.Count(res.Body, `<span class="chip">test</span>`); n != 1 {
			t.Errorf("the log marks %d deliveries test, want 1", n)
		}
	})
}
