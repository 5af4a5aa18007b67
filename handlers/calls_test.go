package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/publicid"
)

// ingestAt is ingest with the event's type and time chosen.
func ingestAt(t *testing.T, app *handlertest.App, tn handlertest.Tenant, typ, callID string, at time.Time) string {
	t.Helper()
	id := models.NewID("evt_")
	raw := map[string]any{}
	if err := json.Unmarshal([]byte(strings.Replace(hangupEvent, "evt_%s", id, 1)), &raw); err != nil {
		t.Fatal(err)
	}
	raw["event"], raw["call_id"], raw["occurred_at"] = typ, callID, at.UTC().Format(time.RFC3339)
	if typ != "call.hangup" {
		delete(raw, "duration_seconds")
		delete(raw, "talk_seconds")
		delete(raw, "ended_at")
	}
	if _, err := app.Dispatcher.Ingest(context.Background(), tn.Account.ID, raw); err != nil {
		t.Fatalf("ingest %s: %v", typ, err)
	}
	if _, err := app.Dispatcher.ProcessDue(context.Background()); err != nil {
		t.Fatalf("process: %v", err)
	}
	return id
}

// TestCallView: /calls/{call_id} shows every event of one call in the
// order they occurred, each with both webhooks' deliveries, and every
// Call ID on the log and a delivery's page links to it.
func TestCallView(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	crm := liveHook(t, app, tn, "CRM", http.StatusOK)
	broken := liveHook(t, app, tn, "Broken", http.StatusInternalServerError)
	const call = "CA-call/1" // a slash: the link must escape it
	base := time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)
	// Ingested out of order; shown in the order they occurred.
	hangup := ingestAt(t, app, tn, "call.hangup", call, base.Add(2*time.Minute))
	answered := ingestAt(t, app, tn, "call.answered", call, base.Add(time.Minute))
	other := ingestAt(t, app, tn, "call.hangup", "CA-other", base)
	c := app.SignIn(t, tn)
	const path = "/calls/CA-call%2F1"

	res := c.Get(t, path)
	if res.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	t.Run("events in time order with each webhook's delivery", func(t *testing.T) {
		ia, ih := strings.Index(res.Body, `id="event-`+answered+`"`), strings.Index(res.Body, `id="event-`+hangup+`"`)
		if ia < 0 || ih < 0 || ia > ih {
			t.Fatalf("answered at %d, hangup at %d: want both, answered first", ia, ih)
		}
		if strings.Contains(res.Body, other) {
			t.Error("another call's event is shown")
		}
		for _, ev := range []string{answered, hangup} {
			var ds []models.Delivery
			if err := app.DB.Where("event_id = ?", ev).Order("id").Find(&ds).Error; err != nil || len(ds) != 2 {
				t.Fatalf("event %s has %d deliveries (%v), want 2", ev, len(ds), err)
			}
			item := between(res.Body, `id="event-`+ev+`"`, "</ol>")
			for _, d := range ds {
				li := between(item, `id="call-delivery-`+pubID(t, app, d.ID)+`"`, "</li>")
				hook, badge := "CRM", `badge-ok">succeeded`
				if d.WebhookID == broken.ID {
					hook, badge = "Broken", `badge-warn">pending`
				}
				if !strings.Contains(li, ">"+hook+"</a>") || !strings.Contains(li, badge) || !strings.Contains(li, `href="/deliveries/`+pubID(t, app, d.ID)+`"`) {
					t.Errorf("event %s delivery %d: %q", ev, d.ID, li)
				}
				if d.WebhookID == broken.ID && !strings.Contains(li, "next retry") {
					t.Errorf("the retrying delivery does not say when it is tried next: %q", li)
				}
			}
		}
		_ = crm
	})
	t.Run("the log and a delivery link to it", func(t *testing.T) {
		log := c.Get(t, "/deliveries").Body
		if n := strings.Count(log, `href="`+path+`" class="call-link"`); n != 4 {
			t.Errorf("the log links the call %d times, want 4 (2 events x 2 webhooks)", n)
		}
		for _, col := range []string{"<th>Call ID</th>", "<th>Latency</th>", "<th>Next retry</th>", ` ms</td>`} {
			if !strings.Contains(log, col) {
				t.Errorf("the log lacks %s", col)
			}
		}
		var id int64
		app.DB.Raw(`SELECT id FROM deliveries WHERE event_id = ? LIMIT 1`, hangup).Scan(&id)
		if page := c.Get(t, "/deliveries/"+pubID(t, app, id)).Body; !strings.Contains(page, `href="`+path+`" class="call-link"`) {
			t.Error("a delivery's page does not link its call")
		}
	})
	t.Run("unknown calls and other accounts' calls are not found", func(t *testing.T) {
		co := app.SignIn(t, app.NewTenant(t, models.RoleOwner))
		for _, p := range []string{path, "/calls/CA-none", "/calls/%00"} {
			if res := co.Get(t, p); res.Status != http.StatusNotFound {
				t.Errorf("%s: %s", p, handlertest.Describe(res))
			}
		}
	})
}

// TestDeliveryLogNewer walks the log down with Next and back up with
// Newer: each page comes back exactly, and empty filter fields leave the
// address.
func TestDeliveryLogNewer(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := logWebhook(t, app, tn, "Paged hook")
	first := seedDelivery(t, app, w, "call.hangup", models.StatusSucceeded, "CA-P", time.Date(2026, 2, 1, 9, 0, 0, 0, kolkata))
	if err := app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, created_at)
		SELECT ?, ?, ?, 'call.hangup', 'succeeded', ?::timestamptz + g * interval '1 minute'
		FROM generate_series(1, 129) AS g`, tn.Account.ID, w.ID, first.EventID, first.CreatedAt).Error; err != nil {
		t.Fatal(err)
	}
	c := app.SignIn(t, tn)
	link := func(body, rel, label string) string {
		m := regexp.MustCompile(`<a class="button" rel="` + rel + `" href="([^"]+)">` + label + `</a>`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return strings.ReplaceAll(m[1], "&amp;", "&")
	}

	t.Run("empty filter fields are left out of the address", func(t *testing.T) {
		res := c.Get(t, "/deliveries?webhook=&event_type=&status=succeeded&call_id=&from=&to=")
		if res.Status != http.StatusSeeOther || res.Location != "/deliveries?status=succeeded" {
			t.Fatalf("%d to %q, want 303 to /deliveries?status=succeeded", res.Status, res.Location)
		}
	})
	var pages [][]int64
	path := "/deliveries?status=succeeded"
	for path != "" {
		body := c.Get(t, path).Body
		pages = append(pages, listedIDs(t, app, body))
		path = link(body, "next", "Next page")
		if len(pages) > 4 {
			t.Fatal("pagination does not end")
		}
	}
	if len(pages) != 3 || len(pages[0]) != 50 || len(pages[1]) != 50 || len(pages[2]) != 30 {
		t.Fatalf("pages of %d rows", len(pages))
	}
	body := c.Get(t, "/deliveries?status=succeeded&before="+cursorID(t, app, publicid.DeliveryCursor, pages[1][49])).Body
	if !slices.Equal(listedIDs(t, app, body), pages[2]) {
		t.Fatal("the last page is not the one Next led to")
	}
	for want := 1; want >= 0; want-- {
		newer := link(body, "prev", "Newer")
		if newer == "" {
			t.Fatalf("page %d has no Newer link", want+2)
		}
		if u, _ := url.Parse(newer); u.Query().Get("status") != "succeeded" || u.Query().Get("after") == "" {
			t.Fatalf("Newer link %q does not keep the filter", newer)
		}
		if !strings.Contains(body, `href="/deliveries?status=succeeded">Newest</a>`) {
			t.Errorf("page %d has no Newest link", want+2)
		}
		body = c.Get(t, newer).Body
		if got := listedIDs(t, app, body); !slices.Equal(got, pages[want]) {
			t.Fatalf("Newer gave %v, want page %d %v", got, want+1, pages[want])
		}
	}
	if link(body, "prev", "Newer") != "" || strings.Contains(body, ">Newest</a>") {
		t.Error("the newest page offers Newer or Newest")
	}
}
