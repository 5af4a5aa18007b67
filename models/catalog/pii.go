package catalog

import (
	"slices"
	"strings"
)

// What a field's value says about a person, for masking (models/pii).
const (
	// PIIPhone: a phone number (every phone field and its _raw companion).
	PIIPhone = "phone"
	// PIIName: a caller's or callee's name as caller id gives it.
	PIIName = "name"
)

// personNameFields are the text fields that carry the name of the person
// on the outside of the call (extension, queue and IVR names are the
// account's own staff and configuration, not masked).
var personNameFields = []string{"from_name", "to_name"}

// PIIKind says whether field carries a phone number (PIIPhone), a person's
// name (PIIName) or neither (""), by the field rules of the catalog.
func PIIKind(field string) string {
	if isPhoneField(field) || strings.HasSuffix(field, "_raw") && isPhoneField(strings.TrimSuffix(field, "_raw")) {
		return PIIPhone
	}
	if slices.Contains(personNameFields, field) {
		return PIIName
	}
	return ""
}

// PIIFields lists the fields PIIKind marks (without the _raw companions),
// sorted.
func PIIFields() []string {
	var out []string
	for name := range fieldSpecs {
		if PIIKind(name) != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
