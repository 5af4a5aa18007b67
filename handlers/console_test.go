package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// fullForm is a valid Add Webhook submission using every field.
func fullForm(name string) url.Values {
	return url.Values{
		"name":          {name},
		"description":   {"Tells the CRM about calls"},
		"event_types":   {"call.hangup", "call.missed", "call.dtmf"},
		"url":           {"https://crm.example.com/hooks/calls?token=abc"},
		"method":        {"POST"},
		"content_type":  {"application/x-www-form-urlencoded"},
		"call_types":    {"inbound", "click_to_call"},
		"did_numbers":   {"+918287842425"},
		"time_zone":     {"Asia/Kolkata"},
		"header_name":   {"X-Tenant", "X-Env"},
		"header_value":  {"acme", "prod"},
		"auth_type":     {"basic"},
		"auth_username": {"ringhook"},
		"auth_secret":   {"s3cret-pass"},
		"cd_key":        {"crm_id", "region"},
		"cd_value":      {"A 1&2", "south"},
		"filter_field":  {"direction", "call_status", "disposition", "queue_id"},
		"filter_op":     {"in", "in", "not_in", "in"},
		"filter_values": {"inbound", "", "spam, wrong number", ""},
		"max_attempts":  {"5"},
		"timeout":       {"8"},
		"enabled":       {"true"},
		"op":            {"save"},
	}
}

func mustWebhook(t *testing.T, app *handlertest.App, tn handlertest.Tenant, name string) *models.Webhook {
	t.Helper()
	hooks, err := app.Store.Webhooks(context.Background(), tn.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hooks {
		if hooks[i].Name == name {
			return &hooks[i]
		}
	}
	t.Fatalf("webhook %q not found among %d", name, len(hooks))
	return nil
}

func TestSignIn(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)

	t.Run("signed-out visitors are sent to login", func(t *testing.T) {
		res := app.NewClient(t).Get(t, "/webhooks")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login?next=%2Fwebhooks") {
			t.Fatalf("got %d to %q", res.Status, res.Location)
		}
	})
	t.Run("wrong password is refused without saying which part was wrong", func(t *testing.T) {
		c := app.NewClient(t)
		c.Get(t, "/login")
		res := c.Post(t, "/login", url.Values{"email": {tn.Email}, "password": {"nope nope nope"}})
		if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Email or password is incorrect.") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if !strings.Contains(res.Body, `value="`+tn.Email+`"`) {
			t.Error("the email typed should be kept in the form")
		}
	})
	t.Run("right password signs in and redirects to next", func(t *testing.T) {
		c := app.NewClient(t)
		c.Get(t, "/login")
		res := c.Post(t, "/login", url.Values{"email": {strings.ToUpper(tn.Email)}, "password": {tn.Password}, "next": {"/webhooks"}})
		if res.Status != http.StatusSeeOther || res.Location != "/webhooks" {
			t.Fatalf("%s location %q", handlertest.Describe(res), res.Location)
		}
		if res := c.Get(t, "/webhooks"); res.Status != http.StatusOK {
			t.Fatalf("after sign-in: %s", handlertest.Describe(res))
		}
		if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Errorf("session cookie flags: %q", sc)
		}
	})
	t.Run("next cannot point to another site", func(t *testing.T) {
		c := app.NewClient(t)
		c.Get(t, "/login")
		res := c.Post(t, "/login", url.Values{"email": {tn.Email}, "password": {tn.Password}, "next": {"//evil.example.com/"}})
		if res.Location != "/" {
			t.Fatalf("redirected to %q", res.Location)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		c := app.SignIn(t, tn)
		if res := c.Post(t, "/logout", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := c.Get(t, "/webhooks"); res.Status != http.StatusSeeOther {
			t.Fatalf("still signed in: %d", res.Status)
		}
	})
	t.Run("repeated failures are throttled, even with the right password", func(t *testing.T) {
		victim := app.NewTenant(t, models.RoleAdmin)
		c := app.NewClient(t)
		c.Get(t, "/login")
		for i := 0; i < 5; i++ {
			c.Post(t, "/login", url.Values{"email": {victim.Email}, "password": {"guess " + string(rune('a'+i))}})
		}
		res := c.Post(t, "/login", url.Values{"email": {victim.Email}, "password": {victim.Password}})
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many failed sign-ins") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestCSRF(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")

	cases := []struct {
		name  string
		token string
	}{
		{"missing token", ""},
		{"wrong token", "forged-token-value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fullForm("csrf " + tc.name)
			if tc.token != "" {
				f.Set("_csrf", tc.token)
			}
			res := c.PostRaw(t, "/webhooks", f, nil)
			if res.Status != http.StatusForbidden && res.Status != http.StatusBadRequest {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID)
			if len(hooks) != 0 {
				t.Fatalf("a forged form created %d webhooks", len(hooks))
			}
		})
	}
	t.Run("login form needs the token too", func(t *testing.T) {
		res := app.NewClient(t).PostRaw(t, "/login", url.Values{"email": {tn.Email}, "password": {tn.Password}}, nil)
		if res.Status != http.StatusForbidden && res.Status != http.StatusBadRequest {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("cross-site browser post is refused", func(t *testing.T) {
		h := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example.com"}}
		res := c.PostRaw(t, "/webhooks", fullForm("cross site"), h)
		if res.Status < 400 || res.Status >= 500 {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestWebhookLifecycle(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")

	res := c.Post(t, "/webhooks", fullForm("CRM sync"))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "CRM sync")
	if res.Location != "/webhooks/"+w.ID {
		t.Errorf("redirected to %q", res.Location)
	}

	t.Run("every field is stored", func(t *testing.T) {
		checks := []struct {
			field     string
			got, want any
		}{
			{"description", w.Description, "Tells the CRM about calls"},
			{"event_types", strings.Join(w.EventTypes, ","), "call.hangup,call.missed,call.dtmf"},
			{"url", w.URL, "https://crm.example.com/hooks/calls?token=abc"},
			{"method", w.Method, "POST"},
			{"content_type", w.ContentType, "application/x-www-form-urlencoded"},
			{"call_types", strings.Join(w.CallTypes, ","), "inbound,click_to_call"},
			{"did_numbers", strings.Join(w.DIDNumbers, ","), "+918287842425"},
			{"time_zone", w.TimeZone, "Asia/Kolkata"},
			{"headers", len(w.Headers.V), 2},
			{"header order", w.Headers.V[0].Name + "," + w.Headers.V[1].Name, "X-Tenant,X-Env"},
			{"auth", w.AuthType + ":" + w.AuthUsername + ":" + w.AuthSecret, "basic:ringhook:s3cret-pass"},
			{"custom_data", fmt.Sprint(w.CustomData.V["crm_id"]) + "|" + fmt.Sprint(w.CustomData.V["region"]), "A 1&2|south"},
			{"filters", len(w.Filters.V), 2},
			{"filter values", strings.Join(w.Filters.V[1].Values, "|"), "spam|wrong number"},
			{"filter op", w.Filters.V[1].Op, "not_in"},
			{"max_attempts", w.MaxAttempts, 5},
			{"timeout", w.TimeoutMS, 8000},
			{"enabled", w.Enabled, true},
			{"secret", strings.HasPrefix(w.SigningSecret, "whsec_"), true},
			{"created_by", w.CreatedBy, tn.Email},
		}
		for _, ck := range checks {
			if ck.got != ck.want {
				t.Errorf("%s: got %v, want %v", ck.field, ck.got, ck.want)
			}
		}
	})

	t.Run("listed with its triggers", func(t *testing.T) {
		res := c.Get(t, "/webhooks")
		for _, want := range []string{"CRM sync", "Call hangup", "Call missed", "DTMF option", "Enabled", "token=redacted"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("list lacks %q", want)
			}
		}
		if strings.Contains(res.Body, "token=abc") {
			t.Error("the list shows a secret query parameter")
		}
	})

	t.Run("detail page hides secrets", func(t *testing.T) {
		res := c.Get(t, "/webhooks/"+w.ID)
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		for _, secret := range []string{"s3cret-pass", w.SigningSecret} {
			if strings.Contains(res.Body, secret) {
				t.Errorf("detail page shows %q", secret)
			}
		}
		if !strings.Contains(res.Body, "Basic, user ringhook") {
			t.Error("auth summary missing")
		}
	})

	t.Run("edit form shows stored values but not the password", func(t *testing.T) {
		res := c.Get(t, "/webhooks/"+w.ID+"/edit")
		for _, want := range []string{`value="CRM sync"`, `value="Asia/Kolkata"`, `value="X-Tenant"`, `value="A 1&amp;2"`, `value="spam, wrong number"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("edit form lacks %s", want)
			}
		}
		if strings.Contains(res.Body, "s3cret-pass") {
			t.Error("edit form echoes the stored password")
		}
	})

	t.Run("edit keeps the stored password when left blank", func(t *testing.T) {
		f := fullForm("CRM sync v2")
		f.Set("auth_secret", "")
		f.Set("method", "GET")
		f["header_name"], f["header_value"] = []string{"X-Tenant"}, []string{"acme"}
		res := c.Post(t, "/webhooks/"+w.ID+"/edit", f)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		got, err := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "CRM sync v2" || got.Method != "GET" || got.AuthSecret != "s3cret-pass" || len(got.Headers.V) != 1 {
			t.Fatalf("after edit: name %q method %q secret kept %v headers %d", got.Name, got.Method, got.AuthSecret == "s3cret-pass", len(got.Headers.V))
		}
	})

	t.Run("toggle disables and enables in place", func(t *testing.T) {
		res := c.PostRaw(t, "/webhooks/"+w.ID+"/toggle", url.Values{"_csrf": {c.CSRF()}, "enabled": {"false"}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `id="toggle-`+w.ID+`"`) || !strings.Contains(res.Body, "Disabled") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if strings.Contains(res.Body, "<html") {
			t.Error("htmx toggle returned a full page")
		}
		got, _ := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
		if got.Enabled || !strings.Contains(got.DisabledReason, tn.Email) {
			t.Fatalf("enabled=%v reason=%q", got.Enabled, got.DisabledReason)
		}
		c.Post(t, "/webhooks/"+w.ID+"/toggle", url.Values{"enabled": {"true"}})
		if got, _ := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID); !got.Enabled || got.DisabledReason != "" {
			t.Fatalf("re-enable: enabled=%v reason=%q", got.Enabled, got.DisabledReason)
		}
	})

	t.Run("rotate keeps the old secret signing for a while", func(t *testing.T) {
		before, _ := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
		res := c.PostRaw(t, "/webhooks/"+w.ID+"/secret/rotate", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		after, _ := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID)
		if res.Status != http.StatusOK || after.SigningSecret == before.SigningSecret || after.PreviousSecret != before.SigningSecret {
			t.Fatalf("rotate: %s", handlertest.Describe(res))
		}
		if !strings.Contains(res.Body, after.SigningSecret) {
			t.Error("rotate should show the new secret once")
		}
	})

	t.Run("delete asks first, then removes", func(t *testing.T) {
		res := c.Get(t, "/webhooks/"+w.ID+"/delete")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "cannot be undone") {
			t.Fatalf("confirm page: %s", handlertest.Describe(res))
		}
		if _, err := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID); err != nil {
			t.Fatal("the confirmation page deleted the webhook")
		}
		res = c.Post(t, "/webhooks/"+w.ID+"/delete", nil)
		if res.Status != http.StatusSeeOther || res.Location != "/webhooks" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if _, err := app.Store.Webhook(context.Background(), tn.Account.ID, w.ID); err == nil {
			t.Fatal("still there after delete")
		}
		entries, err := app.Store.AuditLog(context.Background(), tn.Account.ID, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		want := "webhook.deleted,webhook.secret_rotated,webhook.enabled,webhook.disabled,webhook.updated,webhook.created"
		if strings.Join(actions, ",") != want {
			t.Errorf("audit log: %v", actions)
		}
		for _, e := range entries {
			if e.Before != nil && strings.Contains(mustJSON(t, e.Before.V), "s3cret-pass") {
				t.Error("audit log stores the auth password")
			}
		}
	})
}

// templateRE is a <template> (the row forms.js adds), not a row on the page.
var templateRE = regexp.MustCompile(`(?s)<template>.*?</template>`)

func withoutTemplates(body string) string { return templateRE.ReplaceAllString(body, "") }

func TestRowButtonsWorkWithoutJavaScript(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")

	f := fullForm("rows")
	f.Set("op", "add_header")
	res := c.Post(t, "/webhooks", f)
	if res.Status != http.StatusOK || strings.Count(withoutTemplates(res.Body), `name="header_name"`) != 3 {
		t.Fatalf("add header: %d rows, status %d", strings.Count(withoutTemplates(res.Body), `name="header_name"`), res.Status)
	}
	if !strings.Contains(res.Body, `value="A 1&amp;2"`) {
		t.Error("other values were lost while adding a row")
	}
	if !strings.Contains(res.Body, `value="s3cret-pass"`) {
		t.Error("the typed password was dropped while adding a row")
	}
	f.Set("op", "remove_header:0")
	res = c.Post(t, "/webhooks", f)
	if strings.Count(withoutTemplates(res.Body), `name="header_name"`) != 1 || strings.Contains(res.Body, `value="X-Tenant"`) || !strings.Contains(res.Body, `value="X-Env"`) {
		t.Fatalf("remove header 0: body has %d rows", strings.Count(withoutTemplates(res.Body), `name="header_name"`))
	}
	f.Set("op", "remove_cd:1")
	res = c.Post(t, "/webhooks", f)
	if strings.Count(res.Body, `name="cd_key"`) != 1 || strings.Contains(res.Body, `value="region"`) {
		t.Fatal("remove custom data row 1 failed")
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 0 {
		t.Fatal("row buttons must not save")
	}
}

func TestPreview(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	preview := func(f url.Values) string {
		t.Helper()
		res := c.PostRaw(t, "/webhooks/preview", withCSRF(c, f), http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		return res.Body
	}
	t.Run("shows the exact request for the chosen trigger", func(t *testing.T) {
		f := fullForm("p")
		f.Set("preview_trigger", "call.dtmf")
		body := preview(f)
		for _, want := range []string{"POST https://crm.example.com/hooks/calls?token=abc", "Content-Type: application/x-www-form-urlencoded",
			"X-Webhook-Event: call.dtmf", "Authorization: [redacted]", "X-Tenant: acme", "custom_data%5Bcrm_id%5D=A+1%262",
			"did_number=%2B918287842425", "call_type=inbound"} {
			if !strings.Contains(body, want) {
				t.Errorf("preview lacks %q", want)
			}
		}
		if strings.Contains(body, "s3cret-pass") {
			t.Error("the preview shows the password")
		}
	})
	t.Run("explains what to fix instead of an internal error", func(t *testing.T) {
		f := fullForm("p")
		f.Set("time_zone", "Mars/Olympus")
		body := preview(f)
		if !strings.Contains(body, "The preview appears when this is fixed: Unknown time zone") || strings.Contains(body, "load location") {
			t.Fatalf("%s", body)
		}
	})
}

func withCSRF(c *handlertest.Client, f url.Values) url.Values {
	f.Set("_csrf", c.CSRF())
	return f
}

func TestNumbersPage(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/numbers")
	if res := c.Post(t, "/numbers", url.Values{"number": {"00 44 20 7946 0958"}, "label": {"London"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("add: %s", handlertest.Describe(res))
	}
	res := c.Get(t, "/numbers")
	if !strings.Contains(res.Body, "+442079460958") || !strings.Contains(res.Body, "London") {
		t.Fatal("the normalized number is not listed")
	}
	if res := c.Post(t, "/numbers", url.Values{"number": {"12ab"}, "label": {"x"}}); res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "international format") || !strings.Contains(res.Body, `value="12ab"`) {
		t.Fatalf("bad number: %s", handlertest.Describe(res))
	}
	// A number a webhook filters on cannot be removed (it would widen the webhook to all numbers).
	c.Get(t, "/webhooks/new")
	c.Post(t, "/webhooks", fullForm("uses a DID"))
	nums, _ := app.Store.PhoneNumbers(context.Background(), tn.Account.ID)
	for _, n := range nums {
		if n.Number == "+918287842425" {
			c.Post(t, "/numbers/"+n.ID+"/delete", nil)
		}
	}
	if res := c.Get(t, "/numbers"); !strings.Contains(res.Body, "Used by webhook uses a DID") || !strings.Contains(res.Body, "+918287842425") {
		t.Fatal("a number in use was removed, or the reason not shown")
	}
	entries, _ := app.Store.AuditLog(context.Background(), tn.Account.ID, 0, 10)
	found := false
	for _, e := range entries {
		found = found || e.Action == "number.added"
	}
	if !found {
		t.Fatal("adding a number is not audited")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	app := handlertest.New(t)
	c := app.NewClient(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if res := c.Get(t, path); res.Status != http.StatusOK {
			t.Fatalf("%s: %s", path, handlertest.Describe(res))
		}
	}
	// Readiness follows the database: close the app's pool and it must say so.
	sqlDB, err := app.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	if res := c.Get(t, "/readyz"); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database gone: %s", handlertest.Describe(res))
	}
	if res := c.Get(t, "/healthz"); res.Status != http.StatusOK {
		t.Fatalf("healthz should not depend on the database: %s", handlertest.Describe(res))
	}
}
