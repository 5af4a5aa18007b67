package components

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// Message is one HTTP request or response laid out for reading: the start
// line, the headers exactly as sent, the body made readable (JSON
// pretty-printed, a form body or GET query decoded into name/value rows)
// and the raw text one click away.
type Message struct {
	Method string // requests only
	URL    string // requests only
	Status string // responses only: "HTTP 200 OK"

	Headers []HeaderLine
	// Added are the headers the HTTP client itself put on the wire
	// (Host, Content-Length, Accept-Encoding), shown apart.
	Added []HeaderLine
	Body  string
}

// Param is one decoded name/value pair of a form body or query string.
type Param struct{ Name, Value string }

// StartLine is the message's first line.
func (m Message) StartLine() string {
	if m.Status != "" {
		return m.Status
	}
	return m.Method + " " + m.URL
}

// Raw is the message as HTTP text.
func (m Message) Raw() string {
	return HTTPMessage(m.StartLine(), append(append([]HeaderLine{}, m.Headers...), m.Added...), m.Body)
}

// header returns the value of the named header ("" when absent).
func (m Message) header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// PrettyJSON is the body indented when it is JSON, else "".
func (m Message) PrettyJSON() string {
	b := strings.TrimSpace(m.Body)
	if b == "" || (b[0] != '{' && b[0] != '[') {
		return ""
	}
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(b), "", "  "); err != nil {
		return ""
	}
	return out.String()
}

// FormParams decodes a form body (application/x-www-form-urlencoded);
// nil when the body is not one.
func (m Message) FormParams() []Param {
	ct := strings.ToLower(m.header("Content-Type"))
	if m.Body == "" || !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil
	}
	return decodeParams(m.Body)
}

// QueryParams decodes the URL's query string; nil when it has none.
func (m Message) QueryParams() []Param {
	_, q, ok := strings.Cut(m.URL, "?")
	if !ok || q == "" {
		return nil
	}
	return decodeParams(q)
}

// decodeParams splits a urlencoded string into pairs in their order
// (url.ParseQuery would sort them into a map); undecodable parts are kept
// as they are.
func decodeParams(s string) []Param {
	var out []Param
	for part := range strings.SplitSeq(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		out = append(out, Param{Name: k, Value: v})
	}
	return out
}
