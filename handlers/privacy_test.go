package handlers_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// The seeded caller: its number must never reach a viewer in full, in any
// spelling (E.164 digits, URL-encoded, national).
const (
	piiDigits = "9241232904" // of +919241232904
	piiName   = "Ravi Kumar"
	piiEvent  = `{"event":"call.hangup","event_id":"%s","occurred_at":"2026-04-09T07:24:53Z",
 "call_id":"%s","direction":"inbound","call_type":"inbound","from_number":"+919241232904","from_name":"Ravi Kumar",
 "to_number":"+918287842425","call_status":"answered","started_at":"2026-04-09T07:24:22Z",
 "answered_at":"2026-04-09T07:24:23Z","ended_at":"2026-04-09T07:24:53Z","duration_seconds":31,"talk_seconds":30}`
)

// piiSetup makes an owner's account with a viewer, three webhooks (JSON
// body, form body, GET with the query string) whose receiver echoes what
// it got (the first answers 500, so the dashboard lists a failure), and
// one event of +919241232904 / Ravi Kumar delivered through the real
// dispatcher. It returns the delivery ids.
func piiSetup(t *testing.T, app *handlertest.App, owner handlertest.Tenant, callID string) []int64 {
	t.Helper()
	ctx := context.Background()
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		if strings.HasSuffix(r.URL.Path, "/json") {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = w.Write([]byte("got " + string(b) + " ?" + r.URL.RawQuery))
	}))
	t.Cleanup(rc.Close)
	for _, hook := range []struct{ name, method, ct string }{
		{"json", "POST", "application/json"}, {"form", "POST", "application/x-www-form-urlencoded"}, {"get", "GET", ""},
	} {
		in := models.NewWebhookInput("UTC")
		in.Name, in.URL, in.EventTypes, in.Method, in.MaxAttempts = hook.name, rc.URL+"/"+hook.name, []string{"call.hangup"}, hook.method, 1
		if hook.ct != "" {
			in.ContentType = hook.ct
		}
		if _, err := app.Store.CreateWebhook(ctx, owner.Account.ID, models.Actor{Label: "t"}, in); err != nil {
			t.Fatalf("webhook %s: %v", hook.name, err)
		}
	}
	key := mustAPIKey(t, app, owner, "pbx", true)
	body := strings.Replace(strings.Replace(piiEvent, "%s", catalog.NewEventID(time.Now(), rand.Reader), 1), "%s", callID, 1)
	if res := apiPost(t, app.NewClient(t), "/api/v1/events", key, "application/json", body); res.Status != http.StatusAccepted {
		t.Fatalf("ingest: %s", handlertest.Describe(res))
	}
	if n, err := app.Dispatcher.ProcessDue(ctx); err != nil || n != 3 {
		t.Fatalf("ProcessDue = %d, %v; want 3", n, err)
	}
	rows, err := app.Store.Deliveries(ctx, owner.Account.ID, models.DeliveryFilter{Limit: 10})
	if err != nil || len(rows) != 3 {
		t.Fatalf("deliveries: %d, %v", len(rows), err)
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func addMember(t *testing.T, app *handlertest.App, owner handlertest.Tenant, role models.Role) handlertest.Tenant {
	t.Helper()
	email := strings.ToLower(models.NewID("m")) + "@example.com"
	u, err := app.Store.CreateUser(context.Background(), owner.Account.ID, email, owner.Password, role)
	if err != nil {
		t.Fatal(err)
	}
	return handlertest.Tenant{Account: owner.Account, User: u, Email: email, Password: owner.Password}
}

func assertNoPII(t *testing.T, what string, res handlertest.Response) {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("%s: %s", what, handlertest.Describe(res))
	}
	if strings.Contains(res.Body, piiDigits) || strings.Contains(res.Body, piiName) || strings.Contains(res.Body, "Ravi+Kumar") ||
		strings.Contains(res.Body, "Ravi%20Kumar") {
		i := max(0, strings.Index(res.Body, piiDigits)-200)
		t.Errorf("%s shows the caller in full: …%.600s", what, res.Body[i:])
	}
}

// TestViewerNeverSeesCallerInFull: with masking on, a viewer's delivery
// log, delivery pages (JSON, form and GET requests and the echoed
// responses), call timeline and dashboard hold neither the seeded number
// nor the name; read-only API keys get masked answers, full keys and an
// account that does not mask get everything.
func TestViewerNeverSeesCallerInFull(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	viewer := addMember(t, app, owner, models.RoleViewer)
	oc := app.SignIn(t, owner)
	if res := oc.Post(t, "/settings/privacy", url.Values{"mask_pii": {"on"}, "body_retention_days": {"0"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("privacy settings: %s", handlertest.Describe(res))
	}
	callID := "call_pii_" + strings.ToLower(models.NewID("")[:8])
	ids := piiSetup(t, app, owner, callID)

	vc := app.SignIn(t, viewer)
	pages := []string{"/deliveries", "/", "/calls/" + callID}
	for _, id := range ids {
		pages = append(pages, "/deliveries/"+pubID(t, app, id))
	}
	for _, p := range pages {
		res := vc.Get(t, p)
		assertNoPII(t, "viewer "+p, res)
		if strings.HasPrefix(p, "/deliveries/") {
			if !strings.Contains(res.Body, "+91924•••2904") || !strings.Contains(res.Body, "R••• K•••") {
				t.Errorf("viewer %s: no masked number or name: %.3000s", p, res.Body)
			}
			if strings.Contains(res.Body, "/reveal") {
				t.Errorf("viewer %s offers Reveal", p)
			}
		}
	}
	if res := vc.Post(t, "/deliveries/"+pubID(t, app, ids[0])+"/reveal", nil); res.Status != http.StatusForbidden {
		t.Errorf("viewer reveal: %s", handlertest.Describe(res))
	}

	// API: a read key is masked, a full key is not.
	c := app.NewClient(t)
	read := mustScopedKey(t, app, owner, models.NewAPIKey{Name: "reader", Scope: models.ScopeRead})
	full := mustAPIKey(t, app, owner, "full", true)
	for _, id := range ids {
		p := "/api/v1/deliveries/" + pubID(t, app, id)
		assertNoPII(t, "read key "+p, apiGet(t, c, p, "Bearer "+read))
		if res := apiGet(t, c, p, "Bearer "+full); !strings.Contains(res.Body, piiDigits) {
			t.Errorf("full key %s is masked: %s", p, handlertest.Describe(res))
		}
	}
	assertNoPII(t, "read key call timeline", apiGet(t, c, "/api/v1/calls/"+callID, "Bearer "+read))
	assertNoPII(t, "read key delivery log", apiGet(t, c, "/api/v1/deliveries", "Bearer "+read))

	// Masking off: the viewer sees the history as sent.
	if res := oc.Post(t, "/settings/privacy", url.Values{"body_retention_days": {"0"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("privacy off: %s", handlertest.Describe(res))
	}
	if res := vc.Get(t, "/deliveries/"+pubID(t, app, ids[0])); !strings.Contains(res.Body, piiDigits) {
		t.Errorf("unmasked account: viewer sees no number: %s", handlertest.Describe(res))
	}
}

// TestAdminRevealsAudited: an admin sees masked history with a Reveal
// control; revealing shows the delivery in full and writes a
// delivery.revealed audit entry naming the delivery (and the attempt when
// one attempt is revealed).
func TestAdminRevealsAudited(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	admin := addMember(t, app, owner, models.RoleAdmin)
	ctx := context.Background()
	if _, err := app.Store.UpdatePrivacySettings(ctx, owner.Account.ID, models.Actor{Label: "t"}, models.PrivacySettings{MaskPII: true}); err != nil {
		t.Fatal(err)
	}
	ids := piiSetup(t, app, owner, "call_reveal_"+strings.ToLower(models.NewID("")[:8]))
	ac := app.SignIn(t, admin)
	page := "/deliveries/" + pubID(t, app, ids[0])
	res := ac.Get(t, page)
	assertNoPII(t, "admin before reveal", res)
	if !strings.Contains(res.Body, `action="`+page+`/reveal"`) {
		t.Fatalf("no Reveal control: %s", handlertest.Describe(res))
	}
	res = ac.Post(t, page+"/reveal", nil)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, piiDigits) || !strings.Contains(res.Body, "recorded in the audit log") {
		t.Fatalf("reveal: %s", handlertest.Describe(res))
	}
	if res := ac.Post(t, page+"/reveal", url.Values{"attempt": {"1"}}); res.Status != http.StatusOK || !strings.Contains(res.Body, piiDigits) {
		t.Fatalf("reveal attempt: %s", handlertest.Describe(res))
	}
	if res := ac.Post(t, page+"/reveal", url.Values{"attempt": {"x"}}); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("reveal attempt x: %s", handlertest.Describe(res))
	}
	// Another account's delivery is not found, and audits nothing.
	other := app.NewTenant(t, models.RoleOwner)
	if res := app.SignIn(t, other).Post(t, page+"/reveal", nil); res.Status != http.StatusNotFound {
		t.Errorf("other account reveal: %s", handlertest.Describe(res))
	}
	// The page itself is masked again: a reveal is one answer.
	assertNoPII(t, "admin after reveal", ac.Get(t, page))

	entries, err := app.Store.AuditLog(ctx, owner.Account.ID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var whole, one int
	for _, e := range entries {
		if e.Action != "delivery.revealed" {
			continue
		}
		if e.ObjectID != pubID(t, app, ids[0]) || e.UserID != admin.User.ID {
			t.Errorf("audit entry %+v", e)
		}
		if after, _ := e.After.V.(map[string]any); after["attempt"] != nil {
			one++
		} else {
			whole++
		}
	}
	if whole != 1 || one != 1 {
		t.Errorf("audit: %d whole and %d one-attempt reveals, want 1 and 1", whole, one)
	}
	if entries, _ := app.Store.AuditLog(ctx, other.Account.ID, 0, 50); len(entries) != 0 {
		t.Errorf("other account audited %d entries", len(entries))
	}
}

// TestPrivacySettingsForm: the Privacy form keeps its values and says what
// is wrong next to the field; saving is audited.
func TestPrivacySettingsForm(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	oc := app.SignIn(t, owner)
	res := oc.Post(t, "/settings/privacy", url.Values{"mask_pii": {"on"}, "body_retention_days": {"999"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "from 0 (keep) to 365") || !strings.Contains(res.Body, `value="999"`) {
		t.Fatalf("bad retention: %s", handlertest.Describe(res))
	}
	res = oc.Post(t, "/settings/privacy", url.Values{"failed_bodies_only": {"on"}, "body_retention_days": {"7"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("save: %s", handlertest.Describe(res))
	}
	a, err := app.Store.Account(context.Background(), owner.Account.ID)
	if err != nil || a.MaskPII || !a.FailedBodiesOnly || a.BodyRetentionDays != 7 {
		t.Fatalf("stored %+v, %v", a, err)
	}
	if res := oc.Get(t, "/settings"); !strings.Contains(res.Body, `id="privacy"`) || !strings.Contains(res.Body, `value="7"`) {
		t.Errorf("settings page: %s", handlertest.Describe(res))
	}
	if res := app.SignIn(t, addMember(t, app, owner, models.RoleViewer)).Post(t, "/settings/privacy", url.Values{"mask_pii": {"on"}}); res.Status != http.StatusForbidden {
		t.Errorf("viewer saves privacy: %s", handlertest.Describe(res))
	}
	entries, _ := app.Store.AuditLog(context.Background(), owner.Account.ID, 0, 10)
	found := false
	for _, e := range entries {
		found = found || e.Action == "account.privacy_updated"
	}
	if !found {
		t.Error("no account.privacy_updated audit entry")
	}
}

// TestBodyNotKeptShown: an attempt recorded without bodies (the account
// keeps them only for failures) says so on its page and in the API; a
// failed attempt shows its bodies.
func TestBodyNotKeptShown(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	if _, err := app.Store.UpdatePrivacySettings(context.Background(), owner.Account.ID, models.Actor{Label: "t"}, models.PrivacySettings{FailedBodiesOnly: true}); err != nil {
		t.Fatal(err)
	}
	piiSetup(t, app, owner, "call_bodies_"+strings.ToLower(models.NewID("")[:8]))
	rows, err := app.Store.Deliveries(context.Background(), owner.Account.ID, models.DeliveryFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	oc, c, key := app.SignIn(t, owner), app.NewClient(t), mustAPIKey(t, app, owner, "reader", true)
	for _, r := range rows {
		id := pubID(t, app, r.ID)
		page, api := oc.Get(t, "/deliveries/"+id), apiGet(t, c, "/api/v1/deliveries/"+id, "Bearer "+key)
		failed := r.WebhookName == "json" // its receiver answers 500
		if says := strings.Contains(page.Body, "Body not kept (account setting)."); says == failed {
			t.Errorf("%s delivery: says body not kept = %v: %s", r.WebhookName, says, handlertest.Describe(page))
		}
		if flagged := strings.Contains(api.Body, `"bodies_dropped":true`); flagged == failed {
			t.Errorf("%s delivery: API bodies_dropped = %v: %s", r.WebhookName, flagged, handlertest.Describe(api))
		}
		if failed && !strings.Contains(page.Body, piiDigits) {
			t.Errorf("failed attempt lost its bodies: %s", handlertest.Describe(page))
		}
	}
}

// TestDialectLogsMaskErrorText: a vendor dialect's delivery log (Kazoo's
// attempts) hides phone numbers in error texts from read keys of a masking
// account, as the native API does, and shows them to full keys.
func TestDialectLogsMaskErrorText(t *testing.T) {
	app := handlertest.New(t)
	owner := app.NewTenant(t, models.RoleOwner)
	oc := app.SignIn(t, owner)
	oc.Get(t, "/settings")
	if res := oc.Post(t, "/settings/privacy", url.Values{"mask_pii": {"on"}, "body_retention_days": {"0"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("privacy on: %s", handlertest.Describe(res))
	}
	ids := piiSetup(t, app, owner, "call_dialect_"+strings.ToLower(models.NewID("")[:8]))
	if err := app.DB.Model(&models.Delivery{}).Where("id IN ?", ids).Update("last_error", "receiver refused "+piiDigits).Error; err != nil {
		t.Fatal(err)
	}
	c := app.NewClient(t)
	read := mustScopedKey(t, app, owner, models.NewAPIKey{Name: "reader", Scope: models.ScopeRead})
	full := mustAPIKey(t, app, owner, "full", true)
	path := "/api/v1/accounts/" + owner.Account.ID + "/webhooks/attempts"
	masked := send(t, c, http.MethodGet, path, "", map[string]string{"X-Auth-Token": read})
	assertNoPII(t, "kazoo attempts, read key", masked)
	if !strings.Contains(masked.Body, "receiver refused") {
		t.Fatalf("kazoo attempts lack the error text: %s", handlertest.Describe(masked))
	}
	if res := send(t, c, http.MethodGet, path, "", map[string]string{"X-Auth-Token": full}); !strings.Contains(res.Body, piiDigits) {
		t.Errorf("kazoo attempts, full key: masked: %s", handlertest.Describe(res))
	}
}
