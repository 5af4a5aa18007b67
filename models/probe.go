package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/catalog"
)

// Endpoints that heal (migration 0029).
//
// A webhook the dispatcher disabled on its own (a failure streak or 410
// Gone, see updateHealth) is probed: a signed webhook.probe request goes
// ProbeDelay(n) after the disable or the previous probe, for up to
// ProbeFor. The first 2xx enables it again and replays, in one
// transaction, the deliveries that failed in the streak (the bulk retry's
// predicate, retryFailedWhere, within the account's history retention) and
// restarts the ordering window of the ones held while it was disabled, so
// each call's deliveries go out in order (see blocks). A disable by hand
// clears DisabledAuto: such a webhook is never probed.

// ProbeFor is how long after an automatic disable probes go on.
const ProbeFor = 72 * time.Hour

// ProbeDelay is the wait before the next probe of a webhook that has had
// done probes since it was disabled: 1 minute, 5 minutes, 30 minutes, then
// every hour.
func ProbeDelay(done int) time.Duration {
	switch done {
	case 0:
		return time.Minute
	case 1:
		return 5 * time.Minute
	case 2:
		return 30 * time.Minute
	}
	return time.Hour
}

// probeColumns are the webhook columns of the probe state.
var probeColumns = []string{"disabled_auto", "probe_next_at", "probe_count", "probe_last_at", "probe_last_result",
	"probe_lease_holder", "probe_lease_until", "probe_gave_up_at", "healed_at", "healed_replayed"}

// stateColumns are what an enable or disable writes: the switch and its
// reason, the health that enable resets, the probe state, who and when.
var stateColumns = append([]string{"enabled", "disabled_reason", "disabled_at", "consecutive_failures", "failing_since",
	"paused_until", "pause_trips", "updated_by", "updated_at"}, probeColumns...)

// enable switches w on afresh: no disable reason, no failure streak and
// no breaker pause left over (by hand or after a successful probe).
func (w *Webhook) enable() {
	w.Enabled, w.DisabledReason, w.DisabledAt = true, "", nil
	w.ConsecutiveFailures, w.FailingSince, w.PausedUntil, w.PauseTrips = 0, nil, nil, 0
}

// clearProbe forgets the probe state: the webhook was changed by hand.
func (w *Webhook) clearProbe() {
	w.DisabledAuto, w.ProbeNextAt, w.ProbeCount, w.ProbeLastAt, w.ProbeLastResult = false, nil, 0, nil, ""
	w.ProbeLeaseHolder, w.ProbeLeaseUntil, w.ProbeGaveUpAt, w.HealedAt, w.HealedReplayed = nil, nil, nil, nil, 0
}

// ProbeAttempt is one probe sent to a disabled webhook.
type ProbeAttempt struct {
	ID             int64 `gorm:"primaryKey;->"`
	AccountID      string
	WebhookID      string
	Number         int
	StartedAt      time.Time
	DurationMS     int `gorm:"column:duration_ms"`
	RequestURL     string
	ResponseStatus *int
	ResponseBody   string
	ErrorKind      ErrorKind
	ErrorMessage   string
}

// Succeeded reports whether the endpoint answered 2xx.
func (a *ProbeAttempt) Succeeded() bool {
	return a.ErrorKind == "" && a.ResponseStatus != nil && *a.ResponseStatus >= 200 && *a.ResponseStatus < 300
}

// Result is the probe's outcome in a few words ("HTTP 503", "timeout: …").
func (a *ProbeAttempt) Result() string {
	if a.ResponseStatus != nil && (a.ErrorKind == "" || a.ErrorKind == ErrKindHTTPStatus) {
		return fmt.Sprintf("HTTP %d", *a.ResponseStatus)
	}
	if a.ErrorMessage != "" {
		return string(a.ErrorKind) + ": " + a.ErrorMessage
	}
	return string(a.ErrorKind)
}

// ErrProbeLost is returned by RecordProbe when the probe's lease is no
// longer the caller's (the webhook was enabled or disabled by hand
// meanwhile, or another dispatcher took an expired lease over).
var ErrProbeLost = errors.New("probe lease lost")

// ClaimProbes leases up to limit due probes to holder: webhooks disabled
// automatically whose next probe is due and not leased (FOR UPDATE SKIP
// LOCKED, and a lease of the webhook's timeout plus a margin), so two
// dispatchers never probe one webhook at once. Webhooks of every account.
func (s *Store) ClaimProbes(ctx context.Context, now time.Time, limit int, holder string) ([]Webhook, error) {
	var out []Webhook
	err := s.db.WithContext(ctx).Raw(`UPDATE webhooks w SET probe_lease_holder = @holder,
			probe_lease_until = CAST(@now AS timestamptz) + make_interval(secs => w.timeout_ms / 1000.0 + @margin)
		WHERE (w.account_id, w.id) IN (SELECT account_id, id FROM webhooks WHERE probe_next_at IS NOT NULL AND probe_next_at <= @now AND NOT enabled AND disabled_auto AND deleted_at IS NULL
			AND (probe_lease_until IS NULL OR probe_lease_until < @now) ORDER BY probe_next_at LIMIT @limit FOR UPDATE SKIP LOCKED)
		RETURNING w.*`, map[string]any{"holder": holder, "now": now, "margin": leaseMargin.Seconds(), "limit": limit}).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("claim probes: %w", err)
	}
	if err := s.openWebhooks(out); err != nil {
		return nil, fmt.Errorf("claim probes: %w", err)
	}
	return out, nil
}

// ProbeOutcome is what recording a probe did.
type ProbeOutcome struct {
	Healed   bool // the webhook is enabled again
	GaveUp   bool // ProbeFor has passed: no more probes
	Replayed int  // deliveries sent again (failed in the streak, or held)
	NextAt   *time.Time
}

// RecordProbe stores a probe of webhook w (leased to holder by ClaimProbes)
// and moves the probe state on: a 2xx enables the webhook, replays its
// deliveries and writes an audit entry (then a webhook.enabled event goes
// to the account's other webhooks); a failure plans the next probe, or
// gives up once ProbeFor has passed since the disable.
func (s *Store) RecordProbe(ctx context.Context, now time.Time, w *Webhook, holder string, a ProbeAttempt) (ProbeOutcome, error) {
	var out ProbeOutcome
	a.AccountID, a.WebhookID = w.AccountID, w.ID
	var cur Webhook
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if a.Succeeded() {
			// The deliveries the heal writes are locked before the
			// webhook row, the order recorders take them (as in
			// DeleteWebhook), so a heal and a recorder cannot deadlock.
			if err := tx.Exec(`SELECT id FROM deliveries WHERE webhook_id = @id AND account_id = @account AND status IN (`+sqlPending+`, `+sqlFailed+`)
				ORDER BY id FOR UPDATE`, map[string]any{"id": w.ID, "account": w.AccountID}).Error; err != nil {
				return fmt.Errorf("record probe: %w", err)
			}
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("account_id = ? AND id = ? AND NOT enabled AND disabled_auto AND probe_lease_holder = ?", w.AccountID, w.ID, holder).
			Take(&cur).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrProbeLost
			}
			return fmt.Errorf("record probe: %w", err)
		}
		a.Number = cur.ProbeCount + 1
		if err := tx.Create(&a).Error; err != nil {
			return fmt.Errorf("record probe: %w", err)
		}
		result := a.Result()
		cur.ProbeCount, cur.ProbeLastAt, cur.ProbeLastResult, cur.ProbeLeaseHolder, cur.ProbeLeaseUntil = a.Number, &a.StartedAt, result, nil, nil
		if !a.Succeeded() {
			since := now
			if cur.DisabledAt != nil {
				since = *cur.DisabledAt
			}
			next := now.Add(ProbeDelay(a.Number))
			if next.Sub(since) > ProbeFor {
				out.GaveUp, cur.ProbeNextAt, cur.ProbeGaveUpAt = true, nil, &now
				if err := audit(tx, cur.AccountID, systemActor, "webhook.probes_stopped", "webhook", cur.ID, nil,
					map[string]any{"probes": a.Number, "last_result": result}, now); err != nil {
					return err
				}
			} else {
				out.NextAt, cur.ProbeNextAt = &next, &next
			}
			return saveWebhook(tx, &cur, probeColumns...)
		}
		n, err := s.replayHealed(tx, &cur, now)
		if err != nil {
			return err
		}
		out.Healed, out.Replayed = true, n
		reason := cur.DisabledReason
		cur.enable() // the probe proved the receiver: no breaker pause left over
		cur.DisabledAuto, cur.ProbeNextAt, cur.ProbeGaveUpAt = false, nil, nil
		cur.HealedAt, cur.HealedReplayed, cur.UpdatedAt, cur.UpdatedBy = &now, n, now, systemActor.Label
		if err := saveWebhook(tx, &cur, stateColumns...); err != nil {
			return fmt.Errorf("re-enable webhook: %w", err)
		}
		if err := markDue(tx, hookKeys{{cur.AccountID, cur.ID}}, now, false); err != nil {
			return err
		}
		if err := tx.Exec("SELECT pg_notify(?, '')", notifyChannel).Error; err != nil {
			return fmt.Errorf("notify dispatchers: %w", err)
		}
		return audit(tx, cur.AccountID, systemActor, "webhook.auto_enabled", "webhook", cur.ID, map[string]any{"reason": reason},
			map[string]any{"probe": a.Number, "replayed": n}, now)
	})
	if err != nil {
		return ProbeOutcome{}, err
	}
	if out.Healed {
		s.emit(ctx, now, opEvent{accountID: cur.AccountID, about: cur.ID, typ: catalog.WebhookEnabled, fields: map[string]any{
			"automatic": "yes", "changed_by": systemActor.Label, "replayed_count": int64(out.Replayed),
			"enable_reason": fmt.Sprintf("Re-enabled automatically after probe %d answered %s.", a.Number, a.Result())}, hook: &cur})
	}
	return out, nil
}

// replayHealed queues again, due now, the deliveries of w that failed since
// its failure streak began (within the account's history retention; the
// bulk retry's predicate, marked manual_retry like a bulk retry), and
// restarts the ordering window of those and of the ones held while it was
// disabled, so each call's deliveries go out in order. It returns how many
// deliveries will be sent.
func (s *Store) replayHealed(tx *gorm.DB, w *Webhook, now time.Time) (int, error) {
	since := now
	switch {
	case w.FailingSince != nil:
		since = *w.FailingSince
	case w.DisabledAt != nil:
		since = *w.DisabledAt
	}
	var days int
	if err := tx.Model(&Account{}).Where("id = ?", w.AccountID).Pluck("history_retention_days", &days).Error; err != nil {
		return 0, fmt.Errorf("replay: retention: %w", err)
	}
	if keep := now.Add(-time.Duration(days) * 24 * time.Hour); days > 0 && since.Before(keep) {
		since = keep
	}
	args := RetryFailed{WebhookID: w.ID, Since: since, Until: &now}.args(w.AccountID)
	args["now"], args["pending"] = now, string(StatusPending)
	failed := tx.Exec(`UPDATE deliveries SET status = @pending, next_attempt_at = @now, completed_at = NULL, manual_retry = true,
		requeued_at = @now, updated_at = @now WHERE `+retryFailedWhere, args)
	if failed.Error != nil {
		return 0, fmt.Errorf("replay failed deliveries: %w", failed.Error)
	}
	held := tx.Exec(`UPDATE deliveries SET requeued_at = @now WHERE account_id = @account AND webhook_id = @webhook
		AND status = `+sqlPending+` AND (requeued_at IS NULL OR requeued_at < @now)`, args)
	if held.Error != nil {
		return 0, fmt.Errorf("replay held deliveries: %w", held.Error)
	}
	return int(failed.RowsAffected + held.RowsAffected), nil
}

// ProbeAttempts lists the latest probes of one of the account's webhooks, newest first.
func (s *Store) ProbeAttempts(ctx context.Context, accountID, webhookID string, limit int) ([]ProbeAttempt, error) {
	var out []ProbeAttempt
	if !validID(accountID) || !validID(webhookID) {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("account_id = ? AND webhook_id = ?", accountID, webhookID).Order("id DESC").Limit(limit).
		Find(&out).Error; err != nil {
		return nil, fmt.Errorf("probe attempts: %w", err)
	}
	return out, nil
}
