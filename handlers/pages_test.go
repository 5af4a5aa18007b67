package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/publicid"
)

var (
	blockEndRE = regexp.MustCompile(`</(?:td|th|li|div|p|summary|h[1-6])>`)
	tagRE      = regexp.MustCompile(`<[^>]*>`)
	spaceRE    = regexp.MustCompile(`\s+`)
)

// pageText is what a reader sees of an HTML fragment: tags removed (block
// ends become spaces), entities decoded, whitespace collapsed.
func pageText(fragment string) string {
	s := tagRE.ReplaceAllString(blockEndRE.ReplaceAllString(fragment, " "), "")
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(s), " "))
}

// coreTriggers are the eleven core triggers (catalog.Type.Core), with their console labels.
var coreTriggers = []struct{ id, label string }{
	{"call.received", "Call received on server"},
	{"call.dialed", "Dialed on extensions"},
	{"call.answered", "Call answered by extension"},
	{"call.missed", "Call missed"},
	{"call.hangup", "Call hangup"},
	{"call.ended", "Call missed or answered"},
	{"call.click_to_call.answered", "Call answered by customer (Click to Call)"},
	{"call.ivr_answered", "Call answered on IVR"},
	{"call.dtmf", "DTMF option"},
	{"call.ring_group_answered", "Call answered on ring group"},
	{"call.queue_answered", "Call answered on call queue"},
}

var articleRE = regexp.MustCompile(`(?s)<article class="card event-type" id="([^"]+)">(.*?)</article>`)

func TestEventCatalogPage(t *testing.T) {
	app := handlertest.New(t)
	c := app.SignIn(t, app.NewTenant(t, models.RoleViewer))
	res := c.Get(t, "/events/catalog")
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	articles := map[string]string{} // anchor -> inner HTML
	var order []string
	for _, m := range articleRE.FindAllStringSubmatch(res.Body, -1) {
		articles[m[1]] = m[2]
		order = append(order, m[1])
	}

	t.Run("every core trigger has its label, id, anchor and badge", func(t *testing.T) {
		for _, ct := range coreTriggers {
			anchor := "type-" + strings.ReplaceAll(ct.id, ".", "-")
			a, ok := articles[anchor]
			if !ok {
				t.Errorf("no article with id=%q", anchor)
				continue
			}
			if txt := pageText(a); !strings.Contains(txt, ct.label) || !strings.Contains(txt, ct.id) {
				t.Errorf("%s: article lacks label %q or id: %.300s", ct.id, ct.label, txt)
			}
			if !strings.Contains(a, `badge-core`) {
				t.Errorf("%s: no core badge", ct.id)
			}
		}
		badges := 0
		for _, a := range articles {
			badges += strings.Count(a, `badge-core`)
		}
		if badges != len(coreTriggers) {
			t.Errorf("%d core badges on event types, want %d", badges, len(coreTriggers))
		}
	})
	t.Run("types appear once each, grouped in catalog order", func(t *testing.T) {
		if len(order) < 30 {
			t.Fatalf("only %d event types listed", len(order))
		}
		seen := map[string]bool{}
		for _, id := range order {
			if seen[id] {
				t.Errorf("%s listed twice", id)
			}
			seen[id] = true
		}
		groups := []string{"Call lifecycle", "IVR / DTMF", "Queue / ring group", "Messaging", "Voicemail", "Disposition, notes and follow-ups", "Webhook operations"}
		last := -1
		for _, g := range groups {
			i := strings.Index(res.Body, `-heading">`+html.EscapeString(g)+`</h2>`)
			if i <= last {
				t.Errorf("group heading %q missing or out of order", g)
			}
			last = i
		}
		if slices.Index(order, "type-call-hangup") > slices.Index(order, "type-call-dtmf") ||
			slices.Index(order, "type-call-dtmf") > slices.Index(order, "type-message-received") {
			t.Errorf("types out of group order: %v", order)
		}
	})
	t.Run("fields and a pretty sample payload per type", func(t *testing.T) {
		a := articles["type-call-hangup"]
		for _, want := range []string{"<code>call_id</code>", "<code>hangup_cause</code>", "<code>duration_seconds</code>", "<summary>Sample payload</summary>"} {
			if !strings.Contains(a, want) {
				t.Errorf("call.hangup lacks %s", want)
			}
		}
		if !strings.Contains(pageText(a), `"event": "call.hangup"`) || !strings.Contains(a, "<pre class=\"http\">{\n  ") {
			t.Errorf("sample is not indented JSON of call.hangup: %.600s", a)
		}
		if !strings.Contains(articles["type-message-received"], "<code>message_id</code>") {
			t.Error("message.received lacks message_id")
		}
		if strings.Contains(articles["type-call-parked"], "badge-core") {
			t.Error("call.parked is not a core trigger")
		}
	})
	t.Run("envelope and headers are explained", func(t *testing.T) {
		txt := pageText(res.Body)
		for _, want := range []string{"event_id", "api_version", "occurred_at", "account_id", "webhook_id", "timezone", "*_local", "custom_data",
			"webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Event", "X-Webhook-Attempt"} {
			if !strings.Contains(txt, want) {
				t.Errorf("intro does not mention %s", want)
			}
		}
	})
	t.Run("samples are the same on every visit", func(t *testing.T) {
		again := c.Get(t, "/events/catalog")
		if again.Body != res.Body {
			t.Error("the catalog page changed between two visits")
		}
	})
}

var auditRowRE = regexp.MustCompile(`(?s)<tr id="audit-(\d+)">(.*?)</tr>`)

// auditRows returns the audit page's rows: entry id -> visible text, and the ids in page order.
func auditRows(body string) (map[int64]string, []int64) {
	rows := map[int64]string{}
	var ids []int64
	for _, m := range auditRowRE.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		rows[id] = pageText(m[2])
		ids = append(ids, id)
	}
	return rows, ids
}

func TestAuditLogPage(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	c.Get(t, "/webhooks/new")
	if res := c.Post(t, "/webhooks", fullForm("CRM v1")); res.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", handlertest.Describe(res))
	}
	w := mustWebhook(t, app, tn, "CRM v1")
	f := fullForm("CRM v2")
	f.Set("max_attempts", "7")
	if res := c.Post(t, "/webhooks/"+w.ID+"/edit", f); res.Status != http.StatusSeeOther {
		t.Fatalf("edit: %s", handlertest.Describe(res))
	}
	if res := c.Post(t, "/webhooks/"+w.ID+"/toggle", url.Values{"enabled": {"false"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("toggle: %s", handlertest.Describe(res))
	}
	gone := logWebhook(t, app, tn, "Short lived")
	if _, err := app.Store.DeleteWebhook(ctx, tn.Account.ID, gone.ID, models.Actor{Label: tn.Email}); err != nil {
		t.Fatal(err)
	}
	auto := models.AuditEntry{AccountID: tn.Account.ID, Actor: "ringhook", Action: "webhook.auto_disabled", ObjectType: "webhook",
		ObjectID: w.ID, After: &models.JSON[any]{V: map[string]any{"reason": "10 failures in a row"}}, CreatedAt: time.Now()}
	if err := app.DB.Omit("ID").Create(&auto).Error; err != nil {
		t.Fatal(err)
	}
	other := app.NewTenant(t, models.RoleAdmin)
	otherHook := logWebhook(t, app, other, "Other account hook")

	entries, err := app.Store.AuditLog(ctx, tn.Account.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byAction := map[string]models.AuditEntry{}
	for _, e := range entries {
		byAction[e.Action] = e
	}
	res := c.Get(t, "/audit")
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	rows, ids := auditRows(res.Body)

	t.Run("newest first, only this account's entries", func(t *testing.T) {
		want := make([]int64, len(entries))
		for i, e := range entries {
			want[i] = e.ID
		}
		if !slices.Equal(ids, want) || len(ids) != 6 {
			t.Fatalf("rows %v, want %v (6 entries)", ids, want)
		}
		for _, leak := range []string{"Other account hook", otherHook.ID} {
			if strings.Contains(res.Body, leak) {
				t.Errorf("the page shows another account's %q", leak)
			}
		}
	})
	t.Run("actions have human labels", func(t *testing.T) {
		for action, label := range map[string]string{
			"webhook.created": "Created webhook", "webhook.updated": "Updated webhook", "webhook.disabled": "Disabled webhook",
			"webhook.deleted": "Deleted webhook", "webhook.auto_disabled": "Disabled automatically",
		} {
			e, ok := byAction[action]
			if !ok {
				t.Fatalf("no %s entry was recorded", action)
			}
			if !strings.Contains(rows[e.ID], label) {
				t.Errorf("%s row %q lacks %q", action, rows[e.ID], label)
			}
		}
	})
	t.Run("created entry: time in the account's zone, actor, object link", func(t *testing.T) {
		e := byAction["webhook.created"]
		row := rows[e.ID]
		when := e.CreatedAt.In(kolkata).Format("2006-01-02 15:04:05")
		if !strings.HasPrefix(row, when+" IST "+tn.Email+" Created webhook") {
			t.Errorf("row %q, want it to start with %q", row, when+" IST "+tn.Email+" Created webhook")
		}
		if !strings.Contains(res.Body, `href="/webhooks/`+w.ID+`"`) || !strings.Contains(row, "CRM v2") {
			t.Error("the existing webhook is not linked by its current name")
		}
		if !strings.Contains(res.Body, "Times in Asia/Kolkata") {
			t.Error("the page does not say which time zone it uses")
		}
		if !strings.Contains(row, `name: (unset) → "CRM v1"`) {
			t.Errorf("created entry's changes: %q", row)
		}
	})
	t.Run("updated entry lists only the changed keys", func(t *testing.T) {
		row := rows[byAction["webhook.updated"].ID]
		for _, want := range []string{"2 changes", `name: "CRM v1" → "CRM v2"`, `max_attempts: 5 → 7`} {
			if !strings.Contains(row, want) {
				t.Errorf("updated row %q lacks %q", row, want)
			}
		}
		for _, same := range []string{"url:", "event_types:", "time_zone:"} {
			if strings.Contains(row, same) {
				t.Errorf("updated row lists unchanged %s", same)
			}
		}
	})
	t.Run("a deleted webhook keeps its name but has no link", func(t *testing.T) {
		row := rows[byAction["webhook.deleted"].ID]
		if !strings.Contains(row, "Short lived") || strings.Contains(res.Body, `href="/webhooks/`+gone.ID+`"`) {
			t.Errorf("deleted row %q", row)
		}
	})
	t.Run("another account's user sees none of these", func(t *testing.T) {
		res := app.SignIn(t, other).Get(t, "/audit")
		otherRows, _ := auditRows(res.Body)
		if res.Status != http.StatusOK || len(otherRows) != 1 || strings.Contains(res.Body, "CRM v") || strings.Contains(res.Body, tn.Email) {
			t.Fatalf("other account's log: %d rows, %s", len(otherRows), handlertest.Describe(res))
		}
	})
}

func TestAuditLogPagination(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	const total = 60
	err := app.DB.Exec(`INSERT INTO audit_log (account_id, actor, action, object_type, object_id, created_at)
		SELECT ?, 'seed', 'webhook.updated', 'webhook', 'wh_seed' || g, now() FROM generate_series(1, ?) AS g`, tn.Account.ID, total).Error
	if err != nil {
		t.Fatal(err)
	}
	c := app.SignIn(t, tn)
	first := c.Get(t, "/audit")
	_, page1 := auditRows(first.Body)
	if first.Status != http.StatusOK || len(page1) != 50 {
		t.Fatalf("first page: %d rows, %s", len(page1), handlertest.Describe(first))
	}
	if !slices.IsSortedFunc(page1, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("first page not newest first: %v", page1)
	}
	next := "/audit?before=" + cursorID(t, app, publicid.AuditCursor, page1[len(page1)-1])
	if !strings.Contains(first.Body, `href="`+html.EscapeString(next)+`"`) {
		t.Fatalf("first page has no link to %s", next)
	}
	if strings.Contains(first.Body, ">Newest<") {
		t.Error("the first page links to itself as Newest")
	}
	second := c.Get(t, next)
	_, page2 := auditRows(second.Body)
	if second.Status != http.StatusOK || len(page2) != total-50 {
		t.Fatalf("second page: %d rows, %s", len(page2), handlertest.Describe(second))
	}
	all := append(slices.Clone(page1), page2...)
	slices.Sort(all)
	if len(slices.Compact(all)) != total {
		t.Errorf("pages overlap or miss entries: %v then %v", page1, page2)
	}
	if page2[0] >= page1[len(page1)-1] {
		t.Errorf("second page starts at %d, not below %d", page2[0], page1[len(page1)-1])
	}
	if strings.Contains(second.Body, `rel="next"`) || !strings.Contains(second.Body, `href="/audit"`) {
		t.Error("the last page should link to the newest entries and to no next page")
	}
	beyond := c.Get(t, "/audit?before="+cursorID(t, app, publicid.AuditCursor, slices.Min(page2)))
	if _, rows := auditRows(beyond.Body); beyond.Status != http.StatusOK || len(rows) != 0 || !strings.Contains(beyond.Body, "No older entries") {
		t.Errorf("past the end: %d rows, %s", len(rows), handlertest.Describe(beyond))
	}
}

func TestAuditLogBadBefore(t *testing.T) {
	app := handlertest.New(t)
	c := app.SignIn(t, app.NewTenant(t, models.RoleViewer))
	for _, before := range []string{"abc", "0", "-5", "1.5", "1e3", "99999999999999999999999", "%00", "12%20OR%201=1"} {
		t.Run(before, func(t *testing.T) {
			res := c.Get(t, "/audit?before="+before)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "This page link is broken") {
				t.Fatalf("%s", handlertest.Describe(res))
			}
		})
	}
}

func TestDashboardChartAndFailures(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	w := logWebhook(t, app, tn, "Flaky CRM")
	now := time.Now()
	old := seedDelivery(t, app, w, "call.missed", models.StatusFailed, "CA-old", now.Add(-30*time.Hour)) // outside the chart
	var recent []models.Delivery
	for i := range 5 {
		recent = append(recent, seedDelivery(t, app, w, "call.hangup", models.StatusFailed, "CA-f"+strconv.Itoa(i), now.Add(-2*time.Hour)))
	}
	for i := range 3 {
		seedDelivery(t, app, w, "call.answered", models.StatusSucceeded, "CA-s"+strconv.Itoa(i), now.Add(-time.Minute))
	}
	seedDelivery(t, app, w, "call.hangup", models.StatusPending, "CA-p", now.Add(-5*time.Hour))
	other := app.NewTenant(t, models.RoleAdmin)
	otherFail := seedDelivery(t, app, logWebhook(t, app, other, "Other hook"), "call.hangup", models.StatusFailed, "CA-x", now)
	// The chart counts attempts (through the rollups): one per finished
	// delivery, and the first recent failure was retried once before it.
	var ds []models.Delivery
	if err := app.DB.Where("account_id IN ?", []string{tn.Account.ID, other.Account.ID}).Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		code, a := 200, models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: d.WebhookID, Number: 1, Trigger: models.TriggerAuto,
			StartedAt: d.CreatedAt, DurationMS: 120, RequestMethod: "POST", RequestURL: w.URL}
		switch d.Status {
		case models.StatusPending:
			continue // never attempted
		case models.StatusFailed:
			code, a.ErrorKind = 500, models.ErrKindHTTPStatus
			if d.ID == recent[0].ID {
				retry, next := a, d.CreatedAt.Add(time.Minute)
				retry.ResponseStatus, retry.NextRetryAt = &code, &next
				seedAttempt(t, app, retry)
				a.Number = 2 // started in the same hour, so both land in one bar
			}
		}
		a.ResponseStatus = &code
		seedAttempt(t, app, a)
	}
	for _, acc := range []string{tn.Account.ID, other.Account.ID} {
		if err := app.Store.RebuildRollups(context.Background(), acc); err != nil {
			t.Fatal(err)
		}
	}

	res := app.SignIn(t, tn).Get(t, "/")
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	t.Run("the chart has 24 hourly bars, stacked by outcome", func(t *testing.T) {
		if !strings.Contains(res.Body, `id="delivery-chart"`) {
			t.Fatal("no chart")
		}
		checks := []struct {
			what, sub string
			n         int
		}{
			{"hour groups", `<g class="bar">`, 24},
			{"hover texts", `<g class="bar"><title>`, 24},
			{"succeeded segments", `class="seg seg-ok"`, 1},
			{"failed segments", `class="seg seg-bad"`, 1},
			{"retried segments", `class="seg seg-warn"`, 1},
		}
		for _, c := range checks {
			if got := strings.Count(res.Body, c.sub); got != c.n {
				t.Errorf("%s: %d, want %d", c.what, got, c.n)
			}
		}
		if !strings.Contains(res.Body, ": 0 succeeded, 5 failed, 1 retried</title>") {
			t.Error("no hover text for the hour with five failures and a retry")
		}
		summary := "9 attempts in the last 24 hours: 3 succeeded, 5 failed, 1 retried."
		if !strings.Contains(pageText(res.Body), summary) || !strings.Contains(res.Body, `aria-describedby="delivery-chart-summary"`) {
			t.Errorf("no accessible summary %q", summary)
		}
	})
	t.Run("recent failures lists the five newest failed deliveries", func(t *testing.T) {
		for _, d := range recent {
			id := pubID(t, app, d.ID)
			if !strings.Contains(res.Body, `id="failure-`+id+`"`) || !strings.Contains(res.Body, `href="/deliveries/`+id+`"`) {
				t.Errorf("failure %s not listed with a link", id)
			}
		}
		for _, d := range []models.Delivery{old, otherFail} {
			if strings.Contains(res.Body, `id="failure-`+pubID(t, app, d.ID)+`"`) {
				t.Errorf("delivery %d should not be listed", d.ID)
			}
		}
		if n := strings.Count(res.Body, `id="failure-`); n != 5 {
			t.Errorf("%d failures listed, want 5", n)
		}
	})
	t.Run("an account without deliveries gets an empty chart", func(t *testing.T) {
		res := app.SignIn(t, app.NewTenant(t, models.RoleViewer)).Get(t, "/")
		if res.Status != http.StatusOK || strings.Count(res.Body, `<g class="bar">`) != 24 || strings.Contains(res.Body, `class="seg `) ||
			!strings.Contains(res.Body, "No attempts in the last 24 hours.") || !strings.Contains(res.Body, "No failed or retrying deliveries in the last 24 hours.") {
			t.Errorf("%s", handlertest.Describe(res))
		}
	})
}

func TestPagesForViewer(t *testing.T) {
	app := handlertest.New(t)
	c := app.SignIn(t, app.NewTenant(t, models.RoleViewer))
	pages := []struct{ path, nav string }{
		{"/", "/"},
		{"/webhooks", "/webhooks"},
		{"/deliveries", "/deliveries"},
		{"/numbers", "/numbers"},
		{"/api-keys", "/api-keys"},
		{"/events/catalog", "/events/catalog"},
		{"/audit", "/audit"},
		{"/audit?before=" + cursorID(t, app, publicid.AuditCursor, 1), "/audit"},
	}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			res := c.Get(t, p.path)
			if res.Status != http.StatusOK {
				t.Fatalf("%s", handlertest.Describe(res))
			}
			if !strings.Contains(res.Body, `<a href="`+p.nav+`" class="active" aria-current="page">`) {
				t.Errorf("navigation does not mark %s as current", p.nav)
			}
		})
	}
	t.Run("signed out, the new pages ask to sign in", func(t *testing.T) {
		for _, path := range []string{"/events/catalog", "/audit"} {
			if res := app.NewClient(t).Get(t, path); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login") {
				t.Errorf("%s: %d to %q", path, res.Status, res.Location)
			}
		}
	})
}
