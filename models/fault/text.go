package fault

import (
	"strings"
	"unicode/utf8"
)

// TextMessage is the field message for a value that IsText refuses.
const TextMessage = "Use plain text: this contains a NUL byte or bytes that are not valid UTF-8."

// IsText reports whether s can be stored in a PostgreSQL text or jsonb
// value: valid UTF-8 without NUL. It is the one text rule of every form,
// API and event field; a value it refuses must be answered with a field
// error, never passed to the database (where it fails as a server error).
func IsText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// CheckText records TextMessage for field unless every value IsText, and
// reports whether they all were.
func (f FieldErrors) CheckText(field string, values ...string) bool {
	for _, v := range values {
		if !IsText(v) {
			f.Add(field, TextMessage)
			return false
		}
	}
	return true
}
