package models

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// History (events, deliveries, attempts) lives in weekly range partitions
// (migration 0033): a week runs from Monday 00:00 UTC, and its three
// partitions are created ahead of the clock and dropped whole once the
// week is older than the longest history retention of any account.

// historyWeekEpoch is the Monday the week numbers count from (1970-01-05),
// and historyWeekLen a week; history_week in SQL uses the same two.
const (
	historyWeekEpoch = 4 * 24 * 60 * 60
	historyWeekLen   = 7 * 24 * 60 * 60
)

// historyAhead is how many weeks past the current one get partitions
// before anything is written into them. One is plenty (the reaper runs
// every round and writes make their week on the spot), and each partition
// more is one more that every query not pruned by id plans and reads.
const historyAhead = 1

// historyWeek is the number of the week holding t (SQL: history_week).
func historyWeek(t time.Time) int {
	s := t.Unix() - historyWeekEpoch
	w := s / historyWeekLen
	if s%historyWeekLen < 0 {
		w-- // floor, for instants before the epoch
	}
	return int(w)
}

// historyWeekStart is when week w begins (SQL: history_week_start).
func historyWeekStart(w int) time.Time {
	return time.Unix(historyWeekEpoch+int64(w)*historyWeekLen, 0).UTC()
}

// historyWeeks remembers the weeks this Store knows have partitions, so a
// write into a known week costs no statement.
type historyWeeks struct {
	mu    sync.Mutex
	known map[int]bool
}

func (h *historyWeeks) has(w int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.known[w]
}

func (h *historyWeeks) set(w int, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.known == nil {
		h.known = map[int]bool{}
	}
	if ok {
		h.known[w] = true
	} else {
		delete(h.known, w)
	}
}

// partitionLocks is the setting under which partitions are added and
// dropped: waiting at most 5 s for the tables' locks, so a busy moment is
// tried again next time rather than queueing every reader behind it.
const partitionLocks = "lock_timeout = '5s'"

// ensureHistory makes sure the week holding at, and the historyAhead weeks
// after it, have partitions. Every write of history calls it first with
// the time it writes (the Store's clock), so rows do not land in the
// default partitions. It costs a statement only the first time a Store
// meets a week.
func (s *Store) ensureHistory(ctx context.Context, at time.Time) error {
	w := historyWeek(at)
	if s.weeks.has(w) {
		return nil
	}
	err := withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		return tx.Exec(`SELECT history_partition_add(w) FROM generate_series(CAST(? AS int), ?) w`, w, w+historyAhead).Error
	}, partitionLocks)
	if err != nil {
		return fmt.Errorf("history partitions for the week of %s: %w", historyWeekStart(w).Format(time.DateOnly), err)
	}
	for i := range historyAhead + 1 {
		s.weeks.set(w+i, true)
	}
	return nil
}

// HistoryMaintenance is what one MaintainHistory round did.
type HistoryMaintenance struct {
	DroppedWeeks []time.Time // the Mondays of the weeks whose partitions went
	KeptOpen     int         // old weeks kept because a delivery in them is still open
	EventIDs     int64       // event ids forgotten with their weeks
}

// eventIDBatch is how many event ids one MaintainHistory round forgets at
// most.
const eventIDBatch = 10_000

// MaintainHistory creates the partitions of the current week and the
// historyAhead after it, drops the weeks that ended longer ago than the longest history
// retention of any account (unless a delivery in one is still pending or
// sending), and forgets the event ids of dropped weeks (the dedupe ledger,
// in batches of eventIDBatch). Shorter retentions are TrimHistory's, row
// by row. Time is the Store's clock, the one history was written with.
func (s *Store) MaintainHistory(ctx context.Context) (HistoryMaintenance, error) {
	var out HistoryMaintenance
	now := s.now()
	if err := s.ensureHistory(ctx, now); err != nil {
		return out, err
	}
	db := s.db.WithContext(ctx)
	var longest int
	if err := db.Raw(`SELECT coalesce(max(history_retention_days), ?) FROM accounts`, DefaultHistoryRetentionDays).Scan(&longest).Error; err != nil {
		return out, fmt.Errorf("longest history retention: %w", err)
	}
	cutoff := now.AddDate(0, 0, -longest)
	var weeks []int
	if err := db.Raw(`SELECT w FROM history_partition_weeks() w`).Scan(&weeks).Error; err != nil {
		return out, fmt.Errorf("history partitions: %w", err)
	}
	// The oldest week still stored: at most the current one, which
	// ensureHistory made and no cutoff reaches.
	oldest := historyWeek(now)
	for _, w := range weeks {
		if historyWeekStart(w + 1).After(cutoff) {
			oldest = min(oldest, w)
			break // weeks are oldest first: the rest are younger
		}
		var dropped bool
		err := withLocal(db, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT history_partition_drop(?)`, w).Scan(&dropped).Error
		}, partitionLocks)
		if err != nil {
			return out, fmt.Errorf("drop the history of the week of %s: %w", historyWeekStart(w).Format(time.DateOnly), err)
		}
		if !dropped {
			out.KeptOpen++
			oldest = min(oldest, w)
			continue
		}
		s.weeks.set(w, false)
		out.DroppedWeeks = append(out.DroppedWeeks, historyWeekStart(w))
	}
	// The ids of events older than every week still stored.
	res := db.Exec(`DELETE FROM event_ids x USING (
			SELECT account_id, id FROM event_ids WHERE received_at < ? ORDER BY received_at LIMIT ?) old
		WHERE x.account_id = old.account_id AND x.id = old.id`, historyWeekStart(oldest), eventIDBatch)
	if res.Error != nil {
		return out, fmt.Errorf("forget the event ids of dropped weeks: %w", res.Error)
	}
	out.EventIDs = res.RowsAffected
	return out, nil
}

// writingHistory is ensureHistory for a write that goes on whatever it
// says: should the partitions not be made now (a lock held too long), the
// rows wait in the default partitions, the next history_partition_add of
// their week moves them, and MaintainHistory, which the dispatcher runs
// every round, reports the error.
func (s *Store) writingHistory(ctx context.Context, at time.Time) {
	_ = s.ensureHistory(ctx, at) //nolint:errcheck // see above
}
