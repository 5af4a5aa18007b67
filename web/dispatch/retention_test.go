package dispatch_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestTrimHistoryAfterRetention moves the clock past an account's history
// retention (2 days): the events older than that go with their deliveries
// and attempts, in small batches; a younger event, an old event whose
// delivery is still retrying, and another account's history (30 days)
// stay; the console's "history goes back to" moves with them.
func TestTrimHistoryAfterRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.store.UpdateAccountSettings(ctx, f.account.ID, models.Actor{Label: "t"}, models.AccountSettings{Name: f.account.Name,
		TimeZone: f.account.TimeZone, DefaultCountry: f.account.DefaultCountry, SecretGrace: time.Hour, HistoryRetentionDays: 2}); err != nil {
		t.Fatal(err)
	}
	d := f.dispatcher(t, nil)
	ok := f.webhook(t, newReceiver(t, nil).URL, func(in *models.WebhookInput) { in.EventTypes = []string{"call.hangup"} })
	failing := f.webhook(t, newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }).URL,
		func(in *models.WebhookInput) { in.EventTypes, in.MaxAttempts = []string{"call.received"}, 10 })
	other := f.another(t)
	ow := other.webhook(t, newReceiver(t, nil).URL, nil)
	for range 3 {
		f.ingest(t, d, event("call.hangup", nil))
	}
	f.ingest(t, d, event("call.received", nil)) // retries for days
	other.ingest(t, d, event("call.hangup", nil))
	processDue(t, d)
	f.clock.Advance(36 * time.Hour)
	f.ingest(t, d, event("call.hangup", nil)) // 36 h younger
	processDue(t, d)
	start, err := f.store.HistoryStart(ctx, f.account.ID)
	if err != nil || start == nil {
		t.Fatalf("history start: %v, %v", start, err)
	}

	if n, err := d.TrimHistory(ctx); err != nil || n != 0 {
		t.Fatalf("trim before the retention: %d, %v", n, err)
	}
	f.clock.Advance(13 * time.Hour) // the first four events are 49 h old, the fifth 13 h
	if n, err := f.store.TrimHistory(ctx, 1); err != nil || n != 1 {
		t.Fatalf("one small batch: %d, %v", n, err)
	}
	if n, err := d.TrimHistory(ctx); err != nil || n != 2 {
		t.Fatalf("the rest: %d, %v; want the two other delivered old events", n, err)
	}
	if got := f.deliveries(t, ok.ID); len(got) != 1 || len(f.attempts(t, got[0].ID)) != 1 {
		t.Errorf("the delivered webhook keeps %d deliveries, want only the young one with its attempt", len(got))
	}
	var orphans int64
	f.db.Model(&models.Attempt{}).Where("webhook_id = ? AND delivery_id NOT IN (SELECT id FROM deliveries)", ok.ID).Count(&orphans)
	if orphans != 0 {
		t.Errorf("%d attempts outlived their deliveries", orphans)
	}
	if got := f.deliveries(t, failing.ID); len(got) != 1 || got[0].Status != models.StatusPending {
		t.Errorf("the retrying delivery: %+v, want it kept, pending", got)
	}
	if got := other.deliveries(t, ow.ID); len(got) != 1 {
		t.Errorf("the other account (30 days) has %d deliveries, want its 1", len(got))
	}
	// The oldest left is the retrying delivery, as old as the first.
	if later, err := f.store.HistoryStart(ctx, f.account.ID); err != nil || later == nil || later.Before(*start) {
		t.Errorf("history start after the trim: %v, %v (was %v)", later, err, start)
	}
	if n, err := f.store.HistoryStart(ctx, "acc_nobody"); err != nil || n != nil {
		t.Errorf("an account without deliveries: %v, %v", n, err)
	}
	if n, err := d.TrimHistory(ctx); err != nil || n != 0 {
		t.Errorf("trim again: %d, %v", n, err)
	}
}
