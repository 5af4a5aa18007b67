package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// QueueStats is the delivery queue at one moment, across every process on
// the database: what metrics report as queue depth.
type QueueStats struct {
	Due         int64      // pending deliveries of enabled webhooks due by now
	OldestDue   *time.Time // the earliest next attempt among them; nil when none is due
	Sending     int64      // deliveries leased to a sender right now, by any process
	Dispatchers int64      // dispatcher processes whose last beat is recent
	// Unpartitioned counts the history rows waiting in the default
	// partitions for their week's partitions (migration 0033), up to
	// unpartitionedCap per table: it should stay 0.
	Unpartitioned int64
}

// unpartitionedCap bounds the count of each default partition, so the
// scrape stays cheap however many rows went astray.
const unpartitionedCap = 1000

// queueStatsSQL reads the queue in one statement. The due figures walk
// deliveries_webhook_due_idx once per enabled webhook, over that webhook's
// due rows only (the same probe the claim makes), so rows scheduled for
// later and finished deliveries cost nothing; the sending count walks the
// small partial lease index; dispatchers is a table of one row per process.
const queueStatsSQL = `
SELECT
	(SELECT coalesce(sum(q.n), 0) FROM webhooks w CROSS JOIN LATERAL (
		SELECT count(*) AS n FROM deliveries d
		WHERE d.webhook_id = w.id AND d.status = ` + sqlPending + ` AND d.next_attempt_at <= @now) q
	 WHERE w.enabled) AS due,
	(SELECT min(q.oldest) FROM webhooks w CROSS JOIN LATERAL (
		SELECT d.next_attempt_at AS oldest FROM deliveries d
		WHERE d.webhook_id = w.id AND d.status = ` + sqlPending + ` AND d.next_attempt_at <= @now
		ORDER BY d.next_attempt_at LIMIT 1) q
	 WHERE w.enabled) AS oldest_due,
	(SELECT count(*) FROM deliveries WHERE ` + sqlLeased + `) AS sending,
	(SELECT count(*) FROM dispatchers WHERE beat_at >= @live) AS dispatchers,
	(SELECT count(*) FROM (SELECT 1 FROM events_default LIMIT @cap) x)
		+ (SELECT count(*) FROM (SELECT 1 FROM deliveries_default LIMIT @cap) x)
		+ (SELECT count(*) FROM (SELECT 1 FROM attempts_default LIMIT @cap) x) AS unpartitioned`

// QueueStats reads the queue's depth as of now; a dispatcher counts as
// live when it beat within staleAfter. The statement is cut off after
// timeout (a statement_timeout local to its transaction), so a scrape can
// never hold a connection for long.
func (s *Store) QueueStats(ctx context.Context, now time.Time, staleAfter, timeout time.Duration) (QueueStats, error) {
	var st QueueStats
	// SET does not take parameters; the value is a whole number of ms.
	err := withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		return tx.Raw(queueStatsSQL, map[string]any{"now": now, "live": now.Add(-staleAfter), "cap": unpartitionedCap}).Scan(&st).Error
	}, fmt.Sprintf("statement_timeout = %d", max(timeout.Milliseconds(), 1)))
	if err != nil {
		return QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}
