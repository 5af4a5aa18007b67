// Package verifyexample is the receiver-side signature check that the
// README quotes: standard library only, so a receiver can copy it as is.
// Ringhook's own tests run it against real deliveries.
package verifyexample

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verify checks a Ringhook delivery (Standard Webhooks signatures) and
// returns the signed content: the raw body for POST, the full URL for GET.
// publicURL is the scheme and host as configured in the webhook, e.g.
// "https://crm.example.com"; secrets are "whsec_…" values (two during a
// rotation). Receivers should then de-duplicate on the webhook-id header.
func Verify(r *http.Request, publicURL string, secrets []string, now time.Time) ([]byte, error) {
	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return nil, errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, errors.New("bad webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return nil, errors.New("webhook-timestamp too far from now (replay?)")
	}
	var content []byte
	if r.Method == http.MethodGet {
		content = []byte(publicURL + r.URL.RequestURI()) // GET signs the full URL
	} else if content, err = io.ReadAll(io.LimitReader(r.Body, 1<<20)); err != nil {
		return nil, err
	}
	signed := append([]byte(id+"."+ts+"."), content...)
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return nil, errors.New("bad secret")
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, got := range strings.Fields(sigs) {
			if hmac.Equal([]byte(got), []byte(want)) {
				return content, nil
			}
		}
	}
	return nil, errors.New("no matching signature")
}
