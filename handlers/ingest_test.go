package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

func apiPost(t testing.TB, c *handlertest.Client, path, key, contentType, body string) handlertest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", contentType)
	return c.Do(t, req)
}

const hangupEvent = `{"event":"call.hangup","event_id":"evt_%s","occurred_at":"2026-04-09T07:24:53Z",
 "call_id":"call_01JRB3PZ5X","direction":"inbound","call_type":"inbound","from_number":"+91 92402 02904",
 "to_number":"+918287842425","call_status":"answered","started_at":"2026-04-09T07:24:22Z",
 "answered_at":"2026-04-09T07:24:23Z","ended_at":"2026-04-09T07:24:53Z","duration_seconds":31,"talk_seconds":30}`

func TestIngestAPI(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "pbx", true)
	var got atomic.Value
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
	}))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", rc.URL, []string{"call.hangup"}
	if _, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in); err != nil {
		t.Fatal(err)
	}
	c := app.NewClient(t)
	body := strings.Replace(hangupEvent, "%s", "01JRB3Q7Z8K2M4N6P8R0S2T4V6", 1)

	res := apiPost(t, c, "/api/v1/events", key, "application/json", body)
	if res.Status != http.StatusAccepted || !strings.Contains(res.Body, `"deliveries":1`) || !strings.Contains(res.Body, `"duplicate":false`) {
		t.Fatalf("ingest: %s", handlertest.Describe(res))
	}
	if n, err := app.Dispatcher.ProcessDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("sent %d: %v", n, err)
	}
	if b, _ := got.Load().(string); !strings.Contains(b, `"from_number":"+919240202904"`) || !strings.Contains(b, `"event_id":"evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6"`) {
		t.Fatalf("receiver got %s", b)
	}

	t.Run("the same event again creates nothing", func(t *testing.T) {
		res := apiPost(t, c, "/api/v1/events", key, "application/json", body)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `"duplicate":true`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if n, _ := app.Dispatcher.ProcessDue(context.Background()); n != 0 {
			t.Fatalf("a duplicate was sent again (%d)", n)
		}
	})
	t.Run("bad events", func(t *testing.T) {
		cases := []struct {
			name, ctype, body string
			status            int
			code, field       string
		}{
			{"not JSON", "application/json", "{", 400, "bad_request", ""},
			{"not an object", "application/json", "[1,2]", 400, "bad_request", ""},
			{"wrong content type", "text/plain", body, 415, "unsupported_media_type", ""},
			{"unknown type", "application/json", strings.Replace(body, "call.hangup", "call.teleported", 1), 422, "invalid", "event"},
			{"bad enum", "application/json", strings.Replace(body, `"direction":"inbound"`, `"direction":"up"`, 1), 422, "invalid", "direction"},
			{"missing id", "application/json", strings.Replace(body, `"event_id":"evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",`, "", 1), 422, "invalid", "event_id"},
			{"reserved key", "application/json", strings.Replace(body, `"talk_seconds":30`, `"talk_seconds":30,"custom_data":{}`, 1), 422, "invalid", "custom_data"},
			{"negative duration", "application/json", strings.Replace(body, `"duration_seconds":31`, `"duration_seconds":-1`, 1), 422, "invalid", "duration_seconds"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := apiPost(t, c, "/api/v1/events", key, tc.ctype, tc.body)
				e := assertAPIError(t, res, tc.status, tc.code)
				if tc.field != "" && e.Error.Fields[tc.field] == "" {
					t.Fatalf("no message for field %q: %s", tc.field, res.Body)
				}
			})
		}
	})
	t.Run("without a key", func(t *testing.T) {
		assertAPIError(t, apiPost(t, c, "/api/v1/events", "sk_live_nope", "application/json", body), 401, "unauthorized")
	})
	t.Run("events only reach the key's own account", func(t *testing.T) {
		other := app.NewTenant(t, models.RoleAdmin)
		otherKey := mustAPIKey(t, app, other, "pbx", true)
		res := apiPost(t, c, "/api/v1/events", otherKey, "application/json", strings.Replace(hangupEvent, "%s", "01JRB3Q7Z8K2M4N6P8R0S2T4V7", 1))
		if res.Status != http.StatusAccepted || !strings.Contains(res.Body, `"deliveries":0`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestConsoleTestEvent(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer rc.Close()
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	f := fullForm("tested")
	f.Set("url", rc.URL+"/hook?token=abc")
	if res := c.Post(t, "/webhooks", f); res.Status != http.StatusSeeOther {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "tested")
	if res := c.Get(t, "/webhooks/"+w.ID); !strings.Contains(res.Body, "Send test event") {
		t.Fatal("the detail page has no test panel")
	}
	res := c.PostRaw(t, "/webhooks/"+w.ID+"/test", map[string][]string{"_csrf": {c.CSRF()}, "event_type": {"call.dtmf"}}, http.Header{"Hx-Request": {"true"}})
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	for _, want := range []string{"201 Created", "POST " + rc.URL + "/hook?token=redacted", "Authorization: [redacted]", "X-Receiver: yes", "{&#34;ok&#34;:true}", "test=true", "event=call.dtmf"} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("inline result lacks %q", want)
		}
	}
	if strings.Contains(res.Body, "s3cret-pass") || strings.Contains(res.Body, "token=abc") {
		t.Error("the inline result shows a secret")
	}
	t.Run("unknown trigger", func(t *testing.T) {
		res := c.Post(t, "/webhooks/"+w.ID+"/test", map[string][]string{"event_type": {"nope"}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("other accounts cannot test it", func(t *testing.T) {
		other := app.SignIn(t, app.NewTenant(t, models.RoleAdmin))
		other.Get(t, "/webhooks")
		if res := other.Post(t, "/webhooks/"+w.ID+"/test", map[string][]string{"event_type": {"call.dtmf"}}); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("send test to all", func(t *testing.T) {
		res := c.Post(t, "/webhooks/test", nil)
		if res.Status != http.StatusSeeOther || res.Location != "/deliveries" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if n, err := app.Dispatcher.ProcessDue(context.Background()); err != nil || n < 1 {
			t.Fatalf("sent %d: %v", n, err)
		}
	})
}

func TestTrailingSlashKeepsPOST(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "pbx", true)
	res := apiPost(t, app.NewClient(t), "/api/v1/events/", key, "application/json", "{}")
	if res.Status != http.StatusPermanentRedirect || res.Location != "/api/v1/events" {
		t.Fatalf("%d to %q; a 301 would turn the POST into a GET", res.Status, res.Location)
	}
}
