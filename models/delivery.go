package models

import (
	"time"

	"github.com/ringhook/ringhook/models/publicid"
)

// RenderedRequest is a request exactly as it goes over the wire.
type RenderedRequest struct {
	Method  string
	URL     string
	Headers []Header
	Body    []byte
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
	case st.Attempts == 0 && st.Pending == 0:
		return HealthIdle
	}
	return HealthOK
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
	// ID carries the week the delivery was created in, its partition
	// (delivery_row_id in migration 0033).
	// Left zero, the column default picks it on the database's clock.
	ID int64 `gorm:"primaryKey;autoIncrement:false;default:delivery_row_id(now())"`
	// PublicID is what the API and the console show (dlv_…); the Store
	// fills it on every delivery it returns.
	PublicID  publicid.ID `gorm:"-"`
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
	ID int64 `gorm:"primaryKey;->"`
	// PublicID (att_…) and DeliveryPublicID (dlv_…) are what the API and
	// the console show; the Store fills them (Store.FillAttempt).
	PublicID         publicid.ID `gorm:"-"`
	DeliveryPublicID publicid.ID `gorm:"-"`
	AccountID        string
	DeliveryID       int64
	WebhookID        string
	Number           int
	Trigger          Trigger
	StartedAt        time.Time
	DurationMS       int `gorm:"column:duration_ms"`
	RequestMethod    string
	RequestURL       string
	RequestHeaders   JSON[[]Header]
	RequestBody      string
	ResponseStatus   *int
	ResponseHeaders  JSON[[]Header]
	ResponseBody     string
	ErrorKind        ErrorKind
	ErrorMessage     string
	NextRetryAt      *time.Time
	// BodiesDropped: the bodies were not kept (the account keeps them
	// only for failed attempts) or were trimmed after its body retention.
	BodiesDropped bool
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
