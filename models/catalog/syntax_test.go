package catalog

import (
	"regexp"
	"testing"
)

// syntaxChecks pairs each hand-written check with the expression it stands
// for.
var syntaxChecks = []struct {
	name  string
	check func(string) bool
	re    *regexp.Regexp
}{
	{"isKey", isKey, regexp.MustCompile(`^[a-z][a-z0-9_]*$`)},
	{"isEventID", isEventID, regexp.MustCompile(`^evt_[A-Za-z0-9]{8,64}$`)},
	{"isCode", isCode, regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)},
	{"isDigits", isDigits, regexp.MustCompile(`^[0-9*#A-D]{1,32}$`)},
	{"isPlaceholder", isPlaceholder, regexp.MustCompile(`^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\{\{.*\}\})$`)},
}

var syntaxSeeds = []string{
	"", "a", "A", "_", "a_1", "1a", "call_id", "Call", "a-b", "évent",
	"evt_", "evt_1234567", "evt_12345678", "evt_" + "abcdefgh12345678abcdefgh12345678abcdefgh12345678abcdefgh12345678",
	"evt_" + "abcdefgh12345678abcdefgh12345678abcdefgh12345678abcdefgh123456789", "evt_1234_5678", "EVT_12345678",
	"NORMAL_CLEARING", "N", "n", "_A", "A1_", "A B",
	"0", "123*#ABCD", "E", "12345678901234567890123456789012", "123456789012345678901234567890123",
	"$", "$a", "$_", "$1", "$name_2", "$na-me", "${", "${}", "${x}", "${a}b}", "${a\nb}", "${}}",
	"{{", "{{}", "{{}}", "{{x}}", "{{}}}", "{{a\nb}}", "{{\xff}}", "${\xff}", "$\xff", "x{{a}}", "{{a}}x",
}

func TestSyntaxChecksEqualTheirExpressions(t *testing.T) {
	for _, c := range syntaxChecks {
		for _, s := range syntaxSeeds {
			if got, want := c.check(s), c.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the expression says %v", c.name, s, got, want)
			}
		}
	}
}

func FuzzSyntaxChecks(f *testing.F) {
	for _, s := range syntaxSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range syntaxChecks {
			if got, want := c.check(s), c.re.MatchString(s); got != want {
				t.Fatalf("%s(%q) = %v, the expression says %v", c.name, s, got, want)
			}
		}
	})
}
