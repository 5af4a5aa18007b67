package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

// webhookRow reloads a webhook's breaker state.
func (f *fixture) webhookRow(t *testing.T, id string) models.Webhook {
	t.Helper()
	var w models.Webhook
	if err := f.db.Where("account_id = ? AND id = ?", f.account.ID, id).Take(&w).Error; err != nil {
		t.Fatal(err)
	}
	return w
}

// attemptCount is how many attempts the webhook's deliveries have recorded.
func (f *fixture) attemptCount(t *testing.T, webhookID string) int64 {
	t.Helper()
	var n int64
	if err := f.db.Model(&models.Attempt{}).Where("webhook_id = ?", webhookID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func wantPause(t *testing.T, w models.Webhook, until time.Time, trips, streak int) {
	t.Helper()
	if w.PausedUntil == nil || !w.PausedUntil.Equal(until) || w.PauseTrips != trips || w.ConsecutiveFailures != streak {
		t.Fatalf("breaker: paused until %v, trips %d, streak %d; want until %v, trips %d, streak %d",
			w.PausedUntil, w.PauseTrips, w.ConsecutiveFailures, until, trips, streak)
	}
}

// TestFailingWebhookIsPausedAndProbed: five failures in a row pause the
// webhook for a second; nothing is sent meanwhile; when the pause is over
// one delivery (the probe) goes, and while it is in flight no other is
// claimed, even by another process; its failure pauses the webhook twice
// as long; the next probe's success closes the breaker and the backlog
// goes at the full cap.
func TestFailingWebhookIsPausedAndProbed(t *testing.T) {
	f := newFixture(t)
	var failing atomic.Bool
	failing.Store(true)
	hold := make(chan struct{})
	var holding atomic.Bool
	arrived := make(chan struct{}, 16)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if holding.Load() {
			<-hold
		}
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	w := f.webhook(t, rc.URL, nil)
	d := f.dispatcher(t, nil)
	for range models.BreakerFailures {
		f.ingest(t, d, event("call.received", nil))
	}
	t0 := f.clock.Now()
	if n := processDue(t, d); n != models.BreakerFailures {
		t.Fatalf("sent %d, want %d", n, models.BreakerFailures)
	}
	wantPause(t, f.webhookRow(t, w.ID), t0.Add(models.PauseFor(0)), 1, models.BreakerFailures)

	// Paused: new deliveries wait, unsent and without attempts.
	for range 3 {
		f.ingest(t, d, event("call.received", nil))
	}
	f.clock.Advance(models.PauseMin / 2)
	if n := processDue(t, d); n != 0 || rc.hits.Load() != models.BreakerFailures {
		t.Fatalf("a paused webhook sent %d (receiver hits %d)", n, rc.hits.Load())
	}
	if n := f.attemptCount(t, w.ID); n != models.BreakerFailures {
		t.Fatalf("%d attempts recorded while paused, want %d", n, models.BreakerFailures)
	}

	// Half-open: one probe, and nothing else while it is in flight.
	f.clock.Advance(models.PauseMin / 2)
	holding.Store(true)
	done := make(chan int)
	go func() {
		n, err := d.ProcessDue(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	<-arrived
	for range models.BreakerFailures {
		<-arrived // drain the first batch's arrivals
	}
	if more, err := f.store.Claim(context.Background(), f.clock.Now(), 10, 10, nil, "another-process"); err != nil || len(more) != 0 {
		t.Fatalf("while the probe is in flight another claim took %d (%v)", len(more), err)
	}
	holding.Store(false)
	close(hold)
	if n := <-done; n != 1 {
		t.Fatalf("half-open webhook sent %d, want one probe", n)
	}
	t1 := f.clock.Now()
	wantPause(t, f.webhookRow(t, w.ID), t1.Add(models.PauseFor(1)), 2, models.BreakerFailures+1)

	// The next probe succeeds: the breaker closes.
	failing.Store(false)
	f.clock.Advance(models.PauseFor(1))
	if n := processDue(t, d); n != 1 {
		t.Fatalf("sent %d after the second pause, want one probe", n)
	}
	if row := f.webhookRow(t, w.ID); row.PausedUntil != nil || row.PauseTrips != 0 || row.ConsecutiveFailures != 0 {
		t.Fatalf("after a successful probe: paused until %v, trips %d, streak %d", row.PausedUntil, row.PauseTrips, row.ConsecutiveFailures)
	}
	if n := processDue(t, d); n != 1 {
		t.Fatalf("sent %d once closed, want the last waiting delivery", n)
	}
	f.clock.Advance(5 * time.Second) // the first failures' retries and the first probe's
	if n := processDue(t, d); n != models.BreakerFailures+1 {
		t.Fatalf("sent %d retries, want %d", n, models.BreakerFailures+1)
	}
	for _, dl := range f.deliveries(t, w.ID) {
		if dl.Status != models.StatusSucceeded {
			t.Fatalf("delivery %d ended %s", dl.ID, dl.Status)
		}
	}
}

// TestPausedWebhookLosesNothing: deliveries that arrive while the breaker
// is open are neither sent, nor lost, nor charged an attempt: each goes
// out once the breaker closes, on its first attempt, and the due set keeps
// the webhook meanwhile.
func TestPausedWebhookLosesNothing(t *testing.T) {
	f := newFixture(t)
	var failing atomic.Bool
	failing.Store(true)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 2 })
	d := f.dispatcher(t, nil)
	for range models.BreakerFailures {
		f.ingest(t, d, event("call.received", nil))
	}
	processDue(t, d)
	var waiting []int64
	for range 20 {
		res := f.ingest(t, d, event("call.received", nil))
		if res.Deliveries != 1 {
			t.Fatalf("ingest: %+v", res)
		}
	}
	for _, dl := range f.deliveries(t, w.ID)[models.BreakerFailures:] {
		waiting = append(waiting, dl.ID)
	}
	for range 5 { // claims keep coming while paused
		f.clock.Advance(models.PauseMin / 10)
		if n := processDue(t, d); n != 0 {
			t.Fatalf("paused webhook sent %d", n)
		}
	}
	for _, id := range waiting {
		if at := f.attempts(t, id); len(at) != 0 {
			t.Fatalf("delivery %d has %d attempts while paused", id, len(at))
		}
	}
	for _, dl := range f.deliveries(t, w.ID)[models.BreakerFailures:] {
		if dl.Status != models.StatusPending || dl.AttemptCount != 0 {
			t.Fatalf("delivery %d is %s with %d attempts while paused", dl.ID, dl.Status, dl.AttemptCount)
		}
	}
	failing.Store(false)
	f.clock.Advance(models.PauseMin)
	for i := 0; i < 10 && processDue(t, d) > 0; i++ {
	}
	for _, id := range waiting {
		at := f.attempts(t, id)
		if len(at) != 1 || !at[0].Succeeded() || at[0].Number != 1 {
			t.Fatalf("delivery %d: %d attempts after the breaker closed, want one that succeeded", id, len(at))
		}
	}
}

// TestSlowSuccessfulReceiverTakesOnlyItsShare: a receiver that succeeds
// only near the timeout, or with a body past the drain limit, gets one
// delivery in flight from its first such answer on, although every delivery succeeds, and each of its
// attempts starts at least the degraded gap after the one before; a receiver as slow in
// absolute terms but well inside its timeout keeps the full cap.
func TestSlowSuccessfulReceiverTakesOnlyItsShare(t *testing.T) {
	const perWebhook = 8
	huge := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name       string
		timeoutSec int
		delay      time.Duration
		body       string
		wantMax    int
	}{
		{"answers near the timeout", 1, 600 * time.Millisecond, "", 1},
		{"answers with a huge body", 10, 150 * time.Millisecond, huge, 1},
		{"answers with a huge body at once", 10, 0, huge, 1},
		{"answers well inside the timeout", 10, 150 * time.Millisecond, "", perWebhook},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var mu sync.Mutex
			var now, answered, peakAfter int
			var startsAfter []time.Time
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				now++
				if answered >= perWebhook { // the first wave is over: the cap has been seen
					peakAfter = max(peakAfter, now)
					startsAfter = append(startsAfter, time.Now())
				}
				mu.Unlock()
				time.Sleep(tc.delay)
				mu.Lock()
				now--
				answered++
				mu.Unlock()
				if tc.body != "" {
					w.Header().Set("Content-Type", "text/plain")
				}
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(tc.body))
			})
			w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.TimeoutSeconds = tc.timeoutSec })
			d := f.dispatcher(t, func(c *dispatch.Config) {
				c.Now, c.Workers, c.PerWebhook, c.Poll = nil, 32, perWebhook, 20*time.Millisecond
			})
			const events = 4 * perWebhook
			for range events {
				f.ingest(t, d, event("call.received", nil))
			}
			d.Start(context.Background())
			waitFor(t, 60*time.Second, "every delivery to succeed", func() bool {
				var n int64
				_ = f.db.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ?", w.ID, models.StatusSucceeded).Count(&n).Error
				return n == events
			})
			if err := d.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantMax < perWebhook && peakAfter > tc.wantMax {
				t.Fatalf("after the first wave the receiver had %d requests in flight at once, want at most %d", peakAfter, tc.wantMax)
			}
			if tc.wantMax == perWebhook && peakAfter <= perWebhook/4 {
				t.Fatalf("a receiver well inside its timeout got only %d requests in flight at once", peakAfter)
			}
			if tc.wantMax < perWebhook {
				if len(startsAfter) < 2 {
					t.Fatalf("%d requests after the first wave, want several", len(startsAfter))
				}
				for i := 1; i < len(startsAfter); i++ {
					if gap := startsAfter[i].Sub(startsAfter[i-1]); gap < dispatch.DegradedGap {
						t.Fatalf("attempts %d and %d after the first wave started %v apart, want at least %v", i-1, i, gap, dispatch.DegradedGap)
					}
				}
			}
		})
	}
}
