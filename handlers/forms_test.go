package handlers_test

import (
	"context"
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

// TestErrorPagesKnowWhoYouAre: a signed-in user's 404 and 403 keep the
// navigation and their account, say what happened and where to go, and
// offer no "Sign in"; a signed-out visitor's error page offers Sign in and
// no navigation.
func TestErrorPagesKnowWhoYouAre(t *testing.T) {
	app := handlertest.New(t)
	admin, viewer := app.NewTenant(t, models.RoleAdmin), app.NewTenant(t, models.RoleViewer)
	ca, cv := app.SignIn(t, admin), app.SignIn(t, viewer)
	signedIn := []struct {
		name   string
		c      *handlertest.Client
		email  string
		path   string
		status int
		want   []string
	}{
		{"404 of a webhook", ca, admin.Email, "/webhooks/wh_doesnotexist", http.StatusNotFound, []string{"Page not found", "deleted", "Dashboard", "Delivery log"}},
		{"404 of a path no route has", ca, admin.Email, "/no/such/page", http.StatusNotFound, []string{"Page not found"}},
		{"404 of a static file", ca, admin.Email, "/static/css/missing.css", http.StatusNotFound, []string{"Page not found"}},
		{"403 for a viewer", cv, viewer.Email, "/webhooks/new", http.StatusForbidden, []string{"Not allowed", "viewer role", "An owner or admin"}},
	}
	for _, tc := range signedIn {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.Get(t, tc.path)
			if res.Status != tc.status {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			text := pageText(res.Body)
			for _, want := range append(tc.want, tc.email) {
				if !strings.Contains(text, want) {
					t.Errorf("the page lacks %q: %.500s", want, text)
				}
			}
			if !strings.Contains(res.Body, `<nav aria-label="Main">`) || strings.Contains(res.Body, `href="/login"`) {
				t.Error("a signed-in user's error page lacks the navigation or offers Sign in")
			}
			if strings.Contains(text, "Not Found Not Found") {
				t.Error("the page says Not Found twice")
			}
		})
	}
	t.Run("signed out", func(t *testing.T) {
		res := app.NewClient(t).Get(t, "/static/css/missing.css")
		if res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if !strings.Contains(res.Body, `href="/login"`) || strings.Contains(res.Body, `<nav aria-label="Main">`) {
			t.Errorf("a signed-out error page should offer Sign in without the navigation: %.600s", pageText(res.Body))
		}
	})
}

// TestPasswordErrorsTogether: a wrong current password, a short new one and
// a confirmation that differs are all reported at once, in the summary in
// form order; the password stays unchanged.
func TestPasswordErrorsTogether(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/profile")
	res := c.Post(t, "/profile/password", url.Values{"current_password": {"not it"}, "new_password": {"short"}, "confirm_password": {"other"}})
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	sum := html.UnescapeString(errorSummaryRE.FindString(res.Body))
	i, j, k := strings.Index(sum, `href="#current_password"`), strings.Index(sum, `href="#new_password"`), strings.Index(sum, `href="#confirm_password"`)
	if i < 0 || j < i || k < j || !strings.Contains(sum, "The two new passwords differ.") {
		t.Errorf("the summary does not list the three fields in order: %s", sum)
	}
	if _, err := app.Store.Authenticate(context.Background(), tn.Email, tn.Password); err != nil {
		t.Errorf("the password changed: %v", err)
	}
}

// TestSettingsErrorSummary: a refused Account settings form is headed by the
// error summary, which links every field in error in form order and is
// focused on load (autofocus; forms.js).
func TestSettingsErrorSummary(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	c := app.SignIn(t, owner)
	c.Get(t, "/settings")
	res := c.Post(t, "/settings", url.Values{"name": {"  "}, "time_zone": {"Mars/Olympus"}, "default_country": {"ZZ"},
		"secret_grace_hours": {"200"}, "history_retention_days": {"abc"}})
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	sum := html.UnescapeString(errorSummaryRE.FindString(res.Body))
	if !strings.Contains(sum, "Nothing was saved: 5 fields need fixing") || !strings.Contains(sum, "autofocus") {
		t.Fatalf("no error summary for five fields: %s", sum)
	}
	last := -1
	for _, f := range []string{"name", "time_zone", "default_country", "secret_grace_hours", "history_retention_days"} {
		i := strings.Index(sum, `href="#`+f+`"`)
		if i < last {
			t.Errorf("the summary does not link %s after the fields before it: %s", f, sum)
		}
		last = i
	}
}
