package payload_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ringhook/ringhook/web/dispatch/payload"
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

func TestVerify(t *testing.T) {
	oldSecret := refSecret
	newSecret, err := payload.NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 24)))
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	otherSecret, _ := payload.NewSecret(nil)
	ts := time.Unix(refUnix, 0)
	tsHeader := strconv.FormatInt(refUnix, 10)
	body := []byte(refBody)
	rotation, err := payload.SignatureHeader([]string{oldSecret, newSecret}, refID, ts, body)
	if err != nil {
		t.Fatalf("SignatureHeader: %v", err)
	}
	if parts := strings.Fields(rotation); len(parts) != 2 || parts[0] != refSig || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("rotation header = %q", rotation)
	}

	tests := []struct {
		name      string
		secrets   []string
		id, tsH   string
		sig       string
		content   []byte
		now       time.Time
		tolerance time.Duration
		want      error // nil = valid; otherwise errors.Is target (or any error when errAny)
		errAny    bool
	}{
		{name: "reference vector", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts},
		{name: "rotation, receiver has old secret", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts},
		{name: "rotation, receiver has new secret", secrets: []string{newSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts},
		{name: "receiver holds both", secrets: []string{otherSecret, newSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts},
		{name: "unknown versions skipped", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: "v1a,abc v2,xyz " + refSig, content: body, now: ts},
		{name: "within tolerance", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(4 * time.Minute), tolerance: 5 * time.Minute},
		{name: "default tolerance", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(-299 * time.Second)},

		{name: "tampered body", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: []byte(`{"test": 2432232315}`), now: ts, want: payload.ErrNoMatchingSignature},
		{name: "tampered id", secrets: []string{oldSecret}, id: refID + "x", tsH: tsHeader, sig: refSig, content: body, now: ts, want: payload.ErrNoMatchingSignature},
		{name: "timestamp header changed", secrets: []string{oldSecret}, id: refID, tsH: strconv.FormatInt(refUnix+1, 10), sig: refSig, content: body, now: ts, want: payload.ErrNoMatchingSignature},
		{name: "wrong secret", secrets: []string{otherSecret}, id: refID, tsH: tsHeader, sig: rotation, content: body, now: ts, want: payload.ErrNoMatchingSignature},
		{name: "signature without version", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: strings.TrimPrefix(refSig, "v1,"), content: body, now: ts, want: payload.ErrNoMatchingSignature},
		{name: "old timestamp", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(6 * time.Minute), tolerance: 5 * time.Minute, want: payload.ErrTimestampOutOfRange},
		{name: "future timestamp", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts.Add(-301 * time.Second), want: payload.ErrTimestampOutOfRange},
		{name: "timestamp not a number", secrets: []string{oldSecret}, id: refID, tsH: "2021-02-21", sig: refSig, content: body, now: ts, want: payload.ErrMissingHeaders},
		{name: "missing signature", secrets: []string{oldSecret}, id: refID, tsH: tsHeader, sig: " ", content: body, now: ts, want: payload.ErrMissingHeaders},
		{name: "missing id", secrets: []string{oldSecret}, tsH: tsHeader, sig: refSig, content: body, now: ts, want: payload.ErrMissingHeaders},
		{name: "no secrets", id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts, errAny: true},
		{name: "bad secret", secrets: []string{"whsec_%%%"}, id: refID, tsH: tsHeader, sig: refSig, content: body, now: ts, errAny: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := payload.Verify(tc.secrets, tc.id, tc.tsH, tc.sig, tc.content, tc.now, tc.tolerance)
			switch {
			case tc.errAny:
				if err == nil {
					t.Error("Verify = nil, want an error")
				}
			case tc.want == nil:
				if err != nil {
					t.Errorf("Verify = %v, want nil", err)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Run("known bytes", func(t *testing.T) {
		got, err := payload.NewSecret(bytes.NewReader(make([]byte, 24)))
		if err != nil {
			t.Fatalf("NewSecret: %v", err)
		}
		if want := "whsec_" + strings.Repeat("A", 32); got != want {
			t.Errorf("NewSecret = %q, want %q", got, want)
		}
	})
	t.Run("random secrets differ and decode to 24 bytes", func(t *testing.T) {
		a, errA := payload.NewSecret(nil)
		b, errB := payload.NewSecret(nil)
		if errA != nil || errB != nil || a == b {
			t.Fatalf("NewSecret = %q, %v; %q, %v", a, errA, b, errB)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
		if err != nil || len(key) != 24 || !strings.HasPrefix(a, "whsec_") {
			t.Errorf("secret %q decodes to %d bytes, %v", a, len(key), err)
		}
	})
	t.Run("short reader fails", func(t *testing.T) {
		if s, err := payload.NewSecret(bytes.NewReader(make([]byte, 10))); err == nil {
			t.Errorf("NewSecret = %q, want error", s)
		}
		if s, err := payload.NewSecret(iotest.ErrReader(errors.New("boom"))); err == nil {
			t.Errorf("NewSecret = %q, want error", s)
		}
	})
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
		name    string
		content string
		valid   bool
	}{
		{"full URL verifies", req.URL, true},
		{"query only does not", req.URL[strings.Index(req.URL, "?")+1:], false},
		{"changed query does not", strings.Replace(req.URL, "token=abc", "token=abd", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := payload.Verify([]string{refSecret}, "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6", strconv.FormatInt(refUnix, 10), sig, []byte(tc.content), ts, 0)
			if (err == nil) != tc.valid {
				t.Errorf("Verify = %v, want valid=%v", err, tc.valid)
			}
		})
	}
}
