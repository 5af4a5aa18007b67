package handlers_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestSignInErrorSummary: a failed sign-in heads the form with an error
// summary linking the email field, which stops taking autofocus (the
// summary does), and keeps the email typed.
func TestSignInErrorSummary(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.NewClient(t)
	c.Get(t, "/login")
	res := c.Post(t, "/login", url.Values{"email": {tn.Email}, "password": {"wrong password"}})
	if res.Status != http.StatusUnauthorized && res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	sum := html.UnescapeString(errorSummaryRE.FindString(res.Body))
	if !strings.Contains(sum, `href="#email"`) || !strings.Contains(sum, "autofocus") {
		t.Errorf("no focused summary linking the email field: %q", sum)
	}
	if strings.Count(res.Body, "autofocus") != 1 {
		t.Errorf("%d autofocus attributes, want the summary's alone", strings.Count(res.Body, "autofocus"))
	}
	if !strings.Contains(res.Body, `value="`+tn.Email+`"`) || !strings.Contains(res.Body, `aria-describedby="login-error"`) {
		t.Error("the email is not kept, or not tied to the error")
	}
}
