package models

import (
	"context"
	"fmt"
	"time"
)

// WebhookStat summarises one webhook's live attempts over a time range,
// from the rollups (test sends and test-mode deliveries left out), plus
// its queue as it is now.
type WebhookStat struct {
	Attempts  int
	Succeeded int // attempts answered 2xx: each ends a delivery succeeded
	Failed    int // attempts that failed with no retry left: each ends a delivery failed
	Retried   int // attempts that failed with a retry scheduled
	Latency   Histogram
	// LastSuccessAt and LastFailureAt are the starts of the last
	// successful and failed attempts in the range.
	LastSuccessAt, LastFailureAt *time.Time

	// Now, whatever the range: deliveries waiting or in flight, and of
	// those the ones retrying after a failed attempt.
	Pending, Retrying int
	// Expired counts deliveries that ended expired in the range: unsent at
	// their deadline, so counted apart from failures (they have no attempt).
	Expired int
}

// Deliveries is how many deliveries ended in the range (succeeded or failed).
func (s WebhookStat) Deliveries() int { return s.Succeeded + s.Failed }

// SuccessRate is successful attempts / attempts, and false when nothing was
// attempted. Counting attempts (not finished deliveries) makes a receiver
// failing deliveries that are still being retried show at once.
func (s WebhookStat) SuccessRate() (float64, bool) {
	if s.Attempts == 0 {
		return 0, false
	}
	return float64(s.Succeeded) / float64(s.Attempts), true
}

// LastAt is the start of the last attempt in the range, nil when none.
func (s WebhookStat) LastAt() *time.Time {
	if s.LastFailureAt != nil && (s.LastSuccessAt == nil || s.LastFailureAt.After(*s.LastSuccessAt)) {
		return s.LastFailureAt
	}
	return s.LastSuccessAt
}

// LastSucceeded reports whether the last attempt in the range succeeded.
func (s WebhookStat) LastSucceeded() bool { return s.LastAt() != nil && s.LastAt() == s.LastSuccessAt }

// add adds one rollup row.
func (s *WebhookStat) add(r *rollupRow) {
	s.Attempts += r.Attempts
	s.Succeeded += r.OK
	s.Failed += r.Failed
	s.Retried += r.Retried
	s.Latency.add(r.Latency)
	s.LastSuccessAt = later(s.LastSuccessAt, r.LastOKAt)
	s.LastFailureAt = later(s.LastFailureAt, r.LastFailAt)
}

func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// WebhookStats sums each webhook's rollups since the given time (from the
// 15 minutes holding it): every webhook of the account, or just the ones
// named. A webhook with neither attempts nor a queue is absent.
func (s *Store) WebhookStats(ctx context.Context, accountID string, since time.Time, webhookIDs ...string) (map[string]WebhookStat, error) {
	rows, err := s.liveRollups(ctx, accountID, since, s.now().Add(RollupBucket), webhookIDs)
	if err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	out := map[string]WebhookStat{}
	for i := range rows {
		st := out[rows[i].WebhookID]
		st.add(&rows[i])
		out[rows[i].WebhookID] = st
	}
	if err := s.addQueues(ctx, accountID, webhookIDs, out); err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	if err := s.addExpired(ctx, accountID, since, webhookIDs, out); err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	return out, nil
}

// addExpired adds each webhook's deliveries that expired since the given
// time. Expiry is not an attempt, so the rollups do not see it.
func (s *Store) addExpired(ctx context.Context, accountID string, since time.Time, webhookIDs []string, out map[string]WebhookStat) error {
	args := map[string]any{"account": accountID, "since": since}
	only := ""
	if len(webhookIDs) > 0 {
		only, args["hooks"] = " AND webhook_id = ANY(CAST(@hooks AS text[]))", pgArray[string](webhookIDs)
	}
	var rows []struct {
		WebhookID string
		N         int
	}
	err := s.db.WithContext(ctx).Raw(`SELECT webhook_id, count(*) AS n FROM deliveries
		WHERE account_id = @account AND status = `+sqlExpired+` AND completed_at >= @since AND NOT test`+only+`
		GROUP BY webhook_id`, args).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("count expired deliveries: %w", err)
	}
	for _, r := range rows {
		st := out[r.WebhookID]
		st.Expired = r.N
		out[r.WebhookID] = st
	}
	return nil
}

// addQueues adds each webhook's queue as it is now to its stat. It reads
// the pending rows through the per-webhook due index and the sending ones
// through the lease index: its cost follows the backlog, not the history.
func (s *Store) addQueues(ctx context.Context, accountID string, webhookIDs []string, out map[string]WebhookStat) error {
	hooks := `SELECT id FROM webhooks WHERE account_id = @account`
	args := map[string]any{"account": accountID}
	if len(webhookIDs) > 0 {
		hooks, args["hooks"] = `SELECT unnest(CAST(@hooks AS text[]))`, pgArray[string](webhookIDs)
	}
	// A pending delivery has attempt_count > 0 only after a failed attempt
	// (a success ends it); a sending one counts the attempt in flight.
	var rows []struct {
		WebhookID string
		Pending   int
		Retrying  int
	}
	err := s.db.WithContext(ctx).Raw(`
		SELECT webhook_id, count(*) AS pending, count(*) FILTER (WHERE retrying) AS retrying FROM (
			SELECT webhook_id, attempt_count > 0 AS retrying FROM deliveries
			WHERE webhook_id IN (`+hooks+`) AND status = `+sqlPending+` AND account_id = @account AND NOT test
			UNION ALL
			SELECT webhook_id, attempt_count > 1 FROM deliveries
			WHERE status = `+sqlSending+` AND account_id = @account AND webhook_id IN (`+hooks+`) AND NOT test
		) q GROUP BY webhook_id`, args).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("count queued deliveries: %w", err)
	}
	for _, r := range rows {
		st := out[r.WebhookID]
		st.Pending, st.Retrying = r.Pending, r.Retrying
		out[r.WebhookID] = st
	}
	return nil
}

// Bucket is the live attempts of one span of time (an hour or a day of the
// account's time zone), from the rollups.
type Bucket struct {
	Start, End time.Time
	Attempts   int
	Succeeded  int // answered 2xx
	Failed     int // failed, no retry left
	Retried    int // failed, retried later
	Latency    Histogram
}

// MaxCountBuckets bounds DeliveryCounts (90 days of hours).
const MaxCountBuckets = 24 * 90

// DeliveryCounts sums the account's live rollups (every webhook, or the ones
// named) into the spans between consecutive edges, which must be whole
// multiples of RollupBucket apart (LocalHours and LocalDays make such
// edges in any time zone). At most MaxCountBuckets spans.
func (s *Store) DeliveryCounts(ctx context.Context, accountID string, edges []time.Time, webhookIDs ...string) ([]Bucket, error) {
	if len(edges) > MaxCountBuckets+1 {
		edges = edges[len(edges)-MaxCountBuckets-1:]
	}
	if len(edges) < 2 {
		return nil, nil
	}
	rows, err := s.liveRollups(ctx, accountID, edges[0], edges[len(edges)-1], webhookIDs)
	if err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	return bucketize(rows, edges), nil
}

// bucketize sums rows (in bucket order) into the spans between edges.
func bucketize(rows []rollupRow, edges []time.Time) []Bucket {
	out := make([]Bucket, len(edges)-1)
	for i := range out {
		out[i].Start, out[i].End = edges[i], edges[i+1]
	}
	i := 0
	for r := range rows {
		row := &rows[r]
		for i < len(out) && !row.Bucket.Before(out[i].End) {
			i++
		}
		if i == len(out) {
			break
		}
		if row.Bucket.Before(out[i].Start) {
			continue
		}
		b := &out[i]
		b.Attempts += row.Attempts
		b.Succeeded += row.OK
		b.Failed += row.Failed
		b.Retried += row.Retried
		b.Latency.add(row.Latency)
	}
	return out
}

// LocalHours are the edges of the n whole hours of loc ending with the one
// that holds now (n+1 instants, oldest first).
func LocalHours(now time.Time, loc *time.Location, n int) []time.Time {
	t := now.In(loc)
	end := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc).Add(time.Hour)
	out := make([]time.Time, n+1)
	for i := range out {
		out[i] = end.Add(time.Duration(i-n) * time.Hour).UTC()
	}
	return out
}

// LocalDays are the edges of the n whole days of loc ending with today (n+1
// midnights, oldest first; a day is 23 or 25 hours across a DST change).
func LocalDays(now time.Time, loc *time.Location, n int) []time.Time {
	t := now.In(loc)
	out := make([]time.Time, n+1)
	for i := range out {
		out[i] = time.Date(t.Year(), t.Month(), t.Day()+1+i-n, 0, 0, 0, 0, loc).UTC()
	}
	return out
}

// Stats windows: the last 24 whole local hours, or the last 7 local days.
const (
	Window24h = "24h"
	Window7d  = "7d"
)

// WindowEdges are the series edges of a stats window, hourly for 24h and
// daily for 7d; false for any other window.
func WindowEdges(window string, now time.Time, loc *time.Location) ([]time.Time, bool) {
	switch window {
	case Window24h:
		return LocalHours(now, loc, 24), true
	case Window7d:
		return LocalDays(now, loc, 7), true
	}
	return nil, false
}

// WebhookReport is one webhook's health over a window: the totals, the
// series they sum, and the failure streak. The console's webhook page and
// GET /api/v1/webhooks/{id}/stats both show it.
type WebhookReport struct {
	Window       string
	Stat         WebhookStat // over the whole window (Series summed), plus the queue
	Series       []Bucket    // hourly (24h) or daily (7d), oldest first
	Streak       int         // failed attempts in a row now
	FailingSince *time.Time  // when the streak began
}

// WebhookReport reads one webhook's report for window ("24h" or "7d", else
// FieldErrors) with buckets in loc. Another account's webhook is ErrNotFound.
func (s *Store) WebhookReport(ctx context.Context, accountID, webhookID, window string, loc *time.Location) (*WebhookReport, error) {
	edges, ok := WindowEdges(window, s.now(), loc)
	if !ok {
		return nil, FieldErrors{"window": "Choose 24h or 7d."}
	}
	w, err := s.Webhook(ctx, accountID, webhookID)
	if err != nil {
		return nil, err
	}
	rows, err := s.liveRollups(ctx, accountID, edges[0], edges[len(edges)-1], []string{w.ID})
	if err != nil {
		return nil, fmt.Errorf("webhook report: %w", err)
	}
	rep := &WebhookReport{Window: window, Series: bucketize(rows, edges), Streak: w.ConsecutiveFailures, FailingSince: w.FailingSince}
	for i := range rows {
		rep.Stat.add(&rows[i])
	}
	q := map[string]WebhookStat{}
	if err := s.addQueues(ctx, accountID, []string{w.ID}, q); err != nil {
		return nil, fmt.Errorf("webhook report: %w", err)
	}
	rep.Stat.Pending, rep.Stat.Retrying = q[w.ID].Pending, q[w.ID].Retrying
	return rep, nil
}
