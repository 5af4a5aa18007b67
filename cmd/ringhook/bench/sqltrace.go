package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqlStat aggregates the statements that share a label.
type sqlStat struct {
	Label       string
	Calls, Rows int64
	Total       time.Duration
}

// sqlTracer is a gorm logger that times statements while on (--trace-sql).
type sqlTracer struct {
	logger.Interface
	on    atomic.Bool
	mu    sync.Mutex
	stats map[string]*sqlStat
}

func newSQLTracer() *sqlTracer {
	return &sqlTracer{Interface: logger.Discard, stats: map[string]*sqlStat{}}
}

// sqlLabel is the start of a statement with white space collapsed: enough
// to tell Ringhook's statements apart without their arguments.
func sqlLabel(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if len(s) > 64 {
		n := 64
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

func (t *sqlTracer) Trace(_ context.Context, begin time.Time, fc func() (string, int64), _ error) {
	if !t.on.Load() {
		return
	}
	el := time.Since(begin)
	sql, rows := fc()
	label := sqlLabel(sql)
	t.mu.Lock()
	st := t.stats[label]
	if st == nil {
		st = &sqlStat{Label: label}
		t.stats[label] = st
	}
	st.Calls++
	st.Rows += max(rows, 0)
	st.Total += el
	t.mu.Unlock()
}

// top returns the statements by total time, longest first.
func (t *sqlTracer) top() []sqlStat {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]sqlStat, 0, len(t.stats))
	for _, st := range t.stats {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b sqlStat) int { return cmp.Compare(b.Total, a.Total) })
	return out
}

// commitProbe times single-row autocommit updates: the WAL flush every
// claim, record and ingest transaction waits for.
func commitProbe(ctx context.Context, db *gorm.DB) (p50, p99 time.Duration, err error) {
	db = db.WithContext(ctx)
	if err := db.Exec("CREATE TABLE bench_probe (id int PRIMARY KEY, n int NOT NULL)").Error; err != nil {
		return 0, 0, fmt.Errorf("commit probe: %w", err)
	}
	defer db.Exec("DROP TABLE bench_probe")
	if err := db.Exec("INSERT INTO bench_probe VALUES (1, 0)").Error; err != nil {
		return 0, 0, fmt.Errorf("commit probe: %w", err)
	}
	took := make([]time.Duration, 200)
	for i := range took {
		start := time.Now()
		if err := db.Exec("UPDATE bench_probe SET n = n + 1 WHERE id = 1").Error; err != nil {
			return 0, 0, fmt.Errorf("commit probe: %w", err)
		}
		took[i] = time.Since(start)
	}
	slices.Sort(took)
	return percentile(took, 50), percentile(took, 99), nil
}
