package models

import (
	"context"
	"fmt"
	"time"
)

// The circuit breaker (migration 0027). A webhook whose receiver failed
// BreakerFailures attempts in a row is paused: nothing of it is claimed
// until webhooks.paused_until. The first pause lasts PauseMin and each
// further one of the same streak twice as long, up to PauseMax. When a
// pause ends the webhook is half-open: the claim takes one delivery (the
// probe) and moves paused_until past the probe's lease, so no other is
// sent meanwhile, by this process or another; the probe's failure pauses
// the webhook again (longer), its success closes the breaker (streak,
// pause and trips cleared, the full cap again). Deliveries of a paused
// webhook stay pending, with no attempt recorded: the pause costs them
// time, never an attempt of their retry budget.
//
// The streak it counts is consecutive_failures, kept by Record: the same
// fact the failing cap, the console and auto-disable read.
const (
	BreakerFailures = 5
	PauseMin        = time.Second
	PauseMax        = 5 * time.Minute
)

// Paused reports whether w's breaker keeps it from being sent to at now.
func (w *Webhook) Paused(now time.Time) bool {
	return w.PausedUntil != nil && w.PausedUntil.After(now)
}

// PauseFor is the length of the pause that follows trips earlier pauses in
// the same streak: PauseMin doubled trips times, at most PauseMax.
func PauseFor(trips int) time.Duration {
	d := PauseMin
	for range trips {
		if d *= 2; d >= PauseMax {
			return PauseMax
		}
	}
	return d
}

// pauseSecondsSQL is PauseFor in SQL, of the trips column expression t.
func pauseSecondsSQL(t string) string {
	return fmt.Sprintf("least(%g, %g * power(2, least(%s, 30)))", PauseMax.Seconds(), PauseMin.Seconds(), t)
}

// probeLeaseSQL moves the pause of half-open webhooks whose probe was just
// claimed past the probe's lease (its timeout plus leaseMargin), so no
// second delivery is claimed before the probe's outcome is recorded (which
// sets the next pause or clears it). The rows are locked in key order, like
// every writer of webhook rows (see lockHooksInOrder).
var probeLeaseSQL = `UPDATE webhooks w SET paused_until = CAST(@now AS timestamptz) + make_interval(secs => w.timeout_ms / 1000.0 + @margin)
WHERE (w.account_id, w.id) IN (` + lockHooksInOrder + `)
	AND w.consecutive_failures >= @breaker AND (w.paused_until IS NULL OR w.paused_until <= @now)`

// leaseProbes runs probeLeaseSQL for the webhooks of probes just claimed.
func (s *Store) leaseProbes(ctx context.Context, now time.Time, hooks hookKeys) error {
	if len(hooks) == 0 {
		return nil
	}
	if err := s.db.WithContext(ctx).Exec(probeLeaseSQL, hooks.distinct().args(map[string]any{"now": now, "margin": leaseMargin.Seconds(),
		"breaker": BreakerFailures})).Error; err != nil {
		return fmt.Errorf("lease breaker probes: %w", err)
	}
	return nil
}
