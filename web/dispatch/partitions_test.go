package dispatch_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// weekRows counts the rows of each history table in the partition of the
// week holding at; -1 when the week has no partition.
func (f *fixture) weekRows(t *testing.T, at time.Time) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tab := range []string{"events", "deliveries", "attempts"} {
		var name *string
		if err := f.db.Raw(`SELECT to_regclass(history_partition_name(?, history_week(?)))::text`, tab, at).Scan(&name).Error; err != nil {
			t.Fatal(err)
		}
		out[tab] = -1
		if name != nil {
			var n int64
			if err := f.db.Raw(`SELECT count(*) FROM ` + *name).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			out[tab] = n
		}
	}
	return out
}

// TestHistoryPartitionsGoWhole moves the clock forward over a database of
// its own. A week's partitions are dropped only once the week is older than
// the longest retention of any account (60 days here, though the first
// account keeps 30), never while one of its deliveries is still retrying,
// and with the week's event ids; the younger weeks keep every row, the
// weeks ahead of the clock exist before anything is written to them, and
// nothing waits in the default partitions.
func TestHistoryPartitionsGoWhole(t *testing.T) {
	ctx := context.Background()
	db := modeltest.OwnDatabase(t, "dispatch_partitions")
	clk := newClock()
	f := (&fixture{store: models.NewStore(db, clk.Now, models.WithKeyring(modeltest.Keyring())), db: db, clock: clk}).another(t)
	long := f.another(t)
	if _, err := f.store.UpdateAccountSettings(ctx, long.account.ID, models.Actor{Label: "t"}, models.AccountSettings{Name: long.account.Name,
		TimeZone: long.account.TimeZone, DefaultCountry: long.account.DefaultCountry, SecretGrace: time.Hour, HistoryRetentionDays: 60}); err != nil {
		t.Fatal(err)
	}
	d := f.dispatcher(t, nil)
	f.webhook(t, newReceiver(t, nil).URL, func(in *models.WebhookInput) { in.EventTypes = []string{"call.hangup"} })
	failing := f.webhook(t, newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }).URL,
		func(in *models.WebhookInput) { in.EventTypes, in.MaxAttempts = []string{"call.received"}, 10 })
	long.webhook(t, newReceiver(t, nil).URL, nil)

	old := clk.Now()
	oldEvent := event("call.hangup", nil)
	f.ingest(t, d, oldEvent)
	f.ingest(t, d, event("call.hangup", nil))
	f.ingest(t, d, event("call.received", nil)) // fails and waits for its retry
	long.ingest(t, d, event("call.hangup", nil))
	processDue(t, d)
	if got := f.weekRows(t, old); got["events"] != 4 || got["deliveries"] != 4 || got["attempts"] != 4 {
		t.Fatalf("the first week holds %v, want 4 events, 4 deliveries, 4 attempts", got)
	}
	if got := f.weekRows(t, old.AddDate(0, 0, 7)); got["events"] != 0 || got["deliveries"] != 0 || got["attempts"] != 0 {
		t.Errorf("the next week: %v, want empty partitions made ahead of the clock", got)
	}

	clk.Advance(20 * 24 * time.Hour)
	young := clk.Now()
	youngEvent := event("call.hangup", nil)
	f.ingest(t, d, youngEvent)
	processDue(t, d)
	youngRows := f.weekRows(t, young)
	if youngRows["events"] != 1 || youngRows["deliveries"] != 1 || youngRows["attempts"] != 1 {
		t.Fatalf("the young week holds %v, want 1 of each", youngRows)
	}

	// 45 days on: past the first account's 30 days, not the other's 60.
	clk.Advance(25 * 24 * time.Hour)
	if m, err := f.store.MaintainHistory(ctx); err != nil || len(m.DroppedWeeks) != 0 || m.KeptOpen != 0 {
		t.Fatalf("45 days on: %+v, %v; want nothing dropped within the longest retention", m, err)
	}
	if got := f.weekRows(t, old); got["events"] != 4 {
		t.Fatalf("45 days on the first week holds %v", got)
	}

	// 75 days on: the first week is past every retention, but a delivery
	// in it still waits for its retry.
	clk.Advance(30 * 24 * time.Hour)
	m, err := f.store.MaintainHistory(ctx)
	if err != nil || m.KeptOpen != 1 || slices.Contains(m.DroppedWeeks, weekStart(old)) {
		t.Fatalf("75 days on, a retry still open: %+v, %v; want the first week kept", m, err)
	}
	if got := f.weekRows(t, old); got["events"] != 4 || got["deliveries"] != 4 || got["attempts"] < 5 {
		t.Fatalf("the first week with its retry open holds %v, want 4 events, 4 deliveries, 5 attempts or more (the retry's with its delivery)", got)
	}

	// Deleting the webhook cancels the retry: now the week goes whole.
	if _, err := f.store.DeleteWebhook(ctx, f.account.ID, failing.ID, models.Actor{Label: "t"}); err != nil {
		t.Fatal(err)
	}
	m, err = f.store.MaintainHistory(ctx)
	if err != nil || !slices.Equal(m.DroppedWeeks, []time.Time{weekStart(old)}) || m.EventIDs != 4 {
		t.Fatalf("after the cancel: %+v, %v; want the first week (%s) dropped and its 4 event ids forgotten", m, err, weekStart(old))
	}
	if got := f.weekRows(t, old); got["events"] != -1 || got["deliveries"] != -1 || got["attempts"] != -1 {
		t.Errorf("the first week's partitions: %v, want none", got)
	}
	if got := f.weekRows(t, young); !maps.Equal(got, youngRows) {
		t.Errorf("the young week holds %v after the drop, want %v untouched", got, youngRows)
	}
	if got := f.weekRows(t, clk.Now().AddDate(0, 0, 7)); got["events"] != 0 {
		t.Errorf("the week after the moved clock's: %v, want an empty partition", got)
	}
	var waiting int64
	if err := db.Raw(`SELECT (SELECT count(*) FROM events_default) + (SELECT count(*) FROM deliveries_default)
		+ (SELECT count(*) FROM attempts_default)`).Scan(&waiting).Error; err != nil || waiting != 0 {
		t.Errorf("%d rows in the default partitions (%v), want none", waiting, err)
	}

	// The young event is still a duplicate; the dropped one's id is free.
	if res := f.ingest(t, d, youngEvent); !res.Duplicate {
		t.Errorf("the young event again: %+v, want a duplicate", res)
	}
	if res := f.ingest(t, d, oldEvent); res.Duplicate {
		t.Errorf("the dropped event again: %+v, want it stored anew", res)
	}
	if m, err := f.store.MaintainHistory(ctx); err != nil || len(m.DroppedWeeks) != 0 || m.EventIDs != 0 {
		t.Errorf("maintain again: %+v, %v; want nothing to do", m, err)
	}
}

// weekStart is the Monday 00:00 UTC that begins the week holding t.
func weekStart(t time.Time) time.Time {
	day := t.UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}
