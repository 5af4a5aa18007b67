package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestAccountsAreIsolated proves account B cannot list, open, edit, toggle,
// rotate, reveal or delete account A's webhooks: every attempt is a 404 and
// A's webhook is unchanged.
func TestAccountsAreIsolated(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	ca, cb := app.SignIn(t, a), app.SignIn(t, b)
	ca.Get(t, "/webhooks/new")
	if res := ca.Post(t, "/webhooks", fullForm("A's secret hook")); res.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, a, "A's secret hook")
	cb.Get(t, "/webhooks")

	if res := cb.Get(t, "/webhooks"); strings.Contains(res.Body, "A&#39;s secret hook") || strings.Contains(res.Body, w.ID) {
		t.Fatal("B's list shows A's webhook")
	}
	attempts := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/webhooks/" + w.ID, nil},
		{"GET", "/webhooks/" + w.ID + "/edit", nil},
		{"POST", "/webhooks/" + w.ID + "/edit", fullForm("hijacked")},
		{"POST", "/webhooks/" + w.ID + "/toggle", url.Values{"enabled": {"false"}}},
		{"GET", "/webhooks/" + w.ID + "/delete", nil},
		{"POST", "/webhooks/" + w.ID + "/delete", url.Values{}},
		{"POST", "/webhooks/" + w.ID + "/secret/reveal", url.Values{}},
		{"POST", "/webhooks/" + w.ID + "/secret/hide", url.Values{}},
		{"POST", "/webhooks/" + w.ID + "/secret/rotate", url.Values{}},
	}
	for _, at := range attempts {
		t.Run(at.method+" "+at.path, func(t *testing.T) {
			var res handlertest.Response
			if at.method == "GET" {
				res = cb.Get(t, at.path)
			} else {
				res = cb.Post(t, at.path, at.form)
			}
			if res.Status != http.StatusNotFound {
				t.Fatalf("want 404: %s", handlertest.Describe(res))
			}
			if strings.Contains(res.Body, w.SigningSecret) || strings.Contains(res.Body, "A&#39;s secret hook") {
				t.Fatal("the 404 page leaks A's data")
			}
		})
	}
	t.Run("htmx requests get a short error, not a page", func(t *testing.T) {
		res := cb.PostRaw(t, "/webhooks/"+w.ID+"/toggle", url.Values{"_csrf": {cb.CSRF()}, "enabled": {"false"}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusNotFound || strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `role="alert"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	got, err := app.Store.Webhook(context.Background(), a.Account.ID, w.ID)
	if err != nil {
		t.Fatalf("A's webhook is gone: %v", err)
	}
	if got.Name != w.Name || !got.Enabled || got.SigningSecret != w.SigningSecret {
		t.Fatalf("A's webhook changed: name %q enabled %v", got.Name, got.Enabled)
	}
	if _, err := app.Store.Webhook(context.Background(), b.Account.ID, w.ID); err == nil {
		t.Fatal("the store returns A's webhook for B's account id")
	}
}

func TestViewersCannotChangeAnything(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	co := app.SignIn(t, owner)
	co.Get(t, "/webhooks/new")
	co.Post(t, "/webhooks", fullForm("watched"))
	w := mustWebhook(t, app, owner, "watched")
	if _, err := app.Store.CreateUser(context.Background(), owner.Account.ID, "viewer-"+w.ID+"@example.com", "viewer password", models.RoleViewer); err != nil {
		t.Fatal(err)
	}
	cv := app.SignIn(t, handlertest.Tenant{Account: owner.Account, Email: "viewer-" + w.ID + "@example.com", Password: "viewer password"})
	if res := cv.Get(t, "/webhooks/"+w.ID); res.Status != http.StatusOK || strings.Contains(res.Body, ">Edit</a>") {
		t.Fatalf("viewer detail: %s", handlertest.Describe(res))
	}
	for _, p := range []string{"/webhooks/" + w.ID + "/toggle", "/webhooks/" + w.ID + "/delete", "/webhooks"} {
		if res := cv.Post(t, p, fullForm("viewer edit")); res.Status != http.StatusForbidden {
			t.Errorf("POST %s as viewer: %d", p, res.Status)
		}
	}
}
