package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringhook/ringhook/cmd/ringhook/seed"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

func TestMain(m *testing.M) { modeltest.Main(m, "seed") }

func TestShares(t *testing.T) {
	tests := []struct {
		n, m  int
		share float64
		want  []int
	}{
		{10, 1, 0.2, []int{10}},
		{100, 5, 0.2, []int{20, 20, 20, 20, 20}},
		{103, 4, 0.5, []int{52, 17, 17, 17}},
		{10_000_000, 100, 0.2, nil}, // checked by sum below
	}
	for _, tt := range tests {
		got := seed.Shares(tt.n, tt.m, tt.share)
		sum := 0
		for _, v := range got {
			sum += v
		}
		if sum != tt.n || len(got) != tt.m {
			t.Errorf("Shares(%d, %d, %v) = %v: sum %d, want %d in %d accounts", tt.n, tt.m, tt.share, got, sum, tt.n, tt.m)
		}
		if tt.want != nil {
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Errorf("Shares(%d, %d, %v) = %v, want %v", tt.n, tt.m, tt.share, got, tt.want)
					break
				}
			}
		}
	}
	if got := seed.Shares(10_000_000, 100, 0.2); got[0] != 2_000_000 {
		t.Errorf("the biggest of 10M over 100 accounts at 0.2 = %d, want 2,000,000", got[0])
	}
}

// Seeding a small history gives every account its share of events,
// deliveries and attempts, statuses of each kind, and rollups equal to a
// recount of the attempts; a second run refuses the seeded database.
func TestSeedCountsAndRollups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	store := models.NewStore(db, nil, models.WithKeyring(modeltest.Keyring()))
	o := seed.Defaults
	o.Deliveries, o.Accounts, o.Attempts, o.BiggestShare, o.Webhooks, o.Chunk = 3000, 4, 3, 0.5, 3, 700
	r, err := seed.Run(ctx, db, store, o, t.Logf)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	if len(r.Accounts) != 4 || r.Accounts[0].Deliveries != 1500 || r.Accounts[1].Deliveries != 500 {
		t.Fatalf("accounts %+v, want 4 with 1500 in the first and 500 in each other", r.Accounts)
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.WithContext(ctx).Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, a := range r.Accounts {
		if n := count(`SELECT count(*) FROM deliveries WHERE account_id = ?`, a.ID); n != int64(a.Deliveries) {
			t.Errorf("%s: %d deliveries, want %d", a.Name, n, a.Deliveries)
		}
		if n := count(`SELECT count(*) FROM events WHERE account_id = ?`, a.ID); n != int64(a.Deliveries) {
			t.Errorf("%s: %d events, want %d", a.Name, n, a.Deliveries)
		}
		if n := count(`SELECT count(*) FROM attempts WHERE account_id = ?`, a.ID); n != 3*int64(a.Deliveries) {
			t.Errorf("%s: %d attempts, want %d", a.Name, n, 3*a.Deliveries)
		}
		if n := count(`SELECT count(*) FROM webhooks WHERE account_id = ?`, a.ID); n != 3 {
			t.Errorf("%s: %d webhooks, want 3", a.Name, n)
		}
	}
	// Every delivery belongs to its account's event and webhook, and its
	// attempts to it (the foreign keys, which bulk loading may skip).
	if n := count(`SELECT count(*) FROM deliveries d LEFT JOIN events e ON e.account_id = d.account_id AND e.id = d.event_id
		LEFT JOIN webhooks w ON w.id = d.webhook_id AND w.account_id = d.account_id WHERE e.id IS NULL OR w.id IS NULL`); n != 0 {
		t.Errorf("%d deliveries without their event or webhook", n)
	}
	if n := count(`SELECT count(*) FROM attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id AND d.account_id = a.account_id
		AND d.webhook_id = a.webhook_id WHERE d.id IS NULL`); n != 0 {
		t.Errorf("%d attempts without their delivery", n)
	}
	// Every event's id is in the dedupe ledger, in its week: the seed's
	// bulk load may run with the ledger's trigger switched off.
	if n := count(`SELECT count(*) FROM events e LEFT JOIN event_ids k ON k.account_id = e.account_id AND k.id = e.id
		AND k.received_at = e.received_at WHERE k.id IS NULL`); n != 0 {
		t.Errorf("%d events missing from event_ids", n)
	}
	// Each delivery sits in its week's partition, not the default one.
	if n := count(`SELECT count(*) FROM deliveries WHERE tableoid::regclass::text <> history_partition_name('deliveries', history_week(created_at))`); n != 0 {
		t.Errorf("%d deliveries outside the partition of the week they were created in", n)
	}
	for _, st := range []models.DeliveryStatus{models.StatusSucceeded, models.StatusFailed, models.StatusPending, models.StatusExpired, models.StatusCancelled} {
		if n := count(`SELECT count(*) FROM deliveries WHERE status = ?`, st); n == 0 {
			t.Errorf("no %s deliveries", st)
		}
	}
	// A delivery's state agrees with its last attempt.
	if n := count(`SELECT count(*) FROM deliveries d JOIN attempts a ON a.delivery_id = d.id AND a.number = d.attempt_count
		WHERE (d.status = 'succeeded') <> (a.response_status = 200) OR (d.status = 'pending') <> (a.next_retry_at IS NOT NULL)
		   OR (d.status = 'pending' AND a.next_retry_at <> d.next_attempt_at)`); n != 0 {
		t.Errorf("%d deliveries disagree with their last attempt", n)
	}
	// The due set: each webhook with pending deliveries is due at the earliest.
	if n := count(`SELECT count(*) FROM webhooks w WHERE w.next_due_at IS DISTINCT FROM
		(SELECT min(next_attempt_at) FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending')`); n != 0 {
		t.Errorf("%d webhooks with a due time other than their earliest pending delivery", n)
	}
	if n := count(`SELECT count(*) FROM webhook_rollups`); n == 0 {
		t.Error("no rollups")
	}
	if n := count(`SELECT count(*) FROM ((SELECT * FROM webhook_rollups EXCEPT SELECT * FROM webhook_rollups_recount)
		UNION ALL (SELECT * FROM webhook_rollups_recount EXCEPT SELECT * FROM webhook_rollups)) x`); n != 0 {
		t.Errorf("%d rollup rows differ from a recount of the attempts", n)
	}
	if sum := count(`SELECT coalesce(sum(attempts), 0) FROM webhook_rollups`); sum != 3*3000 {
		t.Errorf("rollups count %d attempts, want %d", sum, 3*3000)
	}
	// Times spread over the days asked for, ending now.
	var span struct{ Oldest, Newest time.Time }
	if err := db.WithContext(ctx).Raw(`SELECT min(created_at) AS oldest, max(created_at) AS newest FROM deliveries`).Scan(&span).Error; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(span.Oldest); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("oldest delivery %s ago, want about 30 days", d)
	}
	if d := time.Since(span.Newest); d < 0 || d > 2*time.Hour {
		t.Errorf("newest delivery %s ago, want within the last hours", d)
	}
	// The owner of the biggest account can sign in.
	if _, err := store.Authenticate(ctx, seed.UserEmail, o.Password); err != nil {
		t.Errorf("sign in as %s: %v", seed.UserEmail, err)
	}
	got, ok, err := seed.Seeded(ctx, db)
	if err != nil || !ok || len(got.Accounts) != 4 || got.Accounts[0].Deliveries != 1500 {
		t.Errorf("Seeded = %+v, %v, %v; want the 4 accounts", got, ok, err)
	}
	if _, err := seed.Run(ctx, db, store, o, t.Logf); err == nil {
		t.Error("a second seed of the same database succeeded")
	}
}
