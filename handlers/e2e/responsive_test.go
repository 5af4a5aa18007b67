package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// screen is a viewport the console must fit.
type screen struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	desktop = screen{"1366", 1366, 900, false}
	phone   = screen{"390", 390, 844, true}
)

// docScreenshots are the pages saved to $RINGHOOK_SCREENSHOT_DIR (docs/ for
// the README); every page's screenshots go to the test's artifact directory.
var docScreenshots = []string{"dashboard-1366.png", "dashboard-390.png", "webhook-form-1366.png", "webhook-form-390.png",
	"delivery-detail-1366.png", "delivery-detail-390.png", "dashboard-dark-390.png"}

// resize emulates s: its width and height, and for a phone mobile viewport
// handling (the page's meta viewport applies).
func (b *browser) resize(s screen) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if s.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	b.do("resize to "+s.name, chromedp.EmulateViewport(s.width, s.height, opts...))
	b.waitFor("the page to lay out at "+s.name+" px", fmt.Sprintf(`matchMedia("(width: %dpx)").matches`, s.width))
}

// colorScheme emulates prefers-color-scheme (""; the system's, light here).
func (b *browser) colorScheme(v string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
	if err != nil {
		b.t.Fatalf("emulate prefers-color-scheme %q: %v", v, err)
	}
}

// scripts turns the page's JavaScript on or off (from the next page load).
func (b *browser) scripts(on bool) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		b.t.Fatalf("turn JavaScript on=%v: %v", on, err)
	}
}

// shoot saves a viewport screenshot as name.png in the test's artifact
// directory (kept with go test -artifacts) and, for the pages of
// docScreenshots, in $RINGHOOK_SCREENSHOT_DIR.
func (b *browser) shoot(page string, s screen) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s at %s: %v", page, s.name, err)
	}
	name := page + "-" + s.name + ".png"
	dirs := []string{b.t.ArtifactDir()}
	if d := os.Getenv("RINGHOOK_SCREENSHOT_DIR"); d != "" && slices.Contains(docScreenshots, name) {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// layoutProblems lists what does not fit a viewport width wide: the
// document scrolling sideways, any element reaching past either edge (unless
// a scrolling or clipping box holds it, like a pre that scrolls), and text
// set to break inside words (word-break: break-all).
const layoutProblems = `((width) => {
	const out = [];
	const de = document.documentElement;
	// The page may use the viewport less a vertical scroll bar.
	const W = Math.min(width, de.clientWidth);
	if (de.scrollWidth > W) out.push("the document is " + de.scrollWidth + " px wide, the viewport " + W);
	if (window.innerWidth > width) out.push("the viewport zoomed out to " + window.innerWidth + " px");
	const held = el => {
		for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
			if (getComputedStyle(a).overflowX !== "visible") return true;
		}
		return false;
	};
	const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
		(el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
		" " + JSON.stringify((el.textContent || "").trim().slice(0, 40));
	for (const el of document.body.querySelectorAll("*")) {
		const s = getComputedStyle(el);
		if (s.wordBreak === "break-all") out.push(describe(el) + " breaks words (word-break: break-all)");
		const r = el.getBoundingClientRect();
		if (r.width === 0 && r.height === 0) continue;
		if (r.right <= W + 0.5 && r.left >= -0.5) continue;
		if (s.position === "absolute" && s.clip !== "auto") continue; // visually hidden text
		if (held(el)) continue;
		out.push(describe(el) + " spans " + Math.round(r.left) + ".." + Math.round(r.right) + " px");
		if (out.length > 12) break;
	}
	return out;
})`

// currentNav is the navigation link marked aria-current, as "href" ("" when none), and
// how many elements carry aria-current.
const currentNav = `(() => {
	const all = document.querySelectorAll("[aria-current]");
	const nav = document.querySelector("header [aria-current=page]");
	return [String(all.length), nav ? nav.getAttribute("href") : ""];
})()`

// fits checks the page at screen s: nothing overflows, the current
// navigation item is marked, and a screenshot is taken.
func (b *browser) fits(page, wantCurrent string, s screen) {
	b.t.Helper()
	b.resize(s)
	if probs := evalJS[[]string](b, fmt.Sprintf("%s(%d)", layoutProblems, s.width)); len(probs) > 0 {
		b.t.Errorf("%s at %s px does not fit:\n  %s", page, s.name, strings.Join(probs, "\n  "))
	}
	cur := evalJS[[]string](b, currentNav)
	want := []string{"1", wantCurrent}
	if wantCurrent == "" {
		want[0] = "0"
	}
	if !slices.Equal(cur, want) {
		b.t.Errorf("%s: aria-current on %d element(s), the header's on %q; want the one link %q", page, atoi(cur[0]), cur[1], wantCurrent)
	}
	b.shoot(page, s)
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

// visible is a JavaScript expression: whether the element sel finds is rendered.
func visible(sel string) string {
	return `(document.querySelector(` + jsString(sel) + `)?.checkVisibility() ?? false)`
}

// TestEveryPageFitsPhoneAndDesktop walks every console page a signed-in
// admin reaches, with realistic data (a webhook with a long URL, deliveries
// with several attempts, numbers, a new API key and its revoke confirmation,
// audit entries, a form with validation errors, a test-event result, a 404),
// at 1366 and 390 px: the document is never wider than the screen and no
// element pokes out of it. At 390 px the navigation is a menu that opens by
// click, by keyboard and without JavaScript; the skip link is the first Tab
// stop; dark mode follows prefers-color-scheme.
func TestEveryPageFitsPhoneAndDesktop(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	who := models.Actor{UserID: tn.User.ID, Label: tn.Email}

	rc := newReceiver(t, reply{Status: http.StatusServiceUnavailable,
		Header: map[string]string{"Content-Type": "application/json"}, Body: `{"error":"upstream CRM is restarting, try again later"}`})
	in := models.NewWebhookInput("Asia/Kolkata")
	in.Name = "Missed calls to the helpdesk escalation queue (EMEA night shift)"
	in.Description = "Opens a ticket in the helpdesk for every missed or abandoned call, with the caller's number and the queue it waited in."
	in.EventTypes = []string{"call.received", "call.missed", "call.hangup", "call.dtmf"}
	in.URL = rc.URL + "/integrations/helpdesk/v2/accounts/acme-international-holdings/webhooks/ringhook/call-events?source=pbx&region=emea&token=7f3a91c0d2e84b6aa1c9f0e2d3b4c5a6"
	in.Headers = []models.Header{{Name: "X-Helpdesk-Tenant", Value: "acme-international-holdings-emea-production"}}
	in.CustomData = []models.KV{{Key: "queue", Value: "escalations-emea-night"}}
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, who, in)
	if err != nil {
		t.Fatal(err)
	}
	// A second webhook whose receiver fails, for the dashboard's recent failures.
	down := newReceiver(t, reply{Status: http.StatusInternalServerError, Body: "Internal Server Error"})
	other := models.NewWebhookInput("UTC")
	other.Name, other.EventTypes, other.URL = "CRM sync", []string{"call.received"}, down.URL+"/crm"
	other.MaxAttempts = 1
	crm, err := app.Store.CreateWebhook(ctx, tn.Account.ID, who, other)
	if err != nil {
		t.Fatal(err)
	}
	num, err := app.Store.AddPhoneNumber(ctx, tn.Account.ID, who, "+14155550123", "San Francisco support line, after-hours overflow to the Dublin office")
	if err != nil {
		t.Fatal(err)
	}

	// One event for both webhooks: CRM sync's delivery fails (500, no retries), the
	// helpdesk's takes three attempts: two 503s, then a 200 on redelivery.
	if _, err := app.Dispatcher.Ingest(ctx, tn.Account.ID, map[string]any{
		"event": "call.received", "event_id": "evt_e2e" + strings.ToLower(models.NewID("")), "occurred_at": "2026-04-09T07:24:53.000Z",
		"call_id": "call_e2e_responsive_0123456789abcdef", "leg_id": "leg_1", "direction": "inbound", "call_type": "inbound",
		"from_number": "+919240202904", "from_name": "A caller with a rather long display name", "to_number": "+918287842425",
		"started_at": "2026-04-09T07:24:22.000Z",
	}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if n, err := app.Dispatcher.ProcessDue(ctx); err != nil || n != 2 {
		t.Fatalf("process due: sent %d (err %v), want 2", n, err)
	}
	var d models.Delivery
	if err := app.DB.Where("account_id = ? AND webhook_id = ?", tn.Account.ID, w.ID).Take(&d).Error; err != nil {
		t.Fatalf("load the delivery: %v", err)
	}
	if _, err := app.Dispatcher.Redeliver(ctx, tn.Account.ID, d.ID, who); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	rc.answer(reply{Status: http.StatusOK, Header: map[string]string{"Content-Type": "application/json"},
		Body: `{"ok":true,"ticket":"HD-2026-000123","url":"https://helpdesk.example.com/tickets/HD-2026-000123?view=full&highlight=caller"}`})
	if _, err := app.Dispatcher.Redeliver(ctx, tn.Account.ID, d.ID, who); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	deliveryPath := "/deliveries/" + publicID(t, app, d.ID)
	// A bulk retry of CRM sync's failed delivery, for the job page.
	job, err := app.Store.StartRetryFailed(ctx, tn.Account.ID, who, models.RetryFailed{WebhookID: crm.ID, Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	// A disabled webhook with two failed deliveries, for its banner and its
	// replay option.
	offIn := models.NewWebhookInput("UTC")
	offIn.Name, offIn.EventTypes, offIn.URL = "Legacy PBX bridge", []string{"call.missed"}, "https://pbx-bridge.example.com/legacy/webhooks/calls"
	off, err := app.Store.CreateWebhook(ctx, tn.Account.ID, who, offIn)
	if err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now().Add(-time.Hour)
	if err := app.DB.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
		SELECT ?, 'evt_e2eoff' || g, 'call.missed', ?, '{}', ? FROM generate_series(1, 2) g`, tn.Account.ID, failedAt, failedAt).Error; err != nil {
		t.Fatal(err)
	}
	if err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, attempt_count, last_status_code,
			request_method, request_url, request_body, created_at, updated_at, completed_at)
		SELECT ?, ?, 'evt_e2eoff' || g, 'call.missed', 'failed', 1, 500, 'POST', ?, '{}', ?, ?, ? FROM generate_series(1, 2) g`,
		tn.Account.ID, off.ID, off.URL, failedAt, failedAt, failedAt).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := app.Store.SetWebhookEnabled(ctx, tn.Account.ID, off.ID, who, false, "Disabled by "+tn.Email+"."); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, app.URL)
	b.allowConsole("422") // the form with validation errors answers 422
	b.allowConsole("404") // the error page
	screens := [2]screen{desktop, phone}
	// check looks at the loaded page at both widths, alternating which
	// comes first, so half the pages are loaded at 390 px, half resized to it.
	check := func(page, wantCurrent string) {
		t.Helper()
		for _, s := range screens {
			b.fits(page, wantCurrent, s)
		}
		screens[0], screens[1] = screens[1], screens[0]
	}

	t.Log("signed out: the sign-in page")
	b.open("/login", http.StatusOK)
	check("login", "")

	signIn(b, tn)
	pages := []struct{ page, path, current string }{
		{"dashboard", "/", "/"},
		{"webhooks", "/webhooks", "/webhooks"},
		{"webhook-edit", "/webhooks/" + w.ID + "/edit", "/webhooks"},
		{"webhook-delete", "/webhooks/" + w.ID + "/delete", "/webhooks"},
		{"webhook-disabled", "/webhooks/" + off.ID, "/webhooks"},
		{"deliveries", "/deliveries", "/deliveries"},
		{"deliveries-of-webhook", "/deliveries?webhook=" + crm.ID, "/deliveries"},
		{"retry-failed", "/webhooks/" + crm.ID + "/retry-failed", "/webhooks"},
		{"job", "/jobs/" + job.ID, "/webhooks"},
		{"delivery-detail", deliveryPath, "/deliveries"},
		{"numbers", "/numbers", "/numbers"},
		{"number-remove", "/numbers/" + num.ID + "/delete", "/numbers"},
		{"catalog", "/events/catalog", "/events/catalog"},
		{"audit", "/audit", "/audit"},
		{"api-docs", "/docs/api", "/docs/api"},
		{"docs-migrating", "/docs/migrating", "/docs/api"},
		{"users", "/users", "/users"},
		{"settings", "/settings", "/settings"},
		{"profile", "/profile", "/profile"}, // last: the sessions check below reads it
	}
	for _, p := range pages {
		t.Logf("%s: %s", p.page, p.path)
		b.open(p.path, http.StatusOK)
		check(p.page, p.current)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#sessions tbody tr").length`); n != 1 {
		t.Errorf("profile lists %d sessions, want 1", n)
	}

	t.Log("the API reference's copy buttons show once its script runs")
	b.open("/docs/api", http.StatusOK)
	if n := evalJS[int](b, `document.querySelectorAll("button[data-copy]:not([hidden])").length`); n < 30 {
		t.Errorf("%d visible copy buttons on /docs/api%s", n, b.where())
	}
	b.screenshot("api-docs.png")

	t.Log("the delivery's attempts are all on the page")
	b.open(deliveryPath, http.StatusOK)
	if n := evalJS[int](b, `document.querySelectorAll(".card.attempt").length`); n != 3 {
		t.Errorf("the delivery shows %d attempts, want 3%s", n, b.where())
	}

	t.Log("a webhook's page with a test-event result")
	b.open("/webhooks/"+w.ID, http.StatusOK)
	b.do("click Send test event", chromedp.Click(button("Send test event")))
	b.waitFor("the test result", textOf("#test-result .test-result .badge")+` === "200 OK"`)
	check("webhook-detail", "/webhooks")

	t.Log("the new-webhook form with validation errors, a bad header name among them")
	b.open("/webhooks/new", http.StatusOK)
	b.do("click Add header", chromedp.Click(button("Add header")))
	b.fill(`input[name=header_name]`, "Bad Header:")
	b.fill(`input[name=header_value]`, "x")
	b.fill("#url", "not a url")
	b.load("click Save webhook", chromedp.Click(button("Save webhook")), http.StatusUnprocessableEntity)
	hdr := evalJS[[]string](b, `(() => {
		const i = document.querySelector("input[name=header_name]");
		const e = document.getElementById(i?.getAttribute("aria-describedby") ?? "");
		return [i?.getAttribute("aria-invalid") ?? "", e?.textContent.trim() ?? ""];
	})()`)
	if hdr[0] != "true" || hdr[1] == "" {
		t.Errorf("the bad header name has aria-invalid=%q and describing error %q; want true and the message%s", hdr[0], hdr[1], b.where())
	}
	checkRadioLegends(b, "the webhook form", []string{"auth_type", "content_type", "method"})
	check("webhook-form", "/webhooks")

	t.Log("API keys with a freshly created key shown")
	b.open("/api-keys", http.StatusOK)
	checkRadioLegends(b, "the API key form", []string{"mode", "scope"})
	b.fill("#name", "Helpdesk integration for the EMEA night shift")
	b.load("click Create key", chromedp.Click(button("Create key")), http.StatusOK)
	b.waitFor("the new key", `(document.querySelector("#new-api-key")?.textContent ?? "").startsWith("sk_live_")`)
	check("api-keys", "/api-keys")
	keyRow := evalJS[string](b, `document.querySelector("#api-keys tbody tr[id^=key-]")?.id ?? ""`)
	if keyRow == "" {
		t.Fatalf("the new key has no row%s", b.where())
	}
	b.open("/api-keys/"+strings.TrimPrefix(keyRow, "key-")+"/revoke", http.StatusOK)
	check("api-key-revoke", "/api-keys")

	t.Log("an error page")
	b.open("/webhooks/wh_doesnotexist", http.StatusNotFound)
	check("not-found", "")

	t.Log("at 390 px the navigation is a closed menu; Tab reaches the skip link, then the menu, which Enter opens")
	b.resize(phone)
	b.open("/", http.StatusOK)
	if !evalJS[bool](b, visible(".menu > summary")) || evalJS[bool](b, visible(`header nav a[href="/webhooks"]`)) {
		t.Fatalf("at 390 px the menu button should show and the links hide until it opens%s", b.where())
	}
	b.do("press Tab", chromedp.KeyEvent(kb.Tab))
	skip := evalJS[[]string](b, `(() => { const a = document.activeElement, r = a.getBoundingClientRect();
		return [a.className, a.textContent.trim(), String(r.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth)]; })()`)
	if !slices.Equal(skip, []string{"skip-link", "Skip to content", "true"}) {
		t.Errorf("the first Tab stop is %q, want the skip link shown on screen", skip)
	}
	b.do("press Enter on the skip link", chromedp.KeyEvent(kb.Enter))
	b.waitFor("focus on the main content", `document.activeElement === document.getElementById("main")`)
	b.open("/", http.StatusOK)
	b.do("press Tab", chromedp.KeyEvent(kb.Tab+kb.Tab+kb.Tab))
	if got := evalJS[string](b, `document.activeElement.tagName + " " + document.activeElement.textContent.trim()`); got != "SUMMARY Menu" {
		t.Fatalf("the third Tab stop is %q, want the Menu button (after the skip link and the brand)", got)
	}
	b.do("press Enter on Menu", chromedp.KeyEvent(kb.Enter))
	b.waitFor("the menu to open", `document.querySelector(".menu").open && `+visible(`header nav a[href="/webhooks"]`))
	b.fits("menu-open", "/", phone)
	b.do("press Tab twice", chromedp.KeyEvent(kb.Tab+kb.Tab))
	if got := evalJS[string](b, `document.activeElement.textContent.trim()`); got != "Webhooks" {
		t.Fatalf("two Tabs into the open menu focus %q, want Webhooks", got)
	}
	b.load("press Enter on Webhooks", chromedp.KeyEvent(kb.Enter), http.StatusOK)
	if p := b.path(); p != "/webhooks" {
		t.Fatalf("Enter on Webhooks went to %s", p)
	}
	if cur := evalJS[[]string](b, currentNav); cur[1] != "/webhooks" {
		t.Errorf("after the menu, aria-current is on %q, want /webhooks", cur[1])
	}

	t.Log("the menu opens and closes by click; the keyboard's Space closes it too")
	b.click(".menu > summary")
	b.waitFor("the menu to open on click", visible(`header nav a[href="/deliveries"]`))
	b.click(".menu > summary")
	b.waitFor("the menu to close on click", `!`+visible(`header nav a[href="/deliveries"]`))
	b.click(".menu > summary")
	b.waitFor("the menu to open on click", visible(`header nav a[href="/deliveries"]`))
	b.do("press Space on Menu", chromedp.Focus(chromedp.CSS(".menu > summary")), chromedp.KeyEvent(" "))
	b.waitFor("the menu to close on Space", `!document.querySelector(".menu").open`)

	t.Log("without JavaScript the menu still opens by click")
	b.scripts(false)
	b.open("/audit", http.StatusOK)
	if evalJS[bool](b, `typeof htmx !== "undefined"`) {
		t.Fatal("htmx ran with JavaScript disabled")
	}
	b.click(".menu > summary")
	b.waitFor("the menu to open without JavaScript", visible(`header nav a[href="/numbers"]`))
	b.load("open My Numbers from the menu", chromedp.Click(chromedp.CSS(`header nav a[href="/numbers"]`)), http.StatusOK)
	b.scripts(true)

	t.Log("at 1366 px the links show without opening anything")
	b.resize(desktop)
	if evalJS[bool](b, visible(".menu > summary")) || !evalJS[bool](b, visible(`header nav a[href="/audit"]`)) {
		t.Errorf("at 1366 px the navigation links should show and the menu button hide%s", b.where())
	}

	t.Log("dark mode follows prefers-color-scheme")
	b.resize(phone)
	b.open("/", http.StatusOK)
	paint := `[getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.querySelector(".topbar")).backgroundColor, getComputedStyle(document.body).color]`
	light := evalJS[[]string](b, paint)
	b.colorScheme("dark")
	t.Cleanup(func() { b.colorScheme("") })
	b.waitFor("the dark media query", `matchMedia("(prefers-color-scheme: dark)").matches`)
	dark := evalJS[[]string](b, paint)
	for i, what := range []string{"page background", "header background", "text colour"} {
		if light[i] == dark[i] {
			t.Errorf("the %s is %s in light and dark mode alike", what, light[i])
		}
	}
	if lum(dark[0]) >= lum(light[0]) || lum(dark[2]) <= lum(dark[0]) {
		t.Errorf("dark mode: background %s (light %s), text %s; want a darker background under lighter text", dark[0], light[0], dark[2])
	}
	for _, s := range []screen{phone, desktop} {
		b.fits("dashboard-dark", "/", s)
	}
}

// checkRadioLegends asserts that every radio group on the page sits in its
// own fieldset with a legend, and that names are the groups found.
func checkRadioLegends(b *browser, where string, names []string) {
	b.t.Helper()
	got := evalJS[[]string](b, `(() => {
		const out = [];
		const names = [...new Set([...document.querySelectorAll("input[type=radio]")].map(r => r.name))].sort();
		for (const n of names) {
			const radios = [...document.querySelectorAll("input[type=radio]")].filter(r => r.name === n);
			const fs = radios[0].closest("fieldset");
			const legend = fs?.querySelector(":scope > legend")?.textContent.trim() ?? "";
			const own = fs && [...fs.querySelectorAll("input[type=radio]")].every(r => r.name === n) && radios.every(r => fs.contains(r));
			out.push(n + (legend && own ? "" : " (no legend of its own)"));
		}
		return out;
	})()`)
	if !slices.Equal(got, names) {
		b.t.Errorf("%s: radio groups %q, want %q each with its own legend", where, got, names)
	}
}

// lum is the rough brightness (0-765) of a computed "rgb(r, g, b)" colour.
func lum(rgb string) int {
	var r, g, bl int
	if _, err := fmt.Sscanf(rgb, "rgb(%d, %d, %d)", &r, &g, &bl); err != nil {
		return -1
	}
	return r + g + bl
}
