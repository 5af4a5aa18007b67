package payload_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

// FuzzEncodeForm checks that every scalar string value, object member and
// array element survives EncodeForm -> url.ParseQuery unchanged, and that the
// output only holds form-safe bytes.
func FuzzEncodeForm(f *testing.F) {
	f.Add("from_number", "+919240202904", "custom", "A 1&2", "crm_id")
	f.Add("a b", "x=y&z", "n", "%zz;", "k[0]")
	f.Add("", "", "a", "\x00\xff é", "]")
	f.Add("n[s]", "1", "a[]", "2", "s")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, sub string) {
		fields := map[string]any{
			"n": map[string]any{sub: v2},
			"a": []any{v1, v2},
		}
		fields[k1] = v1
		fields[k2] = v2

		want := url.Values{}
		for k, v := range fields {
			switch x := v.(type) {
			case string:
				want.Add(k, x)
			case map[string]any:
				want.Add(k+"["+sub+"]", x[sub].(string))
			case []any:
				want.Add(k+"[]", x[0].(string))
				want.Add(k+"[]", x[1].(string))
			}
		}

		got := payload.EncodeForm(fields)
		if i := strings.IndexFunc(got, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~%+=&", r))
		}); i >= 0 {
			t.Fatalf("unsafe byte at %d in %q", i, got)
		}
		q, err := url.ParseQuery(got)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", got, err)
		}
		if len(q) != len(want) {
			t.Fatalf("ParseQuery(%q) has %d keys, want %d: %q vs %q", got, len(q), len(want), q, want)
		}
		for k, vs := range want {
			g := slices.Clone(q[k])
			slices.Sort(g)
			slices.Sort(vs)
			if !slices.Equal(g, vs) {
				t.Fatalf("key %q: got %q, want %q (form %q)", k, q[k], vs, got)
			}
		}
	})
}

// FuzzRender feeds arbitrary URLs, headers, auth and zones through Fields and
// Render: no panic, and either a *RenderError or a request that is safe to
// put on the wire.
func FuzzRender(f *testing.F) {
	f.Add("https://example.com/hook?token=abc", "X-Tenant", "acme", "bearer", "", "tok", "Asia/Kolkata", true)
	f.Add("http://[::1]:8080/a b?x#y", "X-A\r\n", "v\r\nInjected: 1", "basic", "u", "p\n", "", false)
	f.Add("https://u:p@h/%zz", "", "\x00", "none", "", "", "Local", true)
	f.Add("HTTPS://EXAMPLE.com:443/?&&", "Content-Type", "text/plain", "BEARER", "x", "a\rb", "America/New_York", false)
	f.Fuzz(func(t *testing.T, rawURL, hName, hValue, authType, user, secret, zone string, get bool) {
		target := payload.Target{
			AccountID:   "acc_1",
			WebhookID:   "wh_1",
			URL:         rawURL,
			Method:      "POST",
			ContentType: payload.ContentTypeForm,
			TimeZone:    zone,
			CustomData:  map[string]any{hName: hValue},
			Headers:     []payload.Header{{Name: hName, Value: hValue}, {Name: "X-Static", Value: "1"}},
			Auth:        payload.Auth{Type: authType, Username: user, Secret: secret},
		}
		if get {
			target.Method = "GET"
		}
		event := map[string]any{"event": "call.received", "event_id": "evt_1", "occurred_at": "2026-04-09T07:24:53.000Z", "from_name": hValue}
		fields, err := payload.Fields(event, target)
		if err != nil {
			var re *payload.RenderError
			if !errors.As(err, &re) {
				t.Fatalf("Fields error %v is %T, want *RenderError", err, err)
			}
			fields = event // render anyway: Render must not depend on Fields
		}
		req, err := payload.Render(fields, target)
		if err != nil {
			var re *payload.RenderError
			if !errors.As(err, &re) || re.Kind != "render" {
				t.Fatalf("Render error %v is %T, want *RenderError", err, err)
			}
			return
		}
		for _, h := range req.Header {
			if strings.ContainsAny(h.Name, "\r\n\x00") || strings.ContainsAny(h.Value, "\r\n\x00") {
				t.Fatalf("header %q: %q carries CR/LF/NUL", h.Name, h.Value)
			}
		}
		if strings.IndexFunc(req.URL, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			t.Fatalf("URL %q carries a space or control byte", req.URL)
		}
		u, err := url.Parse(req.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			t.Fatalf("rendered URL %q: %v", req.URL, err)
		}
		switch req.Method {
		case "GET":
			if req.Body != nil || len(req.URL) > payload.MaxGETURLBytes || !strings.Contains(req.URL, "event_id=evt_1") {
				t.Fatalf("GET request %+v", req)
			}
			if string(payload.SignedContent(req)) != req.URL {
				t.Fatalf("GET signed content is not the URL")
			}
		case "POST":
			if len(req.Body) == 0 || req.Header[0].Name != "Content-Type" {
				t.Fatalf("POST request %+v", req)
			}
		default:
			t.Fatalf("method %q", req.Method)
		}
	})
}
