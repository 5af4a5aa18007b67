package settings

import (
	"strconv"

	"github.com/a-h/templ"
)

func itoa(n int) string { return strconv.Itoa(n) }

// errAttrs marks a field in error for assistive technology.
func errAttrs(field string, errs map[string]string) templ.Attributes {
	if errs[field] == "" {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": field + "-error"}
}
