package models

import "gorm.io/gorm"

// DB is the store's handle, for this package's tests only: fixtures the
// Store deliberately has no method for (raw rows, bulk inserts).
func (s *Store) DB() *gorm.DB { return s.db }

// QueueStatsSQL is the queue query, for the plan test.
const QueueStatsSQL = queueStatsSQL
