package models

import (
	"fmt"
	"slices"
)

// Matches reports whether an event's payload passes the webhook's call type,
// DID and payload filters (event type and enabled are checked by the query
// that loads candidates). A filter on a field the event type does not carry
// at all (a call-type filter on an SMS event) does not exclude the event; a
// field that is present but null matches "is not one of" only.
func (w *Webhook) Matches(payload map[string]any) bool {
	if !matchIn(payload, "call_type", w.CallTypes, "in") {
		return false
	}
	if !matchIn(payload, "did_number", w.DIDNumbers, "in") {
		return false
	}
	for _, f := range w.Filters.V {
		if !matchIn(payload, f.Field, f.Values, f.Op) {
			return false
		}
	}
	return true
}

func matchIn(payload map[string]any, field string, values []string, op string) bool {
	if len(values) == 0 {
		return true
	}
	v, present := payload[field]
	if !present {
		return true
	}
	in := false
	if v != nil {
		in = slices.Contains(values, fmt.Sprint(v))
	}
	if op == "not_in" {
		return !in
	}
	return in
}
