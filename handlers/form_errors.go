package handlers

import (
	"slices"

	"github.com/ringhook/ringhook/views/components"
)

// summaryField is a field a form's error summary can name: the key of its
// error, the id the summary links to, and its label.
type summaryField struct{ key, target, label string }

// errorSummary lists the errors of errs in the order of fields (the form's
// order), then any error of a key fields does not know, linked to
// fallback: the summary names every field in error.
func errorSummary(errs map[string]string, fields []summaryField, fallback string) []components.ErrorLink {
	var out []components.ErrorLink
	seen := map[string]bool{}
	for _, f := range fields {
		if msg := errs[f.key]; msg != "" && !seen[f.key] {
			seen[f.key] = true
			out = append(out, components.ErrorLink{Target: f.target, Label: f.label, Message: msg})
		}
	}
	var rest []string
	for k, msg := range errs {
		if msg != "" && !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, components.ErrorLink{Target: fallback, Label: k, Message: errs[k]})
	}
	return out
}
