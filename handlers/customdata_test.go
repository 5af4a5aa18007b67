package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestConsoleCustomDataScalars: the form keeps string entry with a type per
// row, stores numbers and booleans as JSON numbers and booleans, shows them
// back with their type, and offers the nested / merged placement.
func TestConsoleCustomDataScalars(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	ctx := context.Background()

	t.Run("a number that is not one is a field error and saves nothing", func(t *testing.T) {
		f := fullForm("Typed")
		f["cd_key"], f["cd_value"], f["cd_type"] = []string{"seats"}, []string{"many"}, []string{"number"}
		res := c.Post(t, "/webhooks", f)
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "enter a number") || !strings.Contains(res.Body, `value="many"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if hooks, _ := app.Store.Webhooks(ctx, tn.Account.ID); len(hooks) != 0 {
			t.Fatalf("saved %d webhooks", len(hooks))
		}
	})

	f := fullForm("Typed")
	f["cd_key"] = []string{"crm_id", "seats", "screen_pop", "zip"}
	f["cd_value"] = []string{"A 1&2", "12.5", "true", "007"}
	f["cd_type"] = []string{"text", "number", "boolean", "text"}
	f["custom_data_mode"] = []string{"merged"}
	if res := c.Post(t, "/webhooks", f); res.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", handlertest.Describe(res))
	}
	hooks, err := app.Store.Webhooks(ctx, tn.Account.ID)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks: %d, %v", len(hooks), err)
	}
	w := hooks[0]
	cd := w.CustomData.V
	if cd["crm_id"] != "A 1&2" || cd["seats"] != 12.5 || cd["screen_pop"] != true || cd["zip"] != "007" || w.CustomDataMode != models.CustomDataMerged {
		t.Fatalf("stored custom data %#v mode %q", cd, w.CustomDataMode)
	}
	show := c.Get(t, "/webhooks/"+w.ID)
	for _, want := range []string{"seats = 12.5 (number)", "screen_pop = true (boolean)", "zip = 007", "Merged at the top level"} {
		if !strings.Contains(show.Body, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	edit := c.Get(t, "/webhooks/"+w.ID+"/edit")
	for _, want := range []string{`value="12.5"`, `<option value="number" selected>`, `<option value="boolean" selected>`, `<option value="merged" selected>`} {
		if !strings.Contains(edit.Body, want) {
			t.Errorf("edit form lacks %s", want)
		}
	}
}
