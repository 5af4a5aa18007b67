package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/ringhook/ringhook/models"
)

// maxMessageLen bounds the length of a Classify message in bytes.
const maxMessageLen = 300

// Classify maps an error returned by a client from [NewClient] (or by the
// request it sent) to the error kind of a delivery attempt and a short,
// human-readable message. The checks run in this order: blocked, timeout,
// dns, tls, connect; anything else, including a cancelled request context,
// falls back to models.ErrKindConnect.
//
// The message never contains the request URL with its query string or
// user info, which may hold secrets: the *url.Error wrapper added by
// http.Client is dropped and only its cause is described. Classify(nil)
// returns the empty kind and message.
func Classify(err error) (kind models.ErrorKind, message string) {
	if err == nil {
		return "", ""
	}
	rawURL, cause := unwrapURLError(err)

	var (
		blocked *BlockedError
		dnsErr  *net.DNSError
	)
	switch {
	case errors.As(err, &blocked):
		kind, message = models.ErrKindBlocked, blocked.Error()
	case isTimeout(err):
		kind, message = models.ErrKindTimeout, "timed out: "+cause.Error()
	case errors.As(err, &dnsErr):
		kind, message = models.ErrKindDNS, describeDNS(dnsErr)
	case isTLS(err):
		kind, message = models.ErrKindTLS, "TLS error: "+cause.Error()
	case errors.Is(err, context.Canceled):
		kind, message = models.ErrKindConnect, "request canceled"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		kind, message = models.ErrKindConnect, "connection closed by the server before a complete response ("+cause.Error()+")"
	default:
		kind, message = models.ErrKindConnect, cause.Error()
	}
	return kind, sanitize(message, rawURL)
}

// unwrapURLError strips every *url.Error layer from the front of err and
// returns the URL the outermost layer carried and the remaining cause.
func unwrapURLError(err error) (rawURL string, cause error) {
	cause = err
	for {
		var ue *url.Error
		if !errors.As(cause, &ue) || ue.Err == nil {
			return rawURL, cause
		}
		if rawURL == "" {
			rawURL = ue.URL
		}
		if cause == error(ue) {
			cause = ue.Err
			continue
		}
		// The url.Error is buried inside another wrapper: keep the
		// wrapper's text but redact the URL in sanitize.
		return ue.URL, cause
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	// Check every layer: an outer wrapper (such as *url.Error) may only
	// look one level down.
	found := false
	walk(err, func(e error) bool {
		if t, ok := e.(interface{ Timeout() bool }); ok && t.Timeout() {
			found = true
		}
		return !found
	})
	return found
}

// walk calls fn for err and every error in its tree, depth first, until fn
// returns false.
func walk(err error, fn func(error) bool) bool {
	if err == nil {
		return true
	}
	if !fn(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walk(e, fn) {
				return false
			}
		}
	}
	return true
}

func describeDNS(e *net.DNSError) string {
	reason := e.Err
	if e.IsNotFound {
		reason = "no such host"
	}
	if e.Name == "" {
		return "DNS lookup failed: " + reason
	}
	return fmt.Sprintf("DNS lookup of %s failed: %s", e.Name, reason)
}

func isTLS(err error) bool {
	var (
		certVerify   *tls.CertificateVerificationError
		recordHeader tls.RecordHeaderError
		alert        tls.AlertError
		echReject    *tls.ECHRejectionError
		unknownCA    x509.UnknownAuthorityError
		hostname     x509.HostnameError
		invalid      x509.CertificateInvalidError
		systemRoots  x509.SystemRootsError
		insecureAlg  x509.InsecureAlgorithmError
		opErr        *net.OpError
	)
	switch {
	case errors.Is(err, http.ErrSchemeMismatch), // plain HTTP answered an https:// URL
		errors.As(err, &certVerify),
		errors.As(err, &recordHeader),
		errors.As(err, &alert),
		errors.As(err, &echReject),
		errors.As(err, &unknownCA),
		errors.As(err, &hostname),
		errors.As(err, &invalid),
		errors.As(err, &systemRoots),
		errors.As(err, &insecureAlg):
		return true
	case errors.As(err, &opErr) && (opErr.Op == "remote error" || opErr.Op == "local error"):
		// TLS alerts received from or sent to the peer.
		return true
	}
	// Many crypto/tls errors are plain errors.New("tls: ...").
	found := false
	walk(err, func(e error) bool {
		msg := e.Error()
		found = strings.HasPrefix(msg, "tls: ") || strings.HasPrefix(msg, "x509: ")
		return !found
	})
	return found
}

// sanitize removes rawURL (and any form of it with a query string or user
// info) from msg and bounds its length.
func sanitize(msg, rawURL string) string {
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, redactURL(rawURL))
	}
	if len(msg) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// redactURL returns rawURL without user info, query and fragment.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "[redacted URL]"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
