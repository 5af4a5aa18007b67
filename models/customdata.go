package models

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CustomDataMode says where a webhook's custom_data goes in the payload.
type CustomDataMode string

// The custom data placements.
const (
	// CustomDataNested sends the values as one object under "custom_data"
	// (Ringhook's default: event fields are never shadowed).
	CustomDataNested CustomDataMode = "nested"
	// CustomDataMerged puts each value at the top level of the payload,
	// overriding an event field of the same name (Kazoo's behaviour; the
	// Kazoo dialect picks it for the webhooks it creates).
	CustomDataMerged CustomDataMode = "merged"
)

// Valid reports whether m is one of the modes.
func (m CustomDataMode) Valid() bool { return m == CustomDataNested || m == CustomDataMerged }

// Scalar kinds a custom_data value may have, as forms name them.
const (
	ScalarText    = "text"
	ScalarNumber  = "number"
	ScalarBoolean = "boolean"
)

// NormalizeScalar returns v as one of the three stored custom_data value
// types (string, float64, bool), or ok false when v is not a JSON scalar
// Ringhook accepts (null, objects, arrays, NaN and infinities are not).
func NormalizeScalar(v any) (out any, ok bool) {
	switch x := v.(type) {
	case string, bool:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return NormalizeScalar(float64(x))
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, false
		}
		return NormalizeScalar(f)
	}
	return nil, false
}

// ScalarKind names the kind of a stored custom_data value.
func ScalarKind(v any) string {
	switch v.(type) {
	case bool:
		return ScalarBoolean
	case float64, float32, int, int64, json.Number:
		return ScalarNumber
	}
	return ScalarText
}

// ScalarString shows a custom_data value as a person types it: text as
// is, numbers without exponent or trailing zeros, booleans as true/false.
func ScalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// ParseScalar reads a value typed into a form as kind (text, number or
// boolean; empty means text). A number or boolean that does not parse is
// an error whose message says what to type.
func ParseScalar(kind, s string) (any, error) {
	switch kind {
	case "", ScalarText:
		return s, nil
	case ScalarNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return s, fmt.Errorf("enter a number such as 42 or 3.5")
		}
		return f, nil
	case ScalarBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return s, fmt.Errorf("enter true or false")
	}
	return s, fmt.Errorf("choose text, number or true/false")
}

// DialectState keeps how a vendor dialect's client spelled a webhook, so
// the dialect can answer in the client's words. The webhook's EventTypes
// and Filters stay the truth: a dialect uses EventNames only for types the
// webhook still has, and Filters only while they still translate to the
// webhook's filters.
type DialectState struct {
	// EventNames maps a catalog event type to the name the client sent.
	EventNames map[string]string `json:"event_names,omitempty"`
	// Filters are the vendor's filters exactly as sent.
	Filters json.RawMessage `json:"filters,omitempty"`
}
