package pii_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/pii"
)

func TestPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+919241232904":    "+91924•••2904",
		"+14155552671":     "+1415•••2671",
		"919241232904":     "91924•••2904",
		"+44 20 7946 0958": "+44207•••0958",
		"1234567":          "12•••67",
		"123":              "•••",
		"":                 "•••",
	} {
		if got := pii.Phone(in); got != want {
			t.Errorf("Phone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{"Ravi Kumar": "R••• K•••", "  Élodie ": "É•••", "+91 924": "••• •••", "": ""} {
		if got := pii.Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPIIFieldsFromCatalog(t *testing.T) {
	fields := catalog.PIIFields()
	for _, f := range []string{"from_number", "to_number", "customer_number", "did_number", "from_name", "to_name", "transfer_to_number"} {
		if catalog.PIIKind(f) == "" || !strings.Contains(strings.Join(fields, ","), f) {
			t.Errorf("%s is not a PII field", f)
		}
	}
	if catalog.PIIKind("from_number_raw") != catalog.PIIPhone || catalog.PIIKind("extension_name") != "" || catalog.PIIKind("call_id") != "" {
		t.Error("PIIKind misreads _raw, extension_name or call_id")
	}
}

// Every surface's text: JSON bodies, form bodies, query strings, headers,
// in E.164, digits only, URL-encoded and national form.
func TestMaskerText(t *testing.T) {
	m := pii.ForEvent(map[string]any{"from_number": "+919241232904", "from_name": "Ravi Kumar", "call_id": "c-1",
		"data": map[string]any{"to_number": "+918041234567"}})
	cases := map[string]string{
		`{"from_number":"+919241232904","from_name":"Ravi Kumar","call_id":"c-1"}`: `{"from_number":"+91924•••2904","from_name":"R••• K•••","call_id":"c-1"}`,
		"from_number=%2B919241232904&from_name=Ravi+Kumar":                         "from_number=%2B91924•••2904&from_name=" + url.QueryEscape("R••• K•••"),
		"https://crm.example/in?caller=%2B919241232904&n=Ravi%20Kumar":             "https://crm.example/in?caller=%2B91924•••2904&n=" + url.PathEscape("R••• K•••"),
		"caller 09241232904 called 08041234567":                                    "caller 0924•••2904 called 0804•••4567",
		"nothing here":                                                             "nothing here",
	}
	for in, want := range cases {
		if got := m.Text(in); got != want {
			t.Errorf("Text(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	// Fields of the body itself are learnt even when the event lacks them.
	if got := pii.New().Text(`{"x":{"to_number_raw":"(415) 555-2671","customer_number":14155552671}}`); strings.Contains(got, "555-2671") || strings.Contains(got, "14155552671") {
		t.Errorf("body fields not masked: %s", got)
	}
	if got := pii.New().Text("to_name=Asha+Rao&did_number=%2B918041234567"); strings.Contains(got, "Asha") || strings.Contains(got, "8041234567") {
		t.Errorf("form fields not masked: %s", got)
	}
	var nilM *pii.Masker
	if nilM.Text("+919241232904") != "+919241232904" {
		t.Error("the nil Masker changed text")
	}
}

func TestLoose(t *testing.T) {
	got := pii.Loose(`Post "https://x/?from=%2B919241232904&id=42": timeout +14155552671.`)
	if strings.Contains(got, "919241232904") || strings.Contains(got, "4155552671") || !strings.Contains(got, "id=42") {
		t.Errorf("Loose = %q", got)
	}
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// FuzzPhone: Phone never panics and shows only a prefix and a suffix of
// the input's digits, hiding at least three of them.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+919241232904", "", "+", "12", "+1 (415) 555-2671", "٣٣٣", "++99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, out := digitsOf(s), pii.Phone(s)
		if !strings.Contains(out, pii.Dots) {
			t.Fatalf("Phone(%q) = %q has no dots", s, out)
		}
		head, tail, ok := strings.Cut(out, pii.Dots)
		head = strings.TrimPrefix(head, "+")
		if !ok || digitsOf(head) != head || digitsOf(tail) != tail {
			t.Fatalf("Phone(%q) = %q: not digits•••digits", s, out)
		}
		if !strings.HasPrefix(in, head) || !strings.HasSuffix(in, tail) || len(head)+len(tail)+3 > max(len(in), 3) {
			t.Fatalf("Phone(%q) = %q leaks digits beyond the kept ones", s, out)
		}
	})
}

// FuzzMasker: masking any text never panics and never leaves the event's
// number (its digits) or its name in the output.
func FuzzMasker(f *testing.F) {
	f.Add(`{"from_number":"+919241232904"}`, "+919241232904", "Ravi Kumar")
	f.Add("a=1&from_number=%2B9192412329049192412329", "+919241232904", "R")
	f.Add("9192412329049192412329041", "+91924123290", "")
	f.Add("0924123290409241232904", "+919241232904", "Ravi")
	f.Fuzz(func(t *testing.T, text, number, name string) {
		m := pii.ForEvent(map[string]any{"from_number": number, "from_name": name})
		out := m.Text(text)
		if d := digitsOf(number); len(d) >= 6 && strings.Contains(out, d) {
			t.Fatalf("Text(%q) = %q still holds %s", text, out, d)
		}
		if n := strings.TrimSpace(name); len([]rune(n)) >= 2 && lettersOnly(n) && !strings.Contains(text, pii.Dots) && strings.Contains(out, n) {
			t.Fatalf("Text(%q) = %q still holds the name %q", text, out, n)
		}
	})
}

func lettersOnly(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
