package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DefaultHistoryBatch is how many events one TrimHistory statement removes
// per account at most.
const DefaultHistoryBatch = 500

// trimHistorySQL removes, for every account, up to @batch of its events
// received longer ago than its history_retention_days, oldest first, with
// their deliveries and attempts (named here: no foreign keys run between
// the partitioned history tables). An event with a delivery still pending
// or sending stays until that delivery ends: a retry in flight is never
// cut short. Each account walks its own events_recent_idx, so the cost
// follows what is removed, not the history. Whole weeks past every
// account's retention go faster, as partitions (MaintainHistory).
const trimHistorySQL = `
WITH doomed AS (
	SELECT e.account_id, e.id, e.received_at
	FROM accounts a CROSS JOIN LATERAL (
		SELECT e.account_id, e.id, e.received_at FROM events e
		WHERE e.account_id = a.id
			AND e.received_at < CAST(@now AS timestamptz) - make_interval(days => a.history_retention_days)
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.account_id = e.account_id AND d.event_id = e.id
				AND d.status IN (@pending, @sending))
		ORDER BY e.received_at
		LIMIT @batch) e
), dd AS (
	DELETE FROM deliveries d USING doomed WHERE d.account_id = doomed.account_id AND d.event_id = doomed.id
	RETURNING d.account_id, d.id
), da AS (
	DELETE FROM attempts x USING dd WHERE x.account_id = dd.account_id AND x.delivery_id = dd.id
)
DELETE FROM events x USING doomed
WHERE x.account_id = doomed.account_id AND x.id = doomed.id AND x.received_at = doomed.received_at`

// TrimHistory removes what has outlived each account's history retention
// (Account settings, 1 to 365 days): at most batch events per account
// (DefaultHistoryBatch when batch <= 0) with their deliveries and attempts.
// It returns how many events it removed; a caller repeats while it gets
// work done. The rollups are kept: they are the stats, not the history.
// Ages are measured on the Store's clock, the one received_at was written
// with, so a caller on another clock cannot cut history short.
func (s *Store) TrimHistory(ctx context.Context, batch int) (int64, error) {
	now := s.now()
	if batch <= 0 {
		batch = DefaultHistoryBatch
	}
	var n int64
	err := byIndex(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		res := tx.Exec(trimHistorySQL, map[string]any{"now": now, "batch": batch,
			"pending": string(StatusPending), "sending": string(StatusSending)})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("trim history: %w", err)
	}
	return n, nil
}

// byIndex runs fn in a transaction whose joins are nested loops. The
// deletes that name the history tables (no foreign key cascades between
// them) join a few hundred keys to tables of millions of rows across every
// weekly partition; estimating the keys high, the planner would hash the
// whole of deliveries or attempts (seconds at ten million) where each key
// is a probe of one index.
func byIndex(db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return withLocal(db, fn, "enable_hashjoin = off", "enable_mergejoin = off")
}

// HistoryStart is when the account's oldest stored delivery was created
// (nil: it has none), for "history goes back to …" in the console.
func (s *Store) HistoryStart(ctx context.Context, accountID string) (*time.Time, error) {
	var at []time.Time
	if err := s.db.WithContext(ctx).Raw(`SELECT created_at FROM deliveries WHERE account_id = ? ORDER BY created_at LIMIT 1`, accountID).
		Scan(&at).Error; err != nil {
		return nil, fmt.Errorf("history start: %w", err)
	}
	if len(at) == 0 {
		return nil, nil
	}
	return &at[0], nil
}
