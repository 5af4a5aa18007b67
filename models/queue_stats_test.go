package models_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestQueueStats counts what is due (only enabled webhooks, only rows due
// by now), the oldest due time, what is leased, and the live dispatchers.
func TestQueueStats(t *testing.T) {
	// Far from the other tests' clocks, so their heartbeats are not live.
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	db := s.DB()
	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatal(err)
	}
	acc := newAccount(t, s)
	on := newWebhook(t, s, acc.ID, "queue-on")
	off := newWebhook(t, s, acc.ID, "queue-off")
	if _, err := s.SetWebhookEnabled(ctx, acc.ID, off.ID, models.Actor{Label: "test"}, false, "test"); err != nil {
		t.Fatal(err)
	}
	mk := func(w *models.Webhook, status models.DeliveryStatus, next time.Time) {
		t.Helper()
		d := insertDelivery(t, s, w, "call.hangup", status, "", now, false)
		// A leased row has a lease (every claim sets one).
		if err := db.Exec("UPDATE deliveries SET next_attempt_at = ?, lease_until = CASE WHEN status = 'sending' THEN CAST(? AS timestamptz) END WHERE id = ?",
			next, now.Add(time.Minute), d.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	oldest := now.Add(-90 * time.Second)
	mk(on, models.StatusPending, oldest)
	mk(on, models.StatusPending, now.Add(-time.Second))
	mk(on, models.StatusPending, now)
	mk(on, models.StatusPending, now.Add(time.Hour))      // a retry scheduled for later: not due
	mk(off, models.StatusPending, now.Add(-time.Hour))    // its webhook is disabled: nobody claims it
	mk(on, models.StatusSending, now.Add(-time.Minute))   // leased
	mk(on, models.StatusSucceeded, now.Add(-2*time.Hour)) // finished
	mk(on, models.StatusFailed, now.Add(-3*time.Hour))    // finished
	mk(on, models.StatusCancelled, now.Add(-4*time.Hour)) // finished
	if err := s.Heartbeat(ctx, models.NewID("dsp_"), "h", 1, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, models.NewID("dsp_"), "h", 2, now.Add(-time.Minute)); err != nil { // stopped beating
		t.Fatal(err)
	}

	got, err := s.QueueStats(ctx, now, 5*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Due != 3 || got.OldestDue == nil || !got.OldestDue.Equal(oldest) || got.Sending != 1 || got.Dispatchers != 1 {
		t.Fatalf("QueueStats = %+v (oldest %v), want due 3, oldest %v, sending 1, dispatchers 1", got, got.OldestDue, oldest)
	}

	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatal(err)
	}
	got, err = s.QueueStats(ctx, now, 5*time.Second, time.Second)
	if err != nil || got.Due != 0 || got.OldestDue != nil || got.Sending != 0 {
		t.Fatalf("empty queue: %+v, %v", got, err)
	}

	// A delivery whose week (4000, in 2046) has no partition waits in the
	// default one, and the count says so. Other tests' raw rows may wait
	// there too: look at the difference.
	stray := int64(4000)<<40 + 1
	if err := db.Exec(`INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type, status) VALUES (?, ?, ?, 'evt_stray', 'call.hangup', 'succeeded')`,
		stray, acc.ID, on.ID).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DELETE FROM deliveries WHERE account_id = ? AND id = ?", acc.ID, stray) })
	with, err := s.QueueStats(ctx, now, 5*time.Second, time.Second)
	if err != nil || with.Unpartitioned != got.Unpartitioned+1 {
		t.Errorf("a stray delivery: %d rows waiting in the default partitions, want %d (%v)", with.Unpartitioned, got.Unpartitioned+1, err)
	}
}

// TestQueueStatsPlan checks, on a realistic mix of rows, that the queue
// query reads deliveries only through indexes (never a sequential scan of
// the table that grows fastest), and that its statement timeout is real.
func TestQueueStatsPlan(t *testing.T) {
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	db := s.DB()
	acc := newAccount(t, s)
	t.Cleanup(func() { db.Exec("DELETE FROM accounts WHERE id = ?", acc.ID) })
	// 200 webhooks (a tenth disabled) and 20,000 deliveries: 90% finished,
	// 6% retries scheduled for later, 3% due, 1% leased.
	for _, q := range []string{
		`INSERT INTO webhooks (id, account_id, name, event_types, url, method, content_type, max_attempts, timeout_ms, enabled, signing_secret)
		 SELECT 'wh_plan' || g, @acc, 'plan ' || g, '{call.hangup}', 'https://example.com/', 'POST', 'application/json', 5, 5000, g % 10 <> 0, 'whsec_x'
		 FROM generate_series(1, 200) g`,
		`INSERT INTO events (account_id, id, type, occurred_at, payload) VALUES (@acc, 'evt_plan', 'call.hangup', @now, '{}')`,
		`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, next_attempt_at, lease_until)
		 SELECT @acc, 'wh_plan' || (1 + g % 200), 'evt_plan', 'call.hangup',
			CASE WHEN g % 100 < 90 THEN 'succeeded' WHEN g % 100 < 99 THEN 'pending' ELSE 'sending' END,
			CASE WHEN g % 100 < 90 THEN NULL WHEN g % 100 < 96 THEN CAST(@now AS timestamptz) + interval '1 hour'
				ELSE CAST(@now AS timestamptz) - interval '1 minute' END,
			CASE WHEN g % 100 >= 99 THEN CAST(@now AS timestamptz) + interval '1 minute' END
		 FROM generate_series(1, 20000) g`,
	} {
		if err := db.Exec(q, map[string]any{"acc": acc.ID, "now": now}).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Exec("ANALYZE webhooks, deliveries, dispatchers").Error; err != nil {
		t.Fatal(err)
	}
	var plan []byte
	if err := db.Raw("EXPLAIN (FORMAT JSON) "+models.QueueStatsSQL, map[string]any{"now": now, "live": now.Add(-5 * time.Second), "cap": 1000}).Row().Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var root []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &root); err != nil || len(root) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	// Deliveries are read through their weekly partitions: a partition's
	// index counts as the index of deliveries it belongs to.
	var parents []struct{ Child, Parent string }
	if err := db.Raw(`SELECT c.relname AS child, p.relname AS parent FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE c.relkind = 'i'`).Scan(&parents).Error; err != nil {
		t.Fatal(err)
	}
	parentOf := map[string]string{}
	for _, p := range parents {
		parentOf[p.Child] = p.Parent
	}
	// A sequential scan of a week that holds none of these rows (empty,
	// or another test's handful) is the planner's right choice.
	var full []string
	if err := db.Raw(`SELECT DISTINCT tableoid::regclass::text FROM deliveries WHERE account_id = ?`, acc.ID).Scan(&full).Error; err != nil {
		t.Fatal(err)
	}
	indexes := map[string]bool{}
	var walk func(n planNode)
	walk = func(n planNode) {
		isDeliveries := strings.HasPrefix(n.Relation, "deliveries")
		if slices.Contains(full, n.Relation) && n.NodeType == "Seq Scan" {
			t.Errorf("the queue query scans deliveries sequentially:\n%s", plan)
		}
		if isDeliveries {
			indexes[cmp.Or(parentOf[n.Index], n.Index)] = true
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(root[0].Plan)
	for _, want := range []string{"deliveries_webhook_due_idx", "deliveries_lease_idx"} {
		if !indexes[want] {
			t.Errorf("the queue query does not use %s (deliveries read through %v):\n%s", want, indexes, plan)
		}
	}

	got, err := s.QueueStats(ctx, now, 5*time.Second, time.Second)
	// 20,000 rows: g%100 in 96..98 are due, but only on enabled webhooks
	// (webhook 1 + g%200 is disabled when it is a multiple of 10).
	if err != nil || got.Due == 0 || got.Due > 600 || got.Sending != 200 {
		t.Fatalf("QueueStats on the realistic mix = %+v, %v", got, err)
	}
	var due int64
	db.Raw(`SELECT count(*) FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.enabled AND d.status = 'pending' AND d.next_attempt_at <= ?`, now).Scan(&due)
	if got.Due != due {
		t.Fatalf("due %d, a plain count says %d", got.Due, due)
	}

	// A statement stuck behind a lock is cut off by the timeout: the
	// caller gets an error, not a hung scrape holding a connection.
	lock := db.Begin()
	defer lock.Rollback()
	if err := lock.Exec("LOCK TABLE dispatchers IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.QueueStats(ctx, now, 5*time.Second, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("QueueStats behind a lock: %v, want a statement timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("QueueStats behind a lock took %s with a 100ms timeout", took)
	}
}

// planNode is the part of EXPLAIN (FORMAT JSON) the plan tests read.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Recheck   string     `json:"Recheck Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}
