package components

import "strings"

// HeaderLine is one HTTP header as shown in previews and attempt records.
type HeaderLine struct{ Name, Value string }

// HTTPMessage prints a start line, headers and body the way HTTP sends
// them, for display in a <pre>.
func HTTPMessage(startLine string, headers []HeaderLine, body string) string {
	var b strings.Builder
	b.WriteString(startLine + "\n")
	for _, h := range headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	if body != "" {
		b.WriteString("\n" + body)
	}
	return b.String()
}
