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

// TestSameDIDInMyNumbersAndEvents proves the one phone normaliser: a DID
// typed into My Numbers in national form and the same DID sent by the PBX
// in another form end up equal, so a webhook filtered on it fires.
func TestSameDIDInMyNumbersAndEvents(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin) // default country IN
	ctx := context.Background()
	c := app.SignIn(t, tn)
	key := mustAPIKey(t, app, tn, "pbx", true)

	res := c.Post(t, "/numbers", url.Values{"number": {"082878 42499"}, "label": {"Support"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("add number: %s", handlertest.Describe(res))
	}
	nums, err := app.Store.PhoneNumbers(ctx, tn.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	for _, n := range nums {
		if n.Label == "Support" {
			stored = n.Number
		}
	}
	if stored != "+918287842499" {
		t.Fatalf("My Numbers stored %q, want +918287842499", stored)
	}
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.DIDNumbers = "support line", "https://crm.example.com/h", []string{"call.hangup"}, []string{stored}
	if _, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "t"}, in); err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{"918287842499", "8287842499", "+91 82878 42499", "08287842499"} {
		body := strings.NewReplacer("%s", "01JRB3Q7Z8K2M4N6P8R0S2T4V"+string(rune('A'+i)), `"to_number":"+918287842425"`, `"to_number":"`+to+`"`).Replace(hangupEvent)
		res := apiPost(t, app.NewClient(t), "/api/v1/events", key, "application/json", body)
		if res.Status != http.StatusAccepted || !strings.Contains(res.Body, `"deliveries":1`) {
			t.Errorf("event to %q: %s", to, handlertest.Describe(res))
		}
	}
	t.Run("a number of another country is refused with the country named", func(t *testing.T) {
		res := c.Post(t, "/numbers", url.Values{"number": {"555 0100"}, "label": {"x"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "national number of India") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("the account's country decides", func(t *testing.T) {
		if err := app.Store.SetDefaultCountry(ctx, tn.Account.ID, "us"); err != nil {
			t.Fatal(err)
		}
		res := c.Post(t, "/numbers", url.Values{"number": {"(415) 555-0100"}, "label": {"SF"}})
		if res.Status != http.StatusSeeOther || !strings.Contains(c.Get(t, "/numbers").Body, "+14155550100") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if err := app.Store.SetDefaultCountry(ctx, tn.Account.ID, "XX"); err == nil {
			t.Error("unsupported country accepted")
		}
	})
}

// TestFilterValuesAreTheCatalogs: the form accepts every call status the
// catalog has (not just answered|missed), folds the spelling the way
// ingest does, refuses a value ingest would refuse, and matching then sees
// the same values the ingest validator produced.
func TestFilterValuesAreTheCatalogs(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)

	form := fullForm("status filter")
	form["filter_values"] = []string{"inbound", "In Progress, answered", "spam", ""}
	if res := c.Post(t, "/webhooks", form); res.Status != http.StatusSeeOther {
		t.Fatalf("save: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "status filter")
	var status []string
	for _, f := range w.Filters.V {
		if f.Field == "call_status" {
			status = f.Values
		}
	}
	if strings.Join(status, ",") != "in_progress,answered" {
		t.Errorf("call_status filter stored %v", status)
	}
	if !w.Matches(map[string]any{"direction": "inbound", "call_status": "in_progress", "call_type": "inbound", "did_number": "+918287842425"}) {
		t.Error("an in_progress inbound call does not match")
	}

	bad := fullForm("bad filter")
	bad["filter_values"] = []string{"inbound", "answerd", "", ""}
	res := c.Post(t, "/webhooks", bad)
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "ringing, in_progress, answered, missed") {
		t.Fatalf("misspelt status: %s", handlertest.Describe(res))
	}
}

// TestSecretHeaderForm: a header marked secret in the form is stored
// sealed, never shown again (detail page redacts it, the edit form leaves
// it blank) and kept when the edit leaves it blank.
func TestSecretHeaderForm(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	const token = "tenant-secret-4242"
	form := fullForm("secret header")
	form["header_name"], form["header_value"], form["header_secret"] = []string{"X-Tenant", "X-Env"}, []string{token, "prod"}, []string{"0"}
	if res := c.Post(t, "/webhooks", form); res.Status != http.StatusSeeOther {
		t.Fatalf("save: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "secret header")
	if !w.Headers.V[0].Secret || w.Headers.V[0].Value != token || w.Headers.V[1].Secret {
		t.Fatalf("headers %+v", w.Headers.V)
	}
	var raw string
	if err := app.DB.Raw(`SELECT headers::text FROM webhooks WHERE id = ?`, w.ID).Scan(&raw).Error; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, token) || !strings.Contains(raw, "prod") {
		t.Errorf("stored headers %s", raw)
	}
	for _, path := range []string{"/webhooks/" + w.ID, "/webhooks/" + w.ID + "/edit"} {
		if body := c.Get(t, path).Body; strings.Contains(body, token) {
			t.Errorf("%s shows the secret header value", path)
		}
	}
	if body := c.Get(t, "/webhooks/"+w.ID).Body; !strings.Contains(body, models.Redacted) {
		t.Error("the detail page does not show the secret header as redacted")
	}
	edit := fullForm("secret header")
	edit["header_name"], edit["header_value"], edit["header_secret"] = []string{"X-Tenant", "X-Env"}, []string{"", "staging"}, []string{"0"}
	edit.Set("auth_secret", "")
	if res := c.Post(t, "/webhooks/"+w.ID+"/edit", edit); res.Status != http.StatusSeeOther {
		t.Fatalf("edit: %s", handlertest.Describe(res))
	}
	got, err := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
	if err != nil || got.Headers.V[0].Value != token || got.Headers.V[1].Value != "staging" {
		t.Fatalf("after edit: %+v %v", got.Headers.V, err)
	}
}
