package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

var inviteLinkRE = regexp.MustCompile(`id="invite-link" type="text" readonly value="([^"]+)"`)

// invite posts the invite form as c and returns the link the page shows once.
func invite(t *testing.T, c *handlertest.Client, email string, role models.Role) string {
	t.Helper()
	c.Get(t, "/users")
	res := c.Post(t, "/users/invite", url.Values{"email": {email}, "role": {string(role)}})
	if res.Status != http.StatusOK {
		t.Fatalf("invite %s: %s", email, handlertest.Describe(res))
	}
	m := inviteLinkRE.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no invite link on the page: %s", handlertest.Describe(res))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the link has Cache-Control %q, want no-store", cc)
	}
	return html.UnescapeString(m[1])
}

// tokenPath is the path of an invite link.
func tokenPath(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/invite/") {
		t.Fatalf("invite link %q", link)
	}
	return u.Path
}

// accept opens an invite link in a fresh client and sets password.
func accept(t *testing.T, app *handlertest.App, path, password string) (*handlertest.Client, handlertest.Response) {
	t.Helper()
	c := app.NewClient(t)
	if res := c.Get(t, path); res.Status != http.StatusOK {
		t.Fatalf("open %s: %s", path, handlertest.Describe(res))
	}
	return c, c.Post(t, path, url.Values{"password": {password}, "confirm_password": {password}})
}

func auditActions(t *testing.T, app *handlertest.App, accountID string) []string {
	t.Helper()
	entries, err := app.Store.AuditLog(context.Background(), accountID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func hasAction(actions []string, want string) bool {
	for _, a := range actions {
		if a == want {
			return true
		}
	}
	return false
}

// TestInviteAcceptSignInRoleEnforced: an owner invites a viewer; the link
// is shown once, stored only as a hash and kept out of the logs; the
// invitee sets a password, is signed in, can sign in again with it, and
// as a viewer is refused the Users page and every change.
func TestInviteAcceptSignInRoleEnforced(t *testing.T) {
	logs, log := newLog()
	app := handlertest.NewWith(t, handlertest.Options{Log: log})
	owner := app.NewTenant(t, models.RoleOwner)
	co := app.SignIn(t, owner)
	email := strings.ToLower(models.NewID("new")) + "@example.com"

	link := invite(t, co, "  "+strings.ToUpper(email)+" ", models.RoleViewer)
	path := tokenPath(t, link)
	token := strings.TrimPrefix(path, "/invite/")
	if !strings.HasPrefix(link, app.URL+"/invite/") || len(token) < 40 {
		t.Fatalf("link %q", link)
	}

	t.Run("the token is stored hashed and shown only once", func(t *testing.T) {
		var inv models.Invite
		if err := app.DB.Where("account_id = ? AND email = ?", owner.Account.ID, email).Take(&inv).Error; err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(token))
		if !bytes.Equal(inv.TokenHash, sum[:]) || inv.Role != models.RoleViewer {
			t.Fatalf("stored invite %+v", inv)
		}
		if d := inv.ExpiresAt.Sub(inv.CreatedAt); d != 7*24*time.Hour {
			t.Errorf("valid for %s, want 7 days", d)
		}
		res := co.Get(t, "/users")
		if strings.Contains(res.Body, token) || !strings.Contains(res.Body, email) {
			t.Fatalf("the list shows the token again, or not the invite: %s", handlertest.Describe(res))
		}
	})

	t.Run("the invite page names the account, email and role", func(t *testing.T) {
		res := app.NewClient(t).Get(t, path)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, html.EscapeString(owner.Account.Name)) ||
			!strings.Contains(res.Body, email) || !strings.Contains(res.Body, ">viewer<") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})

	t.Run("password problems re-render with the message by the field", func(t *testing.T) {
		c := app.NewClient(t)
		c.Get(t, path)
		res := c.Post(t, path, url.Values{"password": {"short"}, "confirm_password": {"short"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `id="password-error"`) || !strings.Contains(res.Body, "Use at least 10 characters.") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		res = c.Post(t, path, url.Values{"password": {"a long passphrase"}, "confirm_password": {"a long passphrasf"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "The two passwords differ.") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})

	const password = "viewer passphrase 1"
	cv, res := accept(t, app, path, password)
	if res.Status != http.StatusSeeOther || res.Location != "/" {
		t.Fatalf("accept: %s", handlertest.Describe(res))
	}
	if res := cv.Get(t, "/"); res.Status != http.StatusOK || !strings.Contains(res.Body, "You joined as a viewer.") || !strings.Contains(res.Body, email) {
		t.Fatalf("after accepting: %s", handlertest.Describe(res))
	}

	t.Run("the new member signs in with the chosen password", func(t *testing.T) {
		c := app.SignIn(t, handlertest.Tenant{Email: email, Password: password})
		if res := c.Get(t, "/webhooks"); res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})

	t.Run("as a viewer the role is enforced", func(t *testing.T) {
		for _, p := range []string{"/users", "/settings", "/webhooks/new"} {
			if res := cv.Get(t, p); res.Status != http.StatusForbidden {
				t.Errorf("GET %s as viewer: %s", p, handlertest.Describe(res))
			}
		}
		for _, p := range []string{"/webhooks", "/users/invite", "/settings", "/numbers"} {
			if res := cv.Post(t, p, fullForm("viewer")); res.Status != http.StatusForbidden {
				t.Errorf("POST %s as viewer: %s", p, handlertest.Describe(res))
			}
		}
		if res := cv.Get(t, "/"); strings.Contains(res.Body, `href="/users"`) || strings.Contains(res.Body, `href="/settings"`) {
			t.Error("a viewer's navigation links to Users or Settings")
		}
		if res := co.Get(t, "/"); !strings.Contains(res.Body, `href="/users"`) || !strings.Contains(res.Body, `href="/settings"`) {
			t.Error("an owner's navigation lacks Users or Settings")
		}
	})

	t.Run("a used link is refused clearly", func(t *testing.T) {
		c := app.NewClient(t)
		res := c.Get(t, path)
		if res.Status != http.StatusGone || !strings.Contains(res.Body, "This invite has already been used.") || strings.Contains(res.Body, `name="password"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		res = c.Post(t, path, url.Values{"password": {"another passphrase"}, "confirm_password": {"another passphrase"}})
		if res.Status != http.StatusGone {
			t.Fatalf("second accept: %s", handlertest.Describe(res))
		}
		var n int64
		app.DB.Model(&models.User{}).Where("lower(email) = ?", email).Count(&n)
		if n != 1 {
			t.Fatalf("%d users with the invited email, want 1", n)
		}
	})

	t.Run("invited and joined are audited", func(t *testing.T) {
		acts := auditActions(t, app, owner.Account.ID)
		if !hasAction(acts, "user.invited") || !hasAction(acts, "user.joined") {
			t.Fatalf("audit actions %v", acts)
		}
		res := co.Get(t, "/audit")
		if !strings.Contains(res.Body, "Invited user") || !strings.Contains(res.Body, "Joined the account") {
			t.Errorf("the audit page does not label the entries: %s", handlertest.Describe(res))
		}
	})

	t.Run("the token never reaches the log", func(t *testing.T) {
		if strings.Contains(fmt.Sprint(logs.lines(t)), token) {
			t.Fatal("the invite token was logged")
		}
	})
}

// TestInviteRefusals: unknown, expired and revoked links are refused with
// a message saying which; emails already signing in are field errors.
func TestInviteRefusals(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	co := app.SignIn(t, owner)

	t.Run("unknown", func(t *testing.T) {
		for _, p := range []string{"/invite/nope", "/invite/" + strings.Repeat("x", 300), "/invite/%00%ff"} {
			res := app.NewClient(t).Get(t, p)
			if res.Status != http.StatusNotFound || !strings.Contains(res.Body, "This invite link is not valid.") {
				t.Errorf("%s: %s", p, handlertest.Describe(res))
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		email := strings.ToLower(models.NewID("exp")) + "@example.com"
		path := tokenPath(t, invite(t, co, email, models.RoleAdmin))
		if err := app.DB.Model(&models.Invite{}).Where("email = ?", email).Update("expires_at", time.Now().Add(-time.Minute)).Error; err != nil {
			t.Fatal(err)
		}
		c := app.NewClient(t)
		res := c.Get(t, path)
		if res.Status != http.StatusGone || !strings.Contains(res.Body, "This invite has expired") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := c.Post(t, path, url.Values{"password": {"a long passphrase"}, "confirm_password": {"a long passphrase"}}); res.Status != http.StatusGone {
			t.Fatalf("accepting an expired invite: %s", handlertest.Describe(res))
		}
		if res := co.Get(t, "/users"); !strings.Contains(res.Body, "Expired") {
			t.Error("the Users page does not mark the invite expired")
		}
	})
	t.Run("revoked", func(t *testing.T) {
		email := strings.ToLower(models.NewID("rev")) + "@example.com"
		path := tokenPath(t, invite(t, co, email, models.RoleViewer))
		var inv models.Invite
		app.DB.Where("email = ?", email).Take(&inv)
		if res := co.Post(t, "/users/invites/"+inv.ID+"/revoke", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %s", handlertest.Describe(res))
		}
		res := app.NewClient(t).Get(t, path)
		if res.Status != http.StatusGone || !strings.Contains(res.Body, "This invite was revoked.") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/invites/"+inv.ID+"/revoke", nil); res.Status != http.StatusNotFound {
			t.Fatalf("revoking twice: %s", handlertest.Describe(res))
		}
		if !hasAction(auditActions(t, app, owner.Account.ID), "user.invite_revoked") {
			t.Error("revocation not audited")
		}
	})
	t.Run("inviting again replaces the earlier link", func(t *testing.T) {
		email := strings.ToLower(models.NewID("again")) + "@example.com"
		first := tokenPath(t, invite(t, co, email, models.RoleViewer))
		second := tokenPath(t, invite(t, co, email, models.RoleAdmin))
		if res := app.NewClient(t).Get(t, first); res.Status != http.StatusGone {
			t.Errorf("the first link still works: %s", handlertest.Describe(res))
		}
		if res := app.NewClient(t).Get(t, second); res.Status != http.StatusOK || !strings.Contains(res.Body, ">admin<") {
			t.Errorf("the second link: %s", handlertest.Describe(res))
		}
	})
	t.Run("emails already signing in are field errors, values kept", func(t *testing.T) {
		other := app.NewTenant(t, models.RoleOwner)
		for _, tc := range []struct{ email, msg string }{
			{owner.Email, "already a member of this account"},
			{strings.ToUpper(other.Email), "already signs in to another Ringhook account"},
			{"not an email", "Enter a valid email address"},
		} {
			res := co.Post(t, "/users/invite", url.Values{"email": {tc.email}, "role": {"viewer"}})
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tc.msg) ||
				!strings.Contains(res.Body, `id="invite-email-error"`) || !strings.Contains(res.Body, `value="`+html.EscapeString(tc.email)+`"`) {
				t.Errorf("%s: %s", tc.email, handlertest.Describe(res))
			}
		}
		res := co.Post(t, "/users/invite", url.Values{"email": {"x@example.com"}, "role": {"root"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Choose owner, admin or viewer.") {
			t.Errorf("bad role: %s", handlertest.Describe(res))
		}
	})
	t.Run("an email taken between invite and accept is a message, not a 500", func(t *testing.T) {
		email := strings.ToLower(models.NewID("race")) + "@example.com"
		path := tokenPath(t, invite(t, co, email, models.RoleViewer))
		elsewhere := app.NewTenant(t, models.RoleOwner)
		if _, err := app.Store.CreateUser(context.Background(), elsewhere.Account.ID, email, "some password 1", models.RoleViewer); err != nil {
			t.Fatal(err)
		}
		_, res := accept(t, app, path, "a long passphrase")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "already signs in to a Ringhook account") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("CSRF", func(t *testing.T) {
		email := strings.ToLower(models.NewID("csrf")) + "@example.com"
		res := co.PostRaw(t, "/users/invite", url.Values{"email": {email}, "role": {"viewer"}}, nil)
		if res.Status != http.StatusForbidden {
			t.Fatalf("invite without a token: %s", handlertest.Describe(res))
		}
		var n int64
		app.DB.Model(&models.Invite{}).Where("email = ?", email).Count(&n)
		if n != 0 {
			t.Fatal("an invite was made without the CSRF token")
		}
		path := tokenPath(t, invite(t, co, email, models.RoleViewer))
		c := app.NewClient(t)
		c.Get(t, path)
		res = c.PostRaw(t, path, url.Values{"password": {"a long passphrase"}, "confirm_password": {"a long passphrase"}, "_csrf": {"forged"}}, nil)
		if res.Status != http.StatusForbidden {
			t.Fatalf("accept with a forged token: %s", handlertest.Describe(res))
		}
		for _, p := range []string{"/users/" + owner.User.ID + "/role", "/users/" + owner.User.ID + "/remove", "/settings"} {
			if res := co.PostRaw(t, p, url.Values{"role": {"viewer"}}, nil); res.Status != http.StatusForbidden {
				t.Errorf("POST %s without a token: %s", p, handlertest.Describe(res))
			}
		}
	})
}

// member adds a user with role to tn's account and returns them as a tenant.
func member(t *testing.T, app *handlertest.App, tn handlertest.Tenant, role models.Role) handlertest.Tenant {
	t.Helper()
	email := strings.ToLower(models.NewID(string(role))) + "@example.com"
	u, err := app.Store.CreateUser(context.Background(), tn.Account.ID, email, "member password", role)
	if err != nil {
		t.Fatal(err)
	}
	return handlertest.Tenant{Account: tn.Account, User: u, Email: email, Password: "member password"}
}

func roleOf(t *testing.T, app *handlertest.App, user *models.User) models.Role {
	t.Helper()
	u, err := app.Store.User(context.Background(), user.AccountID, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Role
}

// TestTeamRoles walks the role matrix (docs/architecture.md, "Roles"):
// owners change roles and remove anyone but the last owner; admins invite
// and remove admins and viewers only; removal ends the member's sessions.
func TestTeamRoles(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	co := app.SignIn(t, owner)
	co.Get(t, "/users")

	t.Run("the last owner cannot be demoted or removed", func(t *testing.T) {
		res := co.Post(t, "/users/"+owner.User.ID+"/role", url.Values{"role": {"admin"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "An account always keeps at least one owner") ||
			!strings.Contains(res.Body, `id="member-`+owner.User.ID+`-error"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/"+owner.User.ID+"/remove", nil); res.Status != http.StatusForbidden {
			t.Fatalf("removing oneself: %s", handlertest.Describe(res))
		}
		if r := roleOf(t, app, owner.User); r != models.RoleOwner {
			t.Fatalf("role is now %s", r)
		}
	})

	admin := member(t, app, owner, models.RoleAdmin)
	viewer := member(t, app, owner, models.RoleViewer)
	second := member(t, app, owner, models.RoleOwner)
	ca := app.SignIn(t, admin)
	cv := app.SignIn(t, viewer)
	ca.Get(t, "/users")

	t.Run("admins see the page without role pickers", func(t *testing.T) {
		res := ca.Get(t, "/users")
		if res.Status != http.StatusOK || strings.Contains(res.Body, `name="role" id="role-`) || strings.Contains(res.Body, "Change role") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if strings.Contains(res.Body, `action="/users/`+second.User.ID+`/remove"`) || !strings.Contains(res.Body, `action="/users/`+viewer.User.ID+`/remove"`) {
			t.Error("an admin's Remove buttons should be on admins and viewers only")
		}
		if strings.Contains(res.Body, `<option value="owner"`) {
			t.Error("an admin is offered the owner role in the invite form")
		}
	})
	t.Run("admins may not change roles, remove owners or invite owners", func(t *testing.T) {
		if res := ca.Post(t, "/users/"+viewer.User.ID+"/role", url.Values{"role": {"admin"}}); res.Status != http.StatusForbidden {
			t.Errorf("admin changes a role: %s", handlertest.Describe(res))
		}
		if res := ca.Post(t, "/users/"+second.User.ID+"/remove", nil); res.Status != http.StatusForbidden {
			t.Errorf("admin removes an owner: %s", handlertest.Describe(res))
		}
		if res := ca.Post(t, "/users/invite", url.Values{"email": {"boss@example.com"}, "role": {"owner"}}); res.Status != http.StatusForbidden {
			t.Errorf("admin invites an owner: %s", handlertest.Describe(res))
		}
		if r := roleOf(t, app, viewer.User); r != models.RoleViewer {
			t.Errorf("viewer's role is now %s", r)
		}
	})
	t.Run("an owner changes roles; the change applies at once", func(t *testing.T) {
		if res := co.Post(t, "/users/"+admin.User.ID+"/role", url.Values{"role": {"viewer"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := ca.Get(t, "/users"); res.Status != http.StatusForbidden {
			t.Fatalf("the demoted admin still opens Users: %s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/"+admin.User.ID+"/role", url.Values{"role": {"admin"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := co.Get(t, "/users"); !strings.Contains(res.Body, html.EscapeString(admin.Email)+" is now an admin.") {
			t.Errorf("no flash: %s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/"+admin.User.ID+"/role", url.Values{"role": {"emperor"}}); res.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, "Choose owner, admin or viewer.") {
			t.Fatalf("a bad role: %s", handlertest.Describe(res))
		}
	})
	t.Run("with two owners one may step down, and then not the other", func(t *testing.T) {
		if res := co.Post(t, "/users/"+second.User.ID+"/role", url.Values{"role": {"admin"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/"+owner.User.ID+"/role", url.Values{"role": {"viewer"}}); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("the last owner stepped down: %s", handlertest.Describe(res))
		}
		if res := co.Post(t, "/users/"+second.User.ID+"/role", url.Values{"role": {"owner"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("an admin removes a viewer, whose sessions end", func(t *testing.T) {
		if res := cv.Get(t, "/webhooks"); res.Status != http.StatusOK {
			t.Fatalf("viewer before: %s", handlertest.Describe(res))
		}
		if res := ca.Post(t, "/users/"+viewer.User.ID+"/remove", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := cv.Get(t, "/webhooks"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login") {
			t.Fatalf("the removed viewer is still signed in: %s", handlertest.Describe(res))
		}
		if _, err := app.Store.Authenticate(context.Background(), viewer.Email, viewer.Password); err == nil {
			t.Fatal("the removed viewer can still sign in")
		}
		var n int64
		app.DB.Model(&models.Session{}).Where("user_id = ? AND revoked_at IS NULL", viewer.User.ID).Count(&n)
		if n != 0 {
			t.Fatalf("%d live sessions left", n)
		}
	})
	t.Run("an owner removes another owner", func(t *testing.T) {
		if res := co.Post(t, "/users/"+second.User.ID+"/remove", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("each change is audited", func(t *testing.T) {
		acts := auditActions(t, app, owner.Account.ID)
		for _, want := range []string{"user.role_changed", "user.removed"} {
			if !hasAction(acts, want) {
				t.Errorf("no %s in %v", want, acts)
			}
		}
	})
}

// TestTeamsAreAccountScoped: an owner of B sees none of A's members or
// invites and every change aimed at them is a 404 that changes nothing.
func TestTeamsAreAccountScoped(t *testing.T) {
	app := handlertest.New(t)
	a := app.NewTenant(t, models.RoleOwner)
	b := app.NewTenant(t, models.RoleOwner)
	ca, cb := app.SignIn(t, a), app.SignIn(t, b)
	aViewer := member(t, app, a, models.RoleViewer)
	inviteEmail := strings.ToLower(models.NewID("a-inv")) + "@example.com"
	path := tokenPath(t, invite(t, ca, inviteEmail, models.RoleAdmin))
	var inv models.Invite
	app.DB.Where("email = ?", inviteEmail).Take(&inv)

	cb.Get(t, "/users")
	res := cb.Get(t, "/users")
	for _, leak := range []string{a.Email, aViewer.Email, inviteEmail, aViewer.User.ID, inv.ID} {
		if strings.Contains(res.Body, leak) {
			t.Errorf("B's Users page shows %s", leak)
		}
	}
	for _, at := range []struct {
		path string
		form url.Values
	}{
		{"/users/" + aViewer.User.ID + "/role", url.Values{"role": {"owner"}}},
		{"/users/" + a.User.ID + "/role", url.Values{"role": {"viewer"}}},
		{"/users/" + aViewer.User.ID + "/remove", nil},
		{"/users/invites/" + inv.ID + "/revoke", nil},
	} {
		if res := cb.Post(t, at.path, at.form); res.Status != http.StatusNotFound {
			t.Errorf("POST %s as B: %s", at.path, handlertest.Describe(res))
		}
	}
	if roleOf(t, app, aViewer.User) != models.RoleViewer || roleOf(t, app, a.User) != models.RoleOwner {
		t.Fatal("B changed a role in A")
	}
	if res := app.NewClient(t).Get(t, path); res.Status != http.StatusOK {
		t.Fatalf("A's invite stopped working: %s", handlertest.Describe(res))
	}
	if _, err := app.Store.User(context.Background(), aViewer.User.AccountID, aViewer.User.ID); err != nil {
		t.Fatalf("A's viewer is gone: %v", err)
	}
}

// TestAccountSettings: the Settings page changes name, time zone, default
// country, the rotation grace (which console and API rotations then use)
// and the history retention; refused values stay in the form with a
// message by each field; the change is audited.
func TestAccountSettings(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	co := app.SignIn(t, owner)
	ctx := context.Background()

	res := co.Get(t, "/settings")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `<option value="Asia/Kolkata" selected>`) ||
		!strings.Contains(res.Body, `id="secret_grace_hours" name="secret_grace_hours" type="number" inputmode="numeric" min="0" max="168" step="1" value="24"`) ||
		!strings.Contains(res.Body, `name="history_retention_days" type="number" inputmode="numeric" min="1" max="365" step="1" value="30"`) {
		t.Fatalf("%s", handlertest.Describe(res))
	}

	t.Run("bad values re-render with messages by the fields and values kept", func(t *testing.T) {
		bad := url.Values{"name": {"  "}, "time_zone": {"Mars/Olympus"}, "default_country": {"ZZ"},
			"secret_grace_hours": {"200"}, "history_retention_days": {"abc"}}
		res := co.Post(t, "/settings", bad)
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		for _, f := range []string{"name", "time_zone", "default_country", "secret_grace_hours", "history_retention_days"} {
			if !strings.Contains(res.Body, `id="`+f+`-error"`) {
				t.Errorf("no message by %s", f)
			}
		}
		if !strings.Contains(res.Body, `value="200"`) || !strings.Contains(res.Body, `value="abc"`) {
			t.Error("the typed values were not kept")
		}
		for _, v := range []string{"0", "366", "-1", "1.5"} {
			res := co.Post(t, "/settings", url.Values{"name": {"X"}, "time_zone": {"UTC"}, "default_country": {"US"},
				"secret_grace_hours": {"1"}, "history_retention_days": {v}})
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "from 1 to 365") {
				t.Errorf("retention %s: %s", v, handlertest.Describe(res))
			}
		}
		a, _ := app.Store.Account(ctx, owner.Account.ID)
		if a.Name != owner.Account.Name || a.HistoryRetentionDays != 30 {
			t.Fatal("a refused form changed the account")
		}
	})

	good := url.Values{"name": {"Acme Support"}, "time_zone": {"America/New_York"}, "default_country": {"us"},
		"secret_grace_hours": {"2"}, "history_retention_days": {"90"}}
	if res := co.Post(t, "/settings", good); res.Status != http.StatusSeeOther || res.Location != "/settings" {
		t.Fatalf("save: %s", handlertest.Describe(res))
	}
	a, err := app.Store.Account(ctx, owner.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Acme Support" || a.TimeZone != "America/New_York" || a.DefaultCountry != "US" || a.SecretGrace() != 2*time.Hour || a.HistoryRetentionDays != 90 {
		t.Fatalf("account now %+v", a)
	}
	if res := co.Get(t, "/settings"); !strings.Contains(res.Body, "Settings saved.") || !strings.Contains(res.Body, `value="90"`) || !strings.Contains(res.Body, "Acme Support") {
		t.Errorf("after saving: %s", handlertest.Describe(res))
	}
	if !hasAction(auditActions(t, app, owner.Account.ID), "account.updated") {
		t.Error("not audited")
	}

	t.Run("rotations use the grace period", func(t *testing.T) {
		in := models.NewWebhookInput("UTC")
		in.Name, in.EventTypes, in.URL = "graceful", []string{"call.missed"}, "https://crm.example.com/hook"
		w, err := app.Store.CreateWebhook(ctx, owner.Account.ID, models.Actor{Label: owner.Email}, in)
		if err != nil {
			t.Fatal(err)
		}
		page := co.Get(t, "/webhooks/"+w.ID)
		if !strings.Contains(page.Body, "The old one keeps signing for 2 hours.") {
			t.Errorf("the Rotate confirmation does not name the grace: %s", handlertest.Describe(page))
		}
		before := time.Now()
		if res := co.Post(t, "/webhooks/"+w.ID+"/secret/rotate", nil); res.Status != http.StatusOK {
			t.Fatalf("console rotate: %s", handlertest.Describe(res))
		}
		checkGrace := func(how string, want time.Duration) {
			got, err := app.Store.Webhook(ctx, owner.Account.ID, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.PreviousSecretExpiresAt == nil {
				t.Fatalf("%s: no previous secret", how)
			}
			if d := got.PreviousSecretExpiresAt.Sub(before); d < want-time.Minute || d > want+time.Minute {
				t.Errorf("%s: the old secret signs for %s, want %s", how, d, want)
			}
		}
		checkGrace("console", 2*time.Hour)
		key := mustScopedKey(t, app, owner, models.NewAPIKey{Name: "rotator", Scope: models.ScopeFull})
		before = time.Now()
		if res := apiDo(t, app.NewClient(t), http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, ""); res.Status != http.StatusOK {
			t.Fatalf("API rotate: %s", handlertest.Describe(res))
		}
		checkGrace("API without a grace", 2*time.Hour)
		if res := apiDo(t, app.NewClient(t), http.MethodPost, "/api/v1/webhooks/"+w.ID+"/secret/rotate", key, `{"grace_period_seconds":600}`); res.Status != http.StatusOK {
			t.Fatalf("API rotate: %s", handlertest.Describe(res))
		}
		checkGrace("API with its own grace", 10*time.Minute)
	})

	t.Run("viewers and admins", func(t *testing.T) {
		cv := app.SignIn(t, member(t, app, owner, models.RoleViewer))
		if res := cv.Get(t, "/settings"); res.Status != http.StatusForbidden {
			t.Errorf("viewer GET: %s", handlertest.Describe(res))
		}
		ca := app.SignIn(t, member(t, app, owner, models.RoleAdmin))
		if res := ca.Get(t, "/settings"); res.Status != http.StatusOK {
			t.Errorf("admin GET: %s", handlertest.Describe(res))
		}
	})
}

// viewerPosts are the console POST routes a viewer may use: signing in and
// out, their own profile, and an invite link (the invitee has no role yet).
var viewerPosts = map[string]bool{
	"/login": true, "/logout": true, "/invite/:token": true,
	"/profile/password": true, "/profile/sessions/revoke-all": true, "/profile/sessions/:id/revoke": true,
}

// TestEveryConsolePostRefusesViewers walks the route table: every console
// POST route but viewerPosts answers a viewer 403 and changes nothing.
func TestEveryConsolePostRefusesViewers(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	viewer := member(t, app, owner, models.RoleViewer)
	cv := app.SignIn(t, viewer)
	cv.Get(t, "/")
	before := len(auditActions(t, app, owner.Account.ID))

	seen := map[string]bool{}
	walked := 0
	for _, r := range app.Echo.Routes() {
		if r.Method != http.MethodPost || strings.HasPrefix(r.Path, "/api/") || handlers.IsDialectPath(r.Path) {
			continue
		}
		seen[r.Path] = true
		if viewerPosts[r.Path] {
			continue
		}
		path := regexp.MustCompile(`:[a-z_]+`).ReplaceAllStringFunc(r.Path, func(p string) string {
			if p == ":id" && strings.HasPrefix(r.Path, "/users/") && !strings.Contains(r.Path, "invites") {
				return owner.User.ID // a real target: the refusal is the role's, not a 404
			}
			return "x1"
		})
		walked++
		t.Run(r.Path, func(t *testing.T) {
			res := cv.Post(t, path, fullForm("viewer was here"))
			if res.Status != http.StatusForbidden {
				t.Errorf("POST %s as viewer: %s", path, handlertest.Describe(res))
			}
		})
	}
	for p := range viewerPosts {
		if !seen[p] {
			t.Errorf("viewerPosts names %s, which is not a route", p)
		}
	}
	if walked < 20 {
		t.Fatalf("only %d POST routes walked", walked)
	}
	if after := len(auditActions(t, app, owner.Account.ID)); after != before {
		t.Fatalf("a viewer's posts changed something: %d audit entries, want %d", after, before)
	}
	if roleOf(t, app, owner.User) != models.RoleOwner {
		t.Fatal("the owner's role changed")
	}
}

// TestInviteLinksIgnoreClaimedScheme: a client's X-Forwarded-Proto counts
// only from a trusted proxy, and a configured public URL wins over the
// request's host.
func TestInviteLinksIgnoreClaimedScheme(t *testing.T) {
	inviteWith := func(t *testing.T, app *handlertest.App, header http.Header) string {
		t.Helper()
		c := app.SignIn(t, app.NewTenant(t, models.RoleOwner))
		c.Get(t, "/users")
		form := url.Values{"email": {strings.ToLower(models.NewID("x")) + "@example.com"}, "role": {string(models.RoleViewer)}, "_csrf": {c.CSRF()}}
		res := c.PostRaw(t, "/users/invite", form, header)
		m := inviteLinkRE.FindStringSubmatch(res.Body)
		if m == nil {
			t.Fatalf("no invite link: %s", handlertest.Describe(res))
		}
		return html.UnescapeString(m[1])
	}
	https := http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Ssl": {"on"}}
	t.Run("an untrusted client cannot pick the scheme", func(t *testing.T) {
		app := handlertest.NewWith(t, handlertest.Options{})
		if link := inviteWith(t, app, https); !strings.HasPrefix(link, app.URL+"/invite/") {
			t.Fatalf("link %q, want it on %s", link, app.URL)
		}
	})
	t.Run("a trusted proxy's scheme is believed", func(t *testing.T) {
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		app := handlertest.NewWith(t, handlertest.Options{TrustedProxies: []*net.IPNet{loopback}})
		want := "https://" + strings.TrimPrefix(app.URL, "http://") + "/invite/"
		if link := inviteWith(t, app, https); !strings.HasPrefix(link, want) {
			t.Fatalf("link %q, want prefix %s", link, want)
		}
	})
	t.Run("the public URL wins", func(t *testing.T) {
		app := handlertest.NewWith(t, handlertest.Options{Deps: []func(*handlers.Deps){func(d *handlers.Deps) { d.PublicURL = "https://hooks.example.com/" }}})
		if link := inviteWith(t, app, http.Header{"X-Forwarded-Proto": {"http"}}); !strings.HasPrefix(link, "https://hooks.example.com/invite/") {
			t.Fatalf("link %q", link)
		}
	})
}
