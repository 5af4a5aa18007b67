package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// logFixture is one account's delivery log, built row by row so tests can
// compute what every filter should return.
type logFixture struct {
	store      *models.Store
	account    *models.Account
	hooks      []*models.Webhook
	deliveries []models.Delivery // in insertion (id) order
}

var fixtureBase = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

func newAccount(t *testing.T, s *models.Store) *models.Account {
	t.Helper()
	acc, err := s.CreateAccount(context.Background(), "Acct "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return acc
}

func newWebhook(t *testing.T, s *models.Store, accountID, name string) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = name, "https://example.com/"+name, []string{"call.hangup", "call.missed", "call.answered"}
	w, err := s.CreateWebhook(context.Background(), accountID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatalf("create webhook %s: %v", name, err)
	}
	return w
}

// insertDelivery stores an event and one delivery of it for w.
func insertDelivery(t *testing.T, s *models.Store, w *models.Webhook, eventType string, status models.DeliveryStatus, callID string, created time.Time, test bool) models.Delivery {
	t.Helper()
	db := s.DB().WithContext(context.Background())
	ev := models.Event{AccountID: w.AccountID, ID: models.NewID("evt_"), Type: eventType, OccurredAt: created, ReceivedAt: created,
		Payload: models.JSON[map[string]any]{V: map[string]any{"call_id": callID}}}
	var cid *string
	if callID != "" {
		ev.CallID, cid = &callID, &callID
	}
	if err := db.Create(&ev).Error; err != nil {
		t.Fatalf("insert event: %v", err)
	}
	code := 200
	if status == models.StatusFailed {
		code = 500
	}
	d := models.Delivery{AccountID: w.AccountID, WebhookID: w.ID, EventID: ev.ID, EventType: eventType, CallID: cid, Status: status,
		Test: test, AttemptCount: 1, LastStatusCode: &code, RequestMethod: "POST", RequestURL: w.URL,
		RequestHeaders: models.JSON[[]models.Header]{V: []models.Header{{Name: "Authorization", Value: "Bearer s3cret"}}},
		RequestBody:    []byte(`{"event":"` + eventType + `"}`), CreatedAt: created, UpdatedAt: created}
	if err := db.Create(&d).Error; err != nil {
		t.Fatalf("insert delivery: %v", err)
	}
	if d.ID == 0 {
		t.Fatal("insert delivery: no id returned")
	}
	return d
}

func newLogFixture(t *testing.T, s *models.Store) *logFixture {
	t.Helper()
	f := &logFixture{store: s, account: newAccount(t, s)}
	f.hooks = []*models.Webhook{newWebhook(t, s, f.account.ID, "alpha"), newWebhook(t, s, f.account.ID, "beta")}
	types := []string{"call.hangup", "call.missed", "call.answered"}
	statuses := []models.DeliveryStatus{models.StatusSucceeded, models.StatusFailed, models.StatusPending, models.StatusSucceeded, models.StatusSending}
	for i := 0; i < 30; i++ {
		d := insertDelivery(t, s, f.hooks[i%2], types[i%3], statuses[i%5], fmt.Sprintf("call-%d", i%4), fixtureBase.Add(time.Duration(i)*time.Hour), false)
		f.deliveries = append(f.deliveries, d)
	}
	return f
}

// want returns the ids of the fixture's deliveries that keep says, newest first.
func (f *logFixture) want(keep func(d models.Delivery) bool) []int64 {
	var out []int64
	for i := len(f.deliveries) - 1; i >= 0; i-- {
		if keep(f.deliveries[i]) {
			out = append(out, f.deliveries[i].ID)
		}
	}
	return out
}

func ids(rows []models.DeliveryRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func TestDeliveriesFilters(t *testing.T) {
	s := newStore(t, nil)
	f := newLogFixture(t, s)
	ctx := context.Background()
	at := func(h int) *time.Time { v := fixtureBase.Add(time.Duration(h) * time.Hour); return &v }
	mid := f.deliveries[15].ID

	cases := []struct {
		name   string
		filter models.DeliveryFilter
		keep   func(d models.Delivery) bool
	}{
		{"no filter lists every delivery", models.DeliveryFilter{}, func(models.Delivery) bool { return true }},
		{"webhook", models.DeliveryFilter{WebhookID: f.hooks[1].ID}, func(d models.Delivery) bool { return d.WebhookID == f.hooks[1].ID }},
		{"event type", models.DeliveryFilter{EventType: "call.missed"}, func(d models.Delivery) bool { return d.EventType == "call.missed" }},
		{"status", models.DeliveryFilter{Status: models.StatusFailed}, func(d models.Delivery) bool { return d.Status == models.StatusFailed }},
		{"call id", models.DeliveryFilter{CallID: "call-3"}, func(d models.Delivery) bool { return *d.CallID == "call-3" }},
		{"from is inclusive", models.DeliveryFilter{From: at(20)}, func(d models.Delivery) bool { return !d.CreatedAt.Before(*at(20)) }},
		{"to is exclusive", models.DeliveryFilter{To: at(5)}, func(d models.Delivery) bool { return d.CreatedAt.Before(*at(5)) }},
		{"date range", models.DeliveryFilter{From: at(3), To: at(9)}, func(d models.Delivery) bool {
			return !d.CreatedAt.Before(*at(3)) && d.CreatedAt.Before(*at(9))
		}},
		{"before", models.DeliveryFilter{Before: mid}, func(d models.Delivery) bool { return d.ID < mid }},
		{"combined", models.DeliveryFilter{WebhookID: f.hooks[0].ID, EventType: "call.hangup", Status: models.StatusSucceeded},
			func(d models.Delivery) bool {
				return d.WebhookID == f.hooks[0].ID && d.EventType == "call.hangup" && d.Status == models.StatusSucceeded
			}},
		{"unknown webhook", models.DeliveryFilter{WebhookID: "wh_doesnotexist"}, func(models.Delivery) bool { return false }},
		{"junk webhook id", models.DeliveryFilter{WebhookID: "wh_'; DROP TABLE deliveries; --"}, func(models.Delivery) bool { return false }},
		{"NUL in call id", models.DeliveryFilter{CallID: "call\x00-1"}, func(models.Delivery) bool { return false }},
		{"invalid UTF-8 in event type", models.DeliveryFilter{EventType: "call.\xff"}, func(models.Delivery) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.Deliveries(ctx, f.account.ID, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			want := f.want(tc.keep)
			if len(want) > models.DefaultDeliveryLimit {
				want = want[:models.DefaultDeliveryLimit]
			}
			if got := ids(rows); !slices.Equal(got, want) {
				t.Fatalf("got ids %v, want %v", got, want)
			}
		})
	}

	t.Run("rows carry the webhook name and list columns", func(t *testing.T) {
		rows, err := s.Deliveries(ctx, f.account.ID, models.DeliveryFilter{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("got %d rows, want 2", len(rows))
		}
		last := f.deliveries[len(f.deliveries)-1]
		r := rows[0]
		if r.WebhookName != "beta" || r.WebhookID != last.WebhookID || r.EventID != last.EventID || r.Status != last.Status ||
			r.AttemptCount != 1 || r.LastStatusCode == nil || !r.CreatedAt.Equal(last.CreatedAt) || r.AccountID != f.account.ID {
			t.Fatalf("row %+v does not match delivery %+v", r, last)
		}
		if r.RequestURL != "" || len(r.RequestBody) != 0 || len(r.RequestHeaders.V) != 0 {
			t.Error("list rows should not load the stored request")
		}
	})
}

func TestDeliveriesKeysetPagination(t *testing.T) {
	s := newStore(t, nil)
	f := newLogFixture(t, s)
	ctx := context.Background()

	for _, limit := range []int{1, 7, 10, 30, 31} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			seen := map[int64]int{}
			var order []int64
			for page, ids := range pageThrough(t, s, f.account.ID, models.DeliveryFilter{Limit: limit}) {
				if len(ids) > limit {
					t.Fatalf("page %d has %d rows, limit %d", page, len(ids), limit)
				}
				for _, id := range ids {
					seen[id]++
					order = append(order, id)
				}
			}
			if want := f.want(func(models.Delivery) bool { return true }); !slices.Equal(order, want) {
				t.Fatalf("pages returned %v, want %v", order, want)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("delivery %d returned %d times", id, n)
				}
			}
		})
	}

	t.Run("pagination keeps the filters", func(t *testing.T) {
		got := slices.Concat(pageThrough(t, s, f.account.ID, models.DeliveryFilter{WebhookID: f.hooks[0].ID, Limit: 4})...)
		if want := f.want(func(d models.Delivery) bool { return d.WebhookID == f.hooks[0].ID }); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	// A time range is walked in creation order, its cursor the row's
	// (created_at, id): every row in the range once, newest first, and the
	// page before (After) gives the previous page back.
	t.Run("pagination within a time range", func(t *testing.T) {
		from, to := fixtureBase.Add(4*time.Hour), fixtureBase.Add(23*time.Hour)
		pages := pageThrough(t, s, f.account.ID, models.DeliveryFilter{From: &from, To: &to, Limit: 4})
		got := slices.Concat(pages...)
		want := f.want(func(d models.Delivery) bool { return !d.CreatedAt.Before(from) && d.CreatedAt.Before(to) })
		if len(want) != 19 || !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v (19 rows)", got, want)
		}
		back := models.DeliveryFilter{From: &from, To: &to, Limit: 4, After: pages[2][0]}
		rows, err := s.Deliveries(ctx, f.account.ID, back)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(rows), pages[1]) {
			t.Fatalf("the page before page 3 is %v, want page 2 %v", ids(rows), pages[1])
		}
	})
}

// pageThrough follows the Before cursor from filter's first page to the
// last and returns each page's ids.
func pageThrough(t *testing.T, s *models.Store, accountID string, filter models.DeliveryFilter) [][]int64 {
	t.Helper()
	var pages [][]int64
	for len(pages) < 100 {
		rows, err := s.Deliveries(context.Background(), accountID, filter)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return pages
		}
		pages = append(pages, ids(rows))
		filter.Before = rows[len(rows)-1].ID
	}
	t.Fatal("pagination does not end")
	return nil
}

func TestDeliveriesLimit(t *testing.T) {
	s := newStore(t, nil)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "bulk")
	ev := insertDelivery(t, s, w, "call.hangup", models.StatusSucceeded, "bulk", fixtureBase, false)
	// 230 more deliveries of the same event, in one statement.
	err := s.DB().Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status)
		SELECT ?, ?, ?, 'call.hangup', 'succeeded' FROM generate_series(1, 230)`, acc.ID, w.ID, ev.EventID).Error
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		limit, want int
	}{
		{0, models.DefaultDeliveryLimit},
		{-5, models.DefaultDeliveryLimit},
		{3, 3},
		{200, 200},
		{1000, models.MaxDeliveryLimit},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			rows, err := s.Deliveries(context.Background(), acc.ID, models.DeliveryFilter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.want {
				t.Fatalf("got %d rows, want %d", len(rows), tc.want)
			}
		})
	}
}

func insertAttempt(t *testing.T, s *models.Store, d models.Delivery, number int) models.Attempt {
	t.Helper()
	code := 500 + number
	a := models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: d.WebhookID, Number: number, Trigger: models.TriggerAuto,
		StartedAt: d.CreatedAt.Add(time.Duration(number) * time.Minute), DurationMS: 10 * number, RequestMethod: "POST",
		RequestURL: d.RequestURL, ResponseStatus: &code, ErrorKind: models.ErrKindHTTPStatus}
	if err := s.DB().Create(&a).Error; err != nil {
		t.Fatalf("insert attempt: %v", err)
	}
	return a
}

func TestDeliveryAndAttempts(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	f := newLogFixture(t, s)
	d := f.deliveries[3]
	for _, n := range []int{2, 3, 1} {
		insertAttempt(t, s, d, n)
	}
	insertAttempt(t, s, f.deliveries[4], 1) // another delivery's attempt

	t.Run("delivery with its stored request", func(t *testing.T) {
		got, err := s.Delivery(ctx, f.account.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != d.ID || got.EventID != d.EventID || got.RequestURL != d.RequestURL || string(got.RequestBody) != string(d.RequestBody) {
			t.Fatalf("got %+v, want %+v", got, d)
		}
	})
	t.Run("attempts ordered by number", func(t *testing.T) {
		got, err := s.Attempts(ctx, f.account.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		var nums []int
		for _, a := range got {
			if a.DeliveryID != d.ID {
				t.Errorf("attempt of delivery %d listed for %d", a.DeliveryID, d.ID)
			}
			nums = append(nums, a.Number)
		}
		if !slices.Equal(nums, []int{1, 2, 3}) {
			t.Fatalf("numbers %v, want [1 2 3]", nums)
		}
	})
	t.Run("missing delivery", func(t *testing.T) {
		for _, id := range []int64{0, -1, 1 << 62} {
			if _, err := s.Delivery(ctx, f.account.ID, id); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("id %d: got %v, want ErrNotFound", id, err)
			}
		}
	})
	t.Run("delivery without attempts", func(t *testing.T) {
		got, err := s.Attempts(ctx, f.account.ID, f.deliveries[0].ID)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("got %v, %v; want an empty list", got, err)
		}
	})
}

func TestDeliveriesAreAccountScoped(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	a := newLogFixture(t, s)
	d := a.deliveries[7]
	insertAttempt(t, s, d, 1)
	b := newAccount(t, s)
	bHook := newWebhook(t, s, b.ID, "bown")
	bOwn := insertDelivery(t, s, bHook, "call.hangup", models.StatusSucceeded, "call-0", fixtureBase, false)

	t.Run("B's list holds only B's delivery", func(t *testing.T) {
		rows, err := s.Deliveries(ctx, b.ID, models.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(rows); !slices.Equal(got, []int64{bOwn.ID}) {
			t.Fatalf("got %v, want only %d", got, bOwn.ID)
		}
	})
	filters := []struct {
		name string
		f    models.DeliveryFilter
	}{
		{"A's webhook", models.DeliveryFilter{WebhookID: a.hooks[0].ID}},
		{"A's call id", models.DeliveryFilter{CallID: "call-1"}},
		{"before a high id", models.DeliveryFilter{Before: 1 << 62, EventType: "call.missed"}},
	}
	for _, tc := range filters {
		t.Run("B filtering by "+tc.name+" sees nothing", func(t *testing.T) {
			rows, err := s.Deliveries(ctx, b.ID, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 0 {
				t.Fatalf("B sees %v", ids(rows))
			}
		})
	}
	t.Run("B cannot open A's delivery", func(t *testing.T) {
		if got, err := s.Delivery(ctx, b.ID, d.ID); !errors.Is(err, models.ErrNotFound) || got != nil {
			t.Fatalf("got %v, %v; want ErrNotFound", got, err)
		}
	})
	t.Run("B sees no attempts of A's delivery", func(t *testing.T) {
		got, err := s.Attempts(ctx, b.ID, d.ID)
		if err != nil || len(got) != 0 {
			t.Fatalf("got %d attempts, %v", len(got), err)
		}
		if mine, _ := s.Attempts(ctx, a.account.ID, d.ID); len(mine) != 1 {
			t.Fatalf("A sees %d attempts, want 1", len(mine))
		}
	})
	t.Run("the schema refuses a delivery of A pointing at B's webhook", func(t *testing.T) {
		// Not something the dispatcher writes; the foreign key carries the account (0031).
		d := models.Delivery{AccountID: a.account.ID, WebhookID: bHook.ID, EventID: d.EventID, EventType: "call.hangup", Status: models.StatusFailed,
			RequestMethod: "POST", RequestURL: bHook.URL, RequestHeaders: models.JSON[[]models.Header]{V: []models.Header{}}}
		err := s.DB().WithContext(ctx).Create(&d).Error
		if err == nil || !strings.Contains(err.Error(), "deliveries_webhook_id_fkey") {
			t.Fatalf("insert of a delivery crossing accounts: %v, want the foreign key's refusal", err)
		}
	})
}
