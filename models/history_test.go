package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestHistoryWeeksAgreeWithSQL: the Go week numbers (which the Store
// caches partitions by) are SQL's history_week, at and around week
// boundaries, and a week starts on a Monday at midnight UTC.
func TestHistoryWeeksAgreeWithSQL(t *testing.T) {
	db := newStore(t, nil).DB()
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{monday, monday.Add(-time.Microsecond), monday.Add(-time.Second), monday.Add(7*24*time.Hour - time.Second),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 6, 15, 13, 0, 0, 0, time.FixedZone("x", 5*3600))} {
		var sqlWeek int
		var sqlStart time.Time
		if err := db.Raw(`SELECT history_week(?), history_week_start(history_week(?))`, at, at).Row().Scan(&sqlWeek, &sqlStart); err != nil {
			t.Fatal(err)
		}
		if w := models.HistoryWeek(at); w != sqlWeek {
			t.Errorf("%s: Go week %d, SQL week %d", at, w, sqlWeek)
		}
		if start := models.HistoryWeekStart(sqlWeek); !start.Equal(sqlStart) || start.Weekday() != time.Monday || start.Hour() != 0 {
			t.Errorf("%s: week %d starts at %s in Go, %s in SQL; want a Monday midnight", at, sqlWeek, start, sqlStart)
		}
	}
}

// TestRowsWrittenBeforeTheirWeekHadPartitions: a row written into a week
// that has no partitions yet waits in the default partition, and moves
// into the week's own partition when the Store first writes there.
func TestRowsWrittenBeforeTheirWeekHadPartitions(t *testing.T) {
	at := time.Date(2041, 3, 6, 10, 0, 0, 0, time.UTC) // a week no other test writes in
	s := newStore(t, func() time.Time { return at })
	ctx := context.Background()
	acc := newAccount(t, s)
	db := s.DB()
	if err := db.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at) VALUES (?, 'evt_early', 'call.hangup', ?, '{}', ?)`,
		acc.ID, at, at).Error; err != nil {
		t.Fatal(err)
	}
	where := func() string {
		var rel string
		if err := db.Raw(`SELECT tableoid::regclass::text FROM events WHERE account_id = ? AND id = 'evt_early'`, acc.ID).Scan(&rel).Error; err != nil {
			t.Fatal(err)
		}
		return rel
	}
	if got := where(); got != "events_default" {
		t.Fatalf("before its week has partitions the event is in %q, want events_default", got)
	}
	ev := &models.Event{AccountID: acc.ID, ID: "evt_later", Type: "call.hangup", OccurredAt: at,
		Payload: models.JSON[map[string]any]{V: map[string]any{}}}
	if _, err := s.Ingest(ctx, ev, func(*models.Event, []models.Webhook) []models.NewDelivery { return nil }); err != nil {
		t.Fatal(err)
	}
	if got, want := where(), "events_20410304"; got != want {
		t.Errorf("after the Store wrote into its week the event is in %q, want %q", got, want)
	}
	// The ledger knew it all along: it is still a duplicate.
	dup := &models.Event{AccountID: acc.ID, ID: "evt_early", Type: "call.hangup", OccurredAt: at,
		Payload: models.JSON[map[string]any]{V: map[string]any{}}}
	if res, err := s.Ingest(ctx, dup, func(*models.Event, []models.Webhook) []models.NewDelivery { return nil }); err != nil || !res.Duplicate {
		t.Errorf("the early event again: %+v, %v; want a duplicate", res, err)
	}
}

// TestTrimHistoryProbesIndexes: the row-by-row trim, which names
// deliveries and attempts itself now that no foreign key cascades between
// the partitioned tables, finds them by index (nested loops), never by
// hashing whole tables, which at ten million deliveries took seconds.
func TestTrimHistoryProbesIndexes(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "trim")
	for i := range 20 {
		insertDelivery(t, s, w, "call.hangup", models.StatusSucceeded, "", now.AddDate(0, 0, -40).Add(time.Duration(i)*time.Minute), false)
	}
	if err := s.DB().Exec("ANALYZE events, deliveries, attempts").Error; err != nil {
		t.Fatal(err)
	}
	plan, err := s.ExplainTrimHistory(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Delete on deliveries") || !strings.Contains(plan, "Delete on attempts") {
		t.Fatalf("the plan does not delete deliveries and attempts:\n%s", plan)
	}
	for _, bad := range []string{"Hash Join", "Merge Join"} {
		if strings.Contains(plan, bad) {
			t.Errorf("the trim joins by %s:\n%s", bad, plan)
		}
	}
}
