package handlers_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

var fullKeyRE = regexp.MustCompile(`sk_(live|test)_[A-Za-z0-9]{40}`)

// createKeyInConsole submits the create form and returns the response and
// the one full key it shows.
func createKeyInConsole(t *testing.T, c *handlertest.Client, name, mode string) (handlertest.Response, string) {
	t.Helper()
	res := c.Post(t, "/api-keys", url.Values{"name": {name}, "mode": {mode}})
	if res.Status != http.StatusOK {
		t.Fatalf("create key: %s", handlertest.Describe(res))
	}
	keys := fullKeyRE.FindAllString(res.Body, -1)
	if len(keys) != 1 {
		t.Fatalf("the page shows %d full keys, want exactly 1", len(keys))
	}
	return res, keys[0]
}

func mustKey(t *testing.T, app *handlertest.App, tn handlertest.Tenant, name string) models.APIKey {
	t.Helper()
	keys, err := app.Store.APIKeys(context.Background(), tn.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("api key %q not found among %d", name, len(keys))
	return models.APIKey{}
}

func TestAPIKeyConsoleScopes(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	if res := c.Get(t, "/api-keys"); !strings.Contains(res.Body, `name="scope" value="ingest"`) || !strings.Contains(res.Body, `name="scope" value="full" checked`) {
		t.Fatalf("the form offers no scope, or full is not the default: %s", handlertest.Describe(res))
	}
	for _, scope := range models.APIKeyScopes {
		t.Run(string(scope), func(t *testing.T) {
			name := "key " + string(scope)
			res := c.Post(t, "/api-keys", url.Values{"name": {name}, "mode": {"live"}, "scope": {string(scope)}})
			if res.Status != http.StatusOK || !strings.Contains(res.Body, `<span class="chip">`+string(scope)+`</span>`) {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			if k := mustKey(t, app, tn, name); k.Scope != scope {
				t.Fatalf("stored scope %q", k.Scope)
			}
		})
	}
	t.Run("the list shows each key's scope", func(t *testing.T) {
		res := c.Get(t, "/api-keys")
		if n := strings.Count(res.Body, `<td class="key-scope" data-label="Scope">`); n != len(models.APIKeyScopes) {
			t.Fatalf("%d scope cells: %s", n, handlertest.Describe(res))
		}
	})
	t.Run("an unknown scope is refused and creates nothing", func(t *testing.T) {
		res := c.Post(t, "/api-keys", url.Values{"name": {"bogus"}, "mode": {"live"}, "scope": {"admin"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Choose full, read or ingest.") || fullKeyRE.MatchString(res.Body) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		keys, err := app.Store.APIKeys(context.Background(), tn.Account.ID)
		if err != nil || len(keys) != len(models.APIKeyScopes) {
			t.Fatalf("%d keys: %v", len(keys), err)
		}
	})
}

func TestAPIKeyConsole(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	ctx := context.Background()

	if res := c.Get(t, "/api-keys"); res.Status != http.StatusOK || !strings.Contains(res.Body, "No API keys yet.") ||
		!strings.Contains(res.Body, `action="/api-keys"`) {
		t.Fatalf("empty list: %s", handlertest.Describe(res))
	}

	res, plain := createKeyInConsole(t, c, "CRM integration", "live")
	k := mustKey(t, app, tn, "CRM integration")

	t.Run("the new key is shown once, with the warning", func(t *testing.T) {
		if !strings.HasPrefix(plain, "sk_live_") {
			t.Errorf("live key %q", plain)
		}
		if !strings.Contains(res.Body, "It will not be shown again") {
			t.Error("no copy-it-now notice")
		}
		for name, v := range res.Header {
			if strings.Contains(strings.Join(v, " "), plain[8:]) {
				t.Errorf("header %s carries the key", name)
			}
		}
		if res.Location != "" || res.Header.Get("HX-Redirect") != "" {
			t.Errorf("create redirected (%q); the key must be rendered directly", res.Location)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q on the page with the key", cc)
		}
	})

	t.Run("the key is stored with its prefix, creator and hash", func(t *testing.T) {
		if k.Prefix != plain[:16] || k.CreatedBy != tn.Email || k.RevokedAt != nil || k.LastUsedAt != nil {
			t.Fatalf("stored key: prefix %q created by %q revoked %v used %v", k.Prefix, k.CreatedBy, k.RevokedAt, k.LastUsedAt)
		}
		sum := sha256.Sum256([]byte(plain))
		if string(k.Hash) != string(sum[:]) {
			t.Error("hash is not SHA-256 of the key")
		}
	})

	t.Run("the list afterwards shows only the prefix", func(t *testing.T) {
		res := c.Get(t, "/api-keys")
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if fullKeyRE.MatchString(res.Body) || strings.Contains(res.Body, plain[16:]) {
			t.Fatal("the list shows the full key again")
		}
		for _, want := range []string{"CRM integration", k.Prefix + "…", tn.Email, "Active", "never"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("list lacks %q", want)
			}
		}
	})

	t.Run("no column in the database holds the key", func(t *testing.T) {
		tables := []struct{ name, query string }{
			{"api_keys", `SELECT to_jsonb(k)::text FROM api_keys k WHERE account_id = ?`},
			{"audit_log", `SELECT to_jsonb(a)::text FROM audit_log a WHERE account_id = ?`},
		}
		for _, tb := range tables {
			var rows []string
			if err := app.DB.WithContext(ctx).Raw(tb.query, tn.Account.ID).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				t.Errorf("%s: no rows for the account", tb.name)
			}
			for _, r := range rows {
				if strings.Contains(r, plain[8:]) || strings.Contains(r, plain[16:]) {
					t.Errorf("%s stores the key: %s", tb.name, r)
				}
			}
		}
	})

	t.Run("the key authenticates", func(t *testing.T) {
		got, err := app.Store.AuthenticateAPIKey(ctx, plain)
		if err != nil || got.ID != k.ID || got.AccountID != tn.Account.ID {
			t.Fatalf("authenticate: %v %+v", err, got)
		}
	})

	t.Run("test keys", func(t *testing.T) {
		_, testKey := createKeyInConsole(t, c, "Staging", "test")
		if !strings.HasPrefix(testKey, "sk_test_") {
			t.Fatalf("test key %q", testKey)
		}
	})

	t.Run("revoke with htmx swaps the row", func(t *testing.T) {
		res := c.PostRaw(t, "/api-keys/"+k.ID+"/revoke", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `id="key-`+k.ID+`"`) || !strings.Contains(res.Body, "Revoked") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if strings.Contains(res.Body, "<html") || strings.Contains(res.Body, "/api-keys/"+k.ID+"/revoke") {
			t.Error("the swapped row should be a fragment without a Revoke button")
		}
		if _, err := app.Store.AuthenticateAPIKey(ctx, plain); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("revoked key still authenticates: %v", err)
		}
		if got := mustKey(t, app, tn, "CRM integration"); got.RevokedAt == nil {
			t.Fatal("revoked_at not set")
		}
		// A second revoke changes nothing and is not an error.
		if res := c.Post(t, "/api-keys/"+k.ID+"/revoke", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("revoke again: %s", handlertest.Describe(res))
		}
	})

	t.Run("revoke without JavaScript asks first", func(t *testing.T) {
		s := mustKey(t, app, tn, "Staging")
		res := c.Get(t, "/api-keys/"+s.ID+"/revoke")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "cannot be undone") || !strings.Contains(res.Body, s.Prefix) {
			t.Fatalf("confirm page: %s", handlertest.Describe(res))
		}
		if mustKey(t, app, tn, "Staging").RevokedAt != nil {
			t.Fatal("the confirmation page revoked the key")
		}
		res = c.Post(t, "/api-keys/"+s.ID+"/revoke", nil)
		if res.Status != http.StatusSeeOther || res.Location != "/api-keys" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if mustKey(t, app, tn, "Staging").RevokedAt == nil {
			t.Fatal("not revoked")
		}
		list := c.Get(t, "/api-keys")
		if !strings.Contains(list.Body, "API key &#34;Staging&#34; revoked") && !strings.Contains(list.Body, `API key "Staging" revoked`) {
			t.Errorf("no flash after revoke: %.3000s", list.Body)
		}
	})

	t.Run("audit log records create and revoke", func(t *testing.T) {
		entries, err := app.Store.AuditLog(ctx, tn.Account.ID, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Action+" by "+e.Actor)
		}
		want := []string{"api_key.revoked by " + tn.Email, "api_key.revoked by " + tn.Email, "api_key.created by " + tn.Email, "api_key.created by " + tn.Email}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("audit log %v, want %v", got, want)
		}
	})
}

func TestAPIKeyFormValidation(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/api-keys")
	long := strings.Repeat("k", 101)

	cases := []struct {
		name      string
		form      url.Values
		field     string
		wantValue string // must be kept in the form
	}{
		{"empty name", url.Values{"name": {"   "}, "mode": {"test"}}, "name", `value="test" checked`},
		{"name too long", url.Values{"name": {long}, "mode": {"live"}}, "name", `value="` + long + `"`},
		{"unknown mode", url.Values{"name": {"Kept name"}, "mode": {"prod"}}, "mode", `value="Kept name"`},
		{"no mode", url.Values{"name": {"Kept name"}}, "mode", `value="Kept name"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.Post(t, "/api-keys", tc.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			if !strings.Contains(res.Body, `id="`+tc.field+`-error"`) {
				t.Errorf("no error next to %s", tc.field)
			}
			if !strings.Contains(res.Body, tc.wantValue) {
				t.Errorf("submitted value not kept: want %s", tc.wantValue)
			}
			if fullKeyRE.MatchString(res.Body) {
				t.Error("a failed create shows a key")
			}
		})
	}
	if keys, _ := app.Store.APIKeys(context.Background(), tn.Account.ID); len(keys) != 0 {
		t.Fatalf("invalid forms created %d keys", len(keys))
	}
}

func TestAPIKeysAreIsolated(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	ca, cb := app.SignIn(t, a), app.SignIn(t, b)
	ca.Get(t, "/api-keys")
	createKeyInConsole(t, ca, "A's key", "live")
	k := mustKey(t, app, a, "A's key")

	if res := cb.Get(t, "/api-keys"); strings.Contains(res.Body, k.Prefix) || strings.Contains(res.Body, k.ID) {
		t.Fatal("B's list shows A's key")
	}
	attempts := []struct {
		method, path string
		header       http.Header
	}{
		{"GET", "/api-keys/:id/revoke", nil},
		{"POST", "/api-keys/:id/revoke", nil},
		{"POST htmx", "/api-keys/:id/revoke", http.Header{"Hx-Request": {"true"}}},
	}
	for _, at := range attempts {
		t.Run(at.method+" "+at.path, func(t *testing.T) {
			path := strings.Replace(at.path, ":id", k.ID, 1)
			var res handlertest.Response
			if at.method == "GET" {
				res = cb.Get(t, path)
			} else {
				res = cb.PostRaw(t, path, url.Values{"_csrf": {cb.CSRF()}}, at.header)
			}
			if res.Status != http.StatusNotFound {
				t.Fatalf("want 404: %s", handlertest.Describe(res))
			}
			if strings.Contains(res.Body, k.Prefix) || strings.Contains(res.Body, "A&#39;s key") {
				t.Fatal("the 404 leaks A's key")
			}
		})
	}
	if got := mustKey(t, app, a, "A's key"); got.RevokedAt != nil {
		t.Fatal("B revoked A's key")
	}
}

func TestViewersCannotManageAPIKeys(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	ctx := context.Background()
	k, _, err := app.Store.CreateAPIKey(ctx, owner.Account.ID, models.Actor{Label: owner.Email}, models.NewAPIKey{Name: "Owner's key"})
	if err != nil {
		t.Fatal(err)
	}
	email := "viewer-" + k.ID + "@example.com"
	if _, err := app.Store.CreateUser(ctx, owner.Account.ID, email, "viewer password", models.RoleViewer); err != nil {
		t.Fatal(err)
	}
	cv := app.SignIn(t, handlertest.Tenant{Account: owner.Account, Email: email, Password: "viewer password"})

	res := cv.Get(t, "/api-keys")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, k.Prefix) {
		t.Fatalf("viewer list: %s", handlertest.Describe(res))
	}
	if strings.Contains(res.Body, `action="/api-keys"`) || strings.Contains(res.Body, "/revoke") {
		t.Error("viewer sees the create form or a Revoke button")
	}
	writes := []struct{ method, path string }{
		{"POST", "/api-keys"},
		{"GET", "/api-keys/:id/revoke"},
		{"POST", "/api-keys/:id/revoke"},
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			path := strings.Replace(w.path, ":id", k.ID, 1)
			var res handlertest.Response
			if w.method == "GET" {
				res = cv.Get(t, path)
			} else {
				res = cv.Post(t, path, url.Values{"name": {"viewer key"}, "mode": {"live"}})
			}
			if res.Status != http.StatusForbidden {
				t.Fatalf("want 403: %s", handlertest.Describe(res))
			}
		})
	}
	keys, err := app.Store.APIKeys(ctx, owner.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("viewer changed keys: %d keys, revoked %v", len(keys), keys[0].RevokedAt)
	}
}

// TestAPIKeyNamesUniquePerAccount: a second active key of the same name
// (any case) is refused with a field error, reported in the same answer as
// a bad mode; another account, or a revoked key, does not block the name;
// the JSON API refuses it the same way.
func TestAPIKeyNamesUniquePerAccount(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()
	tn, other := app.NewTenant(t, models.RoleAdmin), app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/api-keys")
	if res := c.Post(t, "/api-keys", url.Values{"name": {"CRM"}, "mode": {"live"}, "scope": {"full"}}); res.Status != http.StatusOK {
		t.Fatalf("first key: %s", handlertest.Describe(res))
	}
	res := c.Post(t, "/api-keys", url.Values{"name": {"crm "}, "mode": {"prod"}, "scope": {"full"}})
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("same name: %s", handlertest.Describe(res))
	}
	sum := html.UnescapeString(errorSummaryRE.FindString(res.Body))
	for _, want := range []string{`href="#name"`, "An active key already has this name", `href="#field-mode"`, "Choose live or test."} {
		if !strings.Contains(sum, want) {
			t.Errorf("the error summary lacks %q: %s", want, sum)
		}
	}
	if !strings.Contains(res.Body, `id="name-error"`) || !strings.Contains(res.Body, `aria-invalid="true"`) {
		t.Error("the name field does not show its error")
	}
	if _, _, err := app.Store.CreateAPIKey(ctx, other.Account.ID, models.Actor{Label: other.Email}, models.NewAPIKey{Name: "CRM"}); err != nil {
		t.Errorf("another account cannot use the name: %v", err)
	}
	key := mustAPIKey(t, app, tn, "API maker", true)
	api := apiDo(t, app.NewClient(t), http.MethodPost, "/api/v1/api-keys", key, `{"name":"CRM","scope":"read"}`)
	if api.Status != http.StatusUnprocessableEntity || !strings.Contains(api.Body, `"name"`) {
		t.Errorf("the API accepted a duplicate name: %s", handlertest.Describe(api))
	}
	keys, err := app.Store.APIKeys(ctx, tn.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == "CRM" {
			if err := app.Store.RevokeAPIKey(ctx, tn.Account.ID, k.ID, models.Actor{Label: tn.Email}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if res := c.Post(t, "/api-keys", url.Values{"name": {"CRM"}, "mode": {"live"}, "scope": {"full"}}); res.Status != http.StatusOK {
		t.Errorf("after revoking, the name is still taken: %s", handlertest.Describe(res))
	}
}
