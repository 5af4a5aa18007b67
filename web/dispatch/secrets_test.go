package dispatch_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestSecretsSealedAndRedacted sends through the whole path with Basic
// auth and a custom header marked secret: the receiver gets the plaintext
// credentials and a signature that verifies, while the database keeps the
// credentials sealed and the attempt rows keep neither them nor the
// signature, on the first attempt and on a retry.
func TestSecretsSealedAndRedacted(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	const pass, tenant = "basic-pass-77aa", "tenant-secret-55bb"
	w := f.webhook(t, rc.URL+"/sealed", func(in *models.WebhookInput) {
		in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthBasic, "rh", pass
		in.Headers = []models.Header{{Name: "X-Tenant", Value: tenant, Secret: true}, {Name: "X-Env", Value: "prod"}}
	})
	f.ingest(t, d, event("call.hangup", nil))
	processDue(t, d) // 503: a retry is scheduled
	f.clock.Advance(time.Hour)
	fail.Store(false)
	processDue(t, d)

	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	var sigs []string
	for i, r := range got {
		user, p, ok := (&http.Request{Header: r.Header}).BasicAuth()
		if !ok || user != "rh" || p != pass || r.Header.Get("X-Tenant") != tenant || r.Header.Get("X-Env") != "prod" {
			t.Errorf("receiver got Authorization %q, X-Tenant %q", r.Header.Get("Authorization"), r.Header.Get("X-Tenant"))
		}
		sentAt := f.clock.Now().Add(time.Duration(i-1) * time.Hour) // the first went out an hour earlier
		if err := verifyReceived(r, rc.URL, []string{w.SigningSecret}, sentAt); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		sigs = append(sigs, r.Header.Get("webhook-signature"))
	}

	secrets := append([]string{pass, tenant, w.SigningSecret, strings.TrimPrefix(w.SigningSecret, "whsec_"), got[0].Header.Get("Authorization")}, sigs...)
	var raw struct{ W, D, A string }
	if err := f.db.Raw(`SELECT
			(SELECT concat_ws(' ', signing_secret, previous_secret, auth_secret, headers::text) FROM webhooks WHERE id = @w) AS w,
			(SELECT string_agg(request_headers::text, ' ') FROM deliveries WHERE webhook_id = @w) AS d,
			(SELECT string_agg(request_headers::text || ' ' || response_headers::text, ' ') FROM attempts WHERE webhook_id = @w) AS a`,
		map[string]any{"w": w.ID}).Scan(&raw).Error; err != nil {
		t.Fatal(err)
	}
	for name, col := range map[string]string{"webhooks": raw.W, "deliveries": raw.D, "attempts": raw.A} {
		for _, s := range secrets {
			if s != "" && strings.Contains(col, s) {
				t.Errorf("%s holds %q in clear: %s", name, s, col)
			}
		}
	}
	at := f.attempts(t, f.deliveries(t, w.ID)[0].ID)
	if len(at) != 2 {
		t.Fatalf("%d attempts", len(at))
	}
	for _, a := range at {
		seen := map[string]string{}
		for _, h := range a.RequestHeaders.V {
			seen[strings.ToLower(h.Name)] = h.Value
		}
		for _, name := range []string{"authorization", "x-tenant", "webhook-signature"} {
			if seen[name] != models.Redacted {
				t.Errorf("attempt %d: %s = %q, want %s", a.Number, name, seen[name], models.Redacted)
			}
		}
		if seen["x-env"] != "prod" || seen["webhook-id"] == "" {
			t.Errorf("attempt %d redacted too much: %v", a.Number, seen)
		}
	}
}
