package catalog_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// TestValues pins the shared vocabularies: the documented lists that the
// webhook form, filter validation and Normalize all read through Values.
func TestValues(t *testing.T) {
	for field, want := range map[string][]string{
		"call_status": {"ringing", "in_progress", "answered", "missed"},
		"call_type":   {"inbound", "outbound", "click_to_call"},
		"direction":   {"inbound", "outbound", "internal"},
	} {
		if got := catalog.Values(field); !reflect.DeepEqual(got, want) {
			t.Errorf("Values(%q) = %v, want %v", field, got, want)
		}
	}
	for _, f := range []string{"disposition", "queue_id", "from_number", "nope"} {
		if got := catalog.Values(f); got != nil {
			t.Errorf("Values(%q) = %v, want nil (not an enum)", f, got)
		}
	}
	if got, want := catalog.FilterFields(), []string{"direction", "call_status", "disposition", "queue_id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FilterFields() = %v, want %v", got, want)
	}
	// Copies: a caller cannot change the tables.
	catalog.Values("call_status")[0] = "x"
	catalog.FilterFields()[0] = "x"
	if catalog.Values("call_status")[0] != "ringing" || catalog.FilterFields()[0] != "direction" {
		t.Error("Values or FilterFields exposed the table")
	}
}

// TestValuesAreWhatNormalizeAccepts proves the ingest validator accepts
// exactly Values(field): each listed value passes, and anything else fails
// with a message that lists the same values.
func TestValuesAreWhatNormalizeAccepts(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"event": "call.answered", "event_id": "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
			"occurred_at": "2026-04-09T07:24:53Z", "call_id": "c1", "direction": "outbound", "call_type": "outbound",
			"from_number": "+918287842425", "to_number": "+919240202904", "call_status": "in_progress"}
	}
	for _, field := range []string{"call_status", "call_type", "direction"} {
		for _, v := range catalog.Values(field) {
			in := base()
			in[field] = v
			if field == "direction" && v == "inbound" {
				in["call_type"] = "inbound"
			}
			if field == "call_type" && v == "inbound" {
				in["direction"] = "inbound"
			}
			if _, err := catalog.Normalize(in); err != nil {
				t.Errorf("%s %q rejected: %v", field, v, err)
			}
			if got, ok := catalog.CanonicalValue(field, " "+strings.ToUpper(v)+" "); got != v || !ok {
				t.Errorf("CanonicalValue(%s, %q) = %q, %v", field, v, got, ok)
			}
		}
		in := base()
		in[field] = "bogus"
		_, err := catalog.Normalize(in)
		var fe fault.FieldErrors
		if !errors.As(err, &fe) || !strings.Contains(fe[field], strings.Join(catalog.Values(field), ", ")) {
			t.Errorf("%s bogus: %v", field, err)
		}
		if _, ok := catalog.CanonicalValue(field, "bogus"); ok {
			t.Errorf("CanonicalValue accepted bogus %s", field)
		}
	}
	if got, ok := catalog.CanonicalValue("queue_id", " q1 "); got != "q1" || !ok {
		t.Errorf("non-enum CanonicalValue = %q, %v", got, ok)
	}
	// Every filter field is a payload field of some call event.
	for _, f := range catalog.FilterFields() {
		found := slices.ContainsFunc(catalog.Types(), func(ty catalog.Type) bool { return slices.Contains(catalog.Fields(ty.ID), f) })
		if !found {
			t.Errorf("filter field %q is in no event type's payload", f)
		}
	}
}
