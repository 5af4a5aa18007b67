package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

var (
	// verbatimRE is content shown exactly as sent or stored (requests,
	// responses, payload samples): their UTC times are data, not page text.
	verbatimRE = regexp.MustCompile(`(?s)<(pre|code|datalist|script)\b.*?</(pre|code|datalist|script)>`)
	// utcTimeRE is a time of day labelled UTC/GMT, or an RFC 3339 stamp in
	// UTC (Z or +00:00), in what a reader sees.
	utcTimeRE = regexp.MustCompile(`\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:UTC|GMT|Z\b|\+00:?00)|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}\S*(?:Z|\+00:00)`)
	// localTimeRE is a time shown in Asia/Kolkata with its abbreviation.
	localTimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} IST`)
)

// TestEveryTimeInTheAccountsZone renders every console page that shows a
// time for an account in Asia/Kolkata, with data behind each kind of time
// (a webhook disabled automatically with an old UTC-stamped reason, a
// rotated secret in its grace period, deliveries with attempts and a next
// retry, a call, audit entries, a revoked API key, sessions), and fails on
// any time of day shown in UTC; each page must show its times as IST.
func TestEveryTimeInTheAccountsZone(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	who := models.Actor{UserID: tn.User.ID, Label: tn.Email}

	w := logWebhook(t, app, tn, "Zone hook")
	if _, err := app.Store.RotateWebhookSecret(ctx, tn.Account.ID, w.ID, who); err != nil {
		t.Fatal(err)
	}
	disabled := logWebhook(t, app, tn, "Zone disabled hook")
	at := time.Date(2026, 4, 9, 7, 24, 0, 0, time.UTC)
	// A reason stored before reasons left times out, with its UTC stamp.
	if err := app.DB.Exec(`UPDATE webhooks SET enabled = false, disabled_at = ?, disabled_reason = ? WHERE id = ?`, at,
		"Disabled automatically after 50 failed attempts in a row since 2026-04-09 06:10 UTC (last: HTTP 500).", disabled.ID).Error; err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	failed := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-zone-1", created)
	pending := seedDelivery(t, app, w, "call.missed", models.StatusPending, "CA-zone-1", created.Add(time.Minute))
	s500 := 500
	retry := created.Add(5 * time.Second)
	seedAttempt(t, app, models.Attempt{AccountID: w.AccountID, DeliveryID: failed.ID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto,
		StartedAt: created, DurationMS: 120, RequestMethod: "POST", RequestURL: w.URL, RequestBody: `{"occurred_at":"2026-04-09T07:24:53Z"}`,
		ResponseStatus: &s500, ResponseBody: "no", ErrorKind: models.ErrKindHTTPStatus, ErrorMessage: "receiver answered 500", NextRetryAt: &retry})
	if _, err := app.Store.AddPhoneNumber(ctx, tn.Account.ID, who, "+14155550123", "Zone line"); err != nil {
		t.Fatal(err)
	}
	c.Get(t, "/api-keys")
	if res := c.Post(t, "/api-keys", url.Values{"name": {"Zone key"}, "mode": {"live"}, "scope": {"full"}}); res.Status != http.StatusOK {
		t.Fatalf("create key: %s", handlertest.Describe(res))
	}
	keys, err := app.Store.APIKeys(ctx, tn.Account.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if err := app.Store.RevokeAPIKey(ctx, tn.Account.ID, keys[0].ID, who); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		path string
		want []string // texts that must be on the page, in the account's zone
	}{
		{"/", nil},
		{"/webhooks", []string{"2026-04-09 12:54:00 IST", "2026-04-09 11:40:00 IST"}},
		{"/webhooks/" + w.ID, nil},
		{"/webhooks/" + disabled.ID, []string{"2026-04-09 12:54:00 IST", "2026-04-09 11:40:00 IST"}},
		{"/deliveries", []string{created.In(kolkata).Format("2006-01-02 15:04:05 MST")}},
		{"/deliveries/" + pubID(t, app, failed.ID), []string{created.In(kolkata).Format("2006-01-02 15:04:05 MST")}},
		{"/deliveries/" + pubID(t, app, pending.ID), []string{pending.NextAttemptAt.In(kolkata).Format("2006-01-02 15:04:05 MST")}},
		{"/calls/CA-zone-1", nil},
		{"/audit", nil},
		{"/api-keys", nil},
		{"/numbers", nil},
		{"/profile", nil},
	}
	for _, p := range pages {
		res := c.Get(t, p.path)
		if res.Status != http.StatusOK {
			t.Errorf("%s: %s", p.path, handlertest.Describe(res))
			continue
		}
		text := pageText(verbatimRE.ReplaceAllString(res.Body, " "))
		if m := utcTimeRE.FindAllString(text, 5); len(m) > 0 {
			t.Errorf("%s shows times in UTC: %q", p.path, m)
		}
		if p.path != "/numbers" && !localTimeRE.MatchString(text) {
			t.Errorf("%s shows no time in IST: %.600s", p.path, text)
		}
		for _, want := range p.want {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", p.path, want)
			}
		}
	}
	// The secret's grace end, on the page and in the Rotate answer.
	hook, err := app.Store.Webhook(ctx, tn.Account.ID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	grace := hook.PreviousSecretExpiresAt.In(kolkata).Format("2006-01-02 15:04:05 MST")
	if res := c.Get(t, "/webhooks/"+w.ID); !strings.Contains(pageText(res.Body), "also signs until "+grace) {
		t.Errorf("the webhook page does not give the grace end %s", grace)
	}
}
