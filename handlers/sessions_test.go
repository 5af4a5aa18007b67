package handlers_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// copyCookies returns a fresh client holding c's cookies, as an attacker
// who copied them would.
func copyCookies(t *testing.T, app *handlertest.App, c *handlertest.Client) *handlertest.Client {
	t.Helper()
	u, _ := url.Parse(app.URL)
	thief := app.NewClient(t)
	thief.HTTP.Jar.SetCookies(u, c.HTTP.Jar.Cookies(u))
	return thief
}

// signedIn reports whether c's session still opens a console page.
func signedIn(t *testing.T, c *handlertest.Client) bool {
	t.Helper()
	res := c.Get(t, "/webhooks")
	switch {
	case res.Status == http.StatusOK:
		return true
	case res.Status == http.StatusSeeOther && strings.HasPrefix(res.Location, "/login"):
		return false
	}
	t.Fatalf("GET /webhooks: %s", handlertest.Describe(res))
	return false
}

var sessionRow = regexp.MustCompile(`id="session-(ses_[0-9a-f]+)"`)

// profileSessions lists the session ids the Profile page shows.
func profileSessions(t *testing.T, c *handlertest.Client) []string {
	t.Helper()
	res := c.Get(t, "/profile")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /profile: %s", handlertest.Describe(res))
	}
	var ids []string
	for _, m := range sessionRow.FindAllStringSubmatch(res.Body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestSessionsAreRevocable(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()

	t.Run("a cookie copied before sign-out is refused after", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		c := app.SignIn(t, tn)
		thief := copyCookies(t, app, c)
		if !signedIn(t, thief) {
			t.Fatal("the copied cookie should work before sign-out")
		}
		if res := c.Post(t, "/logout", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("logout: %s", handlertest.Describe(res))
		}
		if signedIn(t, thief) {
			t.Fatal("the copied cookie still signs in after sign-out")
		}
	})

	t.Run("password change revokes the other sessions and keeps this one", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleViewer) // any role may change its own password
		mine, other := app.SignIn(t, tn), app.SignIn(t, tn)
		mine.Get(t, "/profile")
		res := mine.Post(t, "/profile/password", url.Values{"current_password": {tn.Password},
			"new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile" {
			t.Fatalf("change password: %s", handlertest.Describe(res))
		}
		if !signedIn(t, mine) {
			t.Error("the session that changed the password was signed out")
		}
		if signedIn(t, other) {
			t.Error("another session survived the password change")
		}
		if _, err := app.Store.Authenticate(ctx, tn.Email, tn.Password); err == nil {
			t.Error("the old password still works")
		}
		if _, err := app.Store.Authenticate(ctx, tn.Email, "a brand new passphrase"); err != nil {
			t.Errorf("the new password does not work: %v", err)
		}
	})

	t.Run("a refused password change changes nothing", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		mine, other := app.SignIn(t, tn), app.SignIn(t, tn)
		mine.Get(t, "/profile")
		cases := []struct {
			name  string
			form  url.Values
			field string
		}{
			{"wrong current password", url.Values{"current_password": {"not my password"}, "new_password": {"another passphrase"}, "confirm_password": {"another passphrase"}}, "That is not your current password."},
			{"too short", url.Values{"current_password": {tn.Password}, "new_password": {"short"}, "confirm_password": {"short"}}, "Use at least 10 characters."},
			{"confirmation differs", url.Values{"current_password": {tn.Password}, "new_password": {"another passphrase"}, "confirm_password": {"another passphrasf"}}, "The two new passwords differ."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := mine.Post(t, "/profile/password", tc.form)
				if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tc.field) {
					t.Fatalf("%s", handlertest.Describe(res))
				}
				if strings.Contains(res.Body, tn.Password) || strings.Contains(res.Body, "another passphrase") {
					t.Error("the page echoes a password")
				}
				if !signedIn(t, other) {
					t.Fatal("a refused change signed the other session out")
				}
				if _, err := app.Store.Authenticate(ctx, tn.Email, tn.Password); err != nil {
					t.Fatalf("the password changed: %v", err)
				}
			})
		}
	})

	t.Run("wrong current passwords are throttled like sign-ins", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		c := fromAddress(t, app.SignIn(t, tn), "127.0.0.26")
		wrong := url.Values{"current_password": {"a guess"}, "new_password": {"taken over now"}, "confirm_password": {"taken over now"}}
		for i := range 5 {
			if res := c.Post(t, "/profile/password", wrong); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d: %s", i+1, handlertest.Describe(res))
			}
		}
		right := url.Values{"current_password": {tn.Password}, "new_password": {"taken over now"}, "confirm_password": {"taken over now"}}
		res := c.Post(t, "/profile/password", right)
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many wrong passwords") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if _, err := app.Store.Authenticate(ctx, tn.Email, tn.Password); err != nil {
			t.Fatalf("the password changed while throttled: %v", err)
		}
	})

	t.Run("sign out everywhere ends every session, this one too", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		a, b := app.SignIn(t, tn), app.SignIn(t, tn)
		if ids := profileSessions(t, a); len(ids) != 2 {
			t.Fatalf("Profile lists %d sessions, want 2", len(ids))
		}
		res := a.Post(t, "/profile/sessions/revoke-all", nil)
		if res.Status != http.StatusSeeOther || res.Location != "/login" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if signedIn(t, a) || signedIn(t, b) {
			t.Fatal("a session survived sign out everywhere")
		}
		live, err := app.Store.Sessions(ctx, tn.Account.ID, tn.User.ID)
		if err != nil || len(live) != 0 {
			t.Fatalf("%d live sessions left (%v)", len(live), err)
		}
	})

	t.Run("one session is signed out from the list", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		a := app.SignIn(t, tn)
		before := profileSessions(t, a)
		b := app.SignIn(t, tn)
		var bID string
		for _, id := range profileSessions(t, a) {
			if id != before[0] {
				bID = id
			}
		}
		if res := a.Get(t, "/profile"); strings.Count(res.Body, "This session") != 1 || !strings.Contains(res.Body, "Go HTTP client") {
			t.Errorf("the list should mark exactly this session and name the browser: %.3000s", res.Body)
		}
		if res := a.Post(t, "/profile/sessions/"+bID+"/revoke", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %s", handlertest.Describe(res))
		}
		if signedIn(t, b) {
			t.Error("the revoked session still signs in")
		}
		if !signedIn(t, a) {
			t.Error("revoking another session signed this one out")
		}
	})

	t.Run("removing a user ends their sessions", func(t *testing.T) {
		tn := app.NewTenant(t, models.RoleAdmin)
		c := app.SignIn(t, tn)
		n, err := app.Store.RevokeUserSessions(ctx, tn.Account.ID, tn.User.ID, "")
		if err != nil || n != 1 {
			t.Fatalf("revoked %d (%v), want 1", n, err)
		}
		if signedIn(t, c) {
			t.Fatal("the session survived RevokeUserSessions")
		}
		c = app.SignIn(t, tn)
		if err := app.DB.Exec("DELETE FROM users WHERE id = ?", tn.User.ID).Error; err != nil {
			t.Fatal(err)
		}
		if signedIn(t, c) {
			t.Fatal("the session survived deleting the user")
		}
	})
}

// TestSessionsAreAccountScoped: a user sees and revokes only their own
// sessions, whether the other user is in another account or the same one.
func TestSessionsAreAccountScoped(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	pw := "colleague passphrase"
	mate, err := app.Store.CreateUser(context.Background(), a.Account.ID, "mate-"+strings.ToLower(models.NewID(""))+"@example.com", pw, models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	ca := app.SignIn(t, a)
	victims := map[string]handlertest.Tenant{
		"user of another account":   b,
		"other user of the account": {Account: a.Account, User: mate, Email: mate.Email, Password: pw},
	}
	for name, v := range victims {
		t.Run(name, func(t *testing.T) {
			cv := app.SignIn(t, v)
			theirs := profileSessions(t, cv)
			if len(theirs) != 1 {
				t.Fatalf("victim has %d sessions", len(theirs))
			}
			for _, id := range profileSessions(t, ca) {
				if id == theirs[0] {
					t.Fatal("A's Profile lists the victim's session")
				}
			}
			if res := ca.Post(t, "/profile/sessions/"+theirs[0]+"/revoke", nil); res.Status != http.StatusNotFound {
				t.Fatalf("want 404: %s", handlertest.Describe(res))
			}
			if !signedIn(t, cv) {
				t.Fatal("A revoked the victim's session")
			}
			// A's sign out everywhere is A's alone.
			ca2 := app.SignIn(t, a)
			ca2.Post(t, "/profile/sessions/revoke-all", nil)
			if !signedIn(t, cv) {
				t.Fatal("A's sign out everywhere ended the victim's session")
			}
			ca = app.SignIn(t, a) // the old one ended with A's sign out everywhere
		})
	}
}

// TestSecretsStayOutOfCookies: a revealed signing secret is shown in the
// page, never carried in a flash, and no Set-Cookie contains it; and the
// session cookie's content cannot be read.
func TestSecretsStayOutOfCookies(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	if res := c.Post(t, "/webhooks", fullForm("Secret keeper")); res.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "Secret keeper")
	noSecretInCookies := func(t *testing.T, res handlertest.Response, secrets ...string) {
		t.Helper()
		for _, sc := range res.Header.Values("Set-Cookie") {
			for _, s := range secrets {
				if s == "" {
					continue
				}
				if strings.Contains(sc, s) || strings.Contains(sc, strings.TrimPrefix(s, "whsec_")) {
					t.Fatalf("Set-Cookie carries the secret: %q", sc)
				}
			}
		}
	}
	for _, htmx := range []bool{false, true} {
		name := "plain form post"
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if htmx {
			name = "htmx"
			h.Set("HX-Request", "true")
		}
		t.Run(name, func(t *testing.T) {
			for _, op := range []string{"reveal", "rotate"} {
				res := c.PostRaw(t, "/webhooks/"+w.ID+"/secret/"+op, url.Values{"_csrf": {c.CSRF()}}, h)
				cur, err := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != http.StatusOK || !strings.Contains(res.Body, cur.SigningSecret) {
					t.Fatalf("%s: the response should show the secret: %s", op, handlertest.Describe(res))
				}
				if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s: Cache-Control %q", op, cc)
				}
				noSecretInCookies(t, res, cur.SigningSecret, cur.PreviousSecret)
				next := c.Get(t, "/webhooks/"+w.ID)
				noSecretInCookies(t, next, cur.SigningSecret)
				if strings.Contains(next.Body, cur.SigningSecret) {
					t.Fatalf("%s: the next page shows the secret again (a flash?)", op)
				}
			}
		})
	}

	t.Run("the session cookie is encrypted", func(t *testing.T) {
		res := c.Post(t, "/numbers", url.Values{"number": {"+14155550199"}, "label": {"Flash test"}})
		var value string
		for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
			if ck.Name == "ringhook_session" {
				value = ck.Value
			}
		}
		if value == "" {
			t.Fatalf("adding a number should set a flash in the session cookie: %v", res.Header.Values("Set-Cookie"))
		}
		// securecookie: base64(date|value|mac) where value is base64 of the
		// (encrypted) gob; a signed-only cookie shows its keys and flash text.
		outer, err := base64.URLEncoding.DecodeString(value)
		if err != nil {
			t.Fatalf("cookie is not securecookie's format: %v", err)
		}
		parts := strings.SplitN(string(outer), "|", 3)
		if len(parts) != 3 {
			t.Fatalf("cookie is not securecookie's format: %q", outer)
		}
		inner, err := base64.URLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, plain := range []string{"Added", "14155550199", "tok", "Flash", "success"} {
			if strings.Contains(string(inner), plain) {
				t.Errorf("the cookie reveals %q: %q", plain, inner)
			}
		}
	})
}
