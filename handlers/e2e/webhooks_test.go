package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// signIn signs in through the login page and lands on the dashboard.
func signIn(b *browser, tn handlertest.Tenant) {
	b.t.Helper()
	b.open("/login", http.StatusOK)
	b.fill("#email", tn.Email)
	b.fill("#password", tn.Password)
	b.load("sign in", chromedp.Click(button("Sign in")), http.StatusOK)
	if p := b.path(); p != "/" {
		b.t.Fatalf("signed in to %s, want the dashboard /%s", p, b.where())
	}
	b.waitFor("the signed-in user in the header", `document.querySelector("header .email")?.textContent.trim() === `+jsString(tn.Email))
}

// hookID is the id in a /webhooks/<id> path.
var hookID = regexp.MustCompile(`^/webhooks/(wh_[A-Za-z0-9]+)$`)

// previewText is the request the live preview pane shows now.
const previewText = `(document.querySelector("#preview pre.http")?.textContent ?? "")`

func TestNewUserCreatesWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	b := newBrowser(t, app.URL)

	const (
		name    = "CRM sync"
		desc    = "Tells the CRM about calls"
		hookURL = "https://crm.example.com/hooks/calls?token=abc"
	)

	t.Log("sign in, open Webhooks, click Add webhook")
	signIn(b, tn)
	b.load("open Webhooks from the navigation", chromedp.Click(navLink("Webhooks")), http.StatusOK)
	if p := b.path(); p != "/webhooks" {
		t.Fatalf("navigation went to %s", p)
	}
	b.waitFor("the empty list", `document.querySelector(".empty h2")?.textContent.includes("No webhooks yet")`)
	b.load("click Add webhook", chromedp.Click(link("Add webhook")), http.StatusOK)
	if p := b.path(); p != "/webhooks/new" {
		t.Fatalf("Add webhook went to %s", p)
	}
	b.waitFor("the empty preview to load", `document.querySelector("#preview")?.textContent.includes("Enter a URL to see the request.")`)

	t.Log("fill the general fields, triggers and URL")
	b.fill("#name", name)
	b.fill("#description", desc)
	for _, ev := range []string{"call.hangup", "call.missed", "call.dtmf"} {
		b.click(chromedp.CSS(fmt.Sprintf(`input[name=event_types][value=%q]`, ev)))
	}
	b.fill("#url", hookURL)
	b.waitFor("the preview to show the POST request line", previewText+`.startsWith(`+jsString("POST "+hookURL+"\n")+`)`)

	t.Log("switch method and content type, and watch the preview follow")
	b.click(`input[name=method][value=GET]`)
	b.waitFor("the preview to show a GET request line", previewText+`.startsWith(`+jsString("GET "+hookURL+"&")+`)`)
	b.click(`input[name=method][value=POST]`)
	b.click(`input[name=content_type][value="application/x-www-form-urlencoded"]`)
	b.waitFor("the preview to show a form body", previewText+`.includes("Content-Type: application/x-www-form-urlencoded")`)
	b.click(`input[name=content_type][value="application/json"]`)
	b.waitFor("the preview to show JSON again", previewText+`.startsWith(`+jsString("POST "+hookURL+"\n")+`) && `+previewText+`.includes("Content-Type: application/json")`)

	t.Log("choose call types, a number and the time zone")
	b.click(`input[name=call_types][value=inbound]`)
	b.click(`input[name=call_types][value=click_to_call]`)
	b.click(`input[name=did_numbers][value="+918287842425"]`)
	b.fill("#time_zone", "Asia/Kolkata")

	t.Log("add a header row")
	if n := evalJS[int](b, `document.querySelectorAll("input[name=header_name]").length`); n != 0 {
		t.Fatalf("a new form has %d header rows, want 0", n)
	}
	// static/js/forms.js adds the row in place: no request.
	b.do("click Add header", chromedp.Click(button("Add header")))
	b.waitFor("one header row, focused", `document.querySelectorAll("input[name=header_name]").length === 1 && document.activeElement.id === "header-name-0"`)
	kept := evalJS[map[string]any](b, `({
		name: document.querySelector("#name").value,
		description: document.querySelector("#description").value,
		url: document.querySelector("#url").value,
		tz: document.querySelector("#time_zone").value,
		triggers: [...document.querySelectorAll("input[name=event_types]:checked")].map(e => e.value).sort().join(","),
		calls: [...document.querySelectorAll("input[name=call_types]:checked")].map(e => e.value).join(","),
		dids: [...document.querySelectorAll("input[name=did_numbers]:checked")].map(e => e.value).join(","),
	})`)
	want := map[string]any{"name": name, "description": desc, "url": hookURL, "tz": "Asia/Kolkata",
		"triggers": "call.dtmf,call.hangup,call.missed", "calls": "inbound,click_to_call", "dids": "+918287842425"}
	for k, v := range want {
		if kept[k] != v {
			t.Errorf("after Add header, %s is %q, want %q", k, kept[k], v)
		}
	}
	b.fill(`input[name=header_name]`, "X-Tenant")
	b.fill(`input[name=header_value]`, "acme")

	t.Log("add a second header row, then remove it again")
	b.do("click Add header again", chromedp.Click(button("Add header")))
	b.waitFor("two header rows, the new one focused", `document.querySelectorAll("input[name=header_name]").length === 2 && document.activeElement.getAttribute("aria-label") === "Header 2 name"`)
	b.fill(`input[aria-label="Header 2 name"]`, "X-Remove-Me")
	b.do("click Remove on header 2", chromedp.Click(chromedp.CSS(`button[aria-label="Remove header 2"]`)))
	b.waitFor("one header row, focus on the row before", `document.querySelectorAll("input[name=header_name]").length === 1 && document.activeElement.id === "header-name-0"`)
	if got := evalJS[string](b, `[...document.querySelectorAll("input[name=header_name]")].map(e => e.value + "=" + e.closest(".kv-row").querySelector("input[name=header_value]").value).join(",")`); got != "X-Tenant=acme" {
		t.Fatalf("after Remove, the header rows are %q, want X-Tenant=acme", got)
	}

	t.Log("choose Basic auth, add a custom data row, set filters and delivery")
	b.click(`input[name=auth_type][value=basic]`)
	b.fill("#auth_username", "ringhook")
	b.load("click Add custom data", chromedp.Click(button("Add custom data")), http.StatusOK)
	b.waitFor("one custom data row", `document.querySelectorAll("input[name=cd_key]").length === 1`)
	b.fill(`input[name=cd_key]`, "crm_id")
	b.fill(`input[name=cd_value]`, "A 1&2")
	b.fill("#auth_secret", "s3cret-pass")
	b.fill("#filter-0", "inbound")
	b.do("choose 'is not one of' for Disposition", chromedp.SetValue(chromedp.CSS(`select[aria-label="Disposition operator"]`), "not_in"))
	b.fill("#filter-2", "spam, wrong number")
	b.fill("#max_attempts", "5")
	b.fill("#timeout", "8")
	if !evalJS[bool](b, `document.querySelector("input[name=enabled]").checked`) {
		t.Error("a new webhook should start enabled")
	}

	t.Log("leave the last field; the preview refreshes with the exact request")
	// Mark the preview shown now; the change event of leaving the field
	// must replace it.
	b.do("mark the preview", chromedp.Evaluate[chromedp.Void](`document.querySelector("#preview .preview")?.setAttribute("data-stale", "")`))
	b.do("leave the field", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.waitFor("a new preview with auth, header and custom data", `!!document.querySelector("#preview .preview:not([data-stale])") && `+
		previewText+`.startsWith(`+jsString("POST "+hookURL+"\n")+`) && `+previewText+`.includes("X-Tenant: acme") && `+
		previewText+`.includes("Authorization: [redacted]") && `+previewText+`.includes(`+jsString(`"crm_id": "A 1&2"`)+`)`)
	if pv := evalJS[string](b, previewText); strings.Contains(pv, "s3cret-pass") {
		t.Errorf("the preview shows the password:\n%s", pv)
	}
	b.screenshot("webhook-form.png")

	t.Log("save")
	b.load("click Save webhook", chromedp.Click(button("Save webhook")), http.StatusOK)
	m := hookID.FindStringSubmatch(b.path())
	if m == nil {
		t.Fatalf("after saving, the page is %s, want /webhooks/<id>%s", b.path(), b.where())
	}
	id := m[1]
	detail := evalJS[map[string]any](b, `({
		h1: document.querySelector("h1")?.textContent.trim(),
		flash: document.querySelector(".flash-success")?.textContent.trim() ?? "",
		chips: [...document.querySelectorAll(".props .chip")].map(e => e.textContent.trim()).sort().join(","),
	})`)
	if detail["h1"] != name {
		t.Errorf("detail heading %q, want %q", detail["h1"], name)
	}
	if want := `Webhook "` + name + `" created.`; detail["flash"] != want {
		t.Errorf("flash %q, want %q", detail["flash"], want)
	}
	if want := "Call hangup,Call missed,DTMF option"; detail["chips"] != want {
		t.Errorf("detail triggers %q, want %q", detail["chips"], want)
	}

	t.Log("back to the list")
	b.load("open Webhooks from the navigation", chromedp.Click(navLink("Webhooks")), http.StatusOK)
	row := evalJS[map[string]any](b, `(() => {
		const r = document.querySelector("#row-`+id+`");
		if (!r) return {};
		return {
			name: r.querySelector("a.strong")?.textContent.trim(),
			chips: [...r.querySelectorAll(".chip")].map(e => e.textContent.trim()).sort().join(","),
			url: r.querySelector("td.url")?.textContent.replace(/\s+/g, " ").trim(),
			status: r.querySelector(".toggle .badge")?.textContent.trim(),
		};
	})()`)
	wantRow := map[string]any{"name": name, "chips": "Call hangup,Call missed,DTMF option",
		"url": "POST https://crm.example.com/hooks/calls?token=redacted", "status": "Enabled"}
	for k, v := range wantRow {
		if row[k] != v {
			t.Errorf("list row %s is %q, want %q", k, row[k], v)
		}
	}
	b.screenshot("webhooks-list.png")

	hooks, err := app.Store.Webhooks(context.Background(), tn.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks stored, want 1", len(hooks))
	}
	w := hooks[0]
	sorted := func(s []string) string { s = slices.Clone(s); slices.Sort(s); return strings.Join(s, ",") }
	var headers []string
	for _, h := range w.Headers.V {
		headers = append(headers, h.Name+": "+h.Value)
	}
	var filters []string
	for _, f := range w.Filters.V {
		filters = append(filters, f.Field+" "+f.Op+" "+strings.Join(f.Values, "|"))
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"id", w.ID, id},
		{"name", w.Name, name},
		{"description", w.Description, desc},
		{"event_types", sorted(w.EventTypes), "call.dtmf,call.hangup,call.missed"},
		{"url", w.URL, hookURL},
		{"method", w.Method, "POST"},
		{"content_type", w.ContentType, "application/json"},
		{"call_types", strings.Join(w.CallTypes, ","), "inbound,click_to_call"},
		{"did_numbers", strings.Join(w.DIDNumbers, ","), "+918287842425"},
		{"time_zone", w.TimeZone, "Asia/Kolkata"},
		{"headers", strings.Join(headers, "; "), "X-Tenant: acme"},
		{"auth_type", w.AuthType, "basic"},
		{"auth_username", w.AuthUsername, "ringhook"},
		{"auth_secret", w.AuthSecret, "s3cret-pass"},
		{"custom_data", fmt.Sprint(w.CustomData.V), "map[crm_id:A 1&2]"},
		{"filters", strings.Join(filters, "; "), "direction in inbound; disposition not_in spam|wrong number"},
		{"max_attempts", w.MaxAttempts, 5},
		{"timeout_ms", w.TimeoutMS, 8000},
		{"enabled", w.Enabled, true},
		{"created_by", w.CreatedBy, tn.Email},
	}
	for _, ck := range checks {
		t.Run("stored "+ck.field, func(t *testing.T) {
			if ck.got != ck.want {
				t.Errorf("got %v, want %v", ck.got, ck.want)
			}
		})
	}
}

func TestValidationKeepsValues(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	b := newBrowser(t, app.URL)
	// Chromium logs the 422 of the form page as a failed resource.
	b.allowConsole("status of 422")

	signIn(b, tn)
	b.open("/webhooks/new", http.StatusOK)
	b.fill("#name", "Broken hook")
	b.fill("#url", "ftp://x")
	b.fill("#time_zone", "Mars/Olympus")
	b.do("click Add header", chromedp.Click(button("Add header")))
	b.fill(`input[name=header_name]`, "Host")
	b.fill(`input[name=header_value]`, "evil.example.com")
	b.load("click Add custom data", chromedp.Click(button("Add custom data")), http.StatusOK)
	b.fill(`input[name=cd_key]`, "bad key!")
	b.fill(`input[name=cd_value]`, "v")
	b.load("click Save webhook", chromedp.Click(button("Save webhook")), http.StatusUnprocessableEntity)

	summary := evalJS[string](b, `document.querySelector(".error-summary")?.textContent.trim() ?? ""`)
	if !strings.Contains(summary, "Nothing was saved") {
		t.Errorf("error summary %q", summary)
	}

	// fieldState reads, for the input sel, its value (or the checked
	// values of a checkbox group) and the error shown in the same .field
	// container or fieldset.
	type fieldState struct {
		Found bool   `json:"found"`
		Value string `json:"value"`
		Error string `json:"error"`
	}
	cases := []struct {
		field     string
		sel       string
		wantValue string
		wantError string
	}{
		{"url", "#url", "ftp://x", "URL must start with https:// or http://."},
		{"triggers", "input[name=event_types]", "", "Choose at least one trigger."},
		{"header name", "input[name=header_name]", "Host", "Host is set by Ringhook and cannot be overridden."},
		{"custom data key", "input[name=cd_key]", "bad key!", "Keys are 1-64 letters, digits or underscores."},
		{"time zone", "#time_zone", "Mars/Olympus", `Unknown time zone "Mars/Olympus"; use an IANA name such as Asia/Kolkata.`},
		{"name (valid)", "#name", "Broken hook", ""},
		{"header value (valid)", "input[name=header_value]", "evil.example.com", ""},
		{"custom data value (valid)", "input[name=cd_value]", "v", ""},
	}
	states := map[string]fieldState{}
	for _, tc := range cases {
		states[tc.field] = evalJS[fieldState](b, `(() => {
			const all = [...document.querySelectorAll(`+jsString(tc.sel)+`)];
			if (all.length === 0) return {found: false};
			const el = all[0];
			const value = el.type === "checkbox" ? all.filter(e => e.checked).map(e => e.value).join(",") : el.value;
			const box = el.closest(".field, fieldset");
			const err = box?.querySelector(".field-error");
			return {found: true, value, error: err ? err.textContent.trim() : ""};
		})()`)
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			st := states[tc.field]
			if !st.Found {
				t.Fatalf("no input %s on the page", tc.sel)
			}
			if st.Value != tc.wantValue {
				t.Errorf("value %q, want the typed %q", st.Value, tc.wantValue)
			}
			if st.Error != tc.wantError {
				t.Errorf("message next to the field %q, want %q", st.Error, tc.wantError)
			}
		})
	}

	if hooks, err := app.Store.Webhooks(context.Background(), tn.Account.ID); err != nil || len(hooks) != 0 {
		t.Fatalf("an invalid form stored %d webhooks (err %v)", len(hooks), err)
	}
}

func TestEditToggleDelete(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	in := models.NewWebhookInput("Asia/Kolkata")
	in.Name = "Missed calls to CRM"
	in.EventTypes = []string{"call.missed"}
	in.URL = "https://crm.example.com/hooks/missed"
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() *models.Webhook {
		t.Helper()
		got, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if err != nil {
			t.Fatalf("load webhook: %v", err)
		}
		return got
	}
	b := newBrowser(t, app.URL)
	signIn(b, tn)

	t.Log("open the webhook from the list and edit its name")
	b.open("/webhooks", http.StatusOK)
	b.load("open the webhook", chromedp.Click(link(in.Name)), http.StatusOK)
	if p := b.path(); p != "/webhooks/"+w.ID {
		t.Fatalf("the list links to %s", p)
	}
	b.load("click Edit", chromedp.Click(link("Edit")), http.StatusOK)
	if p := b.path(); p != "/webhooks/"+w.ID+"/edit" {
		t.Fatalf("Edit went to %s", p)
	}
	if v := evalJS[string](b, `document.querySelector("#name").value`); v != in.Name {
		t.Fatalf("edit form name %q, want %q", v, in.Name)
	}
	const newName = "Missed calls to CRM (v2)"
	b.fill("#name", newName)
	b.load("click Save webhook", chromedp.Click(button("Save webhook")), http.StatusOK)
	if p := b.path(); p != "/webhooks/"+w.ID {
		t.Fatalf("saving went to %s%s", p, b.where())
	}
	if h1 := evalJS[string](b, `document.querySelector("h1").textContent.trim()`); h1 != newName {
		t.Errorf("detail heading %q, want %q", h1, newName)
	}
	if f := evalJS[string](b, `document.querySelector(".flash-success")?.textContent.trim() ?? ""`); f != `Webhook "`+newName+`" saved.` {
		t.Errorf("flash %q", f)
	}
	if got := stored(); got.Name != newName || got.URL != in.URL || strings.Join(got.EventTypes, ",") != "call.missed" {
		t.Errorf("after edit: name %q url %q triggers %v", got.Name, got.URL, got.EventTypes)
	}

	t.Log("disable and enable on the list, in place")
	b.load("open Webhooks from the navigation", chromedp.Click(navLink("Webhooks")), http.StatusOK)
	toggle := "#toggle-" + w.ID
	badge := `document.querySelector("` + toggle + ` .badge")?.textContent.trim()`
	btn := `document.querySelector("` + toggle + ` button")?.textContent.trim()`
	if got := evalJS[string](b, badge); got != "Enabled" {
		t.Fatalf("badge %q before the toggle", got)
	}
	// A full page load would drop this marker.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__e2eSamePage = "still here"`))
	steps := []struct {
		click, badge, next string
		enabled            bool
	}{
		{"Disable", "Disabled", "Enable", false},
		{"Enable", "Enabled", "Disable", true},
	}
	// htmx wires a swapped-in form up after the swap settles; a click before
	// that is a plain form post. A person cannot click that fast; a test can.
	wired := `!!document.querySelector("` + toggle + ` form")?.["htmx-internal-data"] && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")`
	b.waitFor("htmx to wire up the toggle", wired)
	for _, s := range steps {
		b.click(chromedp.CSS(toggle + " button"))
		b.waitFor("the badge to read "+s.badge, badge+` === "`+s.badge+`" && `+btn+` === "`+s.next+`" && `+wired)
		if m := evalJS[string](b, `window.__e2eSamePage ?? "reloaded"`); m != "still here" {
			t.Errorf("clicking %s loaded a new page", s.click)
		}
		if got := stored(); got.Enabled != s.enabled {
			t.Errorf("after %s: stored enabled=%v", s.click, got.Enabled)
		}
		if !s.enabled {
			reason := evalJS[string](b, `document.querySelector("`+toggle+` p.muted")?.textContent.trim() ?? ""`)
			if want := "Disabled by " + tn.Email + ". ("; !strings.HasPrefix(reason, want) || !strings.HasSuffix(reason, " IST)") {
				t.Errorf("disabled reason %q, want %q and the time in the account's zone", reason, want)
			}
		}
	}

	t.Log("delete from the detail page, confirming the dialog")
	b.load("open the webhook", chromedp.Click(link(newName)), http.StatusOK)
	dialogs := b.acceptDialogs()
	b.load("click Delete and accept", chromedp.Click(link("Delete")), http.StatusOK)
	if got := dialogs(); len(got) != 1 || !strings.HasPrefix(got[0], "Delete "+newName+"?") || !strings.Contains(got[0], `stay readable, marked "deleted webhook", for 30 days`) {
		t.Errorf("confirm dialogs %q", got)
	}
	if p := b.path(); p != "/webhooks" {
		t.Fatalf("after delete the page is %s%s", p, b.where())
	}
	if f := evalJS[string](b, `document.querySelector(".flash-success")?.textContent.trim() ?? ""`); f != `Webhook "`+newName+`" deleted.` {
		t.Errorf("flash %q", f)
	}
	if evalJS[bool](b, `!!document.querySelector("#row-`+w.ID+`")`) {
		t.Error("the deleted webhook is still listed")
	}
	if !evalJS[bool](b, `!!document.querySelector(".empty")`) {
		t.Error("the list should show its empty state")
	}
	if hooks, err := app.Store.Webhooks(ctx, tn.Account.ID); err != nil || len(hooks) != 0 {
		t.Fatalf("after delete %d webhooks stored (err %v)", len(hooks), err)
	}
}
