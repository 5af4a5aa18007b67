package models

// DeliveryStatus is where a delivery is in its life (the diagram is in the package doc).
type DeliveryStatus string

// Delivery statuses.
const (
	StatusPending   DeliveryStatus = "pending"   // queued, due at next_attempt_at
	StatusSending   DeliveryStatus = "sending"   // leased by a worker until lease_until
	StatusSucceeded DeliveryStatus = "succeeded" // the receiver answered 2xx (final)
	StatusFailed    DeliveryStatus = "failed"    // no attempts left, or not retriable (final)
	StatusExpired   DeliveryStatus = "expired"   // still unsent at its deadline; never sent (final)
	StatusCancelled DeliveryStatus = "cancelled" // withdrawn before it finished (final)
)

// DeliveryStatuses lists every status, in the order of the diagram.
var DeliveryStatuses = []DeliveryStatus{StatusPending, StatusSending, StatusSucceeded, StatusFailed, StatusExpired, StatusCancelled}

// Final reports whether the dispatcher is done with a delivery in s.
func (s DeliveryStatus) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusExpired || s == StatusCancelled
}

// Trigger says what started an attempt (the attempts.trigger column).
type Trigger string

// Attempt triggers.
const (
	TriggerAuto   Trigger = "auto"   // the dispatcher: first send or a scheduled retry
	TriggerManual Trigger = "manual" // a person or program asked to redeliver
	TriggerTest   Trigger = "test"   // "Send test event": shown inline, never retried
)

// ErrorKind classifies a failed attempt (the attempts.error_kind column);
// the empty kind means no error.
type ErrorKind string

// Error kinds of a failed attempt.
const (
	ErrKindTimeout    ErrorKind = "timeout"     // a deadline expired
	ErrKindDNS        ErrorKind = "dns"         // the host name could not be resolved
	ErrKindConnect    ErrorKind = "connect"     // refused, reset or any other transport failure
	ErrKindTLS        ErrorKind = "tls"         // TLS handshake or certificate verification failed
	ErrKindHTTPStatus ErrorKind = "http_status" // the receiver answered, but not 2xx
	ErrKindBlocked    ErrorKind = "blocked"     // the SSRF policy refused the destination address
	ErrKindRender     ErrorKind = "render"      // the request could not be built (never retried)
	ErrKindInternal   ErrorKind = "internal"    // a bug in Ringhook while sending (recovered; retried)
)
