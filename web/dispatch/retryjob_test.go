package dispatch_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

// TestBulkRetrySendsManualAttempts: deliveries that ended failed are
// queued again by a retry-failed job; the dispatcher sends them, their
// attempts say manual, and one that fails again ends failed with no
// automatic retry scheduled (a manual retry spends no automatic budget).
func TestBulkRetrySendsManualAttempts(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	var answer atomic.Int64
	answer.Store(http.StatusInternalServerError)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Webhook-Event") == "call.received" && answer.Load() == http.StatusOK {
			w.WriteHeader(http.StatusInternalServerError) // the received one keeps failing
			return
		}
		w.WriteHeader(int(answer.Load()))
	})
	w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 2 })
	for range 3 {
		f.ingest(t, d, event("call.hangup", nil))
	}
	f.ingest(t, d, event("call.received", nil))
	drain(t, d)
	f.clock.Advance(time.Minute) // past the 5 s retry
	drainBreaker(t, f, d)
	for _, dl := range f.deliveries(t, w.ID) {
		if dl.Status != models.StatusFailed || dl.AttemptCount != 2 {
			t.Fatalf("setup: delivery %d is %s after %d attempts", dl.ID, dl.Status, dl.AttemptCount)
		}
	}

	answer.Store(http.StatusOK)
	ctx := context.Background()
	job, err := f.store.StartRetryFailed(ctx, f.account.ID, models.Actor{Label: "test"}, models.RetryFailed{WebhookID: w.ID, Since: f.clock.Now().Add(-time.Hour)})
	if err != nil || job.Total != 4 {
		t.Fatalf("start: %+v, %v", job, err)
	}
	claimed, err := f.store.ClaimJob(ctx, "runner", f.clock.Now(), time.Minute)
	if err != nil || claimed == nil || claimed.ID != job.ID {
		t.Fatalf("claim job: %+v, %v", claimed, err)
	}
	for finished := false; !finished; {
		if finished, err = f.store.RunJobBatch(ctx, claimed, "runner", 2, f.clock.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := drainBreaker(t, f, d); n != 4 {
		t.Fatalf("sent %d retried deliveries, want 4", n)
	}
	for _, dl := range f.deliveries(t, w.ID) {
		as := f.attempts(t, dl.ID)
		last := as[len(as)-1]
		if len(as) != 3 || last.Number != 3 || last.Trigger != models.TriggerManual {
			t.Fatalf("delivery %d: %d attempts, last %+v", dl.ID, len(as), last)
		}
		if dl.EventType == "call.hangup" {
			if dl.Status != models.StatusSucceeded || !last.Succeeded() {
				t.Errorf("delivery %d: %s after the retry", dl.ID, dl.Status)
			}
			continue
		}
		// Failed again: it stays failed, nothing scheduled, however many
		// automatic attempts the webhook allows.
		if dl.Status != models.StatusFailed || last.NextRetryAt != nil || dl.ManualRetry {
			t.Errorf("the delivery that failed again: %+v, last attempt next retry %v", dl, last.NextRetryAt)
		}
	}
	f.clock.Advance(24 * time.Hour)
	if n := drain(t, d); n != 0 {
		t.Fatalf("%d deliveries sent again later: a failed manual retry scheduled automatic ones", n)
	}
	if got := rc.hits.Load(); got != 4*2+4 {
		t.Fatalf("receiver got %d requests, want %d", got, 4*2+4)
	}
}

// drain sends what is due until nothing is (a failing webhook gets a
// quarter of the in-flight cap per claim) and returns how many it sent.
func drain(t *testing.T, d *dispatch.Dispatcher) int {
	t.Helper()
	total := 0
	for n := processDue(t, d); n > 0; n = processDue(t, d) {
		total += n
	}
	return total
}

// drainBreaker drains, then waits out the circuit breaker's pauses (five
// failures in a row pause the webhook, then one probe goes at a time) by
// moving the clock a minute, longer than the pauses a few failures make,
// until nothing more is sent.
func drainBreaker(t *testing.T, f *fixture, d *dispatch.Dispatcher) int {
	t.Helper()
	total := drain(t, d)
	for range 8 {
		f.clock.Advance(time.Minute)
		total += drain(t, d)
	}
	return total
}
