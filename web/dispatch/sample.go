package dispatch

import (
	"slices"

	"github.com/ringhook/ringhook/models"
)

// fitSample bends a catalog sample toward what the webhook would really
// receive: its first call type and DID, and the first value of each "is
// one of" filter, so previews and tests do not show a call the webhook's
// filters would never let through.
func fitSample(sample map[string]any, w *models.Webhook) {
	set := func(field, value string) {
		if _, ok := sample[field]; ok {
			sample[field] = value
		}
	}
	if len(w.CallTypes) > 0 && sample["call_type"] != nil {
		ct := w.CallTypes[0]
		set("call_type", ct)
		dir := "outbound"
		if ct == "inbound" {
			dir = "inbound"
		}
		if sample["direction"] != dir {
			set("direction", dir)
			sample["from_number"], sample["to_number"] = sample["to_number"], sample["from_number"]
		}
	}
	if len(w.DIDNumbers) > 0 && sample["did_number"] != nil {
		did := w.DIDNumbers[0]
		set("did_number", did)
		if sample["direction"] == "inbound" {
			set("to_number", did)
		} else {
			set("from_number", did)
		}
	}
	for _, f := range w.Filters.V {
		if f.Op == "in" && len(f.Values) > 0 && !slices.Contains(f.Values, toString(sample[f.Field])) {
			set(f.Field, f.Values[0])
		}
	}
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}
