package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models/publicid"
)

// Calls in order and stale events expired (migration 0022).
//
// On a webhook ordered by call, a delivery is held while an earlier one of
// the same call (by the event's occurred_at, ties by id: the ingest order)
// is pending or sending and was queued less than the webhook's ordering
// window ago (or queued again that recently: requeued_at, set by the replay
// after a heal, see probe.go): the claim takes only each call's head. A head that ends
// without success (failed, expired, cancelled) releases the ones behind it
// with previous_failed set; one that succeeds releases them as they are.
// Deliveries without a call, and test sends, are never held.
//
// A delivery whose deadline (expires_at) has passed is never claimed; the
// expiry sweep, run with settleDue, ends it as expired.

// heldBehind is the SQL condition "delivery d waits behind an earlier open
// delivery of its call" for webhook w (columns ordered_by_call and
// ordering_window_s), counting blockers in the given statuses. It is the
// one definition of the order, used by the claim, the due set and the
// console (through the deliveries_call_order_idx index).
func heldBehind(d, w, statuses string) string {
	return w + `.ordered_by_call AND ` + d + `.call_id IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries e WHERE ` + blocks(d, w, statuses) + `)`
}

// blocks is the condition "delivery e holds d" (see heldBehind).
func blocks(d, w, statuses string) string {
	return `e.webhook_id = ` + d + `.webhook_id AND e.call_id = ` + d + `.call_id
		AND e.status IN (` + statuses + `) AND (e.occurred_at, e.id) < (` + d + `.occurred_at, ` + d + `.id)
		AND greatest(e.created_at, e.requeued_at) > CAST(@now AS timestamptz) - make_interval(secs => ` + w + `.ordering_window_s)`
}

// openStatuses are the statuses of a delivery that still holds the ones
// behind it.
const openStatuses = sqlPending + `, ` + sqlSending

// unexpired is the SQL condition "delivery d may still be sent at @now".
func unexpired(d string) string {
	return `(` + d + `.expires_at IS NULL OR ` + d + `.expires_at > @now)`
}

// expiredError is the last_error of a delivery that expired unsent.
func expiredError(deadline time.Time) string {
	return "Expired unsent at its deadline, " + deadline.UTC().Format("2006-01-02 15:04:05 UTC") + "."
}

// expireBatch bounds how many deliveries one sweep expires.
const expireBatch = 1000

// expireDue ends as expired the pending deliveries whose deadline has
// passed, releases the ones waiting behind them and puts their webhooks
// back in the due set, in one transaction. A delivery being sent is left to
// finish: it was claimed before its deadline.
func (s *Store) expireDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			AccountID string
			ID        int64
			ExpiresAt time.Time
		}
		if err := tx.Raw(`SELECT account_id, id, expires_at FROM deliveries WHERE status = `+sqlPending+` AND expires_at IS NOT NULL AND expires_at <= @now
			ORDER BY expires_at LIMIT @limit FOR UPDATE SKIP LOCKED`, map[string]any{"now": now, "limit": expireBatch}).Scan(&rows).Error; err != nil {
			return fmt.Errorf("expire deliveries: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		n = len(rows)
		var ended deliveryKeys
		msgs := make([]string, len(rows))
		for i, r := range rows {
			ended.add(r.AccountID, r.ID)
			msgs[i] = expiredError(r.ExpiresAt)
		}
		if err := tx.Exec(`UPDATE deliveries d SET status = @expired, next_attempt_at = NULL, completed_at = @now, updated_at = @now, last_error = x.msg
			FROM unnest(CAST(@key_accounts AS text[]), CAST(@key_ids AS bigint[]), CAST(@msgs AS text[])) AS x(account_id, id, msg)
			WHERE d.account_id = x.account_id AND d.id = x.id`,
			ended.args(map[string]any{"expired": string(StatusExpired), "now": now, "msgs": pgArray[string](msgs)})).Error; err != nil {
			return fmt.Errorf("expire deliveries: %w", err)
		}
		return releaseFollowers(tx, ended, now, true)
	})
	return n, err
}

// releaseSQL marks previous_failed on the pending deliveries that wait
// behind the given ones (which just ended without success) on webhooks
// ordered by call, and returns their webhooks' keys.
const releaseSQL = `
UPDATE deliveries d SET previous_failed = true
FROM deliveries x JOIN webhooks w ON w.account_id = x.account_id AND w.id = x.webhook_id AND w.ordered_by_call
WHERE (x.account_id, x.id) IN (` + deliveryKeysSQL + `) AND x.call_id IS NOT NULL AND NOT x.test AND x.status NOT IN (` + openStatuses + `)
	AND d.account_id = x.account_id AND d.webhook_id = x.webhook_id AND d.call_id = x.call_id AND d.status = ` + sqlPending + `
	AND (d.occurred_at, d.id) > (x.occurred_at, x.id)
RETURNING d.account_id, d.webhook_id`

// releaseFollowers runs releaseSQL for ended (deliveries that just ended
// without success, in this transaction). With markDueToo the webhooks of the
// released deliveries are put in the due set: needed when the ended ones
// were pending (expired, cancelled), since settleDue may have moved their
// webhook out meanwhile; a delivery that ended while sending kept its
// webhook due (see settleDue).
func releaseFollowers(tx *gorm.DB, ended deliveryKeys, now time.Time, markDueToo bool) error {
	if ended.len() == 0 {
		return nil
	}
	var hooks hookKeys
	if err := tx.Raw(releaseSQL, ended.args(map[string]any{})).Scan(&hooks).Error; err != nil {
		return fmt.Errorf("release deliveries held behind ended ones: %w", err)
	}
	if !markDueToo {
		return nil
	}
	return markDue(tx, hooks, now, false)
}

// HeldBehind returns, for each of the account's deliveries given, the id
// of the earliest open delivery of its call that holds it back (only for
// the ones that wait) as its public id, for the console's "held behind
// delivery X".
func (s *Store) HeldBehind(ctx context.Context, accountID string, ids []int64, now time.Time) (map[int64]publicid.ID, error) {
	out := map[int64]publicid.ID{}
	if len(ids) == 0 || !validID(accountID) {
		return out, nil
	}
	var rows []struct {
		ID     int64
		Behind int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT d.id, b.id AS behind FROM deliveries d JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id
		CROSS JOIN LATERAL (SELECT e.id FROM deliveries e WHERE `+blocks("d", "w", openStatuses)+` ORDER BY e.occurred_at, e.id LIMIT 1) b
		WHERE d.account_id = @account AND d.id = ANY(CAST(@ids AS bigint[])) AND d.status = `+sqlPending+`
			AND w.ordered_by_call AND d.call_id IS NOT NULL`,
		map[string]any{"account": accountID, "ids": pgArray[int64](ids), "now": now}).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("held deliveries: %w", err)
	}
	c, err := s.PublicIDs(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = c.Delivery(r.Behind)
	}
	return out, nil
}
