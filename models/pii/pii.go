// Package pii masks phone numbers and callers' names in delivery history
// shown to people who may not see them (docs/privacy.md). It is the one
// masking code of Ringhook: every surface (delivery and attempt pages,
// call timelines, the dashboard, API answers) goes through a Masker.
//
// Which values are phone numbers and names comes from the event catalog
// (catalog.PIIKind), not from guessing over free text: a Masker learns the
// values of the event a delivery carries and of the PII fields found in a
// JSON body, a form body or a query string, then replaces every occurrence
// of those values (also URL- and JSON-encoded, and in national form) in
// whatever text it is given. Loose is the one free-text fallback, for
// error texts of list pages whose event is not at hand.
package pii

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ringhook/ringhook/models/catalog"
)

// Dots stand for the hidden part of a value.
const Dots = "•••"

// minPhoneDigits is the shortest digit string a Masker looks for in text:
// shorter ones are extension numbers or counters, and would mangle
// unrelated text.
const minPhoneDigits = 6

// Phone masks a phone number: the '+' and the first digits (the country
// code and a few more), Dots, and the last four: +919241232904 becomes
// +91924•••2904. At least three digits, and at least a quarter of them,
// are always hidden; short numbers keep fewer. Anything but digits and a
// leading '+' is dropped.
func Phone(s string) string {
	var d []byte
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			d = append(d, c)
		case c == '+' && len(d) == 0:
			plus = true
		}
	}
	head, tail := keep(len(d))
	var b strings.Builder
	if plus {
		b.WriteByte('+')
	}
	b.Write(d[:head])
	b.WriteString(Dots)
	b.Write(d[len(d)-tail:])
	return b.String()
}

// keep is how many leading and trailing digits of an n-digit number Phone
// shows.
func keep(n int) (head, tail int) {
	switch {
	case n >= 10:
		tail = 4
	case n >= 6:
		tail = 2
	}
	hidden := max(3, (n+3)/4)
	head = max(0, min(5, n-tail-hidden))
	if head+tail+hidden > n { // n < 3: nothing is shown
		return 0, 0
	}
	return head, tail
}

// Name masks a person's name: each word keeps its first letter, "Ravi
// Kumar" becomes "R••• K•••". A word that does not start with a letter
// (a number given as a name) keeps nothing.
func Name(s string) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return s
	}
	for i, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsLetter(r) {
			words[i] = string(r) + Dots
		} else {
			words[i] = Dots
		}
	}
	return strings.Join(words, " ")
}

// Value masks v as the catalog kind says (catalog.PIIPhone or
// catalog.PIIName); any other kind returns v.
func Value(kind, v string) string {
	switch kind {
	case catalog.PIIPhone:
		return Phone(v)
	case catalog.PIIName:
		return Name(v)
	}
	return v
}

// pair is one spelling of a sensitive value and what replaces it.
type pair struct {
	from, to string
	phone    bool // digits: replaced until none is left
}

// Masker replaces the phone numbers and names it has learnt in any text.
// The nil Masker masks nothing (what a reveal or an account that does not
// mask uses).
type Masker struct {
	pairs map[string]pair
}

// New returns a Masker that knows no values yet.
func New() *Masker { return &Masker{pairs: map[string]pair{}} }

// ForEvent returns a Masker that knows the PII fields of an event payload
// (catalog.PIIKind), at any depth.
func ForEvent(payload map[string]any) *Masker {
	m := New()
	m.learnValue(payload)
	return m
}

// Add teaches m a value of the catalog kind (catalog.PIIPhone or
// catalog.PIIName); other kinds are ignored.
func (m *Masker) Add(kind, v string) {
	if m == nil {
		return
	}
	switch kind {
	case catalog.PIIPhone:
		m.addPhone(v)
	case catalog.PIIName:
		m.addName(v)
	}
}

func (m *Masker) put(from, to string, phone bool) {
	if from == "" || from == to {
		return
	}
	m.pairs[from] = pair{from: from, to: to, phone: phone}
}

func (m *Masker) addPhone(v string) {
	var d strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			d.WriteByte(v[i])
		}
	}
	digits := d.String()
	if len(digits) >= minPhoneDigits {
		m.put(digits, Phone(digits), true)
		// The national forms a template or a receiver may use: the number
		// without its calling code, with and without the trunk prefix.
		for _, c := range catalog.Countries() {
			rest, ok := strings.CutPrefix(digits, c.CallingCode)
			if !ok || len(rest) < c.MinLen || len(rest) > c.MaxLen || len(rest) < minPhoneDigits {
				continue
			}
			m.put(rest, Phone(rest), true)
			if c.Trunk != "" {
				m.put(c.Trunk+rest, Phone(c.Trunk+rest), true)
			}
		}
	}
	// The value as written ("(415) 555-2671"), when it is more than digits.
	if strings.TrimSpace(v) != digits && len(digits) >= minPhoneDigits {
		m.put(v, Phone(v), false)
	}
}

func (m *Masker) addName(v string) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) < 2 {
		return
	}
	masked := Name(v)
	m.put(v, masked, false)
	if b, err := jsonString(v); err == nil {
		mb, _ := jsonString(masked)
		m.put(b, mb, false)
	}
	m.put(url.QueryEscape(v), url.QueryEscape(masked), false)
	m.put(url.PathEscape(v), url.PathEscape(masked), false)
}

// jsonString is v as it appears inside a JSON string (no quotes).
func jsonString(v string) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1], nil
}

// learnValue walks a decoded JSON value and learns the strings (and
// numbers) under PII keys.
func (m *Masker) learnValue(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if kind := catalog.PIIKind(k); kind != "" {
				switch s := val.(type) {
				case string:
					m.Add(kind, s)
				case json.Number:
					m.Add(kind, s.String())
				}
			}
			m.learnValue(val)
		}
	case []any:
		for _, e := range x {
			m.learnValue(e)
		}
	}
}

// Learn teaches m the PII fields of a body or query string: a JSON
// document, or form fields (a=b&c=d, also a URL's query).
func (m *Masker) Learn(text string) {
	if m == nil || text == "" {
		return
	}
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			m.learnValue(v)
		}
		return
	}
	if i := strings.IndexByte(t, '?'); i >= 0 && strings.Contains(t[:i], "://") {
		t = t[i+1:]
		if j := strings.IndexByte(t, '#'); j >= 0 {
			t = t[:j]
		}
	}
	if !strings.Contains(t, "=") || strings.ContainsAny(t, "\r\n") {
		return
	}
	q, _ := url.ParseQuery(t) // keeps what parsed
	for k, vs := range q {
		if kind := catalog.PIIKind(k); kind != "" {
			for _, v := range vs {
				m.Add(kind, v)
			}
		}
	}
}

// maxRounds bounds the replacement passes of Text; each pass removes
// digits, so it ends long before that.
const maxRounds = 16

// Text returns s with every value m knows, and every PII field of s itself
// (see Learn), masked. The nil Masker returns s.
func (m *Masker) Text(s string) string {
	if m == nil || s == "" {
		return s
	}
	local := &Masker{pairs: make(map[string]pair, len(m.pairs))}
	for k, p := range m.pairs {
		local.pairs[k] = p
	}
	local.Learn(s)
	if len(local.pairs) == 0 {
		return s
	}
	ps := make([]pair, 0, len(local.pairs))
	for _, p := range local.pairs {
		ps = append(ps, p)
	}
	// Longest first, so a number is masked whole before its national form.
	sort.Slice(ps, func(i, j int) bool {
		if len(ps[i].from) != len(ps[j].from) {
			return len(ps[i].from) > len(ps[j].from)
		}
		return ps[i].from < ps[j].from
	})
	for _, p := range ps {
		if !p.phone {
			s = strings.ReplaceAll(s, p.from, p.to)
		}
	}
	// Digits: masking a run can leave, next to it, digits that spell the
	// number again; repeat until none is left (each pass removes digits).
	for round := 0; round < maxRounds; round++ {
		changed := false
		for _, p := range ps {
			if p.phone && strings.Contains(s, p.from) {
				s = strings.ReplaceAll(s, p.from, p.to)
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return s
}

// Loose masks every run of at least 8 digits (with a leading '+' if any)
// in free text as a phone number. It is for short texts whose event is not
// at hand (the error of a delivery in a list); everything else uses a
// Masker.
func Loose(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := i
		if s[j] == '+' {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k-j >= 8 {
			b.WriteString(Phone(s[i:k]))
			i = k
			continue
		}
		if k == j {
			k = j + 1
			if j > i { // a lone '+'
				k = j
			}
		}
		b.WriteString(s[i:k])
		i = k
	}
	return b.String()
}

// Payload returns a deep copy of a decoded JSON value with the PII fields
// masked by their kind and every other string through Text. The nil
// Masker returns v itself.
func (m *Masker) Payload(v any) any {
	if m == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if kind := catalog.PIIKind(k); kind != "" {
				switch s := val.(type) {
				case string:
					out[k] = Value(kind, s)
					continue
				case json.Number:
					out[k] = Value(kind, s.String())
					continue
				}
			}
			out[k] = m.Payload(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.Payload(e)
		}
		return out
	case string:
		return m.Text(x)
	}
	return v
}
