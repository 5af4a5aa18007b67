package models_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// queueFor ingests one event and queues a delivery of it for each of hooks.
func queueFor(t *testing.T, s *models.Store, accountID string, at time.Time, hooks ...*models.Webhook) {
	t.Helper()
	ev := &models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: at,
		Payload: models.JSON[map[string]any]{V: map[string]any{}}}
	plan := func(_ *models.Event, matched []models.Webhook) []models.NewDelivery {
		var out []models.NewDelivery
		for i := range matched {
			for _, w := range hooks {
				if matched[i].ID == w.ID {
					out = append(out, models.NewDelivery{Webhook: &matched[i], Request: models.RenderedRequest{Method: "POST", URL: w.URL, Body: []byte("{}")}})
				}
			}
		}
		return out
	}
	if _, err := s.Ingest(context.Background(), ev, plan); err != nil {
		t.Fatal(err)
	}
}

// claimedOf keeps the claimed deliveries of webhook w.
func claimedOf(cs []models.Claimed, w *models.Webhook) []models.Claimed {
	var out []models.Claimed
	for _, c := range cs {
		if c.WebhookID == w.ID {
			out = append(out, c)
		}
	}
	return out
}

// parkQueue cancels what other tests left queued (sealed under other
// Stores' keys), now and when the test ends.
func parkQueue(t *testing.T, s *models.Store) {
	t.Helper()
	park := func() {
		if err := modeltest.ParkQueue(s.DB()); err != nil {
			t.Fatal(err)
		}
	}
	park()
	t.Cleanup(park)
}

// nextDue reads w's place in the due set (nil: not in it).
func nextDue(t *testing.T, s *models.Store, w *models.Webhook) *time.Time {
	t.Helper()
	var at *time.Time
	if err := s.DB().Raw("SELECT next_due_at FROM webhooks WHERE id = ?", w.ID).Row().Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// TestClaimCostIgnoresIdleWebhooks: thousands of idle enabled webhooks
// must not add to what one claim reads. The claim that walked every
// enabled webhook probed each one's due index: two buffers or more per
// webhook, 10,000 here; the slack only absorbs where the updated rows land.
func TestClaimCostIgnoresIdleWebhooks(t *testing.T) {
	now := fixtureBase
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	parkQueue(t, s)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "busy")
	for range 5 {
		queueFor(t, s, acc.ID, now, w)
	}
	if _, err := s.SettleDue(ctx, now); err != nil { // what earlier tests parked leaves the set
		t.Fatal(err)
	}
	before, _, err := s.ExplainClaim(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedIdleWebhooks(ctx, 20, 250, "https://example.com/idle"); err != nil {
		t.Fatal(err)
	}
	after, plan, err := s.ExplainClaim(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("claim reads %d buffers with 1 webhook, %d with 5,000 more idle ones", before, after)
	if after > before+50 {
		t.Errorf("claim reads %d buffers with 5,000 idle webhooks, %d without; plan:\n%s", after, before, plan)
	}
	if got := claimedOf(mustClaim(t, s, now, ""), w); len(got) != 5 {
		t.Errorf("claimed %d of the busy webhook's 5 deliveries", len(got))
	}
}

// TestRetryComesDueLater: once a webhook's only delivery is waiting for a
// retry, the due set holds it at the retry time (not before), and the
// claim at that time takes it; a finished webhook leaves the set.
func TestRetryComesDueLater(t *testing.T) {
	now := fixtureBase.Add(24 * time.Hour)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	parkQueue(t, s)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "retry")
	queueFor(t, s, acc.ID, now, w)
	if at := nextDue(t, s, w); at == nil || at.After(now) {
		t.Fatalf("queued delivery: webhook due at %v, want by %s", at, now)
	}
	first := claimedOf(mustClaim(t, s, now, ""), w)
	if len(first) != 1 {
		t.Fatalf("claimed %d", len(first))
	}
	fail := failedOutcome(w, first[0].ID, now) // retry in a minute
	if _, err := s.Record(ctx, now, []models.Outcome{fail}, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SettleDue(ctx, now); err != nil {
		t.Fatal(err)
	}
	if at := nextDue(t, s, w); at == nil || !at.Equal(*fail.NextAttemptAt) {
		t.Fatalf("after a failure: webhook due at %v, want the retry at %s", at, fail.NextAttemptAt)
	}
	if got := claimedOf(mustClaim(t, s, now.Add(30*time.Second), ""), w); len(got) != 0 {
		t.Fatalf("claimed %d before the retry was due", len(got))
	}
	later := fail.NextAttemptAt.Add(time.Second)
	second := claimedOf(mustClaim(t, s, later, ""), w)
	if len(second) != 1 || second[0].ID != first[0].ID || second[0].AttemptCount != 2 {
		t.Fatalf("at the retry time claimed %+v, want delivery %d attempt 2", second, first[0].ID)
	}
	code := 200
	ok := models.Outcome{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: acc.ID, DeliveryID: second[0].ID,
		WebhookID: w.ID, Number: 2, Trigger: models.TriggerAuto, StartedAt: later, RequestMethod: "POST", ResponseStatus: &code}}
	if _, err := s.Record(ctx, later, []models.Outcome{ok}, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SettleDue(ctx, later); err != nil {
		t.Fatal(err)
	}
	if at := nextDue(t, s, w); at != nil {
		t.Fatalf("nothing pending, webhook still due at %s", at)
	}
	queueFor(t, s, acc.ID, later, w)
	if got := claimedOf(mustClaim(t, s, later, ""), w); len(got) != 1 {
		t.Fatalf("a new delivery after the set dropped the webhook: claimed %d", len(got))
	}
}

// TestDisabledBacklogComesBack: a disabled webhook's backlog is not claimed
// and stays remembered; enabling the webhook gets it claimed.
func TestDisabledBacklogComesBack(t *testing.T) {
	now := fixtureBase.Add(48 * time.Hour)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	parkQueue(t, s)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "paused")
	for range 3 {
		queueFor(t, s, acc.ID, now, w)
	}
	if _, err := s.SetWebhookEnabled(ctx, acc.ID, w.ID, models.Actor{Label: "test"}, false, ""); err != nil {
		t.Fatal(err)
	}
	if got := claimedOf(mustClaim(t, s, now, ""), w); len(got) != 0 {
		t.Fatalf("claimed %d of a disabled webhook", len(got))
	}
	if _, err := s.SettleDue(ctx, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetWebhookEnabled(ctx, acc.ID, w.ID, models.Actor{Label: "test"}, true, ""); err != nil {
		t.Fatal(err)
	}
	if got := claimedOf(mustClaim(t, s, now.Add(time.Hour), ""), w); len(got) != 3 {
		t.Fatalf("after enabling: claimed %d of the 3 waiting deliveries", len(got))
	}
}

// TestDueSetNeverForgetsPendingWork races ingest, retries recorded and the
// due-set correction: at every moment, every pending delivery's webhook
// must be in the set at or before the delivery's due time, or a claim
// would never find it.
func TestDueSetNeverForgetsPendingWork(t *testing.T) {
	now := fixtureBase.Add(72 * time.Hour)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	parkQueue(t, s)
	acc := newAccount(t, s)
	hooks := []*models.Webhook{newWebhook(t, s, acc.ID, "race-a"), newWebhook(t, s, acc.ID, "race-b")}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 2 {
		run(func() error { queueFor(t, s, acc.ID, now, hooks...); return nil })
	}
	run(func() error { _, err := s.SettleDue(ctx, now); return err })
	run(func() error {
		cs, err := s.Claim(ctx, now, 20, 100, nil, "")
		if err != nil {
			return err
		}
		var outs []models.Outcome
		for i, c := range cs {
			if i%2 == 0 { // half retry, half succeed
				o := failedOutcome(&c.Webhook, c.ID, now)
				o.Attempt.Number = c.AttemptCount
				outs = append(outs, o)
				continue
			}
			code := 200
			outs = append(outs, models.Outcome{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: c.AccountID, DeliveryID: c.ID,
				WebhookID: c.WebhookID, Number: c.AttemptCount, Trigger: models.TriggerAuto, StartedAt: now, RequestMethod: "POST", ResponseStatus: &code}})
		}
		_, err = s.Record(ctx, now, outs, models.AutoDisable{})
		return err
	})
	forgotten := func() int {
		var n int
		if err := s.DB().Raw(`SELECT count(*) FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.account_id = ? AND d.status = 'pending' AND (w.next_due_at IS NULL OR w.next_due_at > d.next_attempt_at)`, acc.ID).
			Row().Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	deadline := time.Now().Add(3 * time.Second)
	checks := 0
	for time.Now().Before(deadline) {
		if n := forgotten(); n != 0 {
			t.Errorf("%d pending deliveries outside the due set", n)
			break
		}
		checks++
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := forgotten(); n != 0 {
		t.Errorf("at rest: %d pending deliveries outside the due set", n)
	}
	t.Logf("%d checks", checks)
}

// TestFailingWebhookGetsAQuarterOfTheCap: a webhook on a failure streak may
// have only a quarter of the per-webhook cap in flight, so a few broken
// receivers cannot hold every worker while healthy webhooks wait; once it
// answers again (streak reset) it gets the whole cap back.
func TestFailingWebhookGetsAQuarterOfTheCap(t *testing.T) {
	now := fixtureBase.Add(48 * time.Hour)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	parkQueue(t, s)
	acc := newAccount(t, s)
	healthy, broken := newWebhook(t, s, acc.ID, "healthy"), newWebhook(t, s, acc.ID, "broken")
	for range 12 {
		queueFor(t, s, acc.ID, now, healthy, broken)
	}
	if err := s.DB().Exec("UPDATE webhooks SET consecutive_failures = 3, failing_since = ? WHERE id = ?", now, broken.ID).Error; err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, now, 100, 8, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if h, b := len(claimedOf(claimed, healthy)), len(claimedOf(claimed, broken)); h != 8 || b != 2 {
		t.Fatalf("claimed %d of the healthy webhook's and %d of the failing one's; want 8 and 2", h, b)
	}
	if err := s.DB().Exec("UPDATE webhooks SET consecutive_failures = 0, failing_since = NULL WHERE id = ?", broken.ID).Error; err != nil {
		t.Fatal(err)
	}
	// Nothing is in flight in this caller's view: the whole cap again.
	claimed, err = s.Claim(ctx, now, 100, 8, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if b := len(claimedOf(claimed, broken)); b != 8 {
		t.Fatalf("after the streak ended: claimed %d of its deliveries, want 8", b)
	}
}

// TestNextDue: the earliest due time of enabled webhooks, none when the
// due set is empty.
func TestNextDue(t *testing.T) {
	s := models.NewStore(modeltest.OwnDatabase(t, "models/next_due"), nil)
	ctx := context.Background()
	if at, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("empty due set: %v, %v, %v; want none", at, ok, err)
	}
	acc := newAccount(t, s)
	early, late := newWebhook(t, s, acc.ID, "early"), newWebhook(t, s, acc.ID, "late")
	off := newWebhook(t, s, acc.ID, "off")
	for w, at := range map[*models.Webhook]time.Time{early: fixtureBase, late: fixtureBase.Add(time.Hour), off: fixtureBase.Add(-time.Hour)} {
		if err := s.DB().Exec(`UPDATE webhooks SET next_due_at = ?, enabled = ? WHERE account_id = ? AND id = ?`, at, w != off, acc.ID, w.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	if at, ok, err := s.NextDue(ctx); err != nil || !ok || !at.Equal(fixtureBase) {
		t.Fatalf("NextDue = %v, %v, %v; want %v (the disabled webhook's earlier time left out)", at, ok, err, fixtureBase)
	}
}
