// Package jobs shows background jobs: the bulk-retry form with its count
// before it starts, and a job's progress, polled by htmx until it ends.
package jobs

import "strconv"

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// RetryForm is the "Retry failed deliveries" form of one webhook.
type RetryForm struct {
	WebhookID   string
	WebhookName string
	CSRF        string
	// Since and Until are datetime-local values in the account's zone.
	Since, Until string
	TimeZone     string
	EventTypes   []Option // the webhook's triggers; "" is all of them
	// Count is what the retry would take now: "43 failed deliveries will
	// be retried." (empty when the window is not valid).
	Count  string
	Errors map[string]string
	// Standalone: the form is a page of its own (no JavaScript, or after
	// a failed submit), not a card on another page.
	Standalone bool
}

// Err is the message for one field.
func (f RetryForm) Err(field string) string { return f.Errors[field] }

// Action is where the form posts.
func (f RetryForm) Action() string { return "/webhooks/" + f.WebhookID + "/retry-failed" }

// Job is one job's progress.
type Job struct {
	ID          string
	Title       string // what it does, in words
	WebhookID   string
	WebhookName string
	State       string // queued, running, succeeded, failed, cancelled
	StateKind   string // badge colour
	Done, Total int
	Finished    bool
	Succeeded   bool
	Message     string // the outcome once finished, or what it is doing
	Created     string // when and by whom
	LogURL      string // the webhook's delivery log
}

// Progress is "12 of 43".
func (j Job) Progress() string { return strconv.Itoa(j.Done) + " of " + strconv.Itoa(j.Total) }

func itoa(n int) string { return strconv.Itoa(n) }
