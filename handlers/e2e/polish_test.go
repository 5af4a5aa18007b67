package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestRevealThenHide: Reveal swaps in the full signing secret and a Hide
// button, in place; Hide masks it again; the reveal is in the audit log.
func TestRevealThenHide(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	in := models.NewWebhookInput("UTC")
	in.Name, in.EventTypes, in.URL = "Helpdesk", []string{"call.missed"}, "https://helpdesk.example.com/hooks"
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app.URL)
	signIn(b, tn)
	b.open("/webhooks/"+w.ID, http.StatusOK)
	if got := evalJS[string](b, textOf("#secret code")); strings.Contains(got, w.SigningSecret) || !strings.Contains(got, "•") {
		t.Fatalf("the secret is not masked at first: %q", got)
	}
	markPage(b)
	b.click(`#secret button[data-secret-toggle=reveal]`)
	// htmx wires a swapped-in form up after the swap settles; a click before
	// that is a plain form post (the no-JavaScript path), a new page.
	wired := ` && !!document.querySelector("#secret form")?.["htmx-internal-data"] && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")`
	b.waitFor("the secret in full and a Hide button", textOf("#secret code")+` === `+jsString(w.SigningSecret)+
		` && `+textOf("#secret button[data-secret-toggle]")+` === "Hide"`+wired)
	b.click(`#secret button[data-secret-toggle=hide]`)
	b.waitFor("the secret masked and a Reveal button", textOf("#secret code")+`.includes("•") && `+textOf("#secret button[data-secret-toggle]")+` === "Reveal"`)
	if !samePage(b) {
		t.Fatalf("Reveal or Hide loaded a new page instead of swapping the box%s", b.where())
	}
	var n int64
	app.DB.Model(&models.AuditEntry{}).Where("account_id = ? AND action = ? AND object_id = ?", tn.Account.ID, "webhook.secret_revealed", w.ID).Count(&n)
	if n != 1 {
		t.Fatalf("%d reveal audit rows, want 1", n)
	}
}

// TestReEnableAndReplayInBrowser: a disabled webhook's banner offers one
// Re-enable with "Replay 2 failed deliveries" ticked; the click re-enables
// it and the bulk-retry job's page shows the replay finishing.
func TestReEnableAndReplayInBrowser(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	who := models.Actor{Label: tn.Email}
	in := models.NewWebhookInput("UTC")
	in.Name, in.EventTypes, in.URL = "CRM", []string{"call.missed"}, "https://crm.example.com/hooks"
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, who, in)
	if err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now().Add(-time.Hour)
	if err := app.DB.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
		SELECT ?, 'evt_reenable' || g, 'call.missed', ?, '{}', ? FROM generate_series(1, 2) g`, tn.Account.ID, failedAt, failedAt).Error; err != nil {
		t.Fatal(err)
	}
	if err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, attempt_count, last_status_code,
			request_method, request_url, request_body, created_at, updated_at, completed_at)
		SELECT ?, ?, 'evt_reenable' || g, 'call.missed', 'failed', 1, 500, 'POST', ?, '{}', ?, ?, ? FROM generate_series(1, 2) g`,
		tn.Account.ID, w.ID, w.URL, failedAt, failedAt, failedAt).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := app.Store.SetWebhookEnabled(ctx, tn.Account.ID, w.ID, who, false, "Disabled by "+tn.Email+"."); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, app.URL)
	signIn(b, tn)
	b.open("/webhooks/"+w.ID, http.StatusOK)
	b.waitFor("the banner's replay option", `(() => { const l = document.querySelector("#disabled-banner label.check");
		return l && l.textContent.trim() === "Replay 2 failed deliveries" && l.querySelector("input").checked; })()`)
	if n := evalJS[int](b, `document.querySelectorAll("#disabled-banner button").length`); n != 1 {
		t.Fatalf("the banner has %d buttons, want one Re-enable%s", n, b.where())
	}
	b.load("re-enable", chromedp.Click(`#disabled-banner button[type=submit]`), http.StatusOK)
	if p := b.path(); !strings.HasPrefix(p, "/jobs/job_") {
		t.Fatalf("Re-enable went to %s, want the job's page%s", p, b.where())
	}
	b.waitFor("the replay finishing", `document.body.innerText.includes("Done: 2 failed deliveries were queued again")`)
	got, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
	if err != nil || !got.Enabled {
		t.Fatalf("not re-enabled: %v", err)
	}
	var pending int64
	app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ? AND manual_retry", w.ID, models.StatusPending).Count(&pending)
	if pending != 2 {
		t.Fatalf("%d deliveries queued again, want 2", pending)
	}
}

// TestSecretHeadersStayMaskedInTheEditForm: in the browser, the edit form
// of a webhook with secret headers (one marked secret, one named like a
// secret) holds neither value anywhere in the page; saving without typing
// keeps both, and typing a new value replaces only that one.
func TestSecretHeadersStayMaskedInTheEditForm(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	const apiKey, tenant = "apikey-value-4471", "tenant-secret-8820"
	in := models.NewWebhookInput("UTC")
	in.Name, in.EventTypes, in.URL = "CRM", []string{"call.missed"}, "https://crm.example.com/hooks"
	in.Headers = []models.Header{{Name: "X-Api-Key", Value: apiKey}, {Name: "X-Tenant", Value: tenant, Secret: true}, {Name: "X-Env", Value: "prod"}}
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() []models.Header {
		t.Helper()
		got, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Headers.V
	}
	b := newBrowser(t, app.URL)
	signIn(b, tn)
	openEdit := func() {
		b.open("/webhooks/"+w.ID+"/edit", http.StatusOK)
		page := evalJS[string](b, `document.documentElement.outerHTML`)
		for _, s := range []string{apiKey, tenant} {
			if strings.Contains(page, s) {
				t.Fatalf("the edit form holds the secret %q", s)
			}
		}
		for i, want := range []string{"password", "password", "text"} {
			typ := evalJS[string](b, `document.querySelector("#header-value-`+strconv.Itoa(i)+`").type`)
			if typ != want {
				t.Errorf("header %d's value field is %s, want %s", i, typ, want)
			}
		}
		if v := evalJS[string](b, `document.querySelector("#header-value-2").value`); v != "prod" {
			t.Errorf("the plain header shows %q, want prod", v)
		}
	}

	openEdit()
	b.load("save without typing", chromedp.Click(button("Save webhook")), http.StatusOK)
	if h := stored(); len(h) != 3 || h[0].Value != apiKey || h[1].Value != tenant {
		t.Fatalf("saving without typing changed the secrets: %+v", h)
	}

	openEdit()
	b.fill("#header-value-1", "tenant-new-1234")
	b.load("save a new value", chromedp.Click(button("Save webhook")), http.StatusOK)
	if h := stored(); len(h) != 3 || h[0].Value != apiKey || h[1].Value != "tenant-new-1234" {
		t.Fatalf("typing one value: %+v", h)
	}
	openEdit()
}
