package catalog

import "strings"

// The syntax checks of Normalize, written out by hand: they run for every
// key and string of every ingested event, where a regular expression costs
// more than the rest of the validation. Each comment gives the expression
// it is equal to (syntax_test.go checks that against the regexp package).

// isKey: ^[a-z][a-z0-9_]*$
func isKey(s string) bool { return word(s, isLower, isKeyByte) }

// isEventID: ^evt_[A-Za-z0-9]{8,64}$
func isEventID(s string) bool {
	rest, ok := strings.CutPrefix(s, "evt_")
	return ok && len(rest) >= 8 && len(rest) <= 64 && word(rest, isAlnum, isAlnum)
}

// isCode: ^[A-Z][A-Z0-9_]*$
func isCode(s string) bool { return word(s, isUpper, isCodeByte) }

// isDigits: ^[0-9*#A-D]{1,32}$
func isDigits(s string) bool { return len(s) <= 32 && word(s, isDTMF, isDTMF) }

// isPlaceholder: ^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\{\{.*\}\})$, an
// unfilled template variable such as $name, ${name} or {{name}}.
func isPlaceholder(s string) bool {
	switch {
	case strings.HasPrefix(s, "${"):
		return len(s) >= 3 && s[len(s)-1] == '}' && strings.IndexByte(s[2:len(s)-1], '}') < 0
	case strings.HasPrefix(s, "$"):
		return word(s[1:], func(c byte) bool { return isLetter(c) || c == '_' }, func(c byte) bool { return isAlnum(c) || c == '_' })
	case strings.HasPrefix(s, "{{"):
		// "." matches any character but a newline.
		return len(s) >= 4 && strings.HasSuffix(s, "}}") && strings.IndexByte(s[2:len(s)-2], '\n') < 0
	}
	return false
}

// word reports whether s is a byte that first accepts followed by bytes
// that rest accepts.
func word(s string, first, rest func(byte) bool) bool {
	if s == "" || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool    { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isLetter(c byte) bool   { return isLower(c) || isUpper(c) }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool    { return isLetter(c) || isDigit(c) }
func isKeyByte(c byte) bool  { return isLower(c) || isDigit(c) || c == '_' }
func isCodeByte(c byte) bool { return isUpper(c) || isDigit(c) || c == '_' }
func isDTMF(c byte) bool     { return isDigit(c) || c == '*' || c == '#' || ('A' <= c && c <= 'D') }
