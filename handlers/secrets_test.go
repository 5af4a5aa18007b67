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

// revealAudits counts the account's audit rows saying a secret was revealed.
func revealAudits(t *testing.T, app *handlertest.App, accountID string) []models.AuditEntry {
	t.Helper()
	entries, err := app.Store.AuditLog(context.Background(), accountID, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []models.AuditEntry
	for _, e := range entries {
		if e.Action == "webhook.secret_revealed" {
			out = append(out, e)
		}
	}
	return out
}

// TestSecretsStaySecret: the edit form never carries a stored secret (the
// auth password, a header marked secret, a header whose name is a secret's
// such as X-Api-Key), not even when it comes back with errors; saving with
// the fields blank keeps them, typing new values replaces them; revealing
// the signing secret writes an audit row and offers Hide, which masks it
// again (htmx and without JavaScript).
func TestSecretsStaySecret(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	ctx := context.Background()
	const (
		apiKey = "apikey-value-7731"
		tenant = "tenant-secret-5511"
		pass   = "s3cret-pass"
	)
	form := fullForm("secret fields")
	form["header_name"], form["header_value"], form["header_secret"] = []string{"X-Api-Key", "X-Tenant", "X-Env"}, []string{apiKey, tenant, "prod"}, []string{"1"}
	if res := c.Post(t, "/webhooks", form); res.Status != http.StatusSeeOther {
		t.Fatalf("save: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "secret fields")
	secrets := []string{apiKey, tenant, pass, w.SigningSecret}
	noSecret := func(t *testing.T, what, body string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s contains the secret %q", what, s)
			}
		}
	}

	edit := c.Get(t, "/webhooks/"+w.ID+"/edit")
	if edit.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(edit))
	}
	noSecret(t, "the edit form", edit.Body)
	for _, id := range []string{"header-value-0", "header-value-1", "auth_secret"} {
		if !strings.Contains(edit.Body, `id="`+id+`" data-tpl-id`) && !strings.Contains(edit.Body, `id="`+id+`" name`) {
			t.Errorf("no field %s", id)
		}
	}
	if n := strings.Count(edit.Body, `type="password" autocomplete="new-password" value="" placeholder="Secret: leave blank to keep"`); n != 2 {
		t.Errorf("want both secret headers as blank password fields, got %d", n)
	}
	noSecret(t, "the detail page", c.Get(t, "/webhooks/"+w.ID).Body)

	blank := fullForm("secret fields")
	blank["header_name"], blank["header_value"], blank["header_secret"] = []string{"X-Api-Key", "X-Tenant", "X-Env"}, []string{"", "", "staging"}, []string{"0", "1"}
	blank.Set("auth_secret", "")

	t.Run("a refused edit does not echo stored secrets", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range blank {
			bad[k] = v
		}
		bad.Set("name", "")
		res := c.Post(t, "/webhooks/"+w.ID+"/edit", bad)
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		noSecret(t, "the refused form", res.Body)
	})

	t.Run("blank keeps", func(t *testing.T) {
		if res := c.Post(t, "/webhooks/"+w.ID+"/edit", blank); res.Status != http.StatusSeeOther {
			t.Fatalf("edit: %s", handlertest.Describe(res))
		}
		got, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h := got.Headers.V; len(h) != 3 || h[0].Value != apiKey || h[1].Value != tenant || h[2].Value != "staging" || got.AuthSecret != pass {
			t.Fatalf("after a blank edit: %+v auth %q", h, got.AuthSecret)
		}
		noSecret(t, "the edit form after saving", c.Get(t, "/webhooks/"+w.ID+"/edit").Body)
	})

	t.Run("typing replaces", func(t *testing.T) {
		typed := fullForm("secret fields")
		typed["header_name"], typed["header_value"], typed["header_secret"] = []string{"X-Api-Key", "X-Tenant"}, []string{"new-api-key", ""}, []string{"1"}
		typed.Set("auth_secret", "fresh-pass-99")
		if res := c.Post(t, "/webhooks/"+w.ID+"/edit", typed); res.Status != http.StatusSeeOther {
			t.Fatalf("edit: %s", handlertest.Describe(res))
		}
		got, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h := got.Headers.V; len(h) != 2 || h[0].Value != "new-api-key" || h[1].Value != tenant || got.AuthSecret != "fresh-pass-99" {
			t.Fatalf("after typing new values: %+v auth %q", h, got.AuthSecret)
		}
		body := c.Get(t, "/webhooks/"+w.ID+"/edit").Body
		if strings.Contains(body, "new-api-key") || strings.Contains(body, "fresh-pass-99") {
			t.Error("the edit form shows the new secrets")
		}
	})

	t.Run("reveal is audited and offers Hide", func(t *testing.T) {
		before := len(revealAudits(t, app, tn.Account.ID))
		res := c.PostRaw(t, "/webhooks/"+w.ID+"/secret/reveal", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, w.SigningSecret) || !strings.Contains(res.Body, ">Hide</button>") || strings.Contains(res.Body, ">Reveal</button>") {
			t.Fatalf("reveal: %s", handlertest.Describe(res))
		}
		rows := revealAudits(t, app, tn.Account.ID)
		if len(rows) != before+1 || rows[0].ObjectID != w.ID || rows[0].UserID != tn.User.ID {
			t.Fatalf("want one more reveal row for %s by %s, got %+v", w.ID, tn.User.ID, rows)
		}
		if page := c.Get(t, "/audit"); !strings.Contains(page.Body, "Revealed signing secret") || strings.Contains(page.Body, w.SigningSecret) {
			t.Errorf("the audit page does not name the reveal (or shows the secret)")
		}
		hide := c.PostRaw(t, "/webhooks/"+w.ID+"/secret/hide", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if hide.Status != http.StatusOK || strings.Contains(hide.Body, w.SigningSecret) || !strings.Contains(hide.Body, ">Reveal</button>") {
			t.Fatalf("hide: %s", handlertest.Describe(hide))
		}
		if n := len(revealAudits(t, app, tn.Account.ID)); n != before+1 {
			t.Errorf("hiding wrote a reveal row: %d", n)
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		res := c.Post(t, "/webhooks/"+w.ID+"/secret/reveal", url.Values{})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, w.SigningSecret) || !strings.Contains(res.Body, ">Hide</button>") {
			t.Fatalf("reveal page: %s", handlertest.Describe(res))
		}
		hide := c.Post(t, "/webhooks/"+w.ID+"/secret/hide", url.Values{})
		if hide.Status != http.StatusSeeOther || hide.Location != "/webhooks/"+w.ID {
			t.Fatalf("hide: %s", handlertest.Describe(hide))
		}
		if page := c.Get(t, hide.Location); strings.Contains(page.Body, w.SigningSecret) || !strings.Contains(page.Body, ">Reveal</button>") {
			t.Error("the page after Hide shows the secret")
		}
	})

	t.Run("the API's secret read is audited", func(t *testing.T) {
		key := mustAPIKey(t, app, tn, "reveal", true)
		before := len(revealAudits(t, app, tn.Account.ID))
		res := apiDo(t, app.NewClient(t), http.MethodGet, "/api/v1/webhooks/"+w.ID+"/secret", key, "")
		wantStatus(t, res, http.StatusOK)
		if n := len(revealAudits(t, app, tn.Account.ID)); n != before+1 {
			t.Errorf("GET secret wrote %d reveal rows", n-before)
		}
	})
}
