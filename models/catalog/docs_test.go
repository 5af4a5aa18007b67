package catalog

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// updateDocs rewrites the generated parts of docs/events.md instead of
// comparing them: go test ./models/catalog -run TestDocs -update-docs
var updateDocs = flag.Bool("update-docs", false, "rewrite the generated sections of docs/events.md")

const eventsDoc = "../../docs/events.md"

// TestDocsCatalog keeps the event catalog section of docs/events.md equal to
// what the tables in this package say.
func TestDocsCatalog(t *testing.T) {
	syncSection(t, "catalog", catalogMarkdown())
}

// TestDocsFieldTable checks the hand-written field reference of
// docs/events.md: one row per field this package knows, no others, and the
// type column as the validation rules have it.
func TestDocsFieldTable(t *testing.T) {
	doc := readDoc(t)
	start := strings.Index(doc, "<!-- fields:begin -->")
	end := strings.Index(doc, "<!-- fields:end -->")
	if start < 0 || end < start {
		t.Fatal("docs/events.md has no <!-- fields:begin --> ... <!-- fields:end --> section")
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([^|]+) \\|")
	seen := map[string]bool{}
	for _, line := range strings.Split(doc[start:end], "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, typ := m[1], strings.TrimSpace(m[2])
		if seen[name] {
			t.Errorf("field %s is listed twice", name)
		}
		seen[name] = true
		spec, ok := fieldSpecs[name]
		if !ok {
			t.Errorf("field %s is documented but no event type has it", name)
			continue
		}
		if want := typeName(name, spec); typ != want {
			t.Errorf("field %s: type column %q, want %q", name, typ, want)
		}
	}
	for name := range fieldSpecs {
		if !seen[name] {
			t.Errorf("field %s (%s) is missing from the field reference", name, typeName(name, fieldSpecs[name]))
		}
	}
}

// typeName is the type column of the field reference.
func typeName(name string, s fieldSpec) string {
	switch s.kind {
	case kText:
		return "text"
	case kLongText:
		return "long text"
	case kID:
		return "id"
	case kEnum:
		if name == "direction" {
			return "enum: " + strings.Join(enumCallDirection, ", ") + " (messages: " + strings.Join(enumMessageDirection, ", ") + ")"
		}
		return "enum: " + strings.Join(s.enum, ", ")
	case kPhone:
		return "phone"
	case kTime:
		return "time"
	case kInt:
		if s.max == maxSafeInt {
			return fmt.Sprintf("integer ≥ %d", s.min)
		}
		return fmt.Sprintf("integer %d–%d", s.min, s.max)
	case kURL:
		return "URL"
	case kExtList:
		return "extension list"
	case kURLList:
		return "URL list"
	case kCode:
		return "code"
	case kDigits:
		return "DTMF digits"
	case kErrorCode:
		return "error code"
	case kEventType:
		return "event type"
	}
	return "?"
}

// catalogMarkdown renders the catalog tables: the two shared field blocks,
// then one table per group.
func catalogMarkdown() string {
	var b strings.Builder
	code := func(names []string) string {
		if len(names) == 0 {
			return "—"
		}
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = "`" + n + "`"
		}
		return strings.Join(out, ", ")
	}
	fmt.Fprintf(&b, "**Call block** (every `call.*` event): %s. Required: %s.\n\n", code(callFields[:]), code(callRequired[:]))
	fmt.Fprintf(&b, "**Call-end block** (`call.missed`, `call.hangup`, `call.ended`): %s.\n\n", code(terminalFields[:]))
	fmt.Fprintf(&b, "**Message block** (every `message.*` event): %s. Required: %s.\n\n", code(messageFields[:]), code(messageRequired[:]))
	for _, g := range groupDefs {
		fmt.Fprintf(&b, "### %s\n\n", g.label)
		b.WriteString("| event | console label | fires when | fields besides occurred_at and the block | also required |\n")
		b.WriteString("|---|---|---|---|---|\n")
		for i := range typeDefs {
			td := &typeDefs[i]
			if td.Group != g.id {
				continue
			}
			block := ""
			var famReq []string
			switch td.fam {
			case famCall:
				block, famReq = "call block + ", callRequired[:]
			case famMessage:
				block, famReq = "message block + ", messageRequired[:]
			}
			extra := slices.DeleteFunc(slices.Clone(td.extra), func(f string) bool {
				return slices.Contains(callFields[:], f) && td.fam == famCall
			})
			var req []string
			for _, f := range idx.required[td.ID] {
				if f != "occurred_at" && !slices.Contains(famReq, f) {
					req = append(req, f)
				}
			}
			label := td.Label
			if td.Core {
				label += " (core)"
			}
			fields := block + code(extra)
			if slices.Equal(td.extra, terminalFields[:]) {
				fields = block + "call-end block"
			}
			if block != "" && len(extra) == 0 {
				fields = strings.TrimSuffix(block, " + ")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", td.ID, label,
				strings.ReplaceAll(td.Description, "|", "\\|"), fields, code(req))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatalf("read %s: %v", eventsDoc, err)
	}
	return string(b)
}

// syncSection compares (or with -update-docs rewrites) the text between
// <!-- name:begin --> and <!-- name:end --> in docs/events.md.
func syncSection(t *testing.T, name, want string) {
	t.Helper()
	doc := readDoc(t)
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/events.md has no %q ... %q section", begin, end)
	}
	got := doc[i+len(begin) : j]
	if got == want {
		return
	}
	if *updateDocs {
		doc = doc[:i+len(begin)] + want + doc[j:]
		if err := os.WriteFile(eventsDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/events.md section %q is out of date; run go test ./models/catalog -run TestDocs -update-docs\n got: %q\nwant: %q", name, got, want)
}
