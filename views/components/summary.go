package components

import (
	"strconv"

	"github.com/a-h/templ"
)

// ErrorLink is one field in error as the error summary lists it.
type ErrorLink struct {
	Target  string // the id of the field's input, or of its fieldset for a group
	Label   string // the field's label, e.g. "URL" or "Header 2 name"
	Message string
}

// ErrAttrs ties an input to its error message (FieldError's id) for
// assistive technology; nil when there is no error.
func ErrAttrs(id, msg string) templ.Attributes {
	if msg == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": id + "-error"}
}

func summaryTitle(n int) string {
	if n == 1 {
		return "Nothing was saved: 1 field needs fixing"
	}
	return "Nothing was saved: " + strconv.Itoa(n) + " fields need fixing"
}
