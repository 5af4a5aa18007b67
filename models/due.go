package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// The due set is webhooks.next_due_at (migration 0013): for every webhook
// with pending deliveries it is at or before the earliest next_attempt_at
// among them. Every statement that makes a delivery pending lowers it
// (markDue from ingest, the reapers and replays, and healthSQL for
// retries); only
// settleDue raises it or clears it, and only under a row lock that makes
// that safe (see settleDue). A stale early value costs a claim an empty
// probe, never a missed delivery; a late one would starve, so none is
// ever written without that lock.

// markDueSQL lowers the due time of webhooks that just got pending
// deliveries to @due (keeping an earlier one), locking the rows it writes
// in key order (lockHooks) so concurrent writers cannot deadlock. A writer
// that inserted the deliveries already holds a key share lock on each webhook (taken by
// the foreign-key check) until it commits, which settleDue's FOR UPDATE
// SKIP LOCKED respects, so webhooks already due earlier are skipped
// without a lock. Writers that only moved existing rows to pending hold no
// such lock and pass @always: every webhook is then locked and written,
// and the new due time is computed from the row as it is once the lock is
// held.
var markDueSQL = `
UPDATE webhooks w SET next_due_at = least(coalesce(w.next_due_at, CAST(@due AS timestamptz)), CAST(@due AS timestamptz))
FROM (` + lockHooks(" AND (CAST(@always AS boolean) OR next_due_at IS NULL OR next_due_at > @due)") + `) l
WHERE w.account_id = l.account_id AND w.id = l.id`

// markDue puts hooks in the due set at due (or keeps their earlier due
// time), in the transaction that made their deliveries pending; inserted
// says that transaction inserted those deliveries (see markDueSQL).
func markDue(tx *gorm.DB, hooks hookKeys, due time.Time, inserted bool) error {
	if len(hooks) == 0 {
		return nil
	}
	if err := tx.Exec(markDueSQL, hooks.distinct().args(map[string]any{"due": due, "always": !inserted})).Error; err != nil {
		return fmt.Errorf("mark webhooks due: %w", err)
	}
	return nil
}

// NextDue is the earliest due time in the due set (enabled webhooks with
// work), false when the set is empty: how long an idle claimer may sleep
// before something falls due that no notification announces (a retry).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullTime
	if err := s.db.WithContext(ctx).Raw(`SELECT min(next_due_at) FROM webhooks WHERE enabled AND next_due_at IS NOT NULL`).
		Row().Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	return next.Time, next.Valid, nil
}

// settleBatch bounds how many stale due entries one settle corrects.
const settleBatch = 500

// settleInterval is how often Claim corrects the due set at most: stale
// entries only cost claims an empty probe each, so this trades a little
// of that for fewer statements.
const settleInterval = 200 * time.Millisecond

// settleGate rate-limits settleDue per Store.
type settleGate struct {
	mu   sync.Mutex
	last time.Time
}

// due reports whether a settle should run at now, and if so books it.
func (g *settleGate) due(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.last.IsZero() && now.After(g.last) && now.Sub(g.last) < settleInterval {
		return false
	}
	g.last = now
	return true
}

// settleCandidatesSQL locks the webhooks in the due set with nothing to
// claim at @now: no pending delivery due, unexpired and not held behind an
// earlier pending one of its call. A delivery held only behind one being
// sent counts as due: that send's outcome can release it at any moment,
// and no writer marks the webhook due then (a success is recorded without
// touching webhooks), so the webhook stays in the set while it lasts.
var settleCandidatesSQL = `SELECT w.account_id, w.id AS webhook_id FROM webhooks w
	WHERE w.enabled AND w.next_due_at IS NOT NULL AND w.next_due_at <= @now
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id AND d.status = ` + sqlPending + ` AND d.next_attempt_at <= @now
			AND ` + unexpiredD + ` AND NOT (` + heldBehind("d", "w", sqlPending) + `))
	ORDER BY w.next_due_at, w.id LIMIT @limit
	FOR UPDATE OF w SKIP LOCKED`

// settleSQL recomputes the due time of locked webhooks: the earliest time
// one of their pending deliveries can be claimed. That is next_attempt_at,
// or for one held behind earlier deliveries of its call, no earlier than
// the ordering window releases it from the oldest of them (their own
// retries are due times of their own), or now while one of them is being
// sent (see settleCandidatesSQL).
var settleSQL = `UPDATE webhooks w SET next_due_at = (
	SELECT min(CASE WHEN NOT (` + heldBehind("d", "w", openStatuses) + `) THEN d.next_attempt_at
		ELSE greatest(d.next_attempt_at, (SELECT CASE WHEN bool_or(e.status = @sending) THEN CAST(@now AS timestamptz)
			ELSE min(e.created_at) + make_interval(secs => w.ordering_window_s) END
			FROM deliveries e WHERE ` + blocks("d", "w", openStatuses) + `)) END)
	FROM deliveries d WHERE d.webhook_id = w.id AND d.status = ` + sqlPending + ` AND ` + unexpiredD + `)
WHERE (w.account_id, w.id) IN (` + hookKeysSQL + `)`

// settleDue moves the due time of webhooks in the due set that have no
// pending delivery due at now to their next pending delivery's time, or
// takes them out of the set. It first locks those webhooks FOR UPDATE SKIP
// LOCKED: a writer adding pending deliveries holds a key share lock on the
// webhook until it commits, so its webhook is skipped; a writer that comes
// later waits for this transaction and then marks the webhook due again.
// The second statement reads with a snapshot taken after the locks, so it
// sees every delivery committed before them.
func (s *Store) settleDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows hookKeys
		if err := tx.Raw(settleCandidatesSQL, map[string]any{"now": now, "limit": settleBatch}).Scan(&rows).Error; err != nil {
			return fmt.Errorf("settle due webhooks: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		n = len(rows)
		if err := tx.Exec(settleSQL, rows.args(map[string]any{"now": now, "sending": string(StatusSending)})).Error; err != nil {
			return fmt.Errorf("settle due webhooks: %w", err)
		}
		return nil
	})
	return n, err
}

// SeedIdleWebhooks adds accounts new accounts with perAccount enabled
// webhooks each (POST to url, every call event, no deliveries) in two
// set-based statements: the benchmark and tests measure what idle webhooks
// cost the dispatcher. Every webhook shares one sealed signing secret.
func (s *Store) SeedIdleWebhooks(ctx context.Context, accounts, perAccount int, url string) error {
	if accounts < 1 || perAccount < 1 {
		return fmt.Errorf("seed idle webhooks: %d accounts × %d webhooks", accounts, perAccount)
	}
	secret, err := s.seal(NewID("whsec_"))
	if err != nil {
		return fmt.Errorf("seed idle webhooks: %w", err)
	}
	prefix := NewID("idle_")
	now := s.now()
	args := map[string]any{"prefix": prefix, "accounts": accounts, "per": perAccount, "url": url, "secret": secret, "now": now,
		"grace": int(SecretOverlap / time.Second), "retention": DefaultHistoryRetentionDays}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO accounts (id, name, time_zone, default_country, secret_grace_seconds, history_retention_days, created_at)
			SELECT @prefix || '_' || a, 'Idle ' || @prefix || ' ' || a, 'UTC', 'US', @grace, @retention, @now FROM generate_series(1, CAST(@accounts AS int)) a`, args).Error; err != nil {
			return fmt.Errorf("seed idle accounts: %w", err)
		}
		if err := tx.Exec(`INSERT INTO webhooks (id, account_id, name, event_types, url, method, content_type, max_attempts, timeout_ms,
				signing_secret, created_by, updated_by, created_at, updated_at)
			SELECT @prefix || '_' || a || '_' || h, @prefix || '_' || a, 'idle ' || h, ARRAY['call.hangup', 'call.missed', 'call.answered'],
				@url, 'POST', 'application/json', 5, 10000, @secret, 'seed', 'seed', @now, @now
			FROM generate_series(1, CAST(@accounts AS int)) a, generate_series(1, CAST(@per AS int)) h`, args).Error; err != nil {
			return fmt.Errorf("seed idle webhooks: %w", err)
		}
		// Statistics as autovacuum would leave them, without waiting for it.
		if err := tx.Exec(`ANALYZE accounts, webhooks`).Error; err != nil {
			return fmt.Errorf("seed idle webhooks: analyze: %w", err)
		}
		return nil
	})
}
