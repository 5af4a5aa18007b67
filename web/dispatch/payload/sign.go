package payload

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the size of the random key in a new secret.
const secretBytes = 24

// DefaultTolerance is the accepted clock difference when Verify is given a
// tolerance of zero or less (Standard Webhooks recommends five minutes).
const DefaultTolerance = 5 * time.Minute

// Errors returned (wrapped) by Verify.
var (
	ErrMissingHeaders      = errors.New("webhook signature headers missing or malformed")
	ErrTimestampOutOfRange = errors.New("webhook timestamp outside the tolerance")
	ErrNoMatchingSignature = errors.New("no matching webhook signature")
)

// NewSecret returns a new signing secret, "whsec_" followed by the standard
// base64 of 24 bytes read from rnd (crypto/rand when rnd is nil).
func NewSecret(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	key := make([]byte, secretBytes)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return "", fmt.Errorf("new secret: read random bytes: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Sign returns the Standard Webhooks signature "v1,<base64>" of content: the
// HMAC-SHA256, keyed with the base64-decoded part of secret after "whsec_",
// of msgID + "." + ts in Unix seconds + "." + content.
func Sign(secret, msgID string, ts time.Time, content []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if msgID == "" {
		return "", errors.New("sign: message id is empty")
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), content)), nil
}

// SignatureHeader returns the webhook-signature header value: one v1
// signature per secret, space-separated, so that during a rotation receivers
// holding either the old or the new secret can verify.
func SignatureHeader(secrets []string, msgID string, ts time.Time, content []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("signature header: no secrets")
	}
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		sig, err := Sign(s, msgID, ts, content)
		if err != nil {
			return "", fmt.Errorf("signature header: secret %d: %w", i+1, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// SignedContent returns what a delivery's signature covers: the body for
// POST and the full URL, query included, for GET. The POST body is returned
// as is, not copied.
func SignedContent(r Request) []byte {
	if strings.EqualFold(r.Method, http.MethodGet) {
		return []byte(r.URL)
	}
	return r.Body
}

// Verify checks a delivery the way a receiver does. msgID, tsHeader and
// sigHeader are the webhook-id, webhook-timestamp and webhook-signature
// header values, content is SignedContent (the raw body, or for GET the full
// URL the webhook was configured with plus the received query). The
// timestamp must be within tolerance of now in either direction
// (DefaultTolerance when tolerance <= 0), and at least one v1 signature in
// sigHeader must match one of secrets. Signatures are compared in constant
// time.
func Verify(secrets []string, msgID, tsHeader, sigHeader string, content []byte, now time.Time, tolerance time.Duration) error {
	if msgID == "" || tsHeader == "" || strings.TrimSpace(sigHeader) == "" {
		return fmt.Errorf("verify: %w", ErrMissingHeaders)
	}
	unix, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("verify: timestamp %q: %w", tsHeader, ErrMissingHeaders)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts := time.Unix(unix, 0)
	if age := now.Sub(ts); age > tolerance || age < -tolerance {
		return fmt.Errorf("verify: timestamp is %s from now: %w", age.Round(time.Second), ErrTimestampOutOfRange)
	}
	if len(secrets) == 0 {
		return errors.New("verify: no secrets")
	}
	for i, s := range secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return fmt.Errorf("verify: secret %d: %w", i+1, err)
		}
		want := mac(key, msgID, unix, content)
		for _, sig := range strings.Fields(sigHeader) {
			version, value, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				continue
			}
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("verify: %w", ErrNoMatchingSignature)
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("decode secret: empty key")
	}
	return key, nil
}

func mac(key []byte, msgID string, unix int64, content []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(content)
	return h.Sum(nil)
}
