package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// apiErrorShape is the one JSON error body of /api; decoding is strict so
// extra or misspelt members fail the test.
type apiErrorShape struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

type apiAccountShape struct {
	Data struct {
		ID               string     `json:"id"`
		Name             string     `json:"name"`
		TimeZone         string     `json:"time_zone"`
		HistoryRetention int        `json:"history_retention_days"`
		HistoryStartsAt  *time.Time `json:"history_starts_at"`
		MaskPII          bool       `json:"mask_pii"`
		FailedBodiesOnly bool       `json:"failed_bodies_only"`
		BodyRetention    int        `json:"body_retention_days"`
	} `json:"data"`
}

func strictJSON(t *testing.T, res handlertest.Response, v any) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %s", ct, handlertest.Describe(res))
	}
	dec := json.NewDecoder(strings.NewReader(res.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("body is not the expected JSON shape: %v: %s", err, handlertest.Describe(res))
	}
}

// assertAPIError checks status and {"error":{"code","message"}}.
func assertAPIError(t *testing.T, res handlertest.Response, status int, code string) apiErrorShape {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, handlertest.Describe(res))
	}
	var body apiErrorShape
	strictJSON(t, res, &body)
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error code %q message %q, want code %q", body.Error.Code, body.Error.Message, code)
	}
	return body
}

// apiGet sends a GET with the given Authorization header ("" for none).
func apiGet(t *testing.T, c *handlertest.Client, path, authorization string) handlertest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return c.Do(t, req)
}

func mustAPIKey(t *testing.T, app *handlertest.App, tn handlertest.Tenant, name string, live bool) string {
	t.Helper()
	return mustScopedKey(t, app, tn, models.NewAPIKey{Name: name, Test: !live})
}

func mustScopedKey(t testing.TB, app *handlertest.App, tn handlertest.Tenant, in models.NewAPIKey) string {
	t.Helper()
	_, plain, err := app.Store.CreateAPIKey(context.Background(), tn.Account.ID, models.Actor{Label: tn.Email}, in)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func TestAPIAuthentication(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	ctx := context.Background()

	aLive := mustAPIKey(t, app, a, "A live", true)
	aTest := mustAPIKey(t, app, a, "A test", false)
	bLive := mustAPIKey(t, app, b, "B live", true)
	revoked := mustAPIKey(t, app, a, "A revoked", true)
	keys, err := app.Store.APIKeys(ctx, a.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == "A revoked" {
			if err := app.Store.RevokeAPIKey(ctx, a.Account.ID, k.ID, models.Actor{Label: a.Email}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Same shape as a real key, never issued.
	unknown := "sk_live_" + strings.Repeat("Z", 40)

	c := app.NewClient(t)
	cases := []struct {
		name          string
		authorization string
		wantAccount   *models.Account // nil: want 401
		invalidToken  bool            // the challenge should say error="invalid_token"
	}{
		{"no header", "", nil, false},
		{"wrong scheme", "Basic " + aLive, nil, false},
		{"key without scheme", aLive, nil, false},
		{"scheme without key", "Bearer", nil, false},
		{"scheme and blank", "Bearer    ", nil, false},
		{"malformed key", "Bearer not-a-key", nil, true},
		{"key with trailing junk", "Bearer " + aLive + " extra", nil, true},
		{"unknown key", "Bearer " + unknown, nil, true},
		{"revoked key", "Bearer " + revoked, nil, true},
		{"truncated key", "Bearer " + aLive[:len(aLive)-1], nil, true},
		{"valid live key", "Bearer " + aLive, a.Account, false},
		{"valid test key", "Bearer " + aTest, a.Account, false},
		{"scheme is case-insensitive", "bearer " + aLive, a.Account, false},
		{"account B's key", "Bearer " + bLive, b.Account, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := apiGet(t, c, "/api/v1/account", tc.authorization)
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			if tc.wantAccount == nil {
				assertAPIError(t, res, http.StatusUnauthorized, "unauthorized")
				ch := res.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, "Bearer ") {
					t.Errorf("WWW-Authenticate %q", ch)
				}
				if got := strings.Contains(ch, `error="invalid_token"`); got != tc.invalidToken {
					t.Errorf("WWW-Authenticate %q: invalid_token %v, want %v", ch, got, tc.invalidToken)
				}
				if tc.authorization != "" && len(tc.authorization) > 20 && strings.Contains(res.Body, tc.authorization[7:]) {
					t.Error("the error echoes the credential")
				}
				return
			}
			if res.Status != http.StatusOK {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			var got apiAccountShape
			strictJSON(t, res, &got)
			want := tc.wantAccount
			if got.Data.ID != want.ID || got.Data.Name != want.Name || got.Data.TimeZone != want.TimeZone {
				t.Fatalf("account %+v, want %s %q %s", got.Data, want.ID, want.Name, want.TimeZone)
			}
		})
	}

	t.Run("a key of account B only ever sees B's account", func(t *testing.T) {
		attempts := []string{
			"/api/v1/account",
			"/api/v1/account?account_id=" + a.Account.ID,
			"/api/v1/account?id=" + a.Account.ID,
		}
		for _, p := range attempts {
			req, _ := http.NewRequest(http.MethodGet, c.Base+p, nil)
			req.Header.Set("Authorization", "Bearer "+bLive)
			req.Header.Set("X-Account-Id", a.Account.ID)
			res := c.Do(t, req)
			var got apiAccountShape
			strictJSON(t, res, &got)
			if res.Status != http.StatusOK || got.Data.ID != b.Account.ID || strings.Contains(res.Body, a.Account.Name) {
				t.Fatalf("GET %s with B's key: %s", p, handlertest.Describe(res))
			}
		}
	})

	t.Run("use is recorded as last_used_at", func(t *testing.T) {
		keys, err := app.Store.APIKeys(ctx, b.Account.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("%v %d", err, len(keys))
		}
		if keys[0].LastUsedAt == nil || time.Since(*keys[0].LastUsedAt) > time.Minute {
			t.Fatalf("last_used_at %v", keys[0].LastUsedAt)
		}
	})

	t.Run("a console session is not an API credential", func(t *testing.T) {
		cs := app.SignIn(t, a)
		res := apiGet(t, cs, "/api/v1/account", "")
		assertAPIError(t, res, http.StatusUnauthorized, "unauthorized")
	})
}

func TestAPIErrorsAreJSON(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	key := "Bearer " + mustAPIKey(t, app, a, "errors", true)
	c := app.NewClient(t)

	cases := []struct {
		name, method, path, authorization string
		status                            int
		code                              string
	}{
		{"unknown path outside v1", "GET", "/api/nope", "", 404, "not_found"},
		{"unknown version", "POST", "/api/v2/events", "", 404, "not_found"},
		{"unknown v1 path with a key", "GET", "/api/v1/nope", key, 404, "not_found"},
		{"unknown v1 path asks for a key first", "GET", "/api/v1/nope", "", 401, "unauthorized"},
		{"wrong method", "DELETE", "/api/v1/account", key, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, c.Base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			res := c.Do(t, req)
			assertAPIError(t, res, tc.status, tc.code)
			if strings.Contains(res.Body, "<html") || res.Location != "" {
				t.Error("an API error answered with HTML or a redirect")
			}
		})
	}
}

// TestAPIAccountHistory: GET /api/v1/account says how long history is
// kept, how far back it goes (null before the first delivery) and the
// privacy settings, from the caller's account alone.
func TestAPIAccountHistory(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	c := app.NewClient(t)
	aKey, bKey := mustAPIKey(t, app, a, "A", true), mustAPIKey(t, app, b, "B", true)
	get := func(key string) apiAccountShape {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, c.Base+"/api/v1/account", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res := c.Do(t, req)
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		var got apiAccountShape
		strictJSON(t, res, &got)
		return got
	}
	if got := get(aKey).Data; got.HistoryRetention != models.DefaultHistoryRetentionDays || got.HistoryStartsAt != nil {
		t.Fatalf("a new account: retention %d, starts %v; want %d days and null", got.HistoryRetention, got.HistoryStartsAt, models.DefaultHistoryRetentionDays)
	}
	oldest := time.Date(2026, 11, 3, 9, 12, 44, 0, time.UTC)
	w := logWebhook(t, app, a, "History")
	seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "call-1", oldest.Add(48*time.Hour))
	seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "call-2", oldest)
	if got := get(aKey).Data; got.HistoryStartsAt == nil || !got.HistoryStartsAt.Equal(oldest) {
		t.Fatalf("history_starts_at %v, want the oldest delivery's %v", got.HistoryStartsAt, oldest)
	}
	if got := get(bKey).Data; got.HistoryStartsAt != nil {
		t.Fatalf("B's history starts at %v: it has no deliveries (A's leaked)", got.HistoryStartsAt)
	}

	// The privacy settings as the account has them, and only its own.
	if got := get(aKey).Data; got.MaskPII || got.FailedBodiesOnly || got.BodyRetention != 0 {
		t.Fatalf("a new account's privacy: %+v, want all off", got)
	}
	if _, err := app.Store.UpdatePrivacySettings(context.Background(), a.Account.ID, models.Actor{Label: "test"},
		models.PrivacySettings{MaskPII: true, FailedBodiesOnly: true, BodyRetentionDays: 7}); err != nil {
		t.Fatal(err)
	}
	if got := get(aKey).Data; !got.MaskPII || !got.FailedBodiesOnly || got.BodyRetention != 7 {
		t.Fatalf("A's privacy after the change: %+v, want masked, failed bodies only, 7 days", got)
	}
	if got := get(bKey).Data; got.MaskPII || got.FailedBodiesOnly || got.BodyRetention != 0 {
		t.Fatalf("B's privacy changed with A's: %+v", got)
	}
}
