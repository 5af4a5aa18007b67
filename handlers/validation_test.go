package handlers_test

import (
	"context"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

func TestWebhookFormValidation(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")

	cases := []struct {
		name    string
		change  func(url.Values)
		message string
		kept    string // an escaped value that must still be in the form
	}{
		{"name required", func(f url.Values) { f.Set("name", "  ") }, "Name is required.", ""},
		{"no trigger", func(f url.Values) { delete(f, "event_types") }, "Choose at least one trigger.", ""},
		{"unknown trigger", func(f url.Values) { f["event_types"] = []string{"call.exploded"} }, "Unknown trigger", ""},
		{"relative url", func(f url.Values) { f.Set("url", "/hooks") }, "URL must start with https:// or http://.", `value="/hooks"`},
		{"ftp url", func(f url.Values) { f.Set("url", "ftp://example.com/x") }, "URL must start with https:// or http://.", `value="ftp://example.com/x"`},
		{"url without host", func(f url.Values) { f.Set("url", "https:///path") }, "URL must include a host name.", ""},
		{"url with credentials", func(f url.Values) { f.Set("url", "https://u:p@example.com/") }, "Put credentials in the Authorization setting", ""},
		{"url with space", func(f url.Values) { f.Set("url", "https://example.com/a b") }, "URL cannot contain spaces", ""},
		{"bad method", func(f url.Values) { f.Set("method", "PUT") }, "Choose POST or GET.", ""},
		{"bad content type", func(f url.Values) { f.Set("content_type", "text/xml") }, "Choose application/json or application/x-www-form-urlencoded.", ""},
		{"bad call type", func(f url.Values) { f["call_types"] = []string{"fax"} }, "Unknown call type", ""},
		{"foreign number", func(f url.Values) { f["did_numbers"] = []string{"+15550000000"} }, "is not one of this account&#39;s numbers", ""},
		{"unknown time zone", func(f url.Values) { f.Set("time_zone", "Mars/Olympus") }, "Unknown time zone", `value="Mars/Olympus"`},
		{"header name not a token", func(f url.Values) { f["header_name"] = []string{"X Bad", "X-Env"} }, "Header names use letters", `value="X Bad"`},
		{"reserved header Host", func(f url.Values) { f["header_name"] = []string{"Host", "X-Env"} }, "Host is set by Ringhook", ""},
		{"reserved header Content-Length", func(f url.Values) { f["header_name"] = []string{"content-length", "X-Env"} }, "is set by Ringhook", ""},
		{"reserved webhook- header", func(f url.Values) { f["header_name"] = []string{"webhook-signature", "X-Env"} }, "is set by Ringhook", ""},
		{"header value with newline", func(f url.Values) { f["header_value"] = []string{"a\r\nX-Evil: 1", "prod"} }, "Header values cannot contain line breaks.", ""},
		{"header value with a control byte", func(f url.Values) { f["header_value"] = []string{"a\x01b", "prod"} }, "Header values cannot contain control characters (tab is allowed).", ""},
		{"header value with DEL", func(f url.Values) { f["header_value"] = []string{"a\x7fb", "prod"} }, "Header values cannot contain control characters (tab is allowed).", ""},
		{"bearer token with a control byte", func(f url.Values) { f.Set("auth_type", "bearer"); f.Set("auth_secret", "tok\x1ben") }, "The token cannot contain control characters", ""},
		{"NUL in the name", func(f url.Values) { f.Set("name", "a\x00b") }, "Use plain text: this contains a NUL byte", ""},
		{"invalid UTF-8 in the username", func(f url.Values) { f.Set("auth_username", "a\xffb") }, "Use plain text", ""},
		{"NUL in a custom data value", func(f url.Values) { f["cd_value"] = []string{"a\x00", "south"} }, "Use plain text", ""},
		{"NUL in a header name", func(f url.Values) { f["header_name"] = []string{"X-A\x00", "X-Env"} }, "Use plain text", ""},
		{"duplicate header", func(f url.Values) { f["header_name"] = []string{"X-Env", "x-env"} }, "This header is already set above.", ""},
		{"basic without user", func(f url.Values) { f.Set("auth_username", "") }, "Username is required for Basic auth.", ""},
		{"bearer without token", func(f url.Values) { f.Set("auth_type", "bearer"); f.Set("auth_secret", "") }, "Token is required for Bearer auth.", ""},
		{"custom data key", func(f url.Values) { f["cd_key"] = []string{"bad key!", "region"} }, "Keys are 1-64 letters, digits or underscores.", `value="bad key!"`},
		{"duplicate custom data key", func(f url.Values) { f["cd_key"] = []string{"region", "region"} }, "This key is already used above.", ""},
		{"filter op", func(f url.Values) { f["filter_op"] = []string{"like", "in", "in", "in"} }, "is one of", ""},
		{"attempts not a number", func(f url.Values) { f.Set("max_attempts", "many") }, "Enter a whole number.", `value="many"`},
		{"attempts out of range", func(f url.Values) { f.Set("max_attempts", "99") }, "Choose between 1 and 20 attempts.", `value="99"`},
		{"timeout out of range", func(f url.Values) { f.Set("timeout", "0") }, "Choose between 1 and 60 seconds.", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fullForm("validation " + tc.name)
			tc.change(f)
			res := c.Post(t, "/webhooks", f)
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("want 422: %s", handlertest.Describe(res))
			}
			if !strings.Contains(res.Body, tc.message) {
				t.Errorf("message %q not shown", tc.message)
			}
			if !strings.Contains(res.Body, `class="field-error"`) {
				t.Error("no field-level error element")
			}
			if sum := errorSummaryRE.FindString(res.Body); !strings.Contains(sum, "Nothing was saved") || !strings.Contains(html.UnescapeString(sum), html.UnescapeString(tc.message)) {
				t.Errorf("the error summary does not list %q: %q", tc.message, sum)
			}
			if tc.kept != "" && !strings.Contains(res.Body, tc.kept) {
				t.Errorf("submitted value %s not kept", tc.kept)
			}
			if !strings.Contains(res.Body, `value="Tells the CRM about calls"`) && !strings.Contains(res.Body, ">Tells the CRM about calls</textarea>") {
				t.Error("other fields were not kept")
			}
		})
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 0 {
		t.Fatalf("invalid forms saved %d webhooks", len(hooks))
	}

	// Names need not be unique (the Kazoo document's two examples are both
	// "New Calls"); the list tells same-named webhooks apart by URL.
	t.Run("same name twice", func(t *testing.T) {
		for _, name := range []string{"Same", "same"} {
			if res := c.Post(t, "/webhooks", fullForm(name)); res.Status != http.StatusSeeOther {
				t.Fatalf("%s: %s", name, handlertest.Describe(res))
			}
		}
		hooks, err := app.Store.Webhooks(context.Background(), tn.Account.ID)
		if err != nil || len(hooks) != 2 {
			t.Fatalf("webhooks = %d, %v; want 2", len(hooks), err)
		}
		if res := c.Get(t, "/webhooks"); strings.Count(res.Body, "crm.example.com/hooks/calls") < 2 {
			t.Errorf("the list does not show each same-named webhook's URL:\n%s", res.Body)
		}
	})
}

// TestNoInputAnswers500 throws random, hostile values at every form field.
func TestNoInputAnswers500(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	rnd := rand.New(rand.NewPCG(1, 2))
	nasty := []string{"", " ", "\x00", "\r\n", "💥", strings.Repeat("a", 5000), "<script>alert(1)</script>", "'; DROP TABLE webhooks;--",
		"%zz", "https://", "http://[::1", "-1", "9999999999999999999999", "Asia/Kolkata", "call.hangup", "GET", "basic", "\xff\xfe"}
	pick := func() string { return nasty[rnd.IntN(len(nasty))] }
	for i := 0; i < 150; i++ {
		f := fullForm("fuzz")
		for k := range f {
			if k == "op" || rnd.IntN(3) != 0 {
				continue
			}
			vals := make([]string, rnd.IntN(4))
			for j := range vals {
				vals[j] = pick()
			}
			f[k] = vals
		}
		res := c.Post(t, "/webhooks", f)
		if res.Status >= 500 {
			t.Fatalf("input %v: %s", f, handlertest.Describe(res))
		}
		if strings.Contains(res.Body, "<script>alert(1)</script>") {
			t.Fatal("unescaped input reflected into the page")
		}
	}
	for _, path := range []string{"/webhooks/x'", "/webhooks/%00", "/webhooks/" + strings.Repeat("z", 3000) + "/edit"} {
		if res := c.Get(t, path); res.Status >= 500 {
			t.Fatalf("GET %q: %d", path, res.Status)
		}
	}
}

// errorSummaryRE is a form's error summary (components.ErrorSummary).
var errorSummaryRE = regexp.MustCompile(`(?s)<div class="error-summary" id="error-summary".*?</div>`)
