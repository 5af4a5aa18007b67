package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// apiWebhookShape is a webhook of the API, decoded strictly.
type apiWebhookShape struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	EventTypes  []string        `json:"event_types"`
	URL         string          `json:"url"`
	Method      string          `json:"method"`
	ContentType string          `json:"content_type"`
	CallTypes   []string        `json:"call_types"`
	DIDNumbers  []string        `json:"did_numbers"`
	TimeZone    string          `json:"time_zone"`
	Headers     []models.Header `json:"headers"`
	Auth        map[string]any  `json:"auth"`
	CustomData  map[string]any  `json:"custom_data"`
	CustomMode  string          `json:"custom_data_mode"`
	Filters     []models.Filter `json:"filters"`
	MaxAttempts int             `json:"max_attempts"`
	TimeoutMS   int             `json:"timeout_ms"`
	Enabled     bool            `json:"enabled"`
	Ordered     bool            `json:"ordered_by_call"`
	Window      int             `json:"ordering_window_seconds"`
	ExpireAfter map[string]int  `json:"expire_after_seconds"`
	Reason      *string         `json:"disabled_reason"`
	DisabledAt  *time.Time      `json:"disabled_at"`
	Probe       map[string]any  `json:"probe"`
	PausedUntil *time.Time      `json:"paused_until"`
	APIVersion  string          `json:"api_version"`
	CreatedAt   time.Time       `json:"created_at"`
	CreatedBy   string          `json:"created_by"`
	UpdatedAt   time.Time       `json:"updated_at"`
	UpdatedBy   string          `json:"updated_by"`
	Secret      string          `json:"signing_secret"`
}

type apiWebhookData struct {
	Data apiWebhookShape `json:"data"`
}

type apiWebhookPage struct {
	Data       []apiWebhookShape `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

// apiDo sends method path with a JSON body ("" for none) and key.
func apiDo(t testing.TB, c *handlertest.Client, method, path, key, body string, header ...string) handlertest.Response {
	t.Helper()
	req, err := http.NewRequest(method, c.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.Do(t, req)
}

func wantStatus(t testing.TB, res handlertest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, handlertest.Describe(res))
	}
}

func webhookBody(name, url string) string {
	return fmt.Sprintf(`{"name":%q,"url":%q,"event_types":["call.hangup"]}`, name, url)
}

func createAPIWebhook(t *testing.T, c *handlertest.Client, key, body string) apiWebhookShape {
	t.Helper()
	res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, body)
	wantStatus(t, res, http.StatusCreated)
	var out apiWebhookData
	strictJSON(t, res, &out)
	return out.Data
}

func TestAPIWebhookCRUD(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleOwner)
	key := mustAPIKey(t, app, tn, "crud", true)
	c := app.NewClient(t)
	ctx := context.Background()

	full := `{"name":"CRM","description":"Calls into the CRM","event_types":["call.hangup","call.answered"],
	 "url":"https://crm.example.com/hooks","method":"POST","content_type":"application/x-www-form-urlencoded",
	 "call_types":["inbound"],"did_numbers":["+918287842425"],"time_zone":"Europe/Berlin",
	 "headers":[{"name":"X-Tenant","value":"acme"},{"name":"X-Api-Key","value":"k-123-secret"},{"name":"X-B","value":"b"}],
	 "auth":{"type":"bearer","token":"t0k3n-secret"},"custom_data":{"crm":"hubspot","b":"2"},
	 "filters":[{"field":"call_status","op":"in","values":["answered"]}],"max_attempts":3,"timeout_ms":5000,"enabled":false}`
	created := createAPIWebhook(t, c, key, full)

	t.Run("create answers every field, the signing secret once, no credentials", func(t *testing.T) {
		w := created
		if !strings.HasPrefix(w.Secret, models.SigningSecretPrefix) || w.Name != "CRM" || w.Description != "Calls into the CRM" ||
			len(w.EventTypes) != 2 || w.Method != "POST" || w.ContentType != models.ContentForm || w.CallTypes[0] != "inbound" ||
			w.DIDNumbers[0] != "+918287842425" || w.TimeZone != "Europe/Berlin" || w.MaxAttempts != 3 || w.TimeoutMS != 5000 ||
			w.Enabled || w.CustomData["crm"] != "hubspot" || len(w.Filters) != 1 || w.Auth["type"] != "bearer" || w.Auth["secret_set"] != true ||
			w.CreatedBy == "" || w.UpdatedBy == "" || w.CreatedAt.IsZero() {
			t.Fatalf("created %+v", w)
		}
		names := []string{}
		for _, h := range w.Headers {
			names = append(names, h.Name)
		}
		if strings.Join(names, ",") != "X-Tenant,X-Api-Key,X-B" || w.Headers[1].Value != models.Redacted || !w.Headers[1].Secret {
			t.Fatalf("headers %+v", w.Headers)
		}
		stored, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if err != nil || stored.SigningSecret != w.Secret || stored.AuthSecret != "t0k3n-secret" {
			t.Fatalf("stored %+v %v", stored, err)
		}
	})
	t.Run("GET shows it without the secret or credentials", func(t *testing.T) {
		res := apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+created.ID, key, "")
		wantStatus(t, res, http.StatusOK)
		for _, secret := range []string{created.Secret, "t0k3n-secret", "k-123-secret"} {
			if strings.Contains(res.Body, secret) {
				t.Fatalf("GET shows %q: %s", secret, res.Body)
			}
		}
		var got apiWebhookData
		strictJSON(t, res, &got)
		if got.Data.Secret != "" || got.Data.Name != "CRM" {
			t.Fatalf("%+v", got.Data)
		}
	})
	t.Run("PATCH: absent members stay, null clears optional ones", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPatch, "/api/v1/webhooks/"+created.ID, key,
			`{"name":"CRM prod","description":null,"call_types":null,"custom_data":null}`)
		wantStatus(t, res, http.StatusOK)
		var got apiWebhookData
		strictJSON(t, res, &got)
		w := got.Data
		if w.Name != "CRM prod" || w.Description != "" || len(w.CallTypes) != 0 || len(w.CustomData) != 0 {
			t.Fatalf("nulls not cleared: %+v", w)
		}
		if w.URL != "https://crm.example.com/hooks" || w.TimeZone != "Europe/Berlin" || w.MaxAttempts != 3 || len(w.Headers) != 3 ||
			w.Auth["type"] != "bearer" || w.DIDNumbers[0] != "+918287842425" || len(w.Filters) != 1 || w.Enabled {
			t.Fatalf("absent members changed: %+v", w)
		}
		stored, _ := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if stored.AuthSecret != "t0k3n-secret" || stored.Headers.V[1].Value != "k-123-secret" {
			t.Fatalf("PATCH lost stored credentials: %q %+v", stored.AuthSecret, stored.Headers.V)
		}
		// A header list echoed back as shown keeps the secret value.
		res = apiDo(t, c, http.MethodPatch, "/api/v1/webhooks/"+created.ID, key,
			`{"headers":[{"name":"X-Api-Key","value":"[redacted]","secret":true}],"auth":null}`)
		wantStatus(t, res, http.StatusOK)
		stored, _ = app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if len(stored.Headers.V) != 1 || stored.Headers.V[0].Value != "k-123-secret" || stored.AuthType != models.AuthNone || stored.AuthSecret != "" {
			t.Fatalf("after echo: %+v %q %q", stored.Headers.V, stored.AuthType, stored.AuthSecret)
		}
	})
	t.Run("PATCH null on a required member is a 422 that changes nothing", func(t *testing.T) {
		before, _ := app.Store.Webhook(ctx, tn.Account.ID, created.ID)
		for _, body := range []string{`{"name":null}`, `{"url":null,"description":"x"}`, `{"event_types":null}`, `{"timeout_ms":1500}`, `{"url":"ftp://x"}`} {
			res := apiDo(t, c, http.MethodPatch, "/api/v1/webhooks/"+created.ID, key, body)
			e := assertAPIError(t, res, http.StatusUnprocessableEntity, "invalid")
			if len(e.Error.Fields) == 0 {
				t.Fatalf("%s: no fields: %s", body, res.Body)
			}
		}
		after, _ := app.Store.Webhook(ctx, tn.Account.ID, created.ID)
		if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Description != before.Description {
			t.Fatal("a refused PATCH changed the webhook")
		}
	})
	t.Run("PUT replaces: members left out take their defaults, a stored token is kept", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPatch, "/api/v1/webhooks/"+created.ID, key, `{"auth":{"type":"basic","username":"u","password":"pw-secret"}}`)
		wantStatus(t, res, http.StatusOK)
		res = apiDo(t, c, http.MethodPut, "/api/v1/webhooks/"+created.ID, key,
			`{"name":"Replaced","url":"https://other.example.com/h","event_types":["call.missed"],"auth":{"type":"basic","username":"u2"}}`)
		wantStatus(t, res, http.StatusOK)
		var got apiWebhookData
		strictJSON(t, res, &got)
		w := got.Data
		if w.Name != "Replaced" || w.Method != "POST" || w.ContentType != models.ContentJSON || w.TimeZone != "Asia/Kolkata" ||
			len(w.Headers) != 0 || len(w.DIDNumbers) != 0 || len(w.Filters) != 0 || w.MaxAttempts != models.DefaultAttempts ||
			w.TimeoutMS != models.DefaultTimeoutSec*1000 || !w.Enabled || w.Auth["username"] != "u2" {
			t.Fatalf("PUT kept old values: %+v", w)
		}
		stored, _ := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if stored.AuthSecret != "pw-secret" {
			t.Fatalf("auth secret %q", stored.AuthSecret)
		}
		res = apiDo(t, c, http.MethodPut, "/api/v1/webhooks/"+created.ID, key, `{"name":"Replaced"}`)
		e := assertAPIError(t, res, http.StatusUnprocessableEntity, "invalid")
		if e.Error.Fields["url"] == "" || e.Error.Fields["event_types"] == "" {
			t.Fatalf("fields %v", e.Error.Fields)
		}
	})
	t.Run("bad bodies: 400, 415, 422, and nothing is created", func(t *testing.T) {
		count := func() int {
			hooks, err := app.Store.Webhooks(ctx, tn.Account.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(hooks)
		}
		n := count()
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, `{"name":"x","nope":1}`), http.StatusBadRequest, "bad_request")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, `{"name":`), http.StatusBadRequest, "bad_request")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, `[]`), http.StatusBadRequest, "bad_request")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, `{"max_attempts":"3"}`), http.StatusBadRequest, "bad_request")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, webhookBody("x", "https://a.example"), "Content-Type", "text/plain"),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, big), http.StatusRequestEntityTooLarge, "too_large")
		e := assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key,
			`{"name":"x","url":"https://a.example","event_types":["call.nope"],"custom_data":{"bad key":"v"},"auth":{"type":"bearer"}}`),
			http.StatusUnprocessableEntity, "invalid")
		if e.Error.Fields["event_types"] == "" || e.Error.Fields["custom_data.bad key"] == "" || e.Error.Fields["auth.token"] == "" {
			t.Fatalf("fields %v", e.Error.Fields)
		}
		if count() != n {
			t.Fatal("a refused create stored a webhook")
		}
	})
	t.Run("names need not be unique", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, webhookBody("Replaced", "https://b.example"))
		wantStatus(t, res, http.StatusCreated)
		var twin apiWebhookData
		strictJSON(t, res, &twin)
		wantStatus(t, apiDo(t, c, http.MethodDelete, "/api/v1/webhooks/"+twin.Data.ID, key, ""), http.StatusNoContent)
	})
	t.Run("DELETE answers 204, then 404", func(t *testing.T) {
		wantStatus(t, apiDo(t, c, http.MethodDelete, "/api/v1/webhooks/"+created.ID, key, ""), http.StatusNoContent)
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+created.ID, key, ""), http.StatusNotFound, "not_found")
		assertAPIError(t, apiDo(t, c, http.MethodDelete, "/api/v1/webhooks/"+created.ID, key, ""), http.StatusNotFound, "not_found")
	})
	t.Run("a create with an Idempotency-Key is made once", func(t *testing.T) {
		body := webhookBody("Once", "https://a.example/once")
		first := apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, body, "Idempotency-Key", "create-once")
		second := apiDo(t, c, http.MethodPost, "/api/v1/webhooks", key, body, "Idempotency-Key", "create-once")
		wantStatus(t, first, http.StatusCreated)
		wantStatus(t, second, http.StatusCreated)
		if first.Body != second.Body || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs: %s / %s", first.Body, second.Body)
		}
		page := listWebhooks(t, c, key, "")
		n := 0
		for _, w := range page.Data {
			if w.Name == "Once" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d webhooks named Once", n)
		}
	})
}

func listWebhooks(t *testing.T, c *handlertest.Client, key, query string) apiWebhookPage {
	t.Helper()
	res := apiDo(t, c, http.MethodGet, "/api/v1/webhooks"+query, key, "")
	wantStatus(t, res, http.StatusOK)
	var p apiWebhookPage
	strictJSON(t, res, &p)
	return p
}

func TestAPIWebhookListPages(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleOwner)
	key := mustAPIKey(t, app, tn, "pages", true)
	c := app.NewClient(t)
	for i := range 5 {
		body := webhookBody(fmt.Sprintf("hook %d", i), "https://a.example/h")
		if i%2 == 1 {
			body = fmt.Sprintf(`{"name":"hook %d","url":"https://a.example/h","event_types":["call.missed"],"enabled":false}`, i)
		}
		createAPIWebhook(t, c, key, body)
	}
	t.Run("pages of 2 cover every webhook once, in id order", func(t *testing.T) {
		seen, cursor, pages := []string{}, "", 0
		for {
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			p := listWebhooks(t, c, key, q)
			pages++
			for _, w := range p.Data {
				seen = append(seen, w.ID)
			}
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
		}
		if pages != 3 || len(seen) != 5 {
			t.Fatalf("%d pages, %v", pages, seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("not in id order or repeated: %v", seen)
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		if p := listWebhooks(t, c, key, "?enabled=false"); len(p.Data) != 2 || p.Data[0].Enabled {
			t.Fatalf("enabled=false: %+v", p.Data)
		}
		if p := listWebhooks(t, c, key, "?enabled=true&event_type=call.hangup"); len(p.Data) != 3 {
			t.Fatalf("enabled hangup: %d", len(p.Data))
		}
		if p := listWebhooks(t, c, key, "?event_type=call.missed"); len(p.Data) != 2 {
			t.Fatalf("ringing: %d", len(p.Data))
		}
	})
	t.Run("bad parameters are 422", func(t *testing.T) {
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?enabled=yes", "?event_type=call.nope", "?cursor=%00"} {
			e := assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks"+q, key, ""), http.StatusUnprocessableEntity, "invalid")
			if len(e.Error.Fields) != 1 {
				t.Fatalf("%s: %v", q, e.Error.Fields)
			}
		}
	})
}

// receiver records the requests it gets and answers status.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newReceiver(t testing.TB, status int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.mu.Unlock()
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("got it"))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return nil
	}
	return r.reqs[len(r.reqs)-1]
}

type apiTestResultShape struct {
	WebhookID  string `json:"webhook_id"`
	DeliveryID string `json:"delivery_id"`
	EventType  string `json:"event_type"`
	Success    bool   `json:"success"`
	DurationMS int    `json:"duration_ms"`
	Request    *struct {
		Method  string          `json:"method"`
		URL     string          `json:"url"`
		Headers []models.Header `json:"headers"`
		Body    string          `json:"body"`
	} `json:"request"`
	Response *struct {
		Status  int             `json:"status"`
		Headers []models.Header `json:"headers"`
		Body    string          `json:"body"`
	} `json:"response"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestAPIWebhookSecretsAndTests(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleOwner)
	key := mustAPIKey(t, app, tn, "secrets", true)
	c := app.NewClient(t)
	ok, bad := newReceiver(t, http.StatusCreated), newReceiver(t, http.StatusInternalServerError)
	w := createAPIWebhook(t, c, key, webhookBody("ok", ok.URL))
	failing := createAPIWebhook(t, c, key, fmt.Sprintf(`{"name":"bad","url":%q,"event_types":["call.missed"]}`, bad.URL))
	createAPIWebhook(t, c, key, fmt.Sprintf(`{"name":"off","url":%q,"event_types":["call.hangup"],"enabled":false}`, ok.URL))

	type secretShape struct {
		Data struct {
			WebhookID string     `json:"webhook_id"`
			Secret    string     `json:"signing_secret"`
			Previous  *time.Time `json:"previous_secret_expires_at"`
		} `json:"data"`
	}
	getSecret := func() secretShape {
		res := apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+w.ID+"/secret", key, "")
		wantStatus(t, res, http.StatusOK)
		var s secretShape
		strictJSON(t, res, &s)
		return s
	}
	t.Run("the secret is the one create gave", func(t *testing.T) {
		if s := getSecret(); s.Data.Secret != w.Secret || s.Data.Previous != nil {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("rotate: default grace 24 h, then both secrets sign", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, "")
		wantStatus(t, res, http.StatusOK)
		var s secretShape
		strictJSON(t, res, &s)
		if s.Data.Secret == w.Secret || s.Data.Previous == nil || time.Until(*s.Data.Previous) < 23*time.Hour || time.Until(*s.Data.Previous) > 25*time.Hour {
			t.Fatalf("%+v", s)
		}
		res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/test", key, `{"event_type":"call.hangup"}`)
		wantStatus(t, res, http.StatusOK)
		sig := ok.last().Header.Get("webhook-signature")
		if n := len(strings.Fields(sig)); n != 2 {
			t.Fatalf("webhook-signature %q: %d signatures, want 2", sig, n)
		}
	})
	t.Run("rotate with grace 0 drops the old secret; a bad grace is 422", func(t *testing.T) {
		before := getSecret().Data.Secret
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, `{"grace_period_seconds":-1}`),
			http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, `{"grace_period_seconds":604801}`),
			http.StatusUnprocessableEntity, "invalid")
		if getSecret().Data.Secret != before {
			t.Fatal("a refused rotation rotated")
		}
		wantStatus(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, `{"grace_period_seconds":0}`), http.StatusOK)
		if s := getSecret(); s.Data.Previous != nil || s.Data.Secret == before {
			t.Fatalf("%+v", s)
		}
		wantStatus(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/test", key, ""), http.StatusOK)
		if sig := ok.last().Header.Get("webhook-signature"); len(strings.Fields(sig)) != 1 {
			t.Fatalf("webhook-signature %q", sig)
		}
	})
	t.Run("test answers the exact request and the response", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/test", key, `{"event_type":"call.answered"}`)
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Data apiTestResultShape `json:"data"`
		}
		strictJSON(t, res, &got)
		r := got.Data
		sent := ok.last()
		if !r.Success || r.EventType != "call.answered" || r.Request == nil || r.Request.Method != "POST" || r.Request.URL != ok.URL ||
			!strings.Contains(r.Request.Body, `"call.answered"`) || r.Response == nil || r.Response.Status != http.StatusCreated ||
			r.Response.Body != "got it" || r.Error != nil || !strings.HasPrefix(r.DeliveryID, "dlv_") || sent.Header.Get("webhook-id") == "" {
			t.Fatalf("%+v", r)
		}
		res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+failing.ID+"/test", key, "")
		wantStatus(t, res, http.StatusOK)
		strictJSON(t, res, &got)
		if got.Data.Success || got.Data.Response.Status != 500 || got.Data.Error == nil || got.Data.EventType != "call.missed" {
			t.Fatalf("failing receiver: %+v", got.Data)
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/test", key, `{"event_type":"call.nope"}`),
			http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/test", key, `{"event_type":1}`),
			http.StatusBadRequest, "bad_request")
	})
	t.Run("test all sends to every enabled webhook", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/test", key, "")
		wantStatus(t, res, http.StatusOK)
		var got struct {
			Success   bool                 `json:"success"`
			MessageID string               `json:"message_id"`
			SentAt    time.Time            `json:"sent_at"`
			Results   []apiTestResultShape `json:"results"`
		}
		strictJSON(t, res, &got)
		if got.Success || !strings.HasPrefix(got.MessageID, "msg_") || len(got.Results) != 2 {
			t.Fatalf("%+v", got)
		}
		for _, r := range got.Results {
			if r.Success != (r.WebhookID == w.ID) {
				t.Fatalf("result %+v", r)
			}
		}
		wantStatus(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+failing.ID+"/disable", key, ""), http.StatusOK)
		res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/test", key, `{"event_type":"call.hangup"}`)
		strictJSON(t, res, &got)
		if !got.Success || len(got.Results) != 1 {
			t.Fatalf("%+v", got)
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/test", key, `{"event_type":"nope"}`), http.StatusUnprocessableEntity, "invalid")
	})
	t.Run("disable records the reason, enable clears it", func(t *testing.T) {
		res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/disable", key, `{"reason":"Receiver migration"}`)
		wantStatus(t, res, http.StatusOK)
		var got apiWebhookData
		strictJSON(t, res, &got)
		if got.Data.Enabled || got.Data.Reason == nil || *got.Data.Reason != "Receiver migration" || got.Data.DisabledAt == nil {
			t.Fatalf("%+v", got.Data)
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/disable", key, `{"reason":"a\nb"}`), http.StatusUnprocessableEntity, "invalid")
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/enable", key, `{"x":1}`), http.StatusBadRequest, "bad_request")
		res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/"+w.ID+"/enable", key, "")
		wantStatus(t, res, http.StatusOK)
		strictJSON(t, res, &got)
		if !got.Data.Enabled || got.Data.Reason != nil || got.Data.DisabledAt != nil {
			t.Fatalf("%+v", got.Data)
		}
	})
}

// TestAPIWebhookIsolation: account B's key on every webhook route with A's
// id answers 404 and changes nothing.
func TestAPIWebhookIsolation(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	aKey, bKey := mustAPIKey(t, app, a, "a", true), mustAPIKey(t, app, b, "b", true)
	c := app.NewClient(t)
	hook := createAPIWebhook(t, c, aKey, webhookBody("A's", "https://a.example/h"))
	ctx := context.Background()
	before, err := app.Store.Webhook(ctx, a.Account.ID, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	id := hook.ID
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/webhooks/" + id, ""},
		{"PATCH", "/api/v1/webhooks/" + id, `{"name":"stolen"}`},
		{"PUT", "/api/v1/webhooks/" + id, webhookBody("stolen", "https://evil.example")},
		{"GET", "/api/v1/webhooks/" + id + "/secret", ""},
		{"POST", "/api/v1/webhooks/" + id + "/secret/rotate", ""},
		{"POST", "/api/v1/webhooks/" + id + "/enable", ""},
		{"POST", "/api/v1/webhooks/" + id + "/disable", `{"reason":"stolen"}`},
		{"POST", "/api/v1/webhooks/" + id + "/test", ""},
		{"DELETE", "/api/v1/webhooks/" + id, ""},
	} {
		res := apiDo(t, c, r.method, r.path, bKey, r.body)
		if res.Status != http.StatusNotFound {
			t.Fatalf("%s %s with B's key: %s", r.method, r.path, handlertest.Describe(res))
		}
		assertAPIError(t, res, http.StatusNotFound, "not_found")
		if strings.Contains(res.Body, "A's") {
			t.Fatalf("%s %s leaks: %s", r.method, r.path, res.Body)
		}
	}
	if p := listWebhooks(t, c, bKey, ""); len(p.Data) != 0 {
		t.Fatalf("B lists %+v", p.Data)
	}
	if p := listWebhooks(t, c, bKey, "?cursor=wh_000000000000"); len(p.Data) != 0 {
		t.Fatalf("B lists %+v", p.Data)
	}
	res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/test", bKey, "")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.Body, id) {
		t.Fatalf("B's test-all reached A's webhook: %s", res.Body)
	}
	after, err := app.Store.Webhook(ctx, a.Account.ID, id)
	if err != nil || !after.UpdatedAt.Equal(before.UpdatedAt) || after.SigningSecret != before.SigningSecret || after.Name != before.Name || !after.Enabled {
		t.Fatalf("B changed A's webhook: %+v %v", after, err)
	}
	var n int64
	if err := app.DB.Table("deliveries").Where("webhook_id = ?", id).Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("%d deliveries to A's webhook: %v", n, err)
	}
}
