package payload_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch/payload"
	"github.com/ringhook/ringhook/web/dispatch/verifyexample"
)

// Standard Webhooks reference vector.
const (
	refSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	refID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	refUnix   = 1614265330
	refBody   = `{"test": 2432232314}`
	refSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignKnownAnswer(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{"with prefix", refSecret},
		{"without prefix", strings.TrimPrefix(refSecret, "whsec_")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := payload.Sign(tc.secret, refID, time.Unix(refUnix, 0), []byte(refBody))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got != refSig {
				t.Errorf("Sign = %s, want %s", got, refSig)
			}
		})
	}
	t.Run("time zone does not matter", func(t *testing.T) {
		ts := time.Unix(refUnix, 999_000_000).In(time.FixedZone("x", 5*3600+1800))
		if got, _ := payload.Sign(refSecret, refID, ts, []byte(refBody)); got != refSig {
			t.Errorf("Sign = %s, want %s", got, refSig)
		}
	})
}

func TestSignErrors(t *testing.T) {
	tests := []struct{ name, secret, id string }{
		{"bad base64", "whsec_not*base64", refID},
		{"empty key", "whsec_", refID},
		{"empty id", refSecret, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if sig, err := payload.Sign(tc.secret, tc.id, time.Unix(refUnix, 0), nil); err == nil {
				t.Errorf("Sign = %q, want error", sig)
			}
		})
	}
	if _, err := payload.SignatureHeader(nil, refID, time.Now(), nil); err == nil {
		t.Error("SignatureHeader with no secrets: want error")
	}
	if _, err := payload.SignatureHeader([]string{refSecret, "whsec_!!"}, refID, time.Now(), nil); err == nil {
		t.Error("SignatureHeader with a bad secret: want error")
	}
}

// TestVerifyRoundTrip checks what SignatureHeader produces against the
// receiver-side check the README quotes (verifyexample.Verify, the one
// verifier), rotation included.
func TestVerifyRoundTrip(t *testing.T) {
	oldSecret := refSecret
	newSecret := models.SigningSecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 24))
	otherSecret, err := models.NewSigningSecret()
	if err != nil {
		t.Fatalf("NewSigningSecret: %v", err)
	}
	ts := time.Unix(refUnix, 0)
	tsHeader := strconv.FormatInt(refUnix, 10)
	body := refBody
	rotation, err := payload.SignatureHeader([]string{oldSecret, newSecret}, refID, ts, []byte(body))
	if err != nil {
		t.Fatalf("SignatureHeader: %v", err)
	}
	if parts := strings.Fields(rotation); len(parts) != 2 || parts[0] != refSig || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("rotation header = %q", rotation)
	}

	tests := []struct {
		name    string
		secrets []string
		id, tsH string
		sig     string
		content string
		now     time.Time
		valid   bool
	}{
		{name: "reference vector", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts, valid: true},
		{name: "rotation, receiver has old secret", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts, valid: true},
		{name: "rotation, receiver has new secret", secrets: []string{newSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts, valid: true},
		{name: "receiver holds both", secrets: []string{otherSecret, newSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts, valid: true},
		{name: "unknown versions skipped", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: "v1a,abc v2,xyz " + refSig, content: body, now: ts, valid: true},
		{name: "within tolerance", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(4 * time.Minute), valid: true},
		{name: "future within tolerance", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(-299 * time.Second), valid: true},

		{name: "tampered body", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: `{"test": 2432232315}`, now: ts},
		{name: "tampered id", secrets: []string{oldSecret}, id: refID + "x", tsH: tsHeader, sig: refSig, content: body, now: ts},
		{name: "timestamp header changed", secrets: []string{oldSecret}, id: refID, tsH: strconv.FormatInt(refUnix+1, 10), sig: refSig, content: body, now: ts},
		{name: "wrong secret", secrets: []string{otherSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts},
		{name: "old timestamp", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(6 * time.Minute)},
		{name: "future timestamp", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(-301 * time.Second)},
		{name: "timestamp not a number", secrets: []string{oldSecret}, id: refID, tsH: "2021-02-21", sig: refSig, content: body, now: ts},
		{name: "missing signature", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, content: body, now: ts},
		{name: "missing id", secrets: []string{oldSecret}, tsH: tsHeader, sig: refSig, content: body, now: ts},
		{name: "no secrets", id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts},
		{name: "bad secret", secrets: []string{"whsec_%%%"}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "https://crm.example.com/in", strings.NewReader(tc.content))
			r.Header.Set("webhook-id", tc.id)
			r.Header.Set("webhook-timestamp", tc.tsH)
			r.Header.Set("webhook-signature", tc.sig)
			_, err := verifyexample.Verify(r, "https://crm.example.com", tc.secrets, tc.now)
			if (err == nil) != tc.valid {
				t.Errorf("Verify = %v, want valid=%v", err, tc.valid)
			}
		})
	}
}

func TestSignedContentGET(t *testing.T) {
	target := workedTarget("GET", "")
	f := workedFields(t)
	req, err := payload.Render(f, target)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	ts := time.Unix(refUnix, 0)
	sig, err := payload.SignatureHeader([]string{refSecret}, "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6", ts, payload.SignedContent(req))
	if err != nil {
		t.Fatalf("SignatureHeader: %v", err)
	}
	tests := []struct {
		name      string
		url       string // as received
		publicURL string // as the receiver configured it
		valid     bool
	}{
		{"full URL verifies", req.URL, "https://example.com", true},
		{"another host does not", req.URL, "https://example.org", false},
		{"changed query does not", strings.Replace(req.URL, "token=abc", "token=abd", 1), "https://example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.url, nil)
			r.Header.Set("webhook-id", "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6")
			r.Header.Set("webhook-timestamp", strconv.FormatInt(refUnix, 10))
			r.Header.Set("webhook-signature", sig)
			_, err := verifyexample.Verify(r, tc.publicURL, []string{refSecret}, ts)
			if (err == nil) != tc.valid {
				t.Errorf("Verify = %v, want valid=%v", err, tc.valid)
			}
		})
	}
}
