package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestBulkRetryShowsProgress: on a webhook's page the bulk retry counts
// what it will take, the count follows the chosen window, and after the
// click the job panel polls and shows each batch's progress until the
// success message, when the polling stops. The test runs the job's batches
// itself, one at a time, so every step of the progress is seen.
func TestBulkRetryShowsProgress(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{NoJobRunner: true})
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	in := models.NewWebhookInput("Asia/Kolkata")
	in.Name, in.EventTypes, in.URL = "Helpdesk", []string{"call.missed"}, "https://helpdesk.example.com/hooks"
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	seed := func(n int, completed time.Time) {
		prefix := models.NewID("evt_")
		if err := app.DB.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
			SELECT ?, ? || g, 'call.missed', ?, '{}', ? FROM generate_series(1, ?) g`, w.AccountID, prefix, completed, completed, n).Error; err != nil {
			t.Fatal(err)
		}
		if err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, attempt_count, last_status_code,
				request_method, request_url, request_body, created_at, updated_at, completed_at)
			SELECT ?, ?, ? || g, 'call.missed', 'failed', 1, 500, 'POST', ?, '{}', ?, ?, ? FROM generate_series(1, ?) g`,
			w.AccountID, w.ID, prefix, w.URL, completed, completed, completed, n).Error; err != nil {
			t.Fatal(err)
		}
	}
	seed(60, now.Add(-2*time.Hour))
	seed(10, now.Add(-3*24*time.Hour))

	b := newBrowser(t, app.URL)
	signIn(b, tn)
	b.open("/webhooks/"+w.ID, http.StatusOK)
	b.waitFor("the count for the last 24 hours", textOf("#retry-count")+` === "60 failed deliveries will be retried."`)

	t.Log("a wider window: the preview counts again")
	loc, _ := time.LoadLocation(tn.Account.TimeZone)
	since := now.Add(-4 * 24 * time.Hour).In(loc).Format("2006-01-02T15:04")
	b.do("set since", chromedp.Evaluate[chromedp.Void](`(() => { const i = document.querySelector("#retry-since"); i.value = `+jsString(since)+`;
		i.dispatchEvent(new Event("change", {bubbles: true})); })()`))
	b.waitFor("the count for four days", textOf("#retry-count")+` === "70 failed deliveries will be retried."`)

	t.Log("start it: the panel replaces the form and polls")
	markPage(b)
	b.click(`#retry-failed button[type=submit]`)
	b.waitFor("the job panel", `document.querySelector("#retry-failed .job-panel[hx-trigger]") !== null`)
	if !samePage(b) {
		t.Fatalf("starting the retry loaded a new page instead of swapping in the panel%s", b.where())
	}
	if got := evalJS[string](b, textOf("#retry-failed .job-total")); got != "70" {
		t.Fatalf("the panel's total is %q, want 70%s", got, b.where())
	}
	var job models.Job
	if err := app.DB.Where("account_id = ?", tn.Account.ID).Take(&job).Error; err != nil {
		t.Fatal(err)
	}
	claimed, err := app.Store.ClaimJob(ctx, "e2e", time.Now(), time.Minute)
	if err != nil || claimed == nil || claimed.ID != job.ID {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	for _, want := range []int{25, 50, 70} {
		if _, err := app.Store.RunJobBatch(ctx, claimed, "e2e", 25, time.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
		b.waitFor("progress "+strconv.Itoa(want), `(() => { const p = document.querySelector("#retry-failed progress");
			return p && p.value === `+strconv.Itoa(want)+` && `+textOf("#retry-failed .job-done")+` === "`+strconv.Itoa(want)+`"; })()`)
	}
	if finished, err := app.Store.RunJobBatch(ctx, claimed, "e2e", 25, time.Now(), time.Minute); err != nil || !finished {
		t.Fatalf("last batch: finished %v, %v", finished, err)
	}
	b.waitFor("the success message", textOf("#retry-failed .flash-success")+` === "Done: 70 failed deliveries were queued again and go out now, as manual attempts."`)
	if evalJS[bool](b, `document.querySelector("#retry-failed .job-panel").hasAttribute("hx-trigger")`) {
		t.Fatalf("the finished panel still polls%s", b.where())
	}
	if v := evalJS[float64](b, `document.querySelector("#retry-failed progress").value`); v != 70 {
		t.Fatalf("the finished bar shows %v of 70", v)
	}
}
