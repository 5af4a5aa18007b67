package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RenderedRequest is a request exactly as it goes over the wire.
type RenderedRequest struct {
	Method  string
	URL     string
	Headers []Header
	Body    []byte
}

// WebhookStat summarises one webhook's recent deliveries and attempts
// (test sends left out).
type WebhookStat struct {
	Succeeded int
	Failed    int // ended failed
	Expired   int // ended expired, unsent at its deadline (not a failure of the receiver)
	// Retrying counts deliveries waiting for (or in) a retry after a failed
	// attempt: they have not ended, but the receiver is failing them.
	Retrying   int
	Pending    int // waiting or in flight, Retrying included
	Attempts   int // attempts of those deliveries
	AttemptsOK int // of which the receiver answered 2xx
	LastAt     *time.Time
	LastStatus DeliveryStatus
}

// SuccessRate is successful attempts / attempts, and false when nothing was
// attempted. Counting attempts (not finished deliveries) makes a receiver
// failing deliveries that are still being retried show at once.
func (s WebhookStat) SuccessRate() (float64, bool) {
	if s.Attempts == 0 {
		return 0, false
	}
	return float64(s.AttemptsOK) / float64(s.Attempts), true
}

// Health is a webhook's delivery health, defined once for every surface
// (webhook list, webhook page, dashboard).
type Health string

// Healths.
const (
	HealthIdle    Health = "idle"    // nothing delivered recently
	HealthOK      Health = "ok"      // the last attempts succeeded
	HealthFailing Health = "failing" // its last attempt failed, or deliveries are retrying after a failure
)

// Health says whether w is failing: its failure streak (consecutive failed
// attempts, see Record) is above zero or some of its deliveries are
// retrying after a failed attempt.
func (w *Webhook) Health(st WebhookStat) Health {
	switch {
	case w.ConsecutiveFailures > 0 || st.Retrying > 0:
		return HealthFailing
	case st.Attempts == 0 && st.LastAt == nil:
		return HealthIdle
	}
	return HealthOK
}

// WebhookStats counts each webhook's deliveries created since the given
// time, and their attempts: every webhook of the account, or just the
// ones named. Test sends are left out.
func (s *Store) WebhookStats(ctx context.Context, accountID string, since time.Time, webhookIDs ...string) (map[string]WebhookStat, error) {
	type row struct {
		WebhookID  string
		Succeeded  int
		Failed     int
		Expired    int
		Retrying   int
		Pending    int
		LastAt     *time.Time
		LastStatus DeliveryStatus
	}
	var rows []row
	args := map[string]any{"account": accountID, "since": since, "succeeded": string(StatusSucceeded), "failed": string(StatusFailed), "expired": string(StatusExpired),
		"pending": string(StatusPending), "sending": string(StatusSending), "test": string(TriggerTest)}
	only := ""
	if len(webhookIDs) > 0 {
		only, args["hooks"] = " AND webhook_id = ANY(CAST(@hooks AS text[]))", pgArray[string](webhookIDs)
	}
	// A pending delivery has attempt_count > 0 only after a failed attempt
	// (a success ends it); a sending one counts the attempt in flight.
	err := s.db.WithContext(ctx).Raw(`
		SELECT webhook_id,
		       count(*) FILTER (WHERE status = @succeeded) AS succeeded,
		       count(*) FILTER (WHERE status = @failed) AS failed,
		       count(*) FILTER (WHERE status = @expired) AS expired,
		       count(*) FILTER (WHERE (status = @pending AND attempt_count > 0) OR (status = @sending AND attempt_count > 1)) AS retrying,
		       count(*) FILTER (WHERE status IN (@pending, @sending)) AS pending,
		       max(created_at) AS last_at,
		       (array_agg(status ORDER BY id DESC))[1] AS last_status
		FROM deliveries
		WHERE account_id = @account AND created_at >= @since AND NOT test`+only+`
		GROUP BY webhook_id`, args).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	out := make(map[string]WebhookStat, len(rows))
	for _, r := range rows {
		out[r.WebhookID] = WebhookStat{Succeeded: r.Succeeded, Failed: r.Failed, Expired: r.Expired, Retrying: r.Retrying, Pending: r.Pending, LastAt: r.LastAt, LastStatus: r.LastStatus}
	}
	type attempts struct {
		WebhookID string
		Attempts  int
		OK        int
	}
	var as []attempts
	// The attempts of the same deliveries, found through each delivery's
	// attempts index rather than by scanning the account's attempts.
	err = s.db.WithContext(ctx).Raw(`
		SELECT d.webhook_id, count(*) AS attempts,
		       count(*) FILTER (WHERE a.error_kind = '' AND a.response_status BETWEEN 200 AND 299) AS ok
		FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
		WHERE d.account_id = @account AND d.created_at >= @since AND NOT d.test AND a.trigger <> @test`+strings.ReplaceAll(only, "webhook_id", "d.webhook_id")+`
		GROUP BY d.webhook_id`, args).Scan(&as).Error
	if err != nil {
		return nil, fmt.Errorf("webhook attempt stats: %w", err)
	}
	for _, a := range as {
		st := out[a.WebhookID]
		st.Attempts, st.AttemptsOK = a.Attempts, a.OK
		out[a.WebhookID] = st
	}
	return out, nil
}

// Event is one call event as the producer sent it (normalized).
type Event struct {
	AccountID  string `gorm:"primaryKey"`
	ID         string `gorm:"primaryKey"`
	Type       string
	OccurredAt time.Time
	CallID     *string
	Payload    JSON[map[string]any]
	ReceivedAt time.Time
}

// Delivery is one event for one webhook: the queue entry and its log line.
// The rendered request is stored once and reused byte-for-byte on retries.
type Delivery struct {
	ID        int64 `gorm:"primaryKey;->"`
	AccountID string
	WebhookID string
	EventID   string
	EventType string
	CallID    *string
	// OccurredAt is the event's, kept here for the per-call order (see claimSQL).
	OccurredAt *time.Time
	// ExpiresAt is the deadline after which the delivery is not sent (nil: none).
	ExpiresAt *time.Time
	// PreviousFailed: an earlier delivery of the same call on this ordered
	// webhook ended without success while this one waited behind it; the
	// envelope carries previous_failed: true.
	PreviousFailed bool
	Status         DeliveryStatus
	Test           bool
	AttemptCount   int
	NextAttemptAt  *time.Time
	LeaseUntil     *time.Time
	LeaseHolder    *string // the dispatcher (see Store.Heartbeat) holding the lease
	// ManualRetry: queued again by hand (a bulk retry); the next attempt is
	// manual and does not restart the automatic schedule.
	ManualRetry    bool
	LastStatusCode *int
	LastError      string
	RequestMethod  string
	RequestURL     string
	RequestHeaders JSON[[]Header]
	RequestBody    []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
}

// Attempt is one try at sending a delivery, as it went over the wire
// (secrets redacted, bodies truncated).
type Attempt struct {
	ID              int64 `gorm:"primaryKey;->"`
	AccountID       string
	DeliveryID      int64
	WebhookID       string
	Number          int
	Trigger         Trigger
	StartedAt       time.Time
	DurationMS      int `gorm:"column:duration_ms"`
	RequestMethod   string
	RequestURL      string
	RequestHeaders  JSON[[]Header]
	RequestBody     string
	ResponseStatus  *int
	ResponseHeaders JSON[[]Header]
	ResponseBody    string
	ErrorKind       ErrorKind
	ErrorMessage    string
	NextRetryAt     *time.Time
}

// Succeeded reports whether the receiver answered 2xx.
func (a *Attempt) Succeeded() bool {
	return a.ErrorKind == "" && a.ResponseStatus != nil && *a.ResponseStatus >= 200 && *a.ResponseStatus < 300
}

// IngestResult is what accepting an event produced.
type IngestResult struct {
	EventID    string
	Deliveries int
	Duplicate  bool // the event id was seen before; nothing new was created
}

// TestResult is a test event's delivery and its single attempt.
type TestResult struct {
	Delivery Delivery
	Attempt  *Attempt // nil when the request could not be rendered
	Request  RenderedRequest
}

// Batch item statuses: what became of one event of an ingest batch.
const (
	BatchAccepted  = "accepted"  // stored, its deliveries queued
	BatchDuplicate = "duplicate" // its event id was stored before or earlier in the batch
	BatchInvalid   = "invalid"   // refused with Errors; nothing stored for it
)

// BatchItem is the outcome of one event of an ingest batch.
type BatchItem struct {
	Index      int
	EventID    string // as sent, when it was a string
	Status     string // BatchAccepted, BatchDuplicate or BatchInvalid
	Deliveries int
	Errors     FieldErrors // when Status is BatchInvalid
}

// BatchResult is what an ingest batch produced: one item per event, in
// order, and the totals (which metrics count).
type BatchResult struct {
	Items                         []BatchItem
	Accepted, Duplicates, Invalid int
}
