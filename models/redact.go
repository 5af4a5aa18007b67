package models

import (
	"net/url"
	"strings"
)

// Redacted replaces secret values in logs, attempt records and the audit log.
const Redacted = "[redacted]"

// secretWords mark a header or query parameter name as secret. "signature"
// covers webhook-signature: a valid signature of a known body is as good as
// the secret for replaying it.
var secretWords = []string{"auth", "token", "secret", "password", "passwd", "key", "cookie", "session", "credential", "signature"}

func looksSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RedactHeaderValue hides the value of headers whose names suggest a secret
// (Authorization, Cookie, X-Api-Key, webhook-signature, ...).
func RedactHeaderValue(name, value string) string {
	if value != "" && looksSecret(name) {
		return Redacted
	}
	return value
}

// RedactHeader hides the value of a header marked secret or whose name
// suggests a secret; attempt records keep only this form.
func RedactHeader(h Header) Header {
	if h.Secret && h.Value != "" {
		h.Value = Redacted
		return h
	}
	h.Value = RedactHeaderValue(h.Name, h.Value)
	return h
}

// RedactURL hides a URL's password and the values of query parameters whose
// names suggest a secret (?token=, ?api_key=, ...).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			changed = true
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, ok := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if ok && err == nil && looksSecret(name) {
				parts[i] = k + "=redacted"
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return raw
	}
	return u.String()
}
