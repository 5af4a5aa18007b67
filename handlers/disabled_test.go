package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// disabledHook makes a tenant whose webhook delivered ok events, then
// failed failed ones (one attempt each), and was then turned off by hand
// in the console. It returns the signed-in admin, the webhook and the ids
// of the failed deliveries.
func disabledHook(t *testing.T, app *handlertest.App, ok, failed int) (*handlertest.Client, *models.Webhook, []int64) {
	t.Helper()
	ctx := context.Background()
	tn := app.NewTenant(t, models.RoleAdmin)
	var failing atomic.Bool
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rc.Close)
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.MaxAttempts, in.OrderedByCall = "crm", rc.URL, []string{"call.hangup"}, 1, false
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	key := mustAPIKey(t, app, tn, "pbx", true)
	c := app.NewClient(t)
	n := 0
	send := func(count int) {
		for range count {
			n++
			id := fmt.Sprintf("01JRB3Q7Z8K2M4N6P8R0S2T%03d", n)
			if res := apiPost(t, c, "/api/v1/events", key, "application/json", strings.Replace(hangupEvent, "%s", id, 1)); res.Status != http.StatusAccepted {
				t.Fatalf("%s", handlertest.Describe(res))
			}
		}
		if _, err := app.Dispatcher.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(ok)
	failing.Store(true)
	send(failed)
	var ids []int64
	if err := app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ?", w.ID, models.StatusFailed).Order("id").Pluck("id", &ids).Error; err != nil || len(ids) != failed {
		t.Fatalf("want %d failed deliveries, got %v %v", failed, ids, err)
	}
	admin := app.SignIn(t, tn)
	admin.Get(t, "/webhooks/"+w.ID)
	if res := admin.Post(t, "/webhooks/"+w.ID+"/toggle", url.Values{"enabled": {"false"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("disable: %s", handlertest.Describe(res))
	}
	w, err = app.Store.Webhook(ctx, tn.Account.ID, w.ID)
	if err != nil || w.Enabled {
		t.Fatalf("not disabled: %v", err)
	}
	return admin, w, ids
}

var (
	bannerRE = regexp.MustCompile(`(?s)<div class="banner banner-bad" role="alert" id="disabled-banner">.*?</div>`)
)

// banner is the disabled banner's text and its HTML.
func banner(t *testing.T, body string) (text, html string) {
	t.Helper()
	html = bannerRE.FindString(body)
	if html == "" {
		t.Fatalf("no disabled banner:\n%.3000s", body)
	}
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(html, " ")), " "), html
}

// TestDisabledBanner: a disabled webhook's page has one banner with the
// reason and the time (the account's zone), one Re-enable button, and a
// replay checkbox that counts what failed with the right plural, absent
// when nothing failed; the page's own on/off switch and bulk-retry card
// make way for it.
func TestDisabledBanner(t *testing.T) {
	app := handlertest.New(t)
	for _, tc := range []struct {
		failed int
		want   string
	}{{3, "Replay 3 failed deliveries"}, {1, "Replay 1 failed delivery"}, {0, ""}} {
		t.Run(fmt.Sprint(tc.failed), func(t *testing.T) {
			admin, w, _ := disabledHook(t, app, 1, tc.failed)
			page := admin.Get(t, "/webhooks/"+w.ID)
			text, html := banner(t, page.Body)
			if strings.Count(page.Body, `id="disabled-banner"`) != 1 {
				t.Error("more than one disabled banner")
			}
			acc, _ := app.Store.Account(context.Background(), w.AccountID)
			when := w.DisabledAt.In(acc.Location()).Format("2006-01-02 15:04")
			if !strings.Contains(text, "This webhook is disabled. Disabled by ") || !strings.Contains(text, when) {
				t.Errorf("banner %q lacks the reason or the time %s", text, when)
			}
			if strings.Count(html, "<button") != 1 || !strings.Contains(html, ">Re-enable</button>") {
				t.Errorf("want exactly one Re-enable button: %s", html)
			}
			if tc.want == "" {
				if strings.Contains(html, `type="checkbox"`) || strings.Contains(text, "Replay") {
					t.Errorf("a replay option with nothing to replay: %s", text)
				}
			} else if !strings.Contains(html, `name="replay" value="failed" checked`) || !strings.Contains(text, tc.want) {
				t.Errorf("banner %q: want %q with a ticked checkbox", text, tc.want)
			}
			if strings.Contains(page.Body, `/toggle"`) || strings.Contains(page.Body, "Re-enable only") || strings.Contains(page.Body, "Retry them now") {
				t.Error("competing controls beside the banner")
			}
		})
	}
}

// TestReEnableReplaysExactlyTheFailed: Re-enable with the box ticked turns
// the webhook on and starts a bulk-retry job (the retry-failed path) that
// queues exactly the deliveries that failed, not the one that succeeded;
// with the box unticked it only re-enables.
func TestReEnableReplaysExactlyTheFailed(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()

	t.Run("with replay", func(t *testing.T) {
		admin, w, failed := disabledHook(t, app, 1, 3)
		_, html := banner(t, admin.Get(t, "/webhooks/"+w.ID).Body)
		since := regexp.MustCompile(`name="since" value="([^"]+)"`).FindStringSubmatch(html)
		res := admin.Post(t, "/webhooks/"+w.ID+"/replay", url.Values{"since": {since[1]}, "enable": {"true"}, "replay": {"failed"}})
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/jobs/job_") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		got, _ := app.Store.Webhook(ctx, w.AccountID, w.ID)
		if !got.Enabled || got.DisabledReason != "" {
			t.Fatal("not re-enabled")
		}
		jobID := strings.TrimPrefix(res.Location, "/jobs/")
		deadline := time.Now().Add(15 * time.Second)
		for {
			j, err := app.Store.Job(ctx, w.AccountID, jobID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Total != 3 {
				t.Fatalf("the job counts %d deliveries, want 3", j.Total)
			}
			if j.State == models.JobSucceeded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the job never finished: %+v", j)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var queued []int64
		app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ? AND manual_retry", w.ID, models.StatusPending).Order("id").Pluck("id", &queued)
		if !slices.Equal(queued, failed) {
			t.Fatalf("queued %v, want exactly the failed %v", queued, failed)
		}
		var succeeded int64
		app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ?", w.ID, models.StatusSucceeded).Count(&succeeded)
		if succeeded != 1 {
			t.Errorf("the succeeded delivery was touched: %d left", succeeded)
		}
	})

	t.Run("without replay", func(t *testing.T) {
		admin, w, failed := disabledHook(t, app, 0, 2)
		res := admin.Post(t, "/webhooks/"+w.ID+"/replay", url.Values{"enable": {"true"}})
		if res.Status != http.StatusSeeOther || res.Location != "/webhooks/"+w.ID {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		got, _ := app.Store.Webhook(ctx, w.AccountID, w.ID)
		if !got.Enabled {
			t.Fatal("not re-enabled")
		}
		var still int64
		app.DB.Model(&models.Delivery{}).Where("id IN ? AND status = ?", failed, models.StatusFailed).Count(&still)
		if still != 2 {
			t.Errorf("an unticked box replayed: %d of 2 still failed", still)
		}
	})
}
