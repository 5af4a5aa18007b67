package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// seedBackTestCalls stores six hangups for the tenant, a minute apart:
// even ones inbound and answered on +918287842425, odd ones outbound and
// missed on +918287842426. It returns the call ids, oldest first.
func seedBackTestCalls(t *testing.T, app *handlertest.App, accountID string, base time.Time) []string {
	t.Helper()
	var evs []models.Event
	var ids []string
	for i := range 6 {
		callType, status, did := "inbound", "answered", "+918287842425"
		if i%2 == 1 {
			callType, status, did = "outbound", "missed", "+918287842426"
		}
		call := fmt.Sprintf("bt-%s-%d", accountID, i)
		ids = append(ids, call)
		at := base.Add(time.Duration(i) * time.Minute)
		evs = append(evs, models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: at, ReceivedAt: at, CallID: &call,
			Payload: models.JSON[map[string]any]{V: map[string]any{"call_id": call, "call_type": callType, "direction": callType, "call_status": status,
				"did_number": did, "from_number": "+919900000000", "to_number": did}}})
	}
	if err := app.DB.WithContext(context.Background()).Create(&evs).Error; err != nil {
		t.Fatalf("seed events: %v", err)
	}
	return ids
}

type apiMatchPreview struct {
	Data struct {
		CallsConsidered int `json:"calls_considered"`
		CallsMatched    int `json:"calls_matched"`
		EventsMatched   int `json:"events_matched"`
		Examples        []struct {
			CallID     *string   `json:"call_id"`
			EventID    string    `json:"event_id"`
			Type       string    `json:"type"`
			OccurredAt time.Time `json:"occurred_at"`
		} `json:"examples"`
	} `json:"data"`
}

// TestAPIWebhookPreviewMatch back-tests through the router (requests and
// answers checked against openapi.json): answered inbound calls on one DID
// are calls 0, 2 and 4 of A's; B's identical history is never counted;
// bad matching fields answer 422 naming them; read keys may not.
func TestAPIWebhookPreviewMatch(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	base := time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)
	calls := seedBackTestCalls(t, app, a.Account.ID, base)
	seedBackTestCalls(t, app, b.Account.ID, base.Add(time.Hour))
	key := mustAPIKey(t, app, a, "backtest", true)
	c := app.NewClient(t)

	res := apiDo(t, c, http.MethodPost, "/api/v1/webhooks/preview-match", key,
		`{"event_types":["call.hangup"],"call_types":["inbound"],"did_numbers":["+918287842425"],"filters":[{"field":"call_status","op":"in","values":["answered"]}]}`)
	wantStatus(t, res, http.StatusOK)
	var out apiMatchPreview
	strictJSON(t, res, &out)
	d := out.Data
	if d.CallsConsidered != 6 || d.CallsMatched != 3 || d.EventsMatched != 3 || len(d.Examples) != 3 {
		t.Fatalf("got %+v, want 6 considered (A's only), 3 matched", d)
	}
	if d.Examples[0].CallID == nil || *d.Examples[0].CallID != calls[4] || d.Examples[0].Type != "call.hangup" || !d.Examples[0].OccurredAt.Equal(base.Add(4*time.Minute)) {
		t.Errorf("newest example %+v, want call %s", d.Examples[0], calls[4])
	}

	res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/preview-match", key, `{"event_types":["call.hangup"],"call_types":["inbound","outbound"]}`)
	wantStatus(t, res, http.StatusOK)
	strictJSON(t, res, &out)
	if out.Data.CallsMatched != 6 {
		t.Errorf("every hangup: %d calls, want 6", out.Data.CallsMatched)
	}

	res = apiDo(t, c, http.MethodPost, "/api/v1/webhooks/preview-match", key, `{"event_types":["call.hangup"],"did_numbers":["+15550000000"],"filters":[{"field":"call_status","op":"in","values":["perhaps"]}]}`)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for _, field := range []string{`"did_numbers"`, `"filters.0"`} {
		if !strings.Contains(res.Body, field) {
			t.Errorf("422 does not name %s: %s", field, res.Body)
		}
	}
	wantStatus(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/preview-match", key, `{}`), http.StatusUnprocessableEntity)

	read := mustScopedKey(t, app, a, models.NewAPIKey{Name: "read", Scope: models.ScopeRead})
	wantStatus(t, apiDo(t, c, http.MethodPost, "/api/v1/webhooks/preview-match", read, `{"event_types":["call.hangup"]}`), http.StatusForbidden)
}

// TestWebhookFormMatchPreview posts the form's fields as htmx does: the
// pane counts the account's matches with links to the calls, asks to fix
// the form on a bad filter, and is for writers only.
func TestWebhookFormMatchPreview(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	base := time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)
	calls := seedBackTestCalls(t, app, a.Account.ID, base)
	seedBackTestCalls(t, app, b.Account.ID, base.Add(time.Hour))
	c := app.SignIn(t, a)
	form := url.Values{"event_types": {"call.hangup"}, "call_types": {"inbound"}, "did_numbers": {"+918287842425"},
		"filter_field": {"direction", "call_status", "disposition", "queue_id"}, "filter_op": {"in", "in", "in", "in"}, "filter_values": {"", "answered", "", ""}}
	res := c.Post(t, "/webhooks/preview-match", form)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `<strong id="calls-matched">3</strong> of the last 6 calls`) {
		t.Fatalf("want 3 of 6: %s", handlertest.Describe(res))
	}
	if !strings.Contains(res.Body, `href="/calls/`+calls[4]+`"`) || !strings.Contains(res.Body, "2026-04-09 12:34") { // Asia/Kolkata
		t.Errorf("examples lack the call link or the account's local time: %s", res.Body)
	}
	if strings.Contains(res.Body, b.Account.ID) {
		t.Errorf("B's calls shown to A: %s", res.Body)
	}
	form.Set("filter_values", "")
	form["filter_values"] = []string{"", "sometimes", "", ""}
	if res := c.Post(t, "/webhooks/preview-match", form); res.Status != http.StatusOK || !strings.Contains(res.Body, "Fix the form to see matches.") {
		t.Errorf("bad filter: %s", handlertest.Describe(res))
	}
	viewer := app.NewTenant(t, models.RoleViewer)
	if res := app.SignIn(t, viewer).Post(t, "/webhooks/preview-match", form); res.Status != http.StatusForbidden {
		t.Errorf("viewer: %s", handlertest.Describe(res))
	}
	if res := c.PostRaw(t, "/webhooks/preview-match", form, nil); res.Status != http.StatusForbidden {
		t.Errorf("without CSRF: %s", handlertest.Describe(res))
	}
}
