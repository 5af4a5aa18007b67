// Package fault is Ringhook's one error vocabulary, shared by every layer:
// distinct sentinel errors for distinct situations, FieldErrors for input
// problems whichever layer found them (the event catalog, the payload
// renderer, the Store, a handler), and Error for a sentinel that carries a
// message written for people. The HTTP layer maps these to status, code
// and message in one table (handlers/errors.go); anything else is an
// internal error whose text is logged and never shown.
//
// fault imports only the standard library so that models, models/catalog
// and web/dispatch/payload can all use it.
package fault

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinels. Wrap them with context (fmt.Errorf("load webhook: %w",
// fault.ErrNotFound)); callers test them with errors.Is.
var (
	// ErrNotFound means the object does not exist in the caller's account.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input breaks a rule; FieldErrors say which
	// fields and why (errors.Is(fe, ErrInvalid) holds for every FieldErrors).
	ErrInvalid = errors.New("invalid input")
	// ErrInFlight means an attempt of the delivery is being sent right now,
	// so it cannot be claimed again until that attempt ends.
	ErrInFlight = errors.New("an attempt is in flight")
	// ErrUnrenderable means the request of a delivery cannot be built from
	// its event and webhook; sending it again will not help.
	ErrUnrenderable = errors.New("request cannot be rendered")
	// ErrInvalidCredentials means the email/password or API key did not match.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrUnauthenticated means the request carries no usable credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means the caller is known but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrFormExpired means a console form failed its CSRF check.
	ErrFormExpired = errors.New("form expired or forged")
	// ErrBadRequest means the request itself cannot be read (malformed
	// JSON, an unreadable form), before any field could be checked.
	ErrBadRequest = errors.New("bad request")
	// ErrUnsupportedMediaType means the body is not in a format the route reads.
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrTooLarge means the request body or form is over its limit.
	ErrTooLarge = errors.New("request too large")
	// ErrMethodNotAllowed means the path exists under other methods only.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrUnavailable means a part of Ringhook this request needs (the
	// dispatcher, ingest) is not running in this process.
	ErrUnavailable = errors.New("unavailable")
	// ErrRateLimited means the caller sent more requests than its limit
	// allows; it may retry after a while.
	ErrRateLimited = errors.New("rate limited")
	// ErrIdempotencyKeyReused means an Idempotency-Key came back with a
	// different request than the one it was first used for.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused")
	// ErrFinished means the object has reached a final state and the
	// request (e.g. cancelling a delivery) no longer applies to it.
	ErrFinished = errors.New("already finished")
)

// Error is a sentinel with a message written for the person or program
// that made the request, plus an optional internal cause that is logged,
// never shown. Use it when the sentinel's stock message is too vague.
type Error struct {
	// Kind is one of the sentinels above.
	Kind error
	// Message is safe to show: it never contains internal text.
	Message string
	// Cause is for logs only.
	Cause error
}

// Errorf returns an *Error of kind with a formatted public message.
func Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// WithCause records the internal error behind e and returns e.
func (e *Error) WithCause(cause error) *Error {
	e.Cause = cause
	return e
}

// Error joins the message and the cause, for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap exposes the kind (and the cause) to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// Message returns the public message of the first *Error in err's chain,
// or "" when there is none.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// FieldErrors maps a form, JSON or payload field name (or a path such as
// "headers.0.name" or "dialed_extensions[0].number") to a message a person
// can act on. A non-empty FieldErrors is an error: errors.Is(fe,
// ErrInvalid) holds.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message,
// so the first (most basic) problem is the one shown.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns f as an error, or nil when it is empty.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// Is makes every FieldErrors an ErrInvalid.
func (f FieldErrors) Is(target error) bool { return target == ErrInvalid }

// summaryFields is how many fields Summary names before "and N more".
const summaryFields = 5

// Summary lists the first few problems as "field: message" in field
// order, for a one-line message; the full set is the map itself.
func (f FieldErrors) Summary() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i == summaryFields {
			fmt.Fprintf(&b, "; and %d more", len(keys)-summaryFields)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + f[k])
	}
	return b.String()
}

// Error is "invalid input: " and the Summary.
func (f FieldErrors) Error() string {
	if len(f) == 0 {
		return ErrInvalid.Error()
	}
	return ErrInvalid.Error() + ": " + f.Summary()
}
