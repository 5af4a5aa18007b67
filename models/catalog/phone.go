package catalog

import (
	"strings"
	"unicode"
)

// NormalizeE164 turns a phone number as producers send it into E.164 with a
// leading '+', reporting whether it could. The rules:
//
//   - white space, '-', '.', '(' and ')' are removed;
//   - a leading "00" (international call prefix) becomes '+';
//   - '+' followed by 7 to 15 digits, the first not 0, is E.164;
//   - 10 to 15 digits without '+' and not starting with 0 get a '+'
//     (Smartflo's "918287842425"). Numbers in national format with a trunk
//     0 ("08012345678") or shorter than 10 digits are not guessed at.
//
// When ok is false the returned string is the input unchanged.
func NormalizeE164(s string) (string, bool) {
	cleaned := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		switch r {
		case '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	plus := false
	switch {
	case strings.HasPrefix(cleaned, "+"):
		cleaned, plus = cleaned[1:], true
	case strings.HasPrefix(cleaned, "00"):
		cleaned, plus = cleaned[2:], true
	}
	if cleaned == "" || cleaned[0] == '0' || !allDigits(cleaned) {
		return s, false
	}
	n := len(cleaned)
	if plus && (n < 7 || n > 15) || !plus && (n < 10 || n > 15) {
		return s, false
	}
	return "+" + cleaned, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
