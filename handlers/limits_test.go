package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

const mib = 1 << 20

// TestBodyLimitIsOneMiB checks that the limit every message states (1 MiB)
// is the limit enforced, for forms and JSON alike: a body of exactly 1 MiB
// is read, one byte more is a 413 that says so.
func TestBodyLimitIsOneMiB(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "limits", true)
	c := app.SignIn(t, tn)
	c.Get(t, "/numbers")

	// A form of exactly n bytes: the token, a label and padding in an unread field.
	form := func(n int) string {
		base := url.Values{"_csrf": {c.CSRF()}, "number": {"+15550002222"}, "label": {"x"}}.Encode() + "&pad="
		return base + strings.Repeat("a", n-len(base))
	}
	// A JSON event of exactly n bytes, padded with trailing whitespace.
	event := func(n int) string {
		body := strings.Replace(hangupEvent, "%s", "limit"+strconv.Itoa(n), 1)
		return body + strings.Repeat(" ", n-len(body))
	}
	for _, tc := range []struct {
		size    int
		tooMuch bool
	}{{mib, false}, {mib + 1, true}} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, c.Base+"/numbers", strings.NewReader(form(tc.size)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res := c.Do(t, req)
			if got := res.Status == http.StatusRequestEntityTooLarge; got != tc.tooMuch || got && !strings.Contains(res.Body, "larger than 1 MiB") {
				t.Errorf("form: %s", handlertest.Describe(res))
			}
			res = apiPost(t, c, "/api/v1/events", key, "application/json", event(tc.size))
			if got := res.Status == http.StatusRequestEntityTooLarge; got != tc.tooMuch || got && !strings.Contains(res.Body, "larger than 1 MiB") {
				t.Errorf("json: %s", handlertest.Describe(res))
			}
		})
	}
}

// TestTooManyFormFields: a form over net/url's 10,000-field limit is
// refused as too large, not as an expired form.
func TestTooManyFormFields(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	for _, tc := range []struct {
		fields int
		status int
	}{{9000, http.StatusUnprocessableEntity}, {10001, http.StatusRequestEntityTooLarge}} {
		t.Run(strconv.Itoa(tc.fields), func(t *testing.T) {
			f := fullForm("many fields")
			f.Set("name", "") // invalid, so nothing is saved either way
			f["header_name"] = make([]string, tc.fields)
			res := c.Post(t, "/webhooks", f)
			if res.Status != tc.status || strings.Contains(res.Body, "expired") {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			if tc.status == http.StatusRequestEntityTooLarge && !strings.Contains(res.Body, "more than 10000 fields") {
				t.Errorf("message: %s", handlertest.Describe(res))
			}
		})
	}
}

// TestLoginEmailNotText: an email PostgreSQL cannot compare is a 422
// naming the field, not a server error (nor a counted failed sign-in).
func TestLoginEmailNotText(t *testing.T) {
	app := handlertest.New(t)
	c := app.NewClient(t)
	c.Get(t, "/login")
	for _, email := range []string{"a\x00b@example.com", "\xff@example.com"} {
		res := c.Post(t, "/login", url.Values{"email": {email}, "password": {"whatever password"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "email") {
			t.Errorf("%q: %s", email, handlertest.Describe(res))
		}
	}
}

// TestDialectBodyLimitAnswersInTheDialectsShape: a body over 1 MiB is
// refused before routing (BodyLimit), yet each vendor dialect still answers
// its own JSON error envelope, not the console's HTML page.
func TestDialectBodyLimitAnswersInTheDialectsShape(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "limits", true)
	c := app.NewClient(t)
	big := `{"name":"` + strings.Repeat("x", mib) + `"}`
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		shape        string // a member only that dialect's error envelope has
	}{
		{http.MethodPut, "/api/v1/accounts/" + tn.Account.ID + "/webhooks", map[string]string{"X-Auth-Token": key}, `"status":"error"`},
		{http.MethodPost, "/v1/backend/webhooks", map[string]string{"Authorization": "Bearer " + key}, `"error":{"code":"too_large"`},
		{http.MethodPost, "/app/v1/api/postwebhook", nil, `"success":false`},
		{http.MethodPost, "/beta/webhooks", map[string]string{"Authorization": key}, `"code":"too_large"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := send(t, c, tc.method, tc.path, big, tc.header)
			if res.Status != http.StatusRequestEntityTooLarge || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
				!strings.Contains(res.Body, tc.shape) || !strings.Contains(res.Body, "larger than 1 MiB") {
				t.Errorf("%s", handlertest.Describe(res))
			}
		})
	}
}
