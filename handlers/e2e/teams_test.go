package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// incognito opens a second tab in a browser context of its own (no shared
// cookies), as another person's browser would be; it closes with the test.
func (b *browser) incognito() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The first Run binds the tab to its context: no deadline on it (as in
	// newBrowser), a timer bounds the start instead.
	timer := time.AfterFunc(startTimeout, cancel)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`"ready"`))
	timer.Stop()
	if err != nil {
		b.t.Fatalf("open a new browser context: %v", err)
	}
	return &browser{t: b.t, ctx: ctx, base: b.base}
}

// allowClipboard lets the pages of the app write and read the clipboard
// without a prompt, as a person who allowed it would.
func (b *browser) allowClipboard() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true}, Setting: cdpbrowser.PermissionSettingGranted, Origin: b.base})
		if err != nil {
			b.t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// postFromPage posts a form to path with fetch from the open page, with
// its CSRF token, and returns the status.
func (b *browser) postFromPage(path string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(async () => {
		const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
		const res = await fetch(`+jsString(path)+`, {method: "POST", body: new URLSearchParams({_csrf: token, number: "+14155550100", name: "x"})});
		return res.status;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("post %s from the page: %v", path, err)
	}
	return status
}

// TestInviteViewer: an owner invites a viewer from the Users page and
// copies the link; in a browser of their own the invitee sets a password,
// joins, signs in again as a viewer, sees no edit controls and is refused
// when posting anyway.
func TestInviteViewer(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	email := strings.ToLower(models.NewID("invitee")) + "@example.com"
	b := newBrowser(t, app.URL)
	signIn(b, owner)

	t.Log("the owner invites a viewer and copies the link")
	b.load("open Users from the navigation", chromedp.Click(navLink("Users")), http.StatusOK)
	b.fill("#invite-email", email)
	b.do("choose viewer", chromedp.SetValue(chromedp.CSS(`#invite-role`), "viewer"))
	b.load("click Create invite link", chromedp.Click(button("Create invite link")), http.StatusOK)
	link := evalJS[string](b, `document.querySelector("#invite-link")?.value ?? ""`)
	if !strings.HasPrefix(link, app.URL+"/invite/") {
		t.Fatalf("invite link %q%s", link, b.where())
	}
	b.allowClipboard()
	b.click(`button[data-copy="invite-link"]`)
	b.waitFor("the Copied label", `document.querySelector('button[data-copy="invite-link"]').textContent === "Copied"`)
	ctx, cancel := b.step()
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || copied != link {
		t.Fatalf("clipboard holds %q (%v), want the link %q", copied, err, link)
	}
	b.screenshot("users-invite.png")

	t.Log("the invitee opens the link in a browser of their own and joins")
	inv := b.incognito()
	u, err := url.Parse(copied)
	if err != nil {
		t.Fatal(err)
	}
	inv.open(u.Path, http.StatusOK)
	if s := evalJS[string](inv, `document.querySelector("#join")?.innerText ?? ""`); !strings.Contains(s, email) || !strings.Contains(s, "viewer") {
		t.Fatalf("the invite page says %q", s)
	}
	const password = "my own passphrase 7"
	inv.fill("#password", password)
	inv.fill("#confirm_password", password)
	inv.load("click Join", chromedp.Click(chromedp.CSS(`#join button[type=submit]`)), http.StatusOK)
	if p := inv.path(); p != "/" {
		t.Fatalf("joined onto %s%s", p, inv.where())
	}
	if f := evalJS[string](inv, `document.querySelector(".flash-success")?.textContent ?? ""`); !strings.Contains(f, "You joined as a viewer.") {
		t.Errorf("flash %q", f)
	}

	t.Log("signed out and in again with the new password, as a viewer")
	inv.load("click Sign out", chromedp.Click(button("Sign out")), http.StatusOK)
	signIn(inv, handlertest.Tenant{Email: email, Password: password})
	if n := evalJS[int](inv, `document.querySelectorAll('header nav a[href="/users"], header nav a[href="/settings"]').length`); n != 0 {
		t.Errorf("a viewer's navigation has %d Users/Settings links", n)
	}
	inv.open("/webhooks", http.StatusOK)
	if n := evalJS[int](inv, `[...document.querySelectorAll("main a, main button")].filter(e => /Add webhook|Edit|Delete|Send test/.test(e.textContent)).length`); n != 0 {
		t.Errorf("a viewer sees %d edit controls on Webhooks%s", n, inv.where())
	}
	inv.open("/numbers", http.StatusOK)
	if n := evalJS[int](inv, `document.querySelectorAll('main form[action="/numbers"]').length`); n != 0 {
		t.Errorf("a viewer sees the add-number form")
	}
	if st := inv.postFromPage("/numbers"); st != http.StatusForbidden {
		t.Errorf("a viewer's POST /numbers answered %d, want 403", st)
	}
	inv.allowConsole("403")
	inv.open("/users", http.StatusForbidden)

	t.Log("the owner sees the new member, and no pending invite")
	b.open("/users", http.StatusOK)
	if s := evalJS[string](b, `document.querySelector("#members")?.innerText ?? ""`); !strings.Contains(s, email) || !strings.Contains(s, "viewer") {
		t.Errorf("members: %q", s)
	}
	if s := evalJS[string](b, `document.querySelector("#invites")?.innerText ?? ""`); !strings.Contains(s, "No pending invites.") {
		t.Errorf("invites: %q", s)
	}
}
