package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/models/modeltest"
)

// planAll plans one plain delivery per matched webhook.
func planAll(_ *models.Event, hooks []models.Webhook) []models.NewDelivery {
	out := make([]models.NewDelivery, len(hooks))
	for i := range hooks {
		out[i] = models.NewDelivery{Webhook: &hooks[i], Request: models.RenderedRequest{Method: "POST", URL: hooks[i].URL, Body: []byte("{}")}}
	}
	return out
}

func batchEvent(accountID, id, typ string) *models.Event {
	return &models.Event{AccountID: accountID, ID: id, Type: typ, OccurredAt: fixtureBase,
		Payload: models.JSON[map[string]any]{V: map[string]any{"event": typ, "event_id": id}}}
}

// batchAccount is a new account removed (with its due deliveries) when the
// test ends: each test's Store has its own ephemeral keyring, so another
// test's Claim must not meet these webhooks.
func batchAccount(t *testing.T, s *models.Store) *models.Account {
	t.Helper()
	acc := newAccount(t, s)
	t.Cleanup(func() {
		if err := s.DB().Exec("DELETE FROM accounts WHERE id = ?", acc.ID).Error; err != nil {
			t.Errorf("remove account: %v", err)
		}
	})
	return acc
}

func countRows(t *testing.T, s *models.Store, table, accountID string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngestBatch: new events are stored with a delivery per matching
// webhook (matched per event type), an id stored before and a copy earlier
// in the batch are duplicates that create nothing, results keep the order
// of the batch.
func TestIngestBatch(t *testing.T) {
	s := newStore(t, func() time.Time { return fixtureBase })
	ctx := context.Background()
	acc := batchAccount(t, s)
	newWebhook(t, s, acc.ID, "a") // hangup, missed, answered
	newWebhook(t, s, acc.ID, "b")
	old := batchEvent(acc.ID, "evt_old", "call.hangup")
	if _, err := s.Ingest(ctx, old, planAll); err != nil {
		t.Fatal(err)
	}
	evs := []*models.Event{
		batchEvent(acc.ID, "evt_1", "call.hangup"),
		batchEvent(acc.ID, "evt_old", "call.hangup"),
		batchEvent(acc.ID, "evt_2", "call.dtmf"), // no webhook takes dtmf
		batchEvent(acc.ID, "evt_1", "call.hangup"),
		batchEvent(acc.ID, "evt_3", "call.missed"),
	}
	got, err := s.IngestBatch(ctx, acc.ID, evs, planAll)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.IngestResult{
		{EventID: "evt_1", Deliveries: 2}, {EventID: "evt_old", Deliveries: 2, Duplicate: true},
		{EventID: "evt_2"}, {EventID: "evt_1", Deliveries: 2, Duplicate: true}, {EventID: "evt_3", Deliveries: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := countRows(t, s, "events", acc.ID); n != 4 {
		t.Errorf("events stored: %d, want 4 (old, 1, 2, 3)", n)
	}
	if n := countRows(t, s, "deliveries", acc.ID); n != 6 {
		t.Errorf("deliveries: %d, want 6 (2 each for old, 1, 3)", n)
	}

	t.Run("the same batch again creates nothing", func(t *testing.T) {
		again, err := s.IngestBatch(ctx, acc.ID, evs, planAll)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if !r.Duplicate || r.Deliveries != want[i].Deliveries {
				t.Errorf("result %d = %+v", i, r)
			}
		}
		if n := countRows(t, s, "deliveries", acc.ID); n != 6 {
			t.Errorf("deliveries: %d, want 6", n)
		}
	})
	t.Run("an event of another account is refused", func(t *testing.T) {
		other := newAccount(t, s)
		if _, err := s.IngestBatch(ctx, acc.ID, []*models.Event{batchEvent(other.ID, "evt_x", "call.hangup")}, planAll); err == nil {
			t.Fatal("stored an event of another account")
		}
		if n := countRows(t, s, "events", other.ID); n != 0 {
			t.Errorf("other account has %d events", n)
		}
	})
	t.Run("more than the limit is refused", func(t *testing.T) {
		big := make([]*models.Event, models.MaxIngestBatch+1)
		for i := range big {
			big[i] = batchEvent(acc.ID, models.NewID("evt_"), "call.hangup")
		}
		if _, err := s.IngestBatch(ctx, acc.ID, big, planAll); !errors.Is(err, fault.ErrTooLarge) {
			t.Fatalf("err = %v, want too large", err)
		}
	})
}

// TestIngestBatchAtomic: when a statement fails after the events were
// inserted (here the delivery insert, on a webhook that does not exist),
// nothing of the batch is stored.
func TestIngestBatchAtomic(t *testing.T) {
	s := newStore(t, func() time.Time { return fixtureBase })
	ctx := context.Background()
	acc := batchAccount(t, s)
	newWebhook(t, s, acc.ID, "a")
	broken := func(ev *models.Event, hooks []models.Webhook) []models.NewDelivery {
		out := planAll(ev, hooks)
		if ev.ID == "evt_3" {
			ghost := hooks[0]
			ghost.ID = "wh_doesnotexist"
			out = append(out, models.NewDelivery{Webhook: &ghost, Request: out[0].Request})
		}
		return out
	}
	evs := []*models.Event{batchEvent(acc.ID, "evt_1", "call.hangup"), batchEvent(acc.ID, "evt_2", "call.hangup"), batchEvent(acc.ID, "evt_3", "call.hangup")}
	if _, err := s.IngestBatch(ctx, acc.ID, evs, broken); err == nil {
		t.Fatal("a failing delivery insert did not fail the batch")
	}
	if n := countRows(t, s, "events", acc.ID); n != 0 {
		t.Errorf("%d events stored by a failed batch", n)
	}
	if n := countRows(t, s, "deliveries", acc.ID); n != 0 {
		t.Errorf("%d deliveries stored by a failed batch", n)
	}
	got, err := s.IngestBatch(ctx, acc.ID, evs, planAll)
	if err != nil || got[0].Duplicate || got[2].Deliveries != 1 {
		t.Fatalf("retry after the failure: %+v, %v", got, err)
	}
}

// TestIngestBatchMarksDueAndNotifies: the one statement that stores the
// events and their deliveries also puts the webhook in the due set and
// notifies dispatchers; a batch of duplicates queues nothing and stays
// quiet.
func TestIngestBatchMarksDueAndNotifies(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	acc := batchAccount(t, s)
	w := newWebhook(t, s, acc.ID, "a")
	conn, err := pgx.Connect(ctx, modeltest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN ringhook_deliveries"); err != nil {
		t.Fatal(err)
	}
	evs := func() []*models.Event {
		out := []*models.Event{batchEvent(acc.ID, "evt_due_1", "call.hangup"), batchEvent(acc.ID, "evt_due_2", "call.hangup")}
		for _, ev := range out {
			ev.OccurredAt = time.Now()
		}
		return out
	}
	res, err := s.IngestBatch(ctx, acc.ID, evs(), planAll)
	if err != nil || res[0].Deliveries != 1 || res[1].Deliveries != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.WaitForNotification(wctx); err != nil {
		t.Fatalf("no notification after queueing: %v", err)
	}
	var due *time.Time
	if err := s.DB().Raw("SELECT next_due_at FROM webhooks WHERE id = ?", w.ID).Scan(&due).Error; err != nil {
		t.Fatal(err)
	}
	if due == nil || due.After(time.Now()) {
		t.Fatalf("next_due_at = %v, want at or before now", due)
	}
	res, err = s.IngestBatch(ctx, acc.ID, evs(), planAll)
	if err != nil || !res[0].Duplicate || !res[1].Duplicate || res[0].Deliveries != 1 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	qctx, qcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer qcancel()
	if n, err := conn.WaitForNotification(qctx); err == nil {
		t.Fatalf("a batch of duplicates notified: %+v", n)
	}
}

// TestEventIDsStayUniqueOnEveryPath: ingest claims its ids in the
// event_ids ledger itself (the per-row trigger stands aside in its
// transactions), and every other writer of events still goes through the
// trigger; either way an id is stored once, also in a later week's
// partition.
func TestEventIDsStayUniqueOnEveryPath(t *testing.T) {
	now := fixtureBase
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := batchAccount(t, s)
	ingested, direct := models.NewID("evt_"), models.NewID("evt_")
	stored := func(id string) (events, ledger int64) {
		t.Helper()
		db := s.DB()
		if err := db.Raw(`SELECT count(*) FROM events WHERE account_id = ? AND id = ?`, acc.ID, id).Scan(&events).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Raw(`SELECT count(*) FROM event_ids WHERE account_id = ? AND id = ?`, acc.ID, id).Scan(&ledger).Error; err != nil {
			t.Fatal(err)
		}
		return events, ledger
	}
	insertDirect := func(id string) {
		t.Helper()
		ev := batchEvent(acc.ID, id, "call.hangup")
		ev.ReceivedAt = now
		if err := s.DB().Create(ev).Error; err != nil {
			t.Fatal(err)
		}
	}

	res, err := s.IngestBatch(ctx, acc.ID, []*models.Event{batchEvent(acc.ID, ingested, "call.hangup")}, planAll)
	if err != nil || res[0].Duplicate {
		t.Fatalf("first ingest: %+v, %v", res, err)
	}
	insertDirect(direct)
	if e, l := stored(ingested); e != 1 || l != 1 {
		t.Fatalf("ingested id: %d events, %d in the ledger", e, l)
	}
	if e, l := stored(direct); e != 1 || l != 1 {
		t.Fatalf("id written outside ingest: %d events, %d in the ledger (the trigger did not claim it)", e, l)
	}

	now = now.Add(8 * 24 * time.Hour) // the next week's partition
	for _, id := range []string{ingested, direct} {
		res, err := s.IngestBatch(ctx, acc.ID, []*models.Event{batchEvent(acc.ID, id, "call.hangup")}, planAll)
		if err != nil || !res[0].Duplicate {
			t.Fatalf("ingest of stored %s a week later: %+v, %v; want a duplicate", id, res, err)
		}
		insertDirect(id)
		if e, l := stored(id); e != 1 || l != 1 {
			t.Fatalf("%s a week later: %d events, %d in the ledger; want one of each", id, e, l)
		}
	}
}
