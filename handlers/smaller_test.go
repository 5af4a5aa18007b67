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

// TestRemovingANumberAsksFirst: the list's Remove is a link to a
// confirmation page (no JavaScript needed) naming the number; only its
// form removes it; another account's number is a 404; the audit log names
// the number removed, not its id.
func TestRemovingANumberAsksFirst(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()
	tn, other := app.NewTenant(t, models.RoleAdmin), app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	n, err := app.Store.AddPhoneNumber(ctx, tn.Account.ID, models.Actor{Label: tn.Email}, "+14155550123", "Front desk")
	if err != nil {
		t.Fatal(err)
	}
	list := c.Get(t, "/numbers")
	confirm := "/numbers/" + n.ID + "/delete"
	if !strings.Contains(list.Body, `href="`+confirm+`"`) {
		t.Fatalf("the list does not link Remove to the confirmation page: %.2000s", list.Body)
	}
	page := c.Get(t, confirm)
	if page.Status != http.StatusOK || !strings.Contains(pageText(page.Body), "Remove +14155550123?") || !strings.Contains(page.Body, `action="`+confirm+`"`) {
		t.Fatalf("confirmation page: %s", handlertest.Describe(page))
	}
	if nums, _ := app.Store.PhoneNumbers(ctx, tn.Account.ID); len(nums) != 3 {
		t.Fatalf("showing the confirmation removed something: %d numbers", len(nums))
	}
	if res := app.SignIn(t, other).Get(t, confirm); res.Status != http.StatusNotFound || strings.Contains(res.Body, "+14155550123") {
		t.Errorf("another account sees the confirmation: %s", handlertest.Describe(res))
	}
	if res := c.Post(t, confirm, nil); res.Status != http.StatusSeeOther {
		t.Fatalf("remove: %s", handlertest.Describe(res))
	}
	if nums, _ := app.Store.PhoneNumbers(ctx, tn.Account.ID); len(nums) != 2 {
		t.Fatalf("%d numbers after removing, want 2", len(nums))
	}
	rows, _ := auditRows(c.Get(t, "/audit").Body)
	var added, removed bool
	for _, r := range rows {
		if strings.Contains(r, n.ID) {
			t.Errorf("an audit row shows the number's id: %q", r)
		}
		added = added || strings.Contains(r, "Added number") && strings.Contains(r, "+14155550123")
		removed = removed || strings.Contains(r, "Removed number") && strings.Contains(r, "+14155550123")
	}
	if !added || !removed {
		t.Errorf("the audit log does not name the number added (%v) and removed (%v): %v", added, removed, rows)
	}
}

// TestSignOutConfirms: signing out lands on the sign-in page saying so.
func TestSignOutConfirms(t *testing.T) {
	app := handlertest.New(t)
	c := app.SignIn(t, app.NewTenant(t, models.RoleAdmin))
	c.Get(t, "/")
	res := c.Post(t, "/logout", nil)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	page := c.Get(t, res.Location)
	if page.Status != http.StatusOK || !strings.Contains(pageText(page.Body), "You are signed out.") {
		t.Fatalf("after sign-out: %s", handlertest.Describe(page))
	}
	if res := c.Get(t, "/"); res.Status != http.StatusSeeOther {
		t.Errorf("still signed in: %d", res.Status)
	}
	if plain := app.NewClient(t).Get(t, "/login"); strings.Contains(plain.Body, "You are signed out.") {
		t.Error("the sign-in page says signed out without a sign-out")
	}
}

// TestWebhookDeliverySettingsRead: the webhook page reads "Timeout 5 s ·
// up to 4 attempts".
func TestWebhookDeliverySettingsRead(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.MaxAttempts, in.TimeoutSeconds = "Timing", "https://r.example.com/h", []string{"call.missed"}, 4, 5
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	text := pageText(app.SignIn(t, tn).Get(t, "/webhooks/"+w.ID).Body)
	if !strings.Contains(text, "Timeout 5 s · up to 4 attempts") || strings.Contains(text, "per request") {
		t.Errorf("the delivery settings read: %.1500s", text)
	}
}

// TestWebhookFormWarnsAboutBlockedURLs: with production's SSRF rule the
// form's URL check (htmx, on change) warns about private, loopback and
// metadata addresses and stays quiet for public ones; the form shows the
// warning when it opens on such a URL; with private targets allowed (dev)
// only metadata addresses warn.
func TestWebhookFormWarnsAboutBlockedURLs(t *testing.T) {
	prod := handlertest.NewWith(t, handlertest.Options{ProductionTargets: true})
	tn := prod.NewTenant(t, models.RoleAdmin)
	c := prod.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	for rawURL, want := range map[string]string{
		"http://10.0.0.5/hooks":                    "10.0.0.5 is a private address",
		"http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address",
		"http://localhost:8080/in":                 "a loopback address",
		"https://[::1]/x":                          "::1 is a loopback address",
		"https://8.8.8.8/hooks":                    "",
		"not a url":                                "",
	} {
		res := c.Post(t, "/webhooks/check-url", url.Values{"url": {rawURL}})
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %s", rawURL, handlertest.Describe(res))
		}
		text := pageText(res.Body)
		if want == "" && text != "" || want != "" && (!strings.Contains(text, want) || !strings.Contains(text, "will be refused")) {
			t.Errorf("%s: warning %q, want one with %q", rawURL, text, want)
		}
	}
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "Private", "http://192.168.1.20/hook", []string{"call.missed"}
	w, err := prod.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	if res := c.Get(t, "/webhooks/"+w.ID+"/edit"); !strings.Contains(res.Body, `id="url-refused"`) || !strings.Contains(res.Body, "192.168.1.20 is a private address") {
		t.Errorf("the edit form does not warn about its private URL")
	}
	if res := c.Get(t, "/webhooks/new"); !strings.Contains(res.Body, `hx-post="/webhooks/check-url"`) {
		t.Error("the URL field does not ask as it changes")
	}

	dev := handlertest.New(t)
	dc := dev.SignIn(t, dev.NewTenant(t, models.RoleAdmin))
	dc.Get(t, "/webhooks/new")
	if res := dc.Post(t, "/webhooks/check-url", url.Values{"url": {"http://10.0.0.5/"}}); pageText(res.Body) != "" {
		t.Errorf("dev mode warns about a private address: %q", pageText(res.Body))
	}
	if res := dc.Post(t, "/webhooks/check-url", url.Values{"url": {"http://169.254.169.254/"}}); !strings.Contains(pageText(res.Body), "cloud metadata") {
		t.Errorf("dev mode does not warn about the metadata address: %q", pageText(res.Body))
	}
}
