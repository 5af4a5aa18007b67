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
