package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// failedOutcome is a failed automatic attempt of a delivery of w.
func failedOutcome(w *models.Webhook, deliveryID int64, at time.Time) models.Outcome {
	code := 500
	next := at.Add(time.Minute)
	return models.Outcome{Status: models.StatusPending, NextAttemptAt: &next, Attempt: models.Attempt{AccountID: w.AccountID,
		DeliveryID: deliveryID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto, StartedAt: at, RequestMethod: "POST",
		RequestURL: w.URL, ResponseStatus: &code, ErrorKind: models.ErrKindHTTPStatus, NextRetryAt: &next}}
}

// TestConcurrentRecordersKeepStreaksWithoutDeadlock records failing
// batches from several recorders at once, each touching the same webhooks
// in its own shuffled order (what four recorders do under failing
// receivers): no batch may fail (PostgreSQL reports a lock-order cycle as
// "deadlock detected"), and every webhook's streak counts every failure.
func TestConcurrentRecordersKeepStreaksWithoutDeadlock(t *testing.T) {
	now := fixtureBase
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := newAccount(t, s)
	hooks := make([]*models.Webhook, 8)
	for i := range hooks {
		hooks[i] = newWebhook(t, s, acc.ID, fmt.Sprintf("streak-%d", i))
	}
	const recorders, rounds, perHook = 6, 15, 2
	rule := models.AutoDisable{Failures: 1 << 20, Window: time.Hour} // streaks only, no disabling here
	var wg sync.WaitGroup
	errs := make(chan error, recorders*rounds)
	for r := range recorders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(r), 7))
			for range rounds {
				var batch []models.Outcome
				for _, w := range hooks {
					for range perHook {
						batch = append(batch, failedOutcome(w, 0, now))
					}
				}
				rnd.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				if _, err := s.Record(ctx, now, batch, rule); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("record: %v", err)
	}
	for _, w := range hooks {
		got, err := s.Webhook(ctx, acc.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := recorders * rounds * perHook; got.ConsecutiveFailures != want || got.FailingSince == nil || !got.FailingSince.Equal(now) {
			t.Errorf("%s: streak %d since %v, want %d since %s", w.Name, got.ConsecutiveFailures, got.FailingSince, want, now)
		}
		if !got.Enabled {
			t.Errorf("%s disabled", w.Name)
		}
	}
	t.Run("a success ends the streak while others fail", func(t *testing.T) {
		code := 200
		ok := models.Outcome{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: acc.ID, WebhookID: hooks[0].ID, Number: 1,
			Trigger: models.TriggerAuto, StartedAt: now, RequestMethod: "POST", ResponseStatus: &code}}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				batch := []models.Outcome{failedOutcome(hooks[1+i%3], 0, now), failedOutcome(hooks[4], 0, now)}
				if i == 0 {
					batch = []models.Outcome{ok}
				}
				if _, err := s.Record(ctx, now, batch, rule); err != nil {
					t.Errorf("record: %v", err)
				}
			}()
		}
		wg.Wait()
		got, err := s.Webhook(ctx, acc.ID, hooks[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ConsecutiveFailures != 0 || got.FailingSince != nil {
			t.Errorf("after a success: streak %d since %v", got.ConsecutiveFailures, got.FailingSince)
		}
	})
}

// TestStaleHolderLosesItsLease: a dispatcher that stops beating has its
// lease handed back; its late outcome must not overwrite the state the
// next holder owns, and a live dispatcher's leases are never taken.
func TestStaleHolderLosesItsLease(t *testing.T) {
	now := fixtureBase
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "held")
	ev := &models.Event{AccountID: acc.ID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: now,
		Payload: models.JSON[map[string]any]{V: map[string]any{}}}
	plan := func(_ *models.Event, hooks []models.Webhook) []models.NewDelivery {
		var out []models.NewDelivery
		for i := range hooks {
			if hooks[i].ID == w.ID {
				out = append(out, models.NewDelivery{Webhook: &hooks[i], Request: models.RenderedRequest{Method: "POST", URL: w.URL, Body: []byte("{}")}})
			}
		}
		return out
	}
	if _, err := s.Ingest(ctx, ev, plan); err != nil {
		t.Fatal(err)
	}
	claim := func(holder string) models.Claimed {
		t.Helper()
		for _, c := range mustClaim(t, s, now, holder) {
			if c.WebhookID == w.ID {
				return c
			}
		}
		t.Fatalf("%s claimed nothing of %s", holder, w.ID)
		return models.Claimed{}
	}
	for _, id := range []string{"dsp_a", "dsp_b"} {
		if err := s.Heartbeat(ctx, id, "test", 1, now); err != nil {
			t.Fatal(err)
		}
	}
	first := claim("dsp_a")
	if first.LeaseHolder == nil || *first.LeaseHolder != "dsp_a" {
		t.Fatalf("lease holder %v", first.LeaseHolder)
	}
	now = now.Add(10 * time.Second)
	if err := s.Heartbeat(ctx, "dsp_b", "test", 1, now); err != nil { // b beats, a does not
		t.Fatal(err)
	}
	if n, err := s.ReapStale(ctx, now, now.Add(-5*time.Second), "dsp_a"); err != nil || n != 0 {
		t.Fatalf("a reaped its own lease: %d, %v", n, err)
	}
	if n, err := s.ReapStale(ctx, now, now.Add(-5*time.Second), "dsp_b"); err != nil || n < 1 {
		t.Fatalf("b reaped %d, %v; want a's lease back", n, err)
	}
	second := claim("dsp_b")
	if second.ID != first.ID || second.AttemptCount != first.AttemptCount {
		t.Fatalf("second claim %d attempt %d, want %d attempt %d", second.ID, second.AttemptCount, first.ID, first.AttemptCount)
	}
	late := failedOutcome(w, first.ID, now)
	late.LeaseHolder = "dsp_a"
	if _, err := s.Record(ctx, now, []models.Outcome{late}, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Delivery(ctx, acc.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != models.StatusSending || d.LeaseHolder == nil || *d.LeaseHolder != "dsp_b" {
		t.Fatalf("after a's late outcome: %s held by %v, want sending held by dsp_b", d.Status, d.LeaseHolder)
	}
	code := 204
	ok := models.Outcome{Status: models.StatusSucceeded, LeaseHolder: "dsp_b", Attempt: models.Attempt{AccountID: acc.ID, DeliveryID: first.ID,
		WebhookID: w.ID, Number: second.AttemptCount, Trigger: models.TriggerAuto, StartedAt: now, RequestMethod: "POST", ResponseStatus: &code}}
	if _, err := s.Record(ctx, now, []models.Outcome{ok}, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	if d, err = s.Delivery(ctx, acc.ID, first.ID); err != nil || d.Status != models.StatusSucceeded || d.LeaseHolder != nil {
		t.Fatalf("after b's outcome: %+v, %v", d, err)
	}
}

func mustClaim(t *testing.T, s *models.Store, now time.Time, holder string) []models.Claimed {
	t.Helper()
	c, err := s.Claim(context.Background(), now, 100, 100, nil, holder)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
