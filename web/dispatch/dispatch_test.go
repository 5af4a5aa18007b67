package dispatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

func TestRenderingModes(t *testing.T) {
	rc := newReceiver(t, nil)

	cases := []struct {
		name   string
		method string
		ctype  string
		path   string
		check  func(t *testing.T, r received)
	}{
		{"POST JSON", "POST", models.ContentJSON, "/json", func(t *testing.T, r received) {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			cd, _ := m["custom_data"].(map[string]any)
			if cd["crm_id"] != "A 1&2" || !bytes.Contains(r.Body, []byte(`"crm_id":"A 1&2"`)) {
				t.Errorf("custom_data not nested or HTML-escaped: %s", r.Body)
			}
			if m["started_at"] != "2026-04-09T07:24:22.000Z" || m["started_at_local"] != "2026-04-09T12:54:22+05:30" || m["timezone"] != "Asia/Kolkata" {
				t.Errorf("times: %v %v %v", m["started_at"], m["started_at_local"], m["timezone"])
			}
			if m["from_number"] != "+919240202904" || m["event"] != "call.hangup" || m["test"] != false {
				t.Errorf("fields: %v %v %v", m["from_number"], m["event"], m["test"])
			}
			if v, ok := m["recording_url"]; !ok || v != nil {
				t.Errorf("recording_url should be present and null, got %v (%v)", v, ok)
			}
		}},
		{"POST form", "POST", models.ContentForm, "/form", func(t *testing.T, r received) {
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", ct)
			}
			body := string(r.Body)
			for _, want := range []string{"custom_data%5Bcrm_id%5D=A+1%262", "from_number=%2B919240202904", "started_at_local=2026-04-09T12%3A54%3A22%2B05%3A30", "recording_url=&"} {
				if !strings.Contains(body, want) {
					t.Errorf("form body lacks %q", want)
				}
			}
			v, err := url.ParseQuery(body)
			if err != nil || v.Get("from_number") != "+919240202904" || v.Get("custom_data[crm_id]") != "A 1&2" {
				t.Errorf("round trip: %v %v", err, v)
			}
		}},
		{"GET", "GET", models.ContentJSON, "/get?token=abc", func(t *testing.T, r received) {
			if len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
				t.Errorf("GET with a body (%d bytes) or content type %q", len(r.Body), r.Header.Get("Content-Type"))
			}
			u, _ := url.Parse(r.URL)
			q := u.Query()
			if q["token"][0] != "abc" || len(q["token"]) != 1 || q.Get("from_number") != "+919240202904" || q.Get("event") != "call.hangup" {
				t.Errorf("query %q", r.URL)
			}
			if !strings.HasPrefix(r.URL, "/get?token=abc&") {
				t.Errorf("the admin's query was not kept first: %q", r.URL)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			d := f.dispatcher(t, nil)
			w := f.webhook(t, rc.URL+tc.path, func(in *models.WebhookInput) {
				in.Method, in.ContentType, in.TimeZone = tc.method, tc.ctype, "Asia/Kolkata"
				in.CustomData = []models.KV{{Key: "crm_id", Value: "A 1&2"}}
				in.EventTypes = []string{"call.hangup"}
				in.CallTypes = []string{"inbound"}
			})
			before := len(rc.requests())
			f.ingest(t, d, event("call.hangup", nil))
			if n := processDue(t, d); n < 1 {
				t.Fatalf("sent %d", n)
			}
			reqs := rc.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method {
				t.Errorf("method %s", r.Method)
			}
			tc.check(t, r)
			dl := f.deliveries(t, w.ID)
			if len(dl) != 1 || dl[0].Status != models.StatusSucceeded {
				t.Fatalf("delivery %+v", dl)
			}
			if !bytes.Equal(dl[0].RequestBody, r.Body) {
				t.Error("the receiver did not get the stored body byte for byte")
			}
			if tc.method == "GET" && rc.URL+r.URL != dl[0].RequestURL {
				t.Errorf("GET URL %q differs from stored %q", rc.URL+r.URL, dl[0].RequestURL)
			}
		})
	}
}

func TestHeadersAndSignatures(t *testing.T) {
	rc := newReceiver(t, nil)
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t)
			d := f.dispatcher(t, nil)
			w := f.webhook(t, rc.URL+"/sig?x=1", func(in *models.WebhookInput) {
				in.Method = method
				in.Headers = []models.Header{{Name: "X-Tenant", Value: "acme"}}
				in.AuthType, in.AuthSecret = models.AuthBearer, "tok-123"
			})
			before := len(rc.requests())
			ev := event("call.received", nil)
			f.ingest(t, d, ev)
			processDue(t, d)
			r := rc.requests()[before]
			want := map[string]string{
				"Webhook-Id": ev["event_id"].(string), "X-Webhook-Event": "call.received", "X-Webhook-Attempt": "1",
				"User-Agent": dispatch.UserAgent, "X-Tenant": "acme", "Authorization": "Bearer tok-123",
				"Webhook-Timestamp": "1775719493",
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if err := verifyReceived(r, rc.URL, []string{w.SigningSecret}, f.clock.Now()); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			dl := f.deliveries(t, w.ID)
			at := f.attempts(t, dl[0].ID)
			if len(at) != 1 {
				t.Fatalf("%d attempts", len(at))
			}
			for _, h := range at[0].RequestHeaders.V {
				if strings.Contains(h.Value, "tok-123") {
					t.Errorf("attempt record keeps the bearer token in %s", h.Name)
				}
			}
		})
	}

	t.Run("rotation signs with both secrets", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		w := f.webhook(t, rc.URL+"/rot", nil)
		old := w.SigningSecret
		rotated, err := f.store.RotateWebhookSecret(context.Background(), f.account.ID, w.ID, models.Actor{Label: "t"})
		if err != nil {
			t.Fatal(err)
		}
		before := len(rc.requests())
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		r := rc.requests()[before]
		sig := r.Header.Get("webhook-signature")
		if len(strings.Fields(sig)) != 2 {
			t.Fatalf("want two signatures during rotation, got %q", sig)
		}
		for _, secret := range []string{old, rotated.SigningSecret} {
			if err := verifyReceived(r, rc.URL, []string{secret}, f.clock.Now()); err != nil {
				t.Errorf("does not verify with one of the secrets: %v", err)
			}
		}
		f.clock.Advance(models.SecretOverlap + time.Minute)
		before = len(rc.requests())
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		if sig := rc.requests()[before].Header.Get("webhook-signature"); len(strings.Fields(sig)) != 1 {
			t.Fatalf("the old secret still signs after its overlap: %q", sig)
		}
	})
}

func TestRetrySchedule(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	rc := newReceiver(t, status(http.StatusInternalServerError))
	w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 4 })
	f.ingest(t, d, event("call.received", nil))

	schedule := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute}
	for i, wait := range schedule {
		if n := processDue(t, d); n != 1 {
			t.Fatalf("attempt %d: sent %d", i+1, n)
		}
		dl := f.deliveries(t, w.ID)[0]
		if dl.Status != models.StatusPending || dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(f.clock.Now().Add(wait)) {
			t.Fatalf("after attempt %d: status %s next %v, want pending at +%s", i+1, dl.Status, dl.NextAttemptAt, wait)
		}
		f.clock.Advance(wait - time.Second)
		if n := processDue(t, d); n != 0 {
			t.Fatalf("sent %d before the retry was due", n)
		}
		f.clock.Advance(time.Second)
	}
	if n := processDue(t, d); n != 1 {
		t.Fatalf("last attempt: sent %d", n)
	}
	dl := f.deliveries(t, w.ID)[0]
	if dl.Status != models.StatusFailed || dl.AttemptCount != 4 || dl.LastStatusCode == nil || *dl.LastStatusCode != 500 {
		t.Fatalf("final: %+v", dl)
	}
	at := f.attempts(t, dl.ID)
	if len(at) != 4 {
		t.Fatalf("%d attempt records", len(at))
	}
	reqs := rc.requests()
	for i, r := range reqs {
		if !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get("webhook-id") != reqs[0].Header.Get("webhook-id") {
			t.Errorf("attempt %d body or webhook-id differs from the first", i+1)
		}
		if got := r.Header.Get("X-Webhook-Attempt"); got != []string{"1", "2", "3", "4"}[i] {
			t.Errorf("X-Webhook-Attempt = %s", got)
		}
		if at[i].ErrorKind != models.ErrKindHTTPStatus || at[i].ResponseStatus == nil || *at[i].ResponseStatus != 500 {
			t.Errorf("attempt %d record: %s %v", i+1, at[i].ErrorKind, at[i].ResponseStatus)
		}
	}
}

func TestOutcomes(t *testing.T) {

	t.Run("Retry-After on 429 is honoured", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		w := f.webhook(t, rc.URL, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		dl := f.deliveries(t, w.ID)[0]
		if dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(f.clock.Now().Add(120*time.Second)) {
			t.Fatalf("next attempt %v", dl.NextAttemptAt)
		}
	})
	t.Run("Retry-After on 503 is capped at a day", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "9999999")
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		w := f.webhook(t, rc.URL, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		dl := f.deliveries(t, w.ID)[0]
		if dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(f.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("next attempt %v", dl.NextAttemptAt)
		}
	})
	t.Run("410 Gone disables the webhook", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, status(http.StatusGone))
		w := f.webhook(t, rc.URL, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		dl := f.deliveries(t, w.ID)[0]
		got, _ := f.store.Webhook(context.Background(), f.account.ID, w.ID)
		if dl.Status != models.StatusFailed || got.Enabled || !strings.Contains(got.DisabledReason, "410 Gone") {
			t.Fatalf("delivery %s, webhook enabled %v reason %q", dl.Status, got.Enabled, got.DisabledReason)
		}
		if res := f.ingest(t, d, event("call.received", nil)); res.Deliveries != 0 {
			t.Fatal("a disabled webhook still gets deliveries")
		}
	})
	t.Run("redirects are failures and not followed", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		target := newReceiver(t, nil)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) })
		w := f.webhook(t, rc.URL, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		dl := f.deliveries(t, w.ID)[0]
		at := f.attempts(t, dl.ID)
		if dl.Status != models.StatusPending || at[0].ErrorKind != models.ErrKindHTTPStatus || target.hits.Load() != 0 {
			t.Fatalf("status %s kind %s target hits %d", dl.Status, at[0].ErrorKind, target.hits.Load())
		}
	})
	t.Run("timeouts are recorded as timeout", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.TimeoutSeconds = 1 })
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		at := f.attempts(t, f.deliveries(t, w.ID)[0].ID)
		if at[0].ErrorKind != models.ErrKindTimeout {
			t.Fatalf("kind %q message %q", at[0].ErrorKind, at[0].ErrorMessage)
		}
	})
	t.Run("connection refused is recorded as connect", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, nil)
		dead := rc.URL
		rc.Close()
		w := f.webhook(t, dead, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		at := f.attempts(t, f.deliveries(t, w.ID)[0].ID)
		if at[0].ErrorKind != models.ErrKindConnect {
			t.Fatalf("kind %q message %q", at[0].ErrorKind, at[0].ErrorMessage)
		}
	})
	t.Run("repeated failures auto-disable with a reason", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, func(c *dispatch.Config) { c.AutoDisable = models.AutoDisable{Failures: 3, Window: 10 * time.Minute} })
		rc := newReceiver(t, status(http.StatusBadGateway))
		w := f.webhook(t, rc.URL, nil)
		for i := 0; i < 3; i++ {
			f.ingest(t, d, event("call.received", nil))
		}
		processDue(t, d)
		if got, _ := f.store.Webhook(context.Background(), f.account.ID, w.ID); !got.Enabled {
			t.Fatal("disabled before the window passed")
		}
		f.clock.Advance(10 * time.Minute)
		processDue(t, d)
		got, _ := f.store.Webhook(context.Background(), f.account.ID, w.ID)
		if got.Enabled || !strings.Contains(got.DisabledReason, "failed attempts in a row") || !strings.Contains(got.DisabledReason, "HTTP 502") {
			t.Fatalf("enabled %v reason %q", got.Enabled, got.DisabledReason)
		}
		entries, _ := f.store.AuditLog(context.Background(), f.account.ID, 0, 5)
		if len(entries) == 0 || entries[0].Action != "webhook.auto_disabled" {
			t.Fatal("auto-disable is not in the audit log")
		}
	})
	t.Run("a success resets the failure streak", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, func(c *dispatch.Config) { c.AutoDisable = models.AutoDisable{Failures: 2, Window: 0} })
		fail := true
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			if fail {
				w.WriteHeader(500)
			}
		})
		w := f.webhook(t, rc.URL, nil)
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		fail = false
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		got, _ := f.store.Webhook(context.Background(), f.account.ID, w.ID)
		if !got.Enabled || got.ConsecutiveFailures != 0 || got.FailingSince != nil {
			t.Fatalf("enabled %v streak %d since %v", got.Enabled, got.ConsecutiveFailures, got.FailingSince)
		}
	})
}

func TestSSRFGuard(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, func(c *dispatch.Config) { c.AllowPrivate, c.LoopbackOnly = "", false })
	rc := newReceiver(t, nil)
	w := f.webhook(t, rc.URL, nil)
	f.ingest(t, d, event("call.received", nil))
	processDue(t, d)
	at := f.attempts(t, f.deliveries(t, w.ID)[0].ID)
	if at[0].ErrorKind != models.ErrKindBlocked || rc.hits.Load() != 0 {
		t.Fatalf("kind %q, receiver hits %d", at[0].ErrorKind, rc.hits.Load())
	}
	allowed := f.dispatcher(t, func(c *dispatch.Config) { c.AllowPrivate, c.AllowCIDRs, c.LoopbackOnly = "", "127.0.0.1/32", false })
	f.clock.Advance(time.Minute)
	processDue(t, allowed)
	if rc.hits.Load() != 1 {
		t.Fatalf("the allow-list did not let the retry through (hits %d)", rc.hits.Load())
	}
}
