package payload

import (
	"encoding/base64"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/ringhook/ringhook/models/fault"
)

// Content types a POST webhook can use.
const (
	ContentTypeJSON = "application/json"
	ContentTypeForm = "application/x-www-form-urlencoded"
)

// MaxGETURLBytes is the size budget of a GET delivery's full URL. Common
// servers cap the request line at about 8 KB.
const MaxGETURLBytes = 8000

// RenderError is a delivery that cannot be rendered. The dispatcher records
// it in the attempt log with error_kind "render"; retrying does not help.
type RenderError struct {
	// Kind is always "render" for errors made by this package, the
	// attempt log's error_kind.
	Kind string
	// Msg says what is wrong. It never contains header values or secrets.
	Msg string

	err error
}

// Error returns Msg.
func (e *RenderError) Error() string { return e.Msg }

// Unwrap returns the underlying error, if any.
func (e *RenderError) Unwrap() error { return e.err }

// Is makes every RenderError a fault.ErrUnrenderable, the vocabulary's
// name for it outside the dispatcher.
func (e *RenderError) Is(target error) bool { return target == fault.ErrUnrenderable }

func renderErr(msg string, cause error) *RenderError {
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &RenderError{Kind: "render", Msg: msg, err: cause}
}

// Request is a rendered delivery: what to send, byte for byte.
type Request struct {
	// Method is GET or POST.
	Method string
	// URL is the full request URL, query included, fragment removed. For
	// GET it carries the payload and is the signed content.
	URL string
	// Header holds Content-Type (POST only), the custom headers in order and
	// Authorization; the dispatcher adds webhook-*, X-Webhook-* and
	// User-Agent.
	Header []Header
	// Body is the POST body; nil for GET.
	Body []byte
}

// Render renders fields (the output of Fields) for the webhook t.
//
// POST sends the JSON or form encoding of fields as the body, with the
// matching Content-Type. GET sends no body and no Content-Type: the form
// pairs are appended to the URL's existing query, which is kept verbatim.
// When the GET URL exceeds MaxGETURLBytes, dialed_extensions and
// missed_extensions are left out; if it is still too long, Render fails.
//
// Header names are not validated here (that happens when a webhook is
// saved), but no header name or value may contain CR, LF or NUL. Basic auth
// becomes "Authorization: Basic base64(user:pass)", bearer
// "Authorization: Bearer token". All errors are *RenderError.
func Render(fields map[string]any, t Target) (Request, error) {
	if fields == nil {
		return Request{}, renderErr("render: fields are nil", nil)
	}
	method := strings.ToUpper(strings.TrimSpace(t.Method))
	if method != http.MethodGet && method != http.MethodPost {
		return Request{}, renderErr(fmt.Sprintf("render: method %q is not GET or POST", t.Method), nil)
	}
	u, err := parseTargetURL(t.URL)
	if err != nil {
		return Request{}, err
	}

	req := Request{Method: method, Header: make([]Header, 0, len(t.Headers)+2)}
	switch method {
	case http.MethodPost:
		ct, err := contentType(t.ContentType)
		if err != nil {
			return Request{}, err
		}
		if ct == ContentTypeJSON {
			req.Body, err = EncodeJSON(fields)
		} else {
			var s string
			s, err = encodeFormStrict(fields)
			req.Body = []byte(s)
		}
		if err != nil {
			return Request{}, renderErr("render: body", err)
		}
		req.URL = u.String()
		req.Header = append(req.Header, Header{Name: "Content-Type", Value: ct})
	case http.MethodGet:
		req.URL, err = getURL(u, fields)
		if err != nil {
			return Request{}, err
		}
	}
	if err := checkURLBytes(req.URL); err != nil {
		return Request{}, err
	}

	for i, h := range t.Headers {
		if hasCTL(h.Name) || hasCTL(h.Value) {
			return Request{}, renderErr(fmt.Sprintf("render: custom header %d (%q) contains CR, LF or NUL", i+1, h.Name), nil)
		}
		req.Header = append(req.Header, h)
	}
	if auth, ok, err := authHeader(t.Auth); err != nil {
		return Request{}, err
	} else if ok {
		req.Header = append(req.Header, auth)
	}
	return req, nil
}

// parseTargetURL accepts absolute http(s) URLs with a host and no
// credentials, and drops the fragment: it is never sent, so it must not be
// signed either.
func parseTargetURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, renderErr("render: parse URL", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, renderErr(fmt.Sprintf("render: URL scheme %q is not http or https", u.Scheme), nil)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, renderErr("render: URL has no host", nil)
	}
	if u.User != nil {
		return nil, renderErr("render: URL carries credentials; use the webhook's auth setting", nil)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// checkURLBytes refuses URLs a request line cannot carry.
func checkURLBytes(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return renderErr(fmt.Sprintf("render: URL has an unescaped control or space byte at offset %d", i), nil)
		}
	}
	return nil
}

// getURL merges the form pairs into u's query and applies the size budget.
func getURL(u *url.URL, fields map[string]any) (string, error) {
	full, err := mergeQuery(u, fields)
	if err != nil {
		return "", err
	}
	if len(full) <= MaxGETURLBytes {
		return full, nil
	}
	size := len(full)
	trimmed := maps.Clone(fields)
	delete(trimmed, "dialed_extensions")
	delete(trimmed, "missed_extensions")
	full, err = mergeQuery(u, trimmed)
	if err != nil {
		return "", err
	}
	if len(full) <= MaxGETURLBytes {
		return full, nil
	}
	return "", renderErr(fmt.Sprintf("render: GET URL is %d bytes (%d without dialed_extensions and missed_extensions), over the %d-byte budget; use POST", size, len(full), MaxGETURLBytes), nil)
}

func mergeQuery(u *url.URL, fields map[string]any) (string, error) {
	q, err := encodeFormStrict(fields)
	if err != nil {
		return "", renderErr("render: query", err)
	}
	merged := *u
	own := strings.TrimRight(u.RawQuery, "&")
	switch {
	case own == "":
		merged.RawQuery = q
	case q == "":
		merged.RawQuery = own
	default:
		merged.RawQuery = own + "&" + q
	}
	merged.ForceQuery = false
	return merged.String(), nil
}

// contentType maps a POST content type setting to the header value; empty
// means JSON and parameters such as charset are ignored.
func contentType(setting string) (string, error) {
	if strings.TrimSpace(setting) == "" {
		return ContentTypeJSON, nil
	}
	mt, _, err := mime.ParseMediaType(setting)
	if err != nil {
		return "", renderErr("render: content type", err)
	}
	switch mt {
	case ContentTypeJSON, ContentTypeForm:
		return mt, nil
	}
	return "", renderErr(fmt.Sprintf("render: content type %q is not %s or %s", mt, ContentTypeJSON, ContentTypeForm), nil)
}

func authHeader(a Auth) (Header, bool, error) {
	switch strings.ToLower(a.Type) {
	case "", "none":
		return Header{}, false, nil
	case "basic":
		if strings.Contains(a.Username, ":") {
			return Header{}, false, renderErr("render: basic auth username contains a colon", nil)
		}
		cred := base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Secret))
		return Header{Name: "Authorization", Value: "Basic " + cred}, true, nil
	case "bearer":
		if a.Secret == "" {
			return Header{}, false, renderErr("render: bearer auth has no token", nil)
		}
		if hasCTL(a.Secret) {
			return Header{}, false, renderErr("render: bearer token contains CR, LF or NUL", nil)
		}
		return Header{Name: "Authorization", Value: "Bearer " + a.Secret}, true, nil
	}
	return Header{}, false, renderErr(fmt.Sprintf("render: auth type %q is not none, basic or bearer", a.Type), nil)
}

// hasCTL reports bytes that must never reach a header line.
func hasCTL(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
