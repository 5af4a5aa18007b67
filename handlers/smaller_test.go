package handlers_test

import (
	"context"
	"net/http"
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
