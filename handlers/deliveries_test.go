package handlers_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/models/publicid"
	"github.com/ringhook/ringhook/web/session"
)

var kolkata = mustLoc("Asia/Kolkata") // webtest tenants live in Asia/Kolkata

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func logWebhook(t *testing.T, app *handlertest.App, tn handlertest.Tenant, name string) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = name, "https://receiver.example.com/"+strings.ReplaceAll(strings.ToLower(name), " ", "-"),
		[]string{"call.hangup", "call.missed", "call.answered"}
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return w
}

// seedDelivery stores an event and its delivery for w, as the dispatcher
// would have. The stored request carries the real secret; pages must never show it.
func seedDelivery(t *testing.T, app *handlertest.App, w *models.Webhook, eventType string, status models.DeliveryStatus, callID string, created time.Time) models.Delivery {
	t.Helper()
	db := app.DB
	ev := models.Event{AccountID: w.AccountID, ID: models.NewID("evt_"), Type: eventType, OccurredAt: created, ReceivedAt: created,
		CallID: &callID, Payload: models.JSON[map[string]any]{V: map[string]any{"call_id": callID}}}
	if err := db.Create(&ev).Error; err != nil {
		t.Fatalf("insert event: %v", err)
	}
	secret := models.JSON[[]models.Header]{V: []models.Header{{Name: "Authorization", Value: "Bearer live-receiver-secret"}}}
	d := models.Delivery{AccountID: w.AccountID, WebhookID: w.ID, EventID: ev.ID, EventType: eventType, CallID: &callID, Status: status,
		CreatedAt: created.UTC(), UpdatedAt: created.UTC(), RequestMethod: "POST", RequestURL: w.URL, RequestHeaders: secret,
		RequestBody: []byte(`{"event":"` + eventType + `"}`)}
	if status == models.StatusPending {
		// Due only in a year, so no test's dispatcher (they share the
		// package database) picks it up.
		next := time.Now().AddDate(1, 0, 0).Truncate(time.Second)
		d.NextAttemptAt = &next
	}
	if err := db.Create(&d).Error; err != nil {
		t.Fatalf("insert delivery: %v", err)
	}
	return d
}

func seedAttempt(t *testing.T, app *handlertest.App, a models.Attempt) {
	t.Helper()
	if err := app.DB.Create(&a).Error; err != nil {
		t.Fatalf("insert attempt: %v", err)
	}
	err := app.DB.Exec(`UPDATE deliveries SET attempt_count = attempt_count + 1, last_status_code = ? WHERE id = ?`,
		a.ResponseStatus, a.DeliveryID).Error
	if err != nil {
		t.Fatal(err)
	}
}

var deliveryRowRE = regexp.MustCompile(`id="delivery-(dlv_[0-9a-z]+)"`)

// listedIDs returns the delivery row ids of the list page's rows, in page
// order (the page shows public ids; rowID decodes them).
func listedIDs(t testing.TB, app *handlertest.App, body string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range deliveryRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, rowID(t, app, m[1]))
	}
	return out
}

func idList(ds ...models.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestDeliveryLogList(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	alpha, beta := logWebhook(t, app, tn, "Alpha hook"), logWebhook(t, app, tn, "Beta hook")
	at := func(day, hour, min int) time.Time { return time.Date(2026, 1, day, hour, min, 0, 0, kolkata) }
	d1 := seedDelivery(t, app, alpha, "call.hangup", models.StatusSucceeded, "CA-100", at(10, 10, 0))
	d2 := seedDelivery(t, app, beta, "call.missed", models.StatusFailed, "CA-200", at(11, 23, 30))
	// 01:00 on the 12th in Kolkata is still the 11th in UTC: the date filters use the account's zone.
	d3 := seedDelivery(t, app, alpha, "call.answered", models.StatusPending, "CA-300", at(12, 1, 0))
	c := app.SignIn(t, tn)

	t.Run("shows every row, newest first", func(t *testing.T) {
		res := c.Get(t, "/deliveries")
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if got, want := listedIDs(t, app, res.Body), idList(d3, d2, d1); !slices.Equal(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		for _, want := range []string{"Alpha hook", "Beta hook", "Call hangup", "call.missed", "2026-01-10 10:00:00",
			`class="badge badge-ok">succeeded`, `class="badge badge-bad">failed`, `class="badge badge-warn">pending`,
			`href="/deliveries/` + pubID(t, app, d1.ID) + `"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("list lacks %s", want)
			}
		}
		if strings.Contains(res.Body, "Next page") {
			t.Error("a single page shows a Next page link")
		}
	})

	cases := []struct {
		name  string
		query url.Values
		want  []models.Delivery
	}{
		{"webhook", url.Values{"webhook": {alpha.ID}}, []models.Delivery{d3, d1}},
		{"event type", url.Values{"event_type": {"call.missed"}}, []models.Delivery{d2}},
		{"status", url.Values{"status": {"pending"}}, []models.Delivery{d3}},
		{"call id", url.Values{"call_id": {" CA-100 "}}, []models.Delivery{d1}},
		{"from date in the account's zone", url.Values{"from": {"2026-01-12"}}, []models.Delivery{d3}},
		{"to date is inclusive, in the account's zone", url.Values{"to": {"2026-01-11"}}, []models.Delivery{d2, d1}},
		{"one day", url.Values{"from": {"2026-01-10"}, "to": {"2026-01-10"}}, []models.Delivery{d1}},
		{"combined", url.Values{"webhook": {alpha.ID}, "status": {"succeeded"}}, []models.Delivery{d1}},
		{"nothing matches", url.Values{"call_id": {"CA-999"}}, nil},
		{"before", url.Values{"before": {cursorID(t, app, publicid.DeliveryCursor, d2.ID)}}, []models.Delivery{d1}},
	}
	for _, tc := range cases {
		t.Run("filter by "+tc.name, func(t *testing.T) {
			res := c.Get(t, "/deliveries?"+tc.query.Encode())
			if res.Status != http.StatusOK {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			if got, want := listedIDs(t, app, res.Body), idList(tc.want...); !slices.Equal(got, want) {
				t.Fatalf("rows %v, want %v", got, want)
			}
		})
	}

	t.Run("the form keeps the chosen filters", func(t *testing.T) {
		q := url.Values{"webhook": {beta.ID}, "event_type": {"call.missed"}, "status": {"failed"}, "call_id": {"CA-200"}, "from": {"2026-01-01"}, "to": {"2026-01-31"}}
		res := c.Get(t, "/deliveries?"+q.Encode())
		for _, want := range []string{`value="` + beta.ID + `" selected`, `value="call.missed" selected`, `value="failed" selected`,
			`value="CA-200"`, `value="2026-01-01"`, `value="2026-01-31"`, `href="/deliveries">Clear`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
	})

	t.Run("empty account", func(t *testing.T) {
		other := app.NewTenant(t, models.RoleViewer)
		res := app.SignIn(t, other).Get(t, "/deliveries")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "No deliveries yet") || len(listedIDs(t, app, res.Body)) != 0 {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestDeliveryLogPagination(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Busy hook")
	first := seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "CA-1", time.Date(2026, 2, 1, 9, 0, 0, 0, kolkata))
	// 69 more deliveries, every 7th failed: 61 succeeded in all, interleaved with 9 failed.
	err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, created_at)
		SELECT ?, ?, ?, 'call.hangup', CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'succeeded' END, ?::timestamptz + g * interval '1 minute'
		FROM generate_series(1, 69) AS g`, tn.Account.ID, w.ID, first.EventID, first.CreatedAt).Error
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	if err := app.DB.Raw(`SELECT id FROM deliveries WHERE account_id = ? AND status = 'succeeded' ORDER BY id DESC`, tn.Account.ID).Scan(&want).Error; err != nil {
		t.Fatal(err)
	}
	if len(want) != 61 {
		t.Fatalf("seeded %d succeeded deliveries, want 61", len(want))
	}
	c := app.SignIn(t, tn)
	nextRE := regexp.MustCompile(`<a class="button" rel="next" href="([^"]+)">Next page</a>`)

	path := "/deliveries?status=succeeded&webhook=" + w.ID
	var got []int64
	for page := 0; path != ""; page++ {
		if page > 3 {
			t.Fatal("pagination does not end")
		}
		res := c.Get(t, path)
		if res.Status != http.StatusOK {
			t.Fatalf("page %d: %s", page, handlertest.Describe(res))
		}
		ids := listedIDs(t, app, res.Body)
		if len(ids) == 0 || len(ids) > 50 {
			t.Fatalf("page %d has %d rows", page, len(ids))
		}
		got = append(got, ids...)
		if page > 0 && !strings.Contains(res.Body, ">Newest</a>") {
			t.Errorf("page %d has no link back to the newest deliveries", page)
		}
		path = ""
		if m := nextRE.FindStringSubmatch(res.Body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
			u, err := url.Parse(path)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("status") != "succeeded" || q.Get("webhook") != w.ID || q.Get("before") != cursorID(t, app, publicid.DeliveryCursor, ids[len(ids)-1]) {
				t.Fatalf("next link %q does not keep the filters or continue after the last row", path)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages listed %d rows %v, want %d rows %v", len(got), got, len(want), want)
	}
}

func TestDeliveryDetail(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Detail hook")
	d := seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "CA-777", time.Date(2026, 3, 1, 12, 0, 0, 0, kolkata))
	started := d.CreatedAt
	retry := started.Add(5 * time.Second)
	s500, s200 := 500, 200
	reqHeaders := models.JSON[[]models.Header]{V: []models.Header{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Authorization", Value: models.Redacted},
		{Name: "webhook-id", Value: d.EventID},
	}}
	seedAttempt(t, app, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto,
		StartedAt: started, DurationMS: 2300, RequestMethod: "POST", RequestURL: "https://receiver.example.com/in?token=redacted",
		RequestHeaders: reqHeaders, RequestBody: `{"event":"call.hangup","call_id":"CA-777"}`, ResponseStatus: &s500,
		ResponseBody: "upstream exploded", ErrorKind: models.ErrKindHTTPStatus, ErrorMessage: "receiver answered 500", NextRetryAt: &retry,
		ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{{Name: "Content-Type", Value: "text/plain"}}}})
	seedAttempt(t, app, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: w.ID, Number: 2, Trigger: models.TriggerManual,
		StartedAt: retry, DurationMS: 87, RequestMethod: "POST", RequestURL: "https://receiver.example.com/in?token=redacted",
		RequestHeaders: reqHeaders, RequestBody: `{"event":"call.hangup","call_id":"CA-777"}`, ResponseStatus: &s200,
		ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{{Name: "X-Receiver", Value: "ok-7"}}}, ResponseBody: "thanks"})
	seedAttempt(t, app, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: w.ID, Number: 3, Trigger: models.TriggerManual,
		StartedAt: retry.Add(time.Minute), DurationMS: 10000, RequestMethod: "POST", RequestURL: "https://receiver.example.com/in?token=redacted",
		RequestHeaders: reqHeaders, ErrorKind: models.ErrKindTimeout, ErrorMessage: "no answer within 10s"})
	c := app.SignIn(t, tn)
	path := "/deliveries/" + pubID(t, app, d.ID)

	res := c.Get(t, path)
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	t.Run("summary", func(t *testing.T) {
		for _, want := range []string{d.EventID, "CA-777", `href="/webhooks/` + w.ID + `"`, "Detail hook", `class="badge badge-ok">succeeded`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("summary lacks %s", want)
			}
		}
	})
	t.Run("attempts newest first with their outcome", func(t *testing.T) {
		i3, i2, i1 := strings.Index(res.Body, `id="attempt-3"`), strings.Index(res.Body, `id="attempt-2"`), strings.Index(res.Body, `id="attempt-1"`)
		if i3 < 0 || i2 < 0 || i1 < 0 || !(i3 < i2 && i2 < i1) {
			t.Fatalf("attempt cards at %d, %d, %d; want 3, 2, 1 in that order", i3, i2, i1)
		}
		for _, want := range []string{
			`class="badge badge-bad">500`, `class="badge badge-ok">200`, `class="badge badge-bad">timed out`,
			"The receiver did not answer within the webhook&#39;s timeout.", "The receiver answered 500 Internal Server Error.", ">auto<", ">manual<", "2.30 s", "87 ms",
			"2026-03-01 12:00:00",
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("timeline lacks %s", want)
			}
		}
		// The delivery has succeeded: the retry once planned after attempt 1 is not ahead any more.
		if strings.Contains(res.Body, "Next retry at") {
			t.Error("a finished delivery still shows a next retry")
		}
	})
	t.Run("request and response as recorded, secrets redacted", func(t *testing.T) {
		if n := strings.Count(res.Body, "<details>"); n != 6 {
			t.Errorf("%d <details>, want request and response for each of 3 attempts", n)
		}
		for _, want := range []string{
			"POST https://receiver.example.com/in?token=redacted\nContent-Type: application/json\nAuthorization: [redacted]\nwebhook-id: " + d.EventID,
			"{&#34;event&#34;:&#34;call.hangup&#34;,&#34;call_id&#34;:&#34;CA-777&#34;}",
			"HTTP 500 Internal Server Error\nContent-Type: text/plain\n\nupstream exploded",
			"HTTP 200 OK\nX-Receiver: ok-7\n\nthanks",
			"No response was received.",
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("attempt records lack %q", want)
			}
		}
		if strings.Contains(res.Body, "live-receiver-secret") {
			t.Error("the page shows the secret of the stored request")
		}
	})
	t.Run("writers get a Redeliver button with the CSRF token", func(t *testing.T) {
		if !strings.Contains(res.Body, `hx-post="`+path+`/redeliver"`) || !strings.Contains(res.Body, `name="_csrf" value="`+c.CSRF()+`"`) {
			t.Error("no Redeliver form with the CSRF token")
		}
	})
	t.Run("viewers get none", func(t *testing.T) {
		email := "viewer-" + w.ID + "@example.com"
		if _, err := app.Store.CreateUser(context.Background(), tn.Account.ID, email, "viewer password", models.RoleViewer); err != nil {
			t.Fatal(err)
		}
		res := app.SignIn(t, handlertest.Tenant{Account: tn.Account, Email: email, Password: "viewer password"}).Get(t, path)
		if res.Status != http.StatusOK || strings.Contains(res.Body, "/redeliver") || strings.Contains(res.Body, "Redelivery is unavailable") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("a pending delivery shows its next attempt", func(t *testing.T) {
		p := seedDelivery(t, app, w, "call.missed", models.StatusPending, "CA-778", time.Date(2026, 3, 2, 8, 0, 0, 0, kolkata))
		res := c.Get(t, "/deliveries/"+pubID(t, app, p.ID))
		due := p.NextAttemptAt.In(kolkata).Format("2006-01-02 15:04:05")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "The first attempt is due "+due) || !strings.Contains(res.Body, "No attempts yet.") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestDeliveriesAreIsolated(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	w := logWebhook(t, app, a, "A private hook")
	d := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-SECRET-CALL", time.Now())
	cb := app.SignIn(t, b)
	cb.Get(t, "/deliveries")
	id := pubID(t, app, d.ID)

	leaks := func(t *testing.T, body, typed string) {
		t.Helper()
		for _, s := range []string{"A private hook", "CA-SECRET-CALL", d.EventID, w.ID} {
			if s != typed && strings.Contains(body, s) {
				t.Errorf("B's page shows A's %q", s)
			}
		}
	}
	t.Run("B's list is empty", func(t *testing.T) {
		res := cb.Get(t, "/deliveries")
		if res.Status != http.StatusOK || len(listedIDs(t, app, res.Body)) != 0 || !strings.Contains(res.Body, "No deliveries yet") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		leaks(t, res.Body, "")
	})
	cases := []struct {
		name, method, path string
		status             int
		typed              string // what B typed, and may see echoed in the form
	}{
		{"detail", "GET", "/deliveries/" + id, http.StatusNotFound, ""},
		{"redeliver", "POST", "/deliveries/" + id + "/redeliver", http.StatusNotFound, ""},
		{"list filtered by A's webhook", "GET", "/deliveries?webhook=" + w.ID, http.StatusBadRequest, w.ID},
		{"list filtered by A's call id", "GET", "/deliveries?call_id=CA-SECRET-CALL", http.StatusOK, "CA-SECRET-CALL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res handlertest.Response
			if tc.method == "GET" {
				res = cb.Get(t, tc.path)
			} else {
				res = cb.Post(t, tc.path, url.Values{})
			}
			if res.Status != tc.status {
				t.Fatalf("want %d: %s", tc.status, handlertest.Describe(res))
			}
			if ids := listedIDs(t, app, res.Body); len(ids) != 0 {
				t.Errorf("B sees deliveries %v", ids)
			}
			leaks(t, res.Body, tc.typed)
		})
	}
	t.Run("A still sees it", func(t *testing.T) {
		if res := app.SignIn(t, a).Get(t, "/deliveries/"+id); res.Status != http.StatusOK || !strings.Contains(res.Body, "CA-SECRET-CALL") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

func TestDeliveryJunkParams(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Junk hook")
	seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "CA-1", time.Now())
	c := app.SignIn(t, tn)

	cases := []struct {
		path   string
		status int
		msg    string
	}{
		{"/deliveries?from=yesterday", 400, "Enter the start date as YYYY-MM-DD"},
		{"/deliveries?to=2026-13-45", 400, "Enter the end date as YYYY-MM-DD"},
		{"/deliveries?from=0001-01-01", 400, "Enter the start date"},
		{"/deliveries?from=2026-02-01&to=2026-01-01", 400, "The end date is before the start date."},
		{"/deliveries?before=abc", 400, "This page link is broken"},
		{"/deliveries?before=-1", 400, "This page link is broken"},
		{"/deliveries?before=0", 400, "This page link is broken"},
		{"/deliveries?before=99999999999999999999999", 400, "This page link is broken"},
		{"/deliveries?after=abc", 400, "This page link is broken"},
		{"/deliveries?after=-4", 400, "This page link is broken"},
		{"/deliveries?before=1", 400, "This page link is broken"},                                                         // a row number, not a cursor
		{"/deliveries?before=" + cursorID(t, app, publicid.DeliveryCursor, 1) + "&after=abc", 200, "No deliveries match"}, // before wins; after is not read
		{"/calls/" + strings.Repeat("x", 600), 404, "does not exist"},
		{"/calls/%ff%fe", 404, "does not exist"},
		{"/calls/%27%3B+DROP+TABLE+events%3B--", 404, "does not exist"},
		{"/deliveries?status=bogus", 400, "Unknown status."},
		{"/deliveries?status=%00", 400, "Unknown status."},
		{"/deliveries?event_type=call.nope", 400, "Unknown event type."},
		{"/deliveries?event_type=%00%ff", 400, "Unknown event type."},
		{"/deliveries?webhook=..%2F..%2Fetc", 400, "Unknown webhook."},
		{"/deliveries?webhook=wh_%00", 400, "Unknown webhook."},
		{"/deliveries?call_id=%00", 400, "A call ID is up to 128 printable characters."},
		{"/deliveries?call_id=%ff%fe", 400, "A call ID is up to 128 printable characters."},
		{"/deliveries?call_id=" + strings.Repeat("x", 129), 400, "A call ID is up to 128"},
		{"/deliveries?call_id=%27%3B+DROP+TABLE+deliveries%3B--", 200, "No deliveries match"},
		{"/deliveries?unknown=param&page=-3", 200, "Junk hook"},
		{"/deliveries?status=failed&status=succeeded", 200, "No deliveries match"}, // the first value counts
		{"/deliveries/abc", 404, "does not exist"},
		{"/deliveries/0", 404, "does not exist"},
		{"/deliveries/-5", 404, "does not exist"},
		{"/deliveries/1e3", 404, "does not exist"},
		{"/deliveries/99999999999999999999999", 404, "does not exist"},
		{"/deliveries/%00", 404, "does not exist"},
		{"/deliveries/9223372036854775807", 404, "does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res := c.Get(t, tc.path)
			if res.Status != tc.status || !strings.Contains(res.Body, tc.msg) {
				t.Fatalf("want %d with %q: %s", tc.status, tc.msg, handlertest.Describe(res))
			}
		})
	}
	t.Run("a bad filter keeps the form and echoes nothing unsafe", func(t *testing.T) {
		res := c.Get(t, "/deliveries?from=%3Cscript%3Ealert(1)%3C/script%3E&call_id=%00")
		if res.Status != 400 || strings.Contains(res.Body, "<script>alert") || !strings.Contains(res.Body, `name="call_id"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("POST redeliver with a junk id", func(t *testing.T) {
		for _, id := range []string{"abc", "0", "-1", "99999999999999999999"} {
			if res := c.Post(t, "/deliveries/"+id+"/redeliver", url.Values{}); res.Status != http.StatusNotFound {
				t.Errorf("%s: %s", id, handlertest.Describe(res))
			}
		}
	})
}

func TestRedeliverWithoutDispatcher(t *testing.T) {
	app := newAppWith(t, nil)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Unavailable hook")
	d := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-1", time.Now())
	c := app.SignIn(t, tn)
	path := "/deliveries/" + pubID(t, app, d.ID) + "/redeliver"

	t.Run("the page says why there is no Redeliver button", func(t *testing.T) {
		res := c.Get(t, "/deliveries/"+pubID(t, app, d.ID))
		if res.Status != http.StatusOK || strings.Contains(res.Body, "/redeliver") || !strings.Contains(res.Body, "Redelivery is unavailable right now") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})

	for _, htmx := range []bool{false, true} {
		t.Run(fmt.Sprintf("htmx %v", htmx), func(t *testing.T) {
			h := http.Header{}
			if htmx {
				h.Set("HX-Request", "true")
			}
			res := c.PostRaw(t, path, url.Values{"_csrf": {c.CSRF()}}, h)
			if res.Status != http.StatusServiceUnavailable || !strings.Contains(res.Body, "Redelivery is unavailable") {
				t.Fatalf("%s", handlertest.Describe(res))
			}
		})
	}
	t.Run("viewers may not redeliver", func(t *testing.T) {
		if _, err := app.Store.CreateUser(context.Background(), tn.Account.ID, "viewer-"+w.ID+"@example.com", "viewer password", models.RoleViewer); err != nil {
			t.Fatal(err)
		}
		cv := app.SignIn(t, handlertest.Tenant{Account: tn.Account, Email: "viewer-" + w.ID + "@example.com", Password: "viewer password"})
		cv.Get(t, "/deliveries")
		if res := cv.Post(t, path, url.Values{}); res.Status != http.StatusForbidden {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

// fakeRedeliverer records a manual attempt the way the dispatcher would,
// without sending anything.
type fakeRedeliverer struct {
	store  *models.Store
	db     *gorm.DB
	mu     sync.Mutex
	status int   // response status of the next attempt
	err    error // returned instead of an attempt when set
	calls  []string
}

func (f *fakeRedeliverer) Redeliver(ctx context.Context, accountID string, deliveryID int64, who models.Actor) (*models.Attempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%d/%s", accountID, deliveryID, who.Label))
	if f.err != nil {
		return nil, f.err
	}
	d, err := f.store.Delivery(ctx, accountID, deliveryID)
	if err != nil {
		return nil, err
	}
	status := f.status
	a := models.Attempt{AccountID: accountID, DeliveryID: d.ID, WebhookID: d.WebhookID, Number: d.AttemptCount + 1, Trigger: models.TriggerManual,
		StartedAt: time.Now(), DurationMS: 42, RequestMethod: d.RequestMethod, RequestURL: d.RequestURL, ResponseStatus: &status, ResponseBody: "redelivered"}
	if status >= 300 {
		a.ErrorKind, a.ErrorMessage = models.ErrKindHTTPStatus, fmt.Sprintf("receiver answered %d", status)
	}
	db := f.db.WithContext(ctx)
	if err := db.Create(&a).Error; err != nil {
		return nil, err
	}
	newStatus := models.StatusSucceeded
	if status >= 300 {
		newStatus = models.StatusFailed
	}
	err = db.Exec(`UPDATE deliveries SET attempt_count = ?, status = ?, last_status_code = ? WHERE id = ?`, a.Number, newStatus, status, d.ID).Error
	return &a, err
}

// set changes what the next Redeliver does.
func (f *fakeRedeliverer) set(status int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.err = status, err
}

// Calls returns the calls so far as "account/delivery/actor".
func (f *fakeRedeliverer) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// newAppWith starts Ringhook like handlertest.New, but with the Redeliverer
// redeliverer makes (none when redeliverer is nil) and no dispatcher.
func newAppWith(t *testing.T, redeliverer func(*models.Store) handlers.Redeliverer) *handlertest.App {
	t.Helper()
	db, err := models.Open(context.Background(), modeltest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	store := models.NewStore(db, nil)
	var r handlers.Redeliverer
	if redeliverer != nil {
		r = redeliverer(store)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Store: store, Sessions: session.New(store, key, false),
		Redeliverer: r, Log: handlertest.Quiet})
	srv := httptest.NewServer(handlers.NewServer(h, handlers.ServerConfig{Log: handlertest.Quiet}))
	t.Cleanup(srv.Close)
	return &handlertest.App{URL: srv.URL, Store: store, DB: db, Server: srv}
}

func TestRedeliver(t *testing.T) {
	fake := &fakeRedeliverer{status: 200}
	app := newAppWith(t, func(s *models.Store) handlers.Redeliverer { fake.store = s; return fake })
	fake.db = app.DB
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Redelivered hook")
	d := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-9", time.Now())
	seedAttempt(t, app, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto,
		StartedAt: time.Now(), DurationMS: 5, RequestMethod: "POST", RequestURL: w.URL, ErrorKind: models.ErrKindConnect, ErrorMessage: "connection refused"})
	c := app.SignIn(t, tn)
	id := pubID(t, app, d.ID)
	page := c.Get(t, "/deliveries/"+id)
	if !strings.Contains(page.Body, `hx-post="/deliveries/`+id+`/redeliver"`) || !strings.Contains(page.Body, `name="_csrf"`) {
		t.Fatalf("no Redeliver form with a CSRF token: %s", handlertest.Describe(page))
	}

	t.Run("htmx gets the refreshed timeline and summary", func(t *testing.T) {
		res := c.PostRaw(t, "/deliveries/"+id+"/redeliver", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		for _, want := range []string{`<section id="timeline"`, `id="attempt-2"`, `id="attempt-1"`, "Redelivered: attempt #2 got 200.",
			`id="delivery-summary" hx-swap-oob="true"`, `class="badge badge-ok">succeeded`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("fragment lacks %s", want)
			}
		}
		if strings.Contains(res.Body, "<html") {
			t.Error("htmx got a whole page")
		}
		if calls := fake.Calls(); len(calls) != 1 {
			t.Errorf("Redeliver called %d times, want 1", len(calls))
		} else if got := calls[0]; got != fmt.Sprintf("%s/%d/%s", tn.Account.ID, d.ID, tn.Email) {
			t.Errorf("Redeliver called with %s", got)
		}
	})
	t.Run("a plain post redirects back with a flash", func(t *testing.T) {
		fake.set(503, nil)
		res := c.Post(t, "/deliveries/"+id+"/redeliver", url.Values{})
		if res.Status != http.StatusSeeOther || res.Location != "/deliveries/"+id {
			t.Fatalf("%s location %q", handlertest.Describe(res), res.Location)
		}
		page := c.Get(t, res.Location)
		if !strings.Contains(page.Body, "Redelivery attempt #3 failed: the receiver answered 503.") || !strings.Contains(page.Body, `id="attempt-3"`) {
			t.Fatalf("after redirect: %s", handlertest.Describe(page))
		}
	})
	t.Run("a delivery being sent is reported, not a server error", func(t *testing.T) {
		fake.set(200, fmt.Errorf("redeliver: %w", models.ErrInFlight))
		defer fake.set(200, nil)
		res := c.PostRaw(t, "/deliveries/"+id+"/redeliver", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "being sent right now") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("a delivery that cannot be rendered says so, distinct from one in flight", func(t *testing.T) {
		fake.set(200, fmt.Errorf("redeliver: %w", models.ErrUnrenderable))
		defer fake.set(200, nil)
		res := c.PostRaw(t, "/deliveries/"+id+"/redeliver", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "its request could not be built") || strings.Contains(res.Body, "being sent right now") {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("another account cannot redeliver it", func(t *testing.T) {
		before := len(fake.Calls())
		other := app.NewTenant(t, models.RoleOwner)
		co := app.SignIn(t, other)
		co.Get(t, "/deliveries")
		if res := co.Post(t, "/deliveries/"+id+"/redeliver", url.Values{}); res.Status != http.StatusNotFound {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if len(fake.Calls()) != before {
			t.Fatal("the Redeliverer was called for another account's delivery")
		}
	})
}

// TestRedeliverThroughDispatcher redelivers with the real dispatcher: the
// stored request goes out again byte for byte, secrets included, while the
// page shows them redacted.
func TestRedeliverThroughDispatcher(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	receiver := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		rw.Header().Set("X-Receiver", "seen")
		rw.WriteHeader(http.StatusAccepted)
		fmt.Fprint(rw, "accepted")
	}))
	t.Cleanup(receiver.Close)

	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Live hook")
	if err := app.DB.Exec(`UPDATE webhooks SET url = ? WHERE id = ?`, receiver.URL+"/in", w.ID).Error; err != nil {
		t.Fatal(err)
	}
	d := seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-LIVE", time.Now().Add(-time.Hour))
	if err := app.DB.Exec(`UPDATE deliveries SET request_url = ? WHERE id = ?`, receiver.URL+"/in", d.ID).Error; err != nil {
		t.Fatal(err)
	}
	c := app.SignIn(t, tn)
	id := pubID(t, app, d.ID)
	c.Get(t, "/deliveries/"+id)

	res := c.PostRaw(t, "/deliveries/"+id+"/redeliver", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Get("Authorization") != "Bearer live-receiver-secret" || got[0].Get("Webhook-Id") != d.EventID {
		t.Fatalf("receiver got %d requests: %v", len(got), got)
	}
	for _, want := range []string{`id="attempt-1"`, ">manual<", `class="badge badge-ok">202`, "Redelivered: attempt #1 got 202.",
		"Authorization: [redacted]", "HTTP 202 Accepted\n", "X-Receiver: seen", `hx-swap-oob="true"`, `class="badge badge-ok">succeeded`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("fragment lacks %s", want)
		}
	}
	if strings.Contains(res.Body, "live-receiver-secret") {
		t.Error("the fragment shows the receiver's secret")
	}
}

// TestDeliveryLogSaysHowFarBackHistoryGoes: the log says the account's
// history retention and, once there is history, its oldest delivery's
// time in the account's zone.
func TestDeliveryLogSaysHowFarBackHistoryGoes(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	c := app.SignIn(t, tn)
	if res := c.Get(t, "/deliveries"); !strings.Contains(res.Body, `<p class="muted" id="history-span">History is kept for 30 days (Settings).</p>`) {
		t.Fatalf("empty log: %s", handlertest.Describe(res))
	}
	w := logWebhook(t, app, tn, "History span")
	oldest := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "call_span", oldest)
	seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "call_span", oldest.Add(48*time.Hour))
	// Asia/Kolkata: 09:15 UTC is 14:45 IST.
	if res := c.Get(t, "/deliveries"); !strings.Contains(res.Body, "History is kept for 30 days (Settings); the oldest delivery is from 2026-11-20 14:45") {
		t.Fatalf("log with history: %s", handlertest.Describe(res))
	}
}
