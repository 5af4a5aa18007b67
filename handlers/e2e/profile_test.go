package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestProfile: the signed-in email in the header opens the Profile page,
// which changes the password (this browser stays signed in) and signs out
// everywhere (this browser too).
func TestProfile(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	b := newBrowser(t, app.URL)
	signIn(b, tn)

	b.load("open Profile from the header", chromedp.Click(xpath(`//header//a[normalize-space()=%s]`, xpathString(tn.Email))), http.StatusOK)
	if p := b.path(); p != "/profile" {
		t.Fatalf("on %s, want /profile%s", p, b.where())
	}
	if n := evalJS[int](b, `document.querySelectorAll("#sessions tbody tr").length`); n != 1 {
		t.Fatalf("%d sessions listed, want 1%s", n, b.where())
	}
	if s := evalJS[string](b, `document.querySelector("#sessions tbody tr")?.textContent ?? ""`); !strings.Contains(s, "This session") || !strings.Contains(s, "Chrome") {
		t.Errorf("session row %q", s)
	}
	b.screenshot("profile.png")

	const newPassword = "a fresh passphrase 42"
	b.fill("#current_password", tn.Password)
	b.fill("#new_password", newPassword)
	b.fill("#confirm_password", newPassword)
	b.load("click Change password", chromedp.Click(button("Change password")), http.StatusOK)
	if f := evalJS[string](b, `document.querySelector(".flash-success")?.textContent.trim() ?? ""`); f != "Password changed. Your other sessions have been signed out." {
		t.Errorf("flash %q%s", f, b.where())
	}
	if _, err := app.Store.Authenticate(context.Background(), tn.Email, newPassword); err != nil {
		t.Fatalf("new password: %v", err)
	}

	b.load("click Sign out everywhere", chromedp.Click(button("Sign out everywhere")), http.StatusOK)
	if p := b.path(); p != "/login" {
		t.Fatalf("on %s after signing out everywhere, want /login%s", p, b.where())
	}
	b.open("/webhooks", http.StatusOK)
	if p := b.path(); p != "/login" {
		t.Fatalf("still signed in: on %s%s", p, b.where())
	}
}
