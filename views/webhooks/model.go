// Package webhooks renders the console's webhook pages: the list, the
// add/edit form with its live request preview, the detail page and the
// delete confirmation. Its view models hold display-ready strings only.
package webhooks

import (
	"strconv"

	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/dashboard"
	"github.com/ringhook/ringhook/views/jobs"
)

// Row is one webhook in the list.
type Row struct {
	ID             string
	Name           string
	Triggers       []string // labels
	URL            string
	Method         string
	Enabled        bool
	DisabledReason string
	SuccessRate    string // attempts that succeeded, "98.5%" or "–"
	P95            string // 95th percentile latency over 24 h, "240 ms" or "–"
	Health         string // ok|bad|muted (models.Webhook.Health)
	HealthLabel    string // "Healthy", "Failing: 3 failed attempts in a row", …
	// Paused is the circuit breaker's state in words ("Paused until 14:05:09
	// UTC, after 5 failures in a row"), empty while it is closed.
	Paused       string
	LastDelivery string // "3 min ago" or "never"
	LastStatus   string // ok|bad|muted
}

// Option is one choice in a checkbox group or select.
type Option struct {
	Value   string
	Label   string
	Hint    string
	Checked bool
}

// OptionGroup is a labelled group of options (the trigger picker).
type OptionGroup struct {
	Label   string
	Options []Option
}

// KVRow is one editable key/value row (custom headers, custom data).
type KVRow struct {
	Key, Value       string
	KeyErr, ValueErr string
	// Secret (headers only): the value is encrypted at rest and redacted in
	// attempt records.
	Secret bool
	Kind   string // custom data only: text, number or boolean
}

// CustomDataModes are the custom data placements the form offers (value, label).
var CustomDataModes = [][2]string{{"nested", "nested under custom_data"}, {"merged", "merged at top level (overrides event fields)"}}

// FilterRow edits one payload filter.
type FilterRow struct {
	Field   string
	Label   string
	Op      string   // in | not_in
	Values  string   // comma-separated
	Choices []string // fixed choices, shown as a hint
	Err     string
}

// Form is the add/edit form's state: values as submitted, errors by field.
type Form struct {
	ID           string // empty when adding
	Action       string
	Name         string
	Description  string
	Triggers     []OptionGroup
	URL          string
	Method       string
	ContentType  string
	CallTypes    []Option
	Numbers      []Option
	TimeZone     string
	TimeZones    []string
	Headers      []KVRow
	AuthType     string
	AuthUsername string
	HasSecret    bool   // a secret is stored; leaving the field blank keeps it
	AuthSecret   string // what was typed, kept when the form comes back with errors
	CustomData   []KVRow
	// CustomDataMode is "nested" or "merged".
	CustomDataMode string
	Filters        []FilterRow
	MaxAttempts    string
	Timeout        string
	// OrderedByCall, OrderingWindow (seconds) and ExpireAfter
	// ("call.dialed=120, …"): calls in order and stale events expired.
	OrderedByCall  bool
	OrderingWindow string
	ExpireAfter    string
	Enabled        bool
	Errors         map[string]string
	Summary        []components.ErrorLink // every field in error, in form order
	URLWarning     string                 // why the SSRF guard would refuse the URL; "" when it would not
	Warning        string
	// FocusRow is where an add/remove-row post without JavaScript puts the
	// caret: header row FocusRow (from 1), len(Headers)+1 for the Add
	// header button, 0 nowhere.
	FocusRow int
}

// Err returns the message for field, or "".
func (f Form) Err(field string) string { return f.Errors[field] }

// HeaderLine is one request header in a preview or attempt record.
type HeaderLine = components.HeaderLine

// Preview is the exact request a trigger would produce.
type Preview struct {
	Trigger string
	Options []Option // triggers to choose from
	Method  string
	URL     string
	Headers []HeaderLine
	Body    string
	// Formatted: Body was indented for display.
	Formatted bool
	Error     string
}

// Detail is one webhook's page.
type Detail struct {
	Row
	Description   string
	ContentType   string
	CallTypes     string
	Numbers       string
	TimeZone      string
	Headers       []HeaderLine
	Auth          string
	CustomData    []HeaderLine
	CustomMode    string // how custom data is placed, in words
	Filters       []string
	MaxAttempts   int
	Timeout       string
	SecretMasked  string
	SecretRotated string // when the previous secret stops signing; "" if none
	RotateConfirm string // the question Rotate asks, with the account's grace period
	CreatedBy     string
	UpdatedAt     string
	TestOptions   []Option
	CanWrite      bool
	// Replay offers to queue again the deliveries that failed since
	// ReplaySince (RFC 3339): on a disabled webhook, since its failures began.
	ReplayCount      int
	ReplaySince      string
	ReplaySinceLabel string
	// Retry is the bulk-retry form (writers only).
	Retry *jobs.RetryForm
	// Stats are the 24 h and 7 d panels; Streak says the failure streak in
	// words; Recent are the last deliveries; LogURL is its filtered log.
	Stats  []StatsPanel
	Streak string
	Recent []RecentDelivery
	LogURL string
	Zone   string // the account's time zone, of the stats' hours and days
	// Heal is the probe state of a webhook disabled automatically, and
	// the banner after a successful probe re-enabled it.
	Heal Heal

	// SecretRevealed: SecretMasked holds the secret in full (after Reveal
	// or Rotate without JavaScript), so the box offers Hide.
	SecretRevealed bool
	// DeleteKeeps is what deleting does to the history (Delete's question).
	DeleteKeeps string
	// ReplayLabel is the disabled banner's replay option: "Replay 3
	// failed deliveries" (shown only when ReplayCount > 0).
	ReplayLabel string
	// ReplayFailed counts them for the enabled webhook's warning: "1 delivery".
	ReplayFailed string
}

// Heal says what the probes of a webhook disabled automatically are doing.
type Heal struct {
	Healed  string // "Re-enabled automatically at … after a successful probe; 12 deliveries replayed."
	Probing string // "Ringhook probes the endpoint: next probe at …; 2 probes so far, last: HTTP 503."
	GaveUp  string // "Probing stopped at … after 3 days (40 probes, last: HTTP 503). …"
	Probes  []ProbeRow
}

// ProbeRow is one probe sent to a disabled webhook.
type ProbeRow struct {
	Number, Time, Result, Kind, Duration string // Kind: ok|bad
}

// StatsPanel is one window of a webhook's health: its figures, bars of
// outcomes, latency lines, and the same numbers as a table for screen
// readers.
type StatsPanel struct {
	ID, Title                string // "stats-24h", "Last 24 hours"
	Deliveries, Attempts     string
	SuccessRate, P50, P95    string
	LastSuccess, LastFailure string
	Bars                     dashboard.Chart
	Latency                  dashboard.LatencyChart
	Rows                     []StatsRow
}

// StatsRow is one bar of a panel as text.
type StatsRow struct {
	Span                                 string
	Succeeded, Failed, Retried, P50, P95 string
}

// RecentDelivery is one of a webhook's last deliveries.
type RecentDelivery struct {
	ID, Time, Event, Status, StatusKind string
}

// HTTPText prints a request the way it goes over the wire, for display.
func HTTPText(method, url string, headers []HeaderLine, body string) string {
	return HTTPMessage(method+" "+url, headers, body)
}

// HTTPMessage prints a start line, headers and body as HTTP does.
func HTTPMessage(startLine string, headers []HeaderLine, body string) string {
	return components.HTTPMessage(startLine, headers, body)
}

// attempts is "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// Matches is the filter back-test beside the form: what the settings being
// edited would have matched among the account's latest calls.
type Matches struct {
	Error           string // the form's matching fields need fixing first
	CallsConsidered int
	CallsMatched    int
	EventsMatched   int
	Examples        []MatchExample
}

// MatchExample is one matching call, its time in the account's zone.
type MatchExample struct {
	Time, Type, From, To string
	Link                 string // the call's page; "" for an event without a call
}
