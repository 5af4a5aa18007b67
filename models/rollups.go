package models

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RollupBucket is the width of one rollup row: every time zone's offset
// is a multiple of it, so whole local hours and days are sums of rows.
const RollupBucket = 15 * time.Minute

// LatencyBounds are the latency histogram's cell bounds in milliseconds,
// log-spaced; the same list as ringhook_latency_bounds() in migration 0018.
// Cell i counts durations d with LatencyBounds[i-1] <= d < LatencyBounds[i].
var LatencyBounds = []int{1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
	1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000}

// latencyCells is the number of cells in a histogram.
var latencyCells = len(LatencyBounds) + 1

// latencyCell is the histogram cell of a duration, as width_bucket numbers it.
func latencyCell(ms int) int { return sort.SearchInts(LatencyBounds, ms+1) }

// Histogram counts attempts per latency cell (see LatencyBounds).
type Histogram []int

// add adds o to h cell by cell, growing h when it is empty.
func (h *Histogram) add(o []int) {
	if len(*h) < len(o) {
		*h = append(*h, make([]int, len(o)-len(*h))...)
	}
	for i, n := range o {
		(*h)[i] += n
	}
}

// Quantile estimates the q-th quantile (0 < q <= 1) in milliseconds,
// interpolating linearly inside the cell that holds it; false when the
// histogram is empty. The open last cell answers its lower bound.
func (h Histogram) Quantile(q float64) (int, bool) {
	total := 0
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	seen := 0
	for i, n := range h {
		if n == 0 || float64(seen+n) < rank {
			seen += n
			continue
		}
		lo := 0
		if i > 0 {
			lo = LatencyBounds[i-1]
		}
		if i >= len(LatencyBounds) {
			return lo, true
		}
		hi := LatencyBounds[i]
		return lo + int(float64(hi-lo)*(rank-float64(seen))/float64(n)), true
	}
	return LatencyBounds[len(LatencyBounds)-1], true
}

// rollupKey is one rollup row's primary key.
type rollupKey struct {
	account, webhook string
	test             bool
	bucket           time.Time
}

func (k rollupKey) less(o rollupKey) bool {
	switch {
	case k.account != o.account:
		return k.account < o.account
	case k.webhook != o.webhook:
		return k.webhook < o.webhook
	case k.test != o.test:
		return !k.test
	}
	return k.bucket.Before(o.bucket)
}

// rollupDelta is what one batch adds to one rollup row.
type rollupDelta struct {
	rollupKey
	attempts, ok, retried, failed int
	latency                       []int
	lastOK, lastFail              *time.Time
}

// rollupAttempt is the part of an attempt the rollups count.
type rollupAttempt struct {
	attempt *Attempt
	test    bool // a test send, or a delivery of a test-mode key
}

// rollupDeltas aggregates attempts into one delta per rollup row, sorted by
// key: the order upsertRollups locks the rows in, the same in every
// transaction, so concurrent recorders cannot deadlock on them.
func rollupDeltas(as []rollupAttempt) []rollupDelta {
	byKey := map[rollupKey]*rollupDelta{}
	for _, ra := range as {
		a := ra.attempt
		k := rollupKey{account: a.AccountID, webhook: a.WebhookID, test: ra.test || a.Trigger == TriggerTest,
			bucket: a.StartedAt.UTC().Truncate(RollupBucket)}
		d := byKey[k]
		if d == nil {
			d = &rollupDelta{rollupKey: k, latency: make([]int, latencyCells)}
			byKey[k] = d
		}
		d.attempts++
		d.latency[latencyCell(a.DurationMS)]++
		at := a.StartedAt
		switch {
		case a.Succeeded():
			d.ok++
			if d.lastOK == nil || at.After(*d.lastOK) {
				d.lastOK = &at
			}
		default:
			if a.NextRetryAt != nil {
				d.retried++
			} else {
				d.failed++
			}
			if d.lastFail == nil || at.After(*d.lastFail) {
				d.lastFail = &at
			}
		}
	}
	out := make([]rollupDelta, 0, len(byKey))
	for _, d := range byKey {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j].rollupKey) })
	return out
}

// rollupUpsert adds a batch's deltas (the @r_* arrays of rollupArgs) to
// their rows in one statement, inserting in key order. after is spliced in
// as the WHERE clause of its SELECT: recordSQL uses it to take the webhook
// locks first.
func rollupUpsert(after string) string {
	n := strconv.Itoa(latencyCells)
	return `INSERT INTO webhook_rollups AS r (account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at)
	SELECT u.account_id, u.webhook_id, u.test, u.bucket, u.attempts, u.ok, u.retried, u.failed,
		(CAST(@r_latency AS int[]))[(u.i - 1) * ` + n + ` + 1 : u.i * ` + n + `], u.last_ok_at, u.last_fail_at
	FROM unnest(CAST(@r_account_ids AS text[]), CAST(@r_webhook_ids AS text[]), CAST(@r_tests AS bool[]), CAST(@r_buckets AS timestamptz[]),
		CAST(@r_attempts AS int[]), CAST(@r_oks AS int[]), CAST(@r_retried AS int[]), CAST(@r_failed AS int[]),
		CAST(@r_last_oks AS timestamptz[]), CAST(@r_last_fails AS timestamptz[]))
		WITH ORDINALITY AS u(account_id, webhook_id, test, bucket, attempts, ok, retried, failed, last_ok_at, last_fail_at, i)
	` + after + `
	ORDER BY u.i
	ON CONFLICT (account_id, webhook_id, test, bucket) DO UPDATE SET
		attempts = r.attempts + excluded.attempts, ok = r.ok + excluded.ok,
		retried = r.retried + excluded.retried, failed = r.failed + excluded.failed,
		latency = ARRAY(SELECT x + y FROM unnest(r.latency, excluded.latency) WITH ORDINALITY AS t(x, y, k) ORDER BY k),
		last_ok_at = greatest(r.last_ok_at, excluded.last_ok_at), last_fail_at = greatest(r.last_fail_at, excluded.last_fail_at)`
}

// rollupArgs lays deltas out as the @r_* arrays of rollupUpsert, into args.
func rollupArgs(ds []rollupDelta, args map[string]any) map[string]any {
	n := len(ds)
	accounts, hooks, tests, buckets := make([]string, n), make([]string, n), make([]bool, n), make([]time.Time, n)
	attempts, oks, retried, failed := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	lastOKs, lastFails := make([]*time.Time, n), make([]*time.Time, n)
	latency := make([]int, 0, n*latencyCells)
	for i, d := range ds {
		accounts[i], hooks[i], tests[i], buckets[i] = d.account, d.webhook, d.test, d.bucket
		attempts[i], oks[i], retried[i], failed[i], lastOKs[i], lastFails[i] = d.attempts, d.ok, d.retried, d.failed, d.lastOK, d.lastFail
		latency = append(latency, d.latency...)
	}
	if args == nil {
		args = map[string]any{}
	}
	args["r_account_ids"], args["r_webhook_ids"], args["r_tests"], args["r_buckets"] = pgArray[string](accounts), pgArray[string](hooks), pgArray[bool](tests), pgArray[time.Time](buckets)
	args["r_attempts"], args["r_oks"], args["r_retried"], args["r_failed"] = pgArray[int](attempts), pgArray[int](oks), pgArray[int](retried), pgArray[int](failed)
	args["r_last_oks"], args["r_last_fails"], args["r_latency"] = pgArray[*time.Time](lastOKs), pgArray[*time.Time](lastFails), pgArray[int](latency)
	return args
}

// upsertRollups adds attempts to the rollups in one statement. Callers run
// it after any webhook row locks of their transaction (see Record).
func upsertRollups(tx *gorm.DB, as []rollupAttempt) error {
	if len(as) == 0 {
		return nil
	}
	if err := tx.Exec(rollupUpsert(""), rollupArgs(rollupDeltas(as), nil)).Error; err != nil {
		return fmt.Errorf("update rollups: %w", err)
	}
	return nil
}

// outcomeAttempts is the rollup view of a batch of outcomes.
func outcomeAttempts(outs []Outcome) []rollupAttempt {
	as := make([]rollupAttempt, len(outs))
	for i := range outs {
		as[i] = rollupAttempt{attempt: &outs[i].Attempt, test: outs[i].Test}
	}
	return as
}

// RebuildRollups recounts an account's rollups from its attempts: the
// one-off repair after attempts were written around Record (tests that
// seed history, or an operator's import).
func (s *Store) RebuildRollups(ctx context.Context, accountID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM webhook_rollups WHERE account_id = ?`, accountID).Error; err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		if err := tx.Exec(`INSERT INTO webhook_rollups (account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at)
			SELECT account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at
			FROM webhook_rollups_recount WHERE account_id = ?`, accountID).Error; err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		return nil
	})
}

// rollupRow is one stored rollup row (live traffic only), as read back.
type rollupRow struct {
	WebhookID  string
	Bucket     time.Time
	Attempts   int
	OK         int
	Retried    int
	Failed     int
	Latency    intList
	LastOKAt   *time.Time
	LastFailAt *time.Time
}

// intList scans an int[] column (its text form, "{1,2,3}").
type intList []int

// Value encodes the list as an array literal (GORM reads a column type
// from it, and wants both halves).
func (l intList) Value() (driver.Value, error) {
	parts := make([]string, len(l))
	for i, n := range l {
		parts[i] = strconv.Itoa(n)
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

// Scan implements sql.Scanner.
func (l *intList) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("scan int[]: unsupported type %T", src)
	}
	text = strings.Trim(text, "{}")
	*l = (*l)[:0]
	if text == "" {
		return nil
	}
	for _, f := range strings.Split(text, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("scan int[]: %w", err)
		}
		*l = append(*l, n)
	}
	return nil
}

// liveRollups reads the account's live rollup rows with from <= bucket <
// to: every webhook, or the ones named. Both surfaces of each stat (the
// console and the API) read through here.
func (s *Store) liveRollups(ctx context.Context, accountID string, from, to time.Time, webhookIDs []string) ([]rollupRow, error) {
	q := `SELECT webhook_id, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at FROM webhook_rollups
		WHERE account_id = @account AND NOT test AND bucket >= @from AND bucket < @to`
	args := map[string]any{"account": accountID, "from": from.UTC().Truncate(RollupBucket), "to": to}
	if len(webhookIDs) > 0 {
		q += ` AND webhook_id = ANY(CAST(@hooks AS text[]))`
		args["hooks"] = pgArray[string](webhookIDs)
	}
	var rows []rollupRow
	if err := s.db.WithContext(ctx).Raw(q+` ORDER BY bucket`, args).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	return rows, nil
}
