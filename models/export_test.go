package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DB is the store's handle, for this package's tests only: fixtures the
// Store deliberately has no method for (raw rows, bulk inserts).
func (s *Store) DB() *gorm.DB { return s.db }

// QueueStatsSQL is the queue query, for the plan test.
const QueueStatsSQL = queueStatsSQL

// SettleDue runs the due-set correction Claim runs at most every
// settleInterval, for tests that must see it now.
func (s *Store) SettleDue(ctx context.Context, now time.Time) (int, error) {
	return s.settleDue(ctx, now)
}

// ExplainClaim runs the claim statement under EXPLAIN (ANALYZE, BUFFERS)
// in a transaction it rolls back, and returns the shared buffers the whole
// plan hit or read: what one claim costs the database.
func (s *Store) ExplainClaim(ctx context.Context, now time.Time) (int, string, error) {
	var blocks int
	var plan string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var out string
		if err := tx.Raw("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, FORMAT JSON) "+claimSQL, map[string]any{
			"now": now, "cap": 100, "failing_cap": 25, "limit": 100, "margin": leaseMargin.Seconds(), "busy": "{}", "sending": string(StatusSending),
			"holder": nil, "manual": string(TriggerManual), "breaker": BreakerFailures, "reduced": pgArray[string]{},
		}).Row().Scan(&out); err != nil {
			return err
		}
		var plans []struct {
			Plan struct {
				Hit  int `json:"Shared Hit Blocks"`
				Read int `json:"Shared Read Blocks"`
			}
		}
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			return fmt.Errorf("explain claim: %v in %s", err, out)
		}
		blocks, plan = plans[0].Plan.Hit+plans[0].Plan.Read, out
		return errRollback
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return blocks, plan, err
}

var errRollback = errors.New("rollback")

// HistoryWeek and HistoryWeekStart are the Go side of the week arithmetic
// that migration 0033 spells in SQL, for the test that they agree.
var HistoryWeek, HistoryWeekStart = historyWeek, historyWeekStart

// ExplainTrimHistory is the plan (text) TrimHistory's statement gets in
// the transaction TrimHistory runs it in, executed and rolled back.
func (s *Store) ExplainTrimHistory(ctx context.Context, now time.Time) (string, error) {
	var plan []string
	err := byIndex(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		if err := tx.Raw("EXPLAIN (ANALYZE, COSTS OFF) "+trimHistorySQL, map[string]any{"now": now, "batch": DefaultHistoryBatch,
			"pending": string(StatusPending), "sending": string(StatusSending)}).Scan(&plan).Error; err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return "", err
	}
	return strings.Join(plan, "\n"), nil
}
