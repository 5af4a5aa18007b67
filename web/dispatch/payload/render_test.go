package payload_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

func TestRenderWorkedExample(t *testing.T) {
	tests := []struct {
		name        string
		method, ct  string
		wantURL     string
		wantBody    string
		wantHeaders []payload.Header
	}{
		{
			name: "POST JSON", method: "POST", ct: "application/json",
			wantURL:     "https://example.com/hook?token=abc",
			wantBody:    workedJSON,
			wantHeaders: []payload.Header{{Name: "Content-Type", Value: "application/json"}},
		},
		{
			name: "POST form", method: "POST", ct: "application/x-www-form-urlencoded",
			wantURL:     "https://example.com/hook?token=abc",
			wantBody:    workedForm,
			wantHeaders: []payload.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		},
		{
			name: "GET ignores content type", method: "GET", ct: "application/json",
			wantURL:     "https://example.com/hook?token=abc&" + workedForm,
			wantHeaders: []payload.Header{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := workedTarget(tc.method, tc.ct)
			fields, err := payload.Fields(workedEvent(), target)
			if err != nil {
				t.Fatalf("Fields: %v", err)
			}
			req, err := payload.Render(fields, target)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if req.Method != tc.method || req.URL != tc.wantURL || string(req.Body) != tc.wantBody {
				t.Errorf("Render = %s %s body %q\nwant %s %s body %q", req.Method, req.URL, req.Body, tc.method, tc.wantURL, tc.wantBody)
			}
			if !slices.Equal(req.Header, tc.wantHeaders) {
				t.Errorf("headers = %v, want %v", req.Header, tc.wantHeaders)
			}
			content := string(payload.SignedContent(req))
			if want := tc.wantBody; tc.method == "GET" && content != tc.wantURL || tc.method == "POST" && content != want {
				t.Errorf("SignedContent = %q", content)
			}
		})
	}
}

func TestRenderGETQueryMerge(t *testing.T) {
	fields := map[string]any{"event": "call.received", "from_number": "+919240202904", "tags": []any{}}
	tests := []struct {
		url  string
		want string
	}{
		{"https://example.com/hook?token=abc", "https://example.com/hook?token=abc&event=call.received&from_number=%2B919240202904"},
		{"https://example.com/hook", "https://example.com/hook?event=call.received&from_number=%2B919240202904"},
		{"https://example.com/hook?", "https://example.com/hook?event=call.received&from_number=%2B919240202904"},
		{"https://example.com/hook?token=abc&", "https://example.com/hook?token=abc&event=call.received&from_number=%2B919240202904"},
		{"https://example.com/hook?token=a%2Bb&x=1&x=2#frag", "https://example.com/hook?token=a%2Bb&x=1&x=2&event=call.received&from_number=%2B919240202904"},
		{"http://127.0.0.1:8080/a%20b/c?k", "http://127.0.0.1:8080/a%20b/c?k&event=call.received&from_number=%2B919240202904"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			req, err := payload.Render(fields, payload.Target{URL: tc.url, Method: "GET"})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if req.URL != tc.want {
				t.Errorf("URL = %s\nwant  %s", req.URL, tc.want)
			}
			if req.Body != nil {
				t.Errorf("GET body = %q, want nil", req.Body)
			}
		})
	}

	t.Run("empty payload adds nothing", func(t *testing.T) {
		for raw, want := range map[string]string{
			"https://example.com/hook?":           "https://example.com/hook",
			"https://example.com/hook?token=abc&": "https://example.com/hook?token=abc",
			"https://example.com/hook":            "https://example.com/hook",
		} {
			req, err := payload.Render(map[string]any{"tags": []any{}}, payload.Target{URL: raw, Method: "GET"})
			if err != nil || req.URL != want {
				t.Errorf("Render(%s) URL = %q, %v; want %q", raw, req.URL, err, want)
			}
		}
	})

	t.Run("token kept once and payload parses", func(t *testing.T) {
		target := workedTarget("GET", "")
		f, err := payload.Fields(workedEvent(), target)
		if err != nil {
			t.Fatalf("Fields: %v", err)
		}
		req, err := payload.Render(f, target)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		u, err := url.Parse(req.URL)
		if err != nil {
			t.Fatalf("parse rendered URL: %v", err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("ParseQuery: %v", err)
		}
		if !slices.Equal(q["token"], []string{"abc"}) || strings.Count(req.URL, "?") != 1 {
			t.Errorf("token = %q, URL %s", q["token"], req.URL)
		}
		if q.Get("from_number") != "+919240202904" || q.Get("custom_data[crm_id]") != "A 1&2" {
			t.Errorf("query lost values: %v", q)
		}
	})
}

func TestRenderGETBudget(t *testing.T) {
	exts := func(n int) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = map[string]any{"id": fmt.Sprintf("ext_%04d", i), "number": fmt.Sprint(100 + i), "name": "Agent Name"}
		}
		return s
	}
	base := func() map[string]any {
		f := workedFields(t)
		f["dialed_extensions"] = exts(60)
		f["missed_extensions"] = exts(60)
		return f
	}
	target := workedTarget("GET", "")

	t.Run("arrays dropped when over budget", func(t *testing.T) {
		fields := base()
		if full := len(target.URL) + 1 + len(payload.EncodeForm(fields)); full <= payload.MaxGETURLBytes {
			t.Fatalf("test setup: URL would be %d bytes, want over %d", full, payload.MaxGETURLBytes)
		}
		req, err := payload.Render(fields, target)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if len(req.URL) > payload.MaxGETURLBytes {
			t.Errorf("URL is %d bytes", len(req.URL))
		}
		if strings.Contains(req.URL, "dialed_extensions") || strings.Contains(req.URL, "missed_extensions") {
			t.Errorf("arrays not dropped: %s", req.URL)
		}
		if !strings.Contains(req.URL, "?token=abc&account_id=") || !strings.Contains(req.URL, "&tags%5B%5D=vip&") {
			t.Errorf("other fields lost: %s", req.URL)
		}
		if _, ok := fields["dialed_extensions"]; !ok {
			t.Error("Render removed dialed_extensions from the caller's map")
		}
	})
	t.Run("arrays kept when under budget", func(t *testing.T) {
		fields := base()
		fields["dialed_extensions"] = exts(2)
		fields["missed_extensions"] = exts(2)
		req, err := payload.Render(fields, target)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if !strings.Contains(req.URL, "missed_extensions%5B1%5D%5Bnumber%5D=101") {
			t.Errorf("arrays dropped although under budget: %s", req.URL)
		}
	})
	t.Run("render error when still over", func(t *testing.T) {
		fields := base()
		fields["custom_data"] = map[string]any{"blob": strings.Repeat("x", payload.MaxGETURLBytes)}
		_, err := payload.Render(fields, target)
		var re *payload.RenderError
		if !errors.As(err, &re) || re.Kind != "render" {
			t.Fatalf("err = %v (%T), want *RenderError with Kind render", err, err)
		}
	})
	t.Run("POST has no budget", func(t *testing.T) {
		fields := base()
		fields["custom_data"] = map[string]any{"blob": strings.Repeat("x", payload.MaxGETURLBytes)}
		req, err := payload.Render(fields, workedTarget("POST", payload.ContentTypeForm))
		if err != nil || !strings.Contains(string(req.Body), "dialed_extensions") {
			t.Errorf("POST render: err %v", err)
		}
	})
}

func TestRenderHeaders(t *testing.T) {
	fields := map[string]any{"event": "call.received"}
	custom := []payload.Header{{Name: "X-Tenant", Value: "acme"}, {Name: "X-Trace", Value: "a b"}, {Name: "X-Tenant", Value: "second"}}
	tests := []struct {
		name   string
		method string
		auth   payload.Auth
		want   []payload.Header
	}{
		{"POST no auth", "POST", payload.Auth{Type: "none"},
			[]payload.Header{{Name: "Content-Type", Value: "application/json"}, custom[0], custom[1], custom[2]}},
		{"POST basic", "POST", payload.Auth{Type: "basic", Username: "Aladdin", Secret: "open sesame"},
			[]payload.Header{{Name: "Content-Type", Value: "application/json"}, custom[0], custom[1], custom[2], {Name: "Authorization", Value: "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}}},
		{"GET bearer", "get", payload.Auth{Type: "bearer", Secret: "tok_123"},
			[]payload.Header{custom[0], custom[1], custom[2], {Name: "Authorization", Value: "Bearer tok_123"}}},
		{"basic password with newline is encoded, not injected", "GET", payload.Auth{Type: "basic", Username: "u", Secret: "p\r\nX: y"},
			[]payload.Header{custom[0], custom[1], custom[2], {Name: "Authorization", Value: "Basic dTpwDQpYOiB5"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := payload.Render(fields, payload.Target{URL: "https://example.com/h", Method: tc.method, Headers: custom, Auth: tc.auth})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !slices.Equal(req.Header, tc.want) {
				t.Errorf("headers = %q\nwant %q", req.Header, tc.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	ok := payload.Target{URL: "https://example.com/hook", Method: "POST", ContentType: "application/json"}
	mod := func(f func(*payload.Target)) payload.Target { t := ok; f(&t); return t }
	okFields := map[string]any{"event": "call.received", "from_number": "+919240202904"}
	if _, err := payload.Render(okFields, ok); err != nil {
		t.Fatalf("baseline Render: %v", err)
	}
	tests := []struct {
		name   string
		fields map[string]any
		target payload.Target
	}{
		{"nil fields", nil, ok},
		{"method PUT", okFields, mod(func(t *payload.Target) { t.Method = "PUT" })},
		{"method empty", okFields, mod(func(t *payload.Target) { t.Method = "" })},
		{"content type xml", okFields, mod(func(t *payload.Target) { t.ContentType = "application/xml" })},
		{"relative URL", okFields, mod(func(t *payload.Target) { t.URL = "/hook" })},
		{"ftp URL", okFields, mod(func(t *payload.Target) { t.URL = "ftp://example.com/x" })},
		{"URL with credentials", okFields, mod(func(t *payload.Target) { t.URL = "https://u:p@example.com/x" })},
		{"URL with raw space in query", okFields, mod(func(t *payload.Target) { t.URL = "https://example.com/x?a b" })},
		{"unparsable URL", okFields, mod(func(t *payload.Target) { t.URL = "https://exa mple.com/%zz" })},
		{"CRLF in header value", okFields, mod(func(t *payload.Target) { t.Headers = []payload.Header{{Name: "X-A", Value: "1\r\nX-Evil: 1"}} })},
		{"LF in header name", okFields, mod(func(t *payload.Target) { t.Headers = []payload.Header{{Name: "X-A\nX-B", Value: "1"}} })},
		{"NUL in header value", okFields, mod(func(t *payload.Target) { t.Headers = []payload.Header{{Name: "X-A", Value: "a\x00b"}} })},
		{"CR in bearer token", okFields, mod(func(t *payload.Target) { t.Auth = payload.Auth{Type: "bearer", Secret: "a\rb"} })},
		{"empty bearer token", okFields, mod(func(t *payload.Target) { t.Auth = payload.Auth{Type: "bearer"} })},
		{"colon in basic user", okFields, mod(func(t *payload.Target) { t.Auth = payload.Auth{Type: "basic", Username: "a:b", Secret: "c"} })},
		{"unknown auth", okFields, mod(func(t *payload.Target) { t.Auth = payload.Auth{Type: "digest"} })},
		{"JSON unsupported value", map[string]any{"x": func() {}}, ok},
		{"form unsupported value", map[string]any{"x": struct{}{}}, mod(func(t *payload.Target) { t.ContentType = payload.ContentTypeForm })},
		{"GET unsupported value", map[string]any{"x": make(chan int)}, mod(func(t *payload.Target) { t.Method = "GET" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := payload.Render(tc.fields, tc.target)
			var re *payload.RenderError
			if !errors.As(err, &re) || re.Kind != "render" || re.Msg == "" {
				t.Fatalf("Render = %+v, %v (%T); want *RenderError with Kind render", req, err, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error text carries CR/LF: %q", err)
			}
		})
	}
}

func TestRenderContentTypeSetting(t *testing.T) {
	tests := []struct{ setting, want string }{
		{"", "application/json"},
		{"application/json; charset=utf-8", "application/json"},
		{"Application/X-WWW-Form-Urlencoded", "application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.setting, func(t *testing.T) {
			req, err := payload.Render(map[string]any{"a": "b"}, payload.Target{URL: "https://example.com", Method: "POST", ContentType: tc.setting})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if req.Header[0] != (payload.Header{Name: "Content-Type", Value: tc.want}) {
				t.Errorf("header = %v, want %s", req.Header[0], tc.want)
			}
		})
	}
}
