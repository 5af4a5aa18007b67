// Package catalog is the single source of truth for Ringhook's event types:
// the catalog shown in the console (trigger pickers, the catalog page), the
// documented payload fields of each type, realistic sample payloads for test
// events, and the validation and normalization of events that producers send
// to the ingest API.
//
// docs/events.md documents the catalog; its tables are generated from this
// package and checked by TestDocsCatalog and TestDocsFieldTable. Event ids
// are dotted snake_case ("call.hangup"); labels are the UI strings.
//
// # Payloads
//
// A payload is one flat map[string]any. The producer supplies event,
// event_id, occurred_at and the type's fields (see [Fields]). The renderer
// adds the render-time envelope keys (account_id, webhook_id, api_version,
// test, timezone, every <time field>_local and custom_data); those keys are
// reserved and [Normalize] rejects them on input.
//
// The canonical (normalized) payload uses only these Go types: nil, string,
// int64, []any of string, and []any of map[string]any (for the extension
// lists). Every documented key of the type is present; fields that do not
// apply are nil. Times are RFC 3339 UTC strings with millisecond precision
// ("2006-01-02T15:04:05.000Z"); phone numbers are E.164 with a leading '+'.
// Two keys may appear beyond [Fields]: "tags" (an array of strings, call
// events only, present only when the producer sent it) and "<field>_raw"
// (set only when a phone number field could not be normalized to E.164; the
// field then keeps the value exactly as received and <field>_raw repeats it).
//
// # Calls
//
// [CallGenerator] is the one generator of realistic call lifecycles
// (received, dialed, answered or missed, hangup, ended, with consistent
// fields): [Sample] takes its call lifecycle events from it, and so do
// `ringhook simulate` and the benchmark.
//
// Nothing in this package is mutable: the tables are package-level and
// read-only, every function that exposes them returns a copy, and every
// function is safe for concurrent use (a CallGenerator, which owns its
// random source, is used by one goroutine at a time).
package catalog
