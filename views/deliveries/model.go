// Package deliveries renders the console's delivery log: the filtered,
// paginated list and one delivery's page with its attempt timeline and the
// Redeliver button. Its view models hold display-ready strings only.
package deliveries

import (
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/jobs"
	"github.com/ringhook/ringhook/views/layout"
)

// Option is one choice in a select.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// OptionGroup is a labelled group of options (<optgroup>).
type OptionGroup struct {
	Label   string
	Options []Option
}

// Filters is the filter form's state: the choices and the submitted values.
type Filters struct {
	Webhooks   []Option
	EventTypes []OptionGroup
	Statuses   []Option
	CallID     string
	From       string // YYYY-MM-DD as submitted
	To         string
	Active     bool              // at least one filter is set
	Errors     map[string]string // by query parameter name
}

// Err returns the message for the query parameter name, or "".
func (f Filters) Err(name string) string { return f.Errors[name] }

// Row is one delivery in the list.
type Row struct {
	ID          string
	Time        string // in the account's time zone
	EventType   string // catalog id, e.g. call.hangup
	EventLabel  string // "Call hangup"
	WebhookID   string
	WebhookName string
	Status      string // pending|sending|succeeded|failed|expired|cancelled
	StatusKind  string // badge kind: ok|bad|warn|muted
	// HeldBehind is the id of the earlier delivery of the same call this
	// one waits for (webhooks ordered by call); "" when it does not wait.
	HeldBehind string
	Attempts   string
	LastCode   string // "200" or "–"
	Test       bool
	CallID     string // "" when the event has none
	CallURL    string // the call view
	Latency    string // the newest attempt's duration, or "–"
	NextRetry  string // "" when nothing is scheduled

	// WebhookDeleted: the webhook was deleted; its history is kept.
	WebhookDeleted bool
}

// List is the delivery log page.
type List struct {
	Filters   Filters
	Rows      []Row
	NextURL   string // the next (older) page; "" on the last page
	NewerURL  string // the previous (newer) page; "" on the first page
	NewestURL string // the first page with the same filters; "" on the first page
	TimeZone  string // the zone times are shown in
	// History says how far back the log goes: "History is kept for 30
	// days; the oldest delivery is from …".
	History string
	// Retry is the bulk-retry form of the webhook the log is filtered
	// by (writers only).
	Retry *jobs.RetryForm
}

// Summary is a delivery's facts at the top of its page.
type Summary struct {
	ID          string
	EventID     string
	EventType   string
	EventLabel  string
	CallID      string // "–" when the event has none
	CallURL     string // the call view; "" when the event has no call id
	WebhookID   string
	WebhookName string
	Status      string
	StatusKind  string
	Attempts    string
	NextAttempt string // "" when nothing is scheduled
	LastCode    string
	LastError   string
	Created     string
	Completed   string // "" while not finished
	Test        bool
	HeldBehind  string // see Row.HeldBehind
	// PreviousFailed: an earlier delivery of the call ended without
	// success while this one waited; its payload says previous_failed.
	PreviousFailed bool

	// WebhookDeleted: the webhook was deleted; its history is kept.
	WebhookDeleted bool
}

// HeaderLine is one HTTP header as recorded.
type HeaderLine = components.HeaderLine

// Attempt is one try in the timeline.
type Attempt struct {
	Number      string
	Trigger     string // auto|manual|test
	StartedAt   string
	Duration    string // "182 ms"
	StatusKind  string // ok|bad
	StatusText  string // "200 OK", "503 Service Unavailable", "no connection", …
	ErrorText   string // why it failed, in a sentence; "" when it succeeded
	NextRetryAt string // "" when no retry followed

	Request     components.Message
	HasResponse bool
	Response    components.Message
	// BodiesDropped: the account did not keep this attempt's bodies
	// (docs/privacy.md); the card says so instead of showing none.
	BodiesDropped bool
	// Masked: phone numbers and names are masked; CanReveal offers the
	// audited Reveal of this attempt.
	Masked, CanReveal bool
	DeliveryID, CSRF  string // for the Reveal form
}

// Timeline is a delivery's attempts, newest first, with the Redeliver
// button. It is also the fragment htmx swaps after a redelivery.
type Timeline struct {
	DeliveryID   string
	Attempts     []Attempt
	CanRedeliver bool
	Unavailable  string // why a writer sees no Redeliver button, if so
	CSRF         string
	Notice       string           // result of the last redelivery, shown on top
	NoticeKind   layout.FlashKind // colour of the notice
	Pending      string           // when the next automatic attempt is due, if any
	// Masked: the history is shown with phone numbers and names masked;
	// CanReveal offers the audited Reveal of the whole delivery.
	Masked, CanReveal bool
}

// Detail is one delivery's page.
type Detail struct {
	Summary  Summary
	Timeline Timeline
}
