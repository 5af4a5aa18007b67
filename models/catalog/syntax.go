package catalog

import "strings"

// The syntax checks of Normalize, written out by hand: they run for every
// key and string of every ingested event, where a regular expression costs
// more than the rest of the validation. Each comment gives the expression
// it is equal to (syntax_test.go checks that against the regexp package).

// isKey: ^[a-z][a-z0-9_]*$
func isKey(s string) bool {
	if s == "" || !isLower(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLower(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// isEventID: ^evt_[A-Za-z0-9]{8,64}$
func isEventID(s string) bool {
	rest, ok := strings.CutPrefix(s, "evt_")
	if !ok || len(rest) < 8 || len(rest) > 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !isLetter(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

// isCode: ^[A-Z][A-Z0-9_]*$
func isCode(s string) bool {
	if s == "" || !isUpper(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isUpper(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// isDigits: ^[0-9*#A-D]{1,32}$
func isDigits(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != '*' && c != '#' && (c < 'A' || c > 'D') {
			return false
		}
	}
	return true
}

// isPlaceholder: ^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\{\{.*\}\})$, an
// unfilled template variable such as $name, ${name} or {{name}}.
func isPlaceholder(s string) bool {
	switch {
	case strings.HasPrefix(s, "${"):
		return len(s) >= 3 && s[len(s)-1] == '}' && strings.IndexByte(s[2:len(s)-1], '}') < 0
	case strings.HasPrefix(s, "$"):
		if len(s) < 2 || (!isLetter(s[1]) && s[1] != '_') {
			return false
		}
		for i := 2; i < len(s); i++ {
			if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' {
				return false
			}
		}
		return true
	case strings.HasPrefix(s, "{{"):
		// "." matches any character but a newline.
		return len(s) >= 4 && strings.HasSuffix(s, "}}") && strings.IndexByte(s[2:len(s)-2], '\n') < 0
	}
	return false
}

func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }
func isLetter(c byte) bool { return isLower(c) || isUpper(c) }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
