package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// summaryLinks reads the error summary's links as "href|text", and for
// each whether its target exists.
const summaryLinks = `[...document.querySelectorAll("#error-summary a")].map(a =>
	a.getAttribute("href") + "\t" + a.textContent.trim() + "\t" + (document.getElementById(a.getAttribute("href").slice(1)) ? "found" : "missing"))`

// TestFailedSubmitFocusesErrorSummary submits the webhook form with several
// errors (no name, no trigger, a bad URL, a bad header name, attempts out
// of range): focus lands on the error summary at the top, which links each
// field in error in the form's order; following a link focuses its field.
// Header rows added and removed without JavaScript keep focus too, and the
// other forms (API keys, numbers, sign-in, profile) focus their summary.
func TestFailedSubmitFocusesErrorSummary(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	b := newBrowser(t, app.URL)
	b.allowConsole("status of 422")
	b.allowConsole("status of 401")
	signIn(b, tn)

	b.open("/webhooks/new", http.StatusOK)
	b.fill("#url", "not a url")
	b.do("click Add header", chromedp.Click(button("Add header")))
	b.fill(`#header-name-0`, "Bad Header:")
	b.fill(`#header-value-0`, "x")
	b.fill("#max_attempts", "0")
	b.load("click Save webhook", chromedp.Click(button("Save webhook")), http.StatusUnprocessableEntity)

	b.waitFor("focus on the error summary", `document.activeElement?.id === "error-summary"`)
	if top := evalJS[bool](b, `document.querySelector("#webhook-form > .error-summary") === document.querySelector("#webhook-form > :not(input, button)")`); !top {
		t.Errorf("the summary is not at the top of the form %s", b.where())
	}
	links := evalJS[[]string](b, summaryLinks)
	var hrefs []string
	for _, l := range links {
		parts := strings.Split(l, "\t")
		hrefs = append(hrefs, parts[0])
		if parts[2] != "found" {
			t.Errorf("summary link %q points at nothing", l)
		}
	}
	want := []string{"#name", "#triggers", "#url", "#header-name-0", "#max_attempts"}
	if !slices.Equal(hrefs, want) {
		t.Errorf("the summary links %q, want %q (every field in error, in form order)", links, want)
	}
	// Every message next to a field is in the summary, and the other way round.
	fieldErrors := evalJS[int](b, `document.querySelectorAll("#webhook-form .field-error").length`)
	if fieldErrors != len(links) {
		t.Errorf("%d field errors on the form, %d in the summary", fieldErrors, len(links))
	}
	if inv := evalJS[string](b, `document.getElementById("header-name-0").getAttribute("aria-invalid") ?? ""`); inv != "true" {
		t.Errorf("the bad header name has aria-invalid=%q", inv)
	}

	t.Log("following a summary link focuses its field")
	b.do("click the URL link", chromedp.Click(chromedp.CSS(`#error-summary a[href="#url"]`)))
	b.waitFor("focus on #url", `document.activeElement?.id === "url"`)
	t.Log("Enter in a field saves the form: it does not press the first row's Remove")
	b.load("press Enter in URL", chromedp.KeyEvent(kb.Enter), http.StatusUnprocessableEntity)
	if n := evalJS[int](b, `document.querySelectorAll("input[name=header_name]").length`); n != 1 {
		t.Errorf("after Enter in a field the form has %d header rows, want the 1 it had", n)
	}
	b.do("click the Triggers link", chromedp.Click(chromedp.CSS(`#error-summary a[href="#triggers"]`)))
	b.waitFor("focus on the first trigger", `document.activeElement?.name === "event_types"`)

	t.Log("without JavaScript, Add header and Remove post the form and focus comes back to the row")
	b.scripts(false)
	b.open("/webhooks/new", http.StatusOK)
	b.load("click Add header", chromedp.Click(button("Add header")), http.StatusOK)
	b.waitFor("focus on the new row", `document.activeElement?.id === "header-name-0"`)
	b.load("click Add header again", chromedp.Click(button("Add header")), http.StatusOK)
	b.waitFor("focus on the second row", `document.activeElement?.id === "header-name-1"`)
	b.load("click Remove header 2", chromedp.Click(chromedp.CSS(`button[aria-label="Remove header 2"]`)), http.StatusOK)
	b.waitFor("focus on the row before", `document.activeElement?.id === "header-name-0"`)
	b.load("click Remove header 1", chromedp.Click(chromedp.CSS(`button[aria-label="Remove header 1"]`)), http.StatusOK)
	b.waitFor("focus on Add header", `document.activeElement?.textContent.trim() === "Add header"`)
	b.scripts(true)

	t.Log("the other forms focus their summary too")
	for _, f := range []struct {
		page, fill, value, submit, link string
		status                          int
	}{
		{"/api-keys", "#name", "", "Create key", "#name", http.StatusUnprocessableEntity},
		{"/numbers", "#number", "12", "Add number", "#number", http.StatusUnprocessableEntity},
		{"/profile", "#current_password", "wrong password", "Change password", "#current_password", http.StatusUnprocessableEntity},
	} {
		b.open(f.page, http.StatusOK)
		b.fill(f.fill, f.value)
		if f.page == "/profile" {
			b.fill("#new_password", "a new password 123")
			b.fill("#confirm_password", "a new password 123")
		}
		b.load("submit "+f.page, chromedp.Click(button(f.submit)), f.status)
		b.waitFor(f.page+": focus on the error summary", `document.activeElement?.id === "error-summary"`)
		if got := evalJS[[]string](b, summaryLinks); len(got) == 0 || !strings.HasPrefix(got[0], f.link+"\t") {
			t.Errorf("%s: the summary links %q, want %s first", f.page, got, f.link)
		}
	}
}

// TestURLWarningAndKeyCopy: in production mode typing a private address
// into the webhook form's URL warns at once (htmx), and a public one clears
// the warning; a new API key has a working Copy button.
func TestURLWarningAndKeyCopy(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{ProductionTargets: true})
	tn := app.NewTenant(t, models.RoleAdmin)
	b := newBrowser(t, app.URL)
	signIn(b, tn)

	b.open("/webhooks/new", http.StatusOK)
	b.fill("#url", "http://10.1.2.3/hooks")
	b.waitFor("the warning", `(document.querySelector("#url-refused")?.textContent ?? "").includes("10.1.2.3 is a private address")`)
	b.do("clear the URL", chromedp.Clear(chromedp.CSS("#url")))
	b.fill("#url", "https://8.8.8.8/hooks")
	b.waitFor("the warning to go", `document.querySelector("#url-refused") === null`)

	b.open("/api-keys", http.StatusOK)
	b.fill("#name", "Copy me")
	b.load("click Create key", chromedp.Click(button("Create key")), http.StatusOK)
	b.waitFor("the Copy key button", visible(`button[data-copy="new-api-key"]`))
	b.do("click Copy key", chromedp.Click(button("Copy key")))
	// Headless Chromium may refuse the clipboard; then the key is selected for Ctrl+C.
	b.waitFor("the copy to be confirmed", `(() => {
		const s = document.querySelector('[data-copy-status="new-api-key"]').textContent;
		return s === "Copied" || (s.startsWith("Press Ctrl+C") && getSelection().toString().trim() === document.getElementById("new-api-key").textContent.trim());
	})()`)
}
