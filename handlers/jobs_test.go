package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// seedFailed stores n deliveries of w that ended failed at completed.
func seedFailed(t *testing.T, app *handlertest.App, w *models.Webhook, n int, eventType string, completed time.Time) {
	t.Helper()
	prefix := models.NewID("evt_")
	if err := app.DB.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
		SELECT ?, ? || g, ?, ?, '{}', ? FROM generate_series(1, ?) g`, w.AccountID, prefix, eventType, completed, completed, n).Error; err != nil {
		t.Fatal(err)
	}
	if err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, attempt_count, last_status_code,
			request_method, request_url, request_body, created_at, updated_at, completed_at)
		SELECT ?, ?, ? || g, ?, 'failed', 1, 500, 'POST', ?, '{}', ?, ?, ? FROM generate_series(1, ?) g`,
		w.AccountID, w.ID, prefix, eventType, w.URL, completed, completed, completed, n).Error; err != nil {
		t.Fatal(err)
	}
}

type apiJobBody struct {
	Data struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Total  int    `json:"total"`
		Done   int    `json:"done"`
		Params struct {
			WebhookID string  `json:"webhook_id"`
			EventType *string `json:"event_type"`
		} `json:"params"`
	} `json:"data"`
}

func decodeJob(t *testing.T, res handlertest.Response) apiJobBody {
	t.Helper()
	var j apiJobBody
	if err := json.Unmarshal([]byte(res.Body), &j); err != nil {
		t.Fatalf("%v: %s", err, handlertest.Describe(res))
	}
	return j
}

// waitJob follows GET /api/v1/jobs/{id} until the job has finished,
// failing after a deadline; it returns every (done, state) seen.
func waitJob(t *testing.T, c *handlertest.Client, key, id string) (apiJobBody, []int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var seen []int
	for {
		res := apiDo(t, c, http.MethodGet, "/api/v1/jobs/"+id, key, "")
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		j := decodeJob(t, res)
		seen = append(seen, j.Data.Done)
		if j.Data.State == "succeeded" || j.Data.State == "failed" || j.Data.State == "cancelled" {
			return j, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s at %d of %d after 15 s", id, j.Data.State, j.Data.Done, j.Data.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAPIRetryFailed: POST retry-failed answers 202 with the job at once;
// GET /jobs/{id} follows it to the end; bad windows are 422s naming the
// field; another account's webhook or job is a 404; an Idempotency-Key
// repeat answers the same job without starting a second.
func TestAPIRetryFailed(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{JobBatch: 10})
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Bulk API")
	now := time.Now().UTC()
	seedFailed(t, app, w, 45, "call.hangup", now.Add(-2*time.Hour))
	seedFailed(t, app, w, 5, "call.missed", now.Add(-2*time.Hour))
	key := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "full", Scope: models.ScopeFull})
	c := app.NewClient(t)
	since := now.Add(-24 * time.Hour).Format(time.RFC3339)
	path := "/api/v1/webhooks/" + w.ID + "/retry-failed"

	res := apiDo(t, c, http.MethodPost, path, key, `{"since":"`+since+`","event_type":"call.hangup"}`)
	if res.Status != http.StatusAccepted {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	started := decodeJob(t, res)
	if started.Data.Total != 45 || started.Data.Params.WebhookID != w.ID || res.Header.Get("Location") != "/api/v1/jobs/"+started.Data.ID ||
		!strings.HasPrefix(started.Data.ID, "job_") || (started.Data.State != "queued" && started.Data.State != "running") {
		t.Fatalf("started %+v, Location %q", started.Data, res.Header.Get("Location"))
	}
	done, seen := waitJob(t, c, key, started.Data.ID)
	if done.Data.State != "succeeded" || done.Data.Done != 45 || done.Data.Total != 45 {
		t.Fatalf("finished %+v (seen %v)", done.Data, seen)
	}
	var pending int64
	app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = 'pending' AND manual_retry", w.ID).Count(&pending)
	if pending != 45 {
		t.Fatalf("%d deliveries queued again, want 45", pending)
	}

	t.Run("422s name the field", func(t *testing.T) {
		for body, field := range map[string]string{
			`{}`:                    "since",
			`{"since":"yesterday"}`: "since",
			`{"since":"2026-04-09T07:00:00Z","until":"2026-04-08T07:00:00Z"}`:            "until",
			`{"since":"2026-04-09T07:00:00Z","until":"2026-04-09T07:00:00Z"}`:            "until",
			`{"since":"2026-04-09T07:00:00Z","event_type":"call.exploded"}`:              "event_type",
			`{"since":"2026-04-09T07:00:00Z","until":"soon","event_type":"call.hangup"}`: "until",
		} {
			res := apiDo(t, c, http.MethodPost, path, key, body)
			var e apiErrorShape
			_ = json.Unmarshal([]byte(res.Body), &e)
			if res.Status != http.StatusUnprocessableEntity || e.Error.Fields[field] == "" {
				t.Errorf("%s: %s", body, handlertest.Describe(res))
			}
		}
	})
	t.Run("another account's webhook and job are 404s", func(t *testing.T) {
		other := app.NewTenant(t, models.RoleAdmin)
		okey := mustScopedKey(t, app, other, models.NewAPIKey{Name: "other", Scope: models.ScopeFull})
		if res := apiDo(t, c, http.MethodPost, path, okey, `{"since":"`+since+`"}`); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := apiDo(t, c, http.MethodGet, "/api/v1/jobs/"+started.Data.ID, okey, ""); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := apiDo(t, c, http.MethodGet, "/api/v1/jobs/job_000000000000", key, ""); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("an Idempotency-Key repeat answers the same job", func(t *testing.T) {
		body := `{"since":"` + since + `","event_type":"call.missed"}`
		first := apiDo(t, c, http.MethodPost, path, key, body, "Idempotency-Key", "bulk-retry-1")
		again := apiDo(t, c, http.MethodPost, path, key, body, "Idempotency-Key", "bulk-retry-1")
		if first.Status != http.StatusAccepted || again.Status != http.StatusAccepted || again.Body != first.Body ||
			again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("first %s\nagain %s", handlertest.Describe(first), handlertest.Describe(again))
		}
		var jobs int64
		app.DB.Model(&models.Job{}).Where("account_id = ? AND params->>'event_type' = 'call.missed'", tn.Account.ID).Count(&jobs)
		if jobs != 1 {
			t.Fatalf("%d jobs for one idempotent request", jobs)
		}
		j, _ := waitJob(t, c, key, decodeJob(t, first).Data.ID)
		if j.Data.Done != 5 || j.Data.Params.EventType == nil || *j.Data.Params.EventType != "call.missed" {
			t.Fatalf("%+v", j.Data)
		}
	})
	t.Run("a read key follows jobs but cannot start one", func(t *testing.T) {
		rkey := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "read", Scope: models.ScopeRead})
		if res := apiDo(t, c, http.MethodGet, "/api/v1/jobs/"+started.Data.ID, rkey, ""); res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if res := apiDo(t, c, http.MethodPost, path, rkey, `{"since":"`+since+`"}`); res.Status != http.StatusForbidden {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

var countText = regexp.MustCompile(`id="retry-count"[^>]*>([^<]*)<`)

// TestConsoleRetryFailed: the webhook page and its filtered log offer the
// bulk retry with a count before it starts; the htmx preview follows the
// window; a plain post leads to the job's page and an htmx one swaps in a
// panel that polls until the job is done; bad windows re-render with the
// message by the field; viewers, forged posts and other accounts are refused.
func TestConsoleRetryFailed(t *testing.T) {
	app := handlertest.NewWith(t, handlertest.Options{JobBatch: 10})
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Bulk console")
	now := time.Now().UTC()
	seedFailed(t, app, w, 43, "call.hangup", now.Add(-2*time.Hour))
	seedFailed(t, app, w, 4, "call.hangup", now.Add(-3*24*time.Hour)) // outside the default 24 h
	c := app.SignIn(t, tn)

	page := c.Get(t, "/webhooks/"+w.ID)
	if m := countText.FindStringSubmatch(page.Body); m == nil || m[1] != "43 failed deliveries will be retried." {
		t.Fatalf("webhook page count: %v\n%.3000s", m, page.Body)
	}
	for _, want := range []string{`type="datetime-local"`, `name="since"`, `name="until"`, `hx-get="/webhooks/` + w.ID + `/retry-failed/preview"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("webhook page lacks %s", want)
		}
	}
	if log := c.Get(t, "/deliveries?webhook="+w.ID); !strings.Contains(log.Body, "43 failed deliveries will be retried.") {
		t.Errorf("the filtered log has no bulk retry")
	}
	if log := c.Get(t, "/deliveries"); strings.Contains(log.Body, `id="retry-failed"`) {
		t.Errorf("the unfiltered log offers a bulk retry (of which webhook?)")
	}

	loc, _ := time.LoadLocation(tn.Account.TimeZone)
	local := func(t time.Time) string { return t.In(loc).Format("2006-01-02T15:04") }
	preview := func(since, until string) string {
		t.Helper()
		res := c.Get(t, "/webhooks/"+w.ID+"/retry-failed/preview?"+url.Values{"since": {since}, "until": {until}}.Encode())
		m := countText.FindStringSubmatch(res.Body)
		if res.Status != http.StatusOK || m == nil {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		return m[1]
	}
	if got := preview(local(now.Add(-5*24*time.Hour)), local(now.Add(time.Minute))); got != "47 failed deliveries will be retried." {
		t.Errorf("wider window: %q", got)
	}
	if got := preview(local(now.Add(-time.Hour)), local(now.Add(time.Minute))); !strings.Contains(got, "No failed deliveries") {
		t.Errorf("empty window: %q", got)
	}
	if got := preview(local(now), local(now.Add(-time.Hour))); got != "The end must be after the start (since)." {
		t.Errorf("reversed window: %q", got)
	}

	t.Run("bad input re-renders with the message and the values", func(t *testing.T) {
		res := c.Post(t, "/webhooks/"+w.ID+"/retry-failed", url.Values{"since": {"2026-13-40T99:00"}, "until": {"2026-04-09T10:00"}})
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Enter a date and time") ||
			!strings.Contains(res.Body, `value="2026-13-40T99:00"`) || !strings.Contains(res.Body, `aria-invalid="true"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("a plain post leads to the job's page", func(t *testing.T) {
		res := c.Post(t, "/webhooks/"+w.ID+"/retry-failed", url.Values{"since": {local(now.Add(-24 * time.Hour))}, "until": {local(now.Add(time.Minute))}})
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/jobs/job_") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			page := c.Get(t, res.Location)
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "<progress") {
				t.Fatalf("%s", handlertest.Describe(page))
			}
			if strings.Contains(page.Body, "Done: 43 failed deliveries were queued again") {
				if !strings.Contains(page.Body, `value="43"`) || strings.Contains(page.Body, `hx-trigger="every 1s"`) {
					t.Fatalf("finished page: %.3000s", page.Body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job page never finished: %.3000s", page.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("an htmx post swaps in a panel that polls until done", func(t *testing.T) {
		seedFailed(t, app, w, 12, "call.hangup", now.Add(-time.Hour))
		hx := http.Header{"Hx-Request": {"true"}}
		res := c.PostRaw(t, "/webhooks/"+w.ID+"/retry-failed", withCSRF(c, url.Values{"since": {local(now.Add(-24 * time.Hour))}, "until": {local(now.Add(time.Minute))}}), hx)
		id := regexp.MustCompile(`id="job-(job_[0-9a-f]+)"`).FindStringSubmatch(res.Body)
		if res.Status != http.StatusAccepted || id == nil || !strings.Contains(res.Body, `hx-trigger="every 1s"`) || strings.Contains(res.Body, "<html") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			req, _ := http.NewRequest(http.MethodGet, c.Base+"/jobs/"+id[1], nil)
			req.Header.Set("Hx-Request", "true")
			panel := c.Do(t, req)
			if !strings.Contains(panel.Body, `hx-trigger="every 1s"`) {
				if !strings.Contains(panel.Body, "Done: 12 failed deliveries") || strings.Contains(panel.Body, "<html") {
					t.Fatalf("finished panel: %s", handlertest.Describe(panel))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("panel still polling after 15 s: %s", panel.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("viewers, forged posts and other accounts are refused", func(t *testing.T) {
		seedFailed(t, app, w, 3, "call.hangup", now.Add(-time.Hour))
		form := url.Values{"since": {local(now.Add(-24 * time.Hour))}}
		viewer := handlertest.Tenant{Account: tn.Account}
		viewer.Email, viewer.Password = strings.ToLower(models.NewID("v"))+"@example.com", "correct horse battery"
		if _, err := app.Store.CreateUser(context.Background(), tn.Account.ID, viewer.Email, viewer.Password, models.RoleViewer); err != nil {
			t.Fatal(err)
		}
		v := app.SignIn(t, viewer)
		if page := v.Get(t, "/webhooks/"+w.ID); strings.Contains(page.Body, `id="retry-failed"`) {
			t.Errorf("a viewer is offered the bulk retry")
		}
		if res := v.Post(t, "/webhooks/"+w.ID+"/retry-failed", form); res.Status != http.StatusForbidden {
			t.Errorf("viewer: %s", handlertest.Describe(res))
		}
		if res := c.PostRaw(t, "/webhooks/"+w.ID+"/retry-failed", form, nil); res.Status != http.StatusForbidden && res.Status != http.StatusBadRequest {
			t.Errorf("no CSRF token: %s", handlertest.Describe(res))
		}
		o := app.SignIn(t, app.NewTenant(t, models.RoleAdmin))
		if res := o.Post(t, "/webhooks/"+w.ID+"/retry-failed", form); res.Status != http.StatusNotFound {
			t.Errorf("another account: %s", handlertest.Describe(res))
		}
		var jobID string
		app.DB.Raw("SELECT id FROM jobs WHERE account_id = ? LIMIT 1", tn.Account.ID).Scan(&jobID)
		if res := o.Get(t, "/jobs/"+jobID); res.Status != http.StatusNotFound {
			t.Errorf("another account's job: %s", handlertest.Describe(res))
		}
		var failed int64
		app.DB.Model(&models.Delivery{}).Where("webhook_id = ? AND status = 'failed' AND completed_at > ?", w.ID, now.Add(-90*time.Minute)).Count(&failed)
		if failed != 3 {
			t.Errorf("refused posts changed deliveries: %d of 3 still failed", failed)
		}
	})
}
