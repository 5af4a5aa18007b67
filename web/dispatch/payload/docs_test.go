package payload_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/web/dispatch/payload"
	"github.com/ringhook/ringhook/web/dispatch/verifyexample"
)

// updateDocs rewrites the generated parts of docs/events.md instead of
// comparing them: go test ./web/dispatch/payload -run TestDocs -update-docs
var updateDocs = flag.Bool("update-docs", false, "rewrite the generated sections of docs/events.md")

const eventsDoc = "../../../docs/events.md"

// docsInput is the worked example of docs/events.md as a producer posts it
// to the ingest API: spaced and dashed numbers, a start time with an
// offset, a lower-case hangup cause, did_number and customer_number left
// out (they are derived).
const docsInput = `{
  "event": "call.hangup",
  "event_id": "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
  "occurred_at": "2026-04-09T07:24:53Z",
  "call_id": "call_01JRB3PZ5X",
  "direction": "inbound",
  "call_type": "inbound",
  "from_number": "+91 92402 02904",
  "from_name": "Test Man",
  "to_number": "+91-82878-42425",
  "call_status": "answered",
  "started_at": "2026-04-09T12:54:22+05:30",
  "answered_at": "2026-04-09T07:24:23Z",
  "ended_at": "2026-04-09T07:24:53Z",
  "extension_number": "101",
  "extension_name": "Kapil",
  "duration_seconds": 31,
  "talk_seconds": 30,
  "ring_seconds": 1,
  "hangup_cause": "normal_clearing",
  "hangup_by": "caller",
  "dialed_extensions": [
    {"number": "101", "name": "Kapil", "result": "answered"},
    {"number": "102", "name": "Asha", "result": "no_answer"}
  ],
  "tags": ["vip", "sales"]
}`

// docsSecret and docsSentAt sign the worked example.
const docsSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var docsSentAt = time.Date(2026, 4, 9, 7, 24, 54, 0, time.UTC)

func docsTarget(method, contentType string) payload.Target {
	return payload.Target{
		AccountID:   "acc_7f2b66a6",
		WebhookID:   "wh_91eb05e5",
		URL:         "https://crm.example.com/hook?token=abc",
		Method:      method,
		ContentType: contentType,
		TimeZone:    "Asia/Kolkata",
		CustomData:  map[string]any{"crm_id": "A 1&2"},
	}
}

// TestDocsWorkedExample keeps the worked example of docs/events.md equal to
// what ingest validation, rendering and signing really produce, and the Go
// receiver shown there equal to web/dispatch/verifyexample.
func TestDocsWorkedExample(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(docsInput))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	event, err := catalog.Normalize(raw)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	render := func(method, ct string) payload.Request {
		t.Helper()
		target := docsTarget(method, ct)
		fields, err := payload.Fields(event, target)
		if err != nil {
			t.Fatal(err)
		}
		req, err := payload.Render(fields, target)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	jsonReq := render("POST", payload.ContentTypeJSON)
	formReq := render("POST", payload.ContentTypeForm)
	getReq := render("GET", "")

	id, _ := event["event_id"].(string)
	ts := fmt.Sprint(docsSentAt.Unix())
	var sigs strings.Builder
	fmt.Fprintf(&sigs, "```\nsecret:            %s\nwebhook-id:        %s\nwebhook-timestamp: %s\n", docsSecret, id, ts)
	for _, m := range []struct {
		name string
		req  payload.Request
	}{{"JSON POST", jsonReq}, {"form POST", formReq}, {"GET", getReq}} {
		content := payload.SignedContent(m.req)
		sig, err := payload.SignatureHeader([]string{docsSecret}, id, docsSentAt, content)
		if err != nil {
			t.Fatal(err)
		}
		// The documented receiver accepts the documented request.
		r := httptest.NewRequest(m.req.Method, m.req.URL, bytes.NewReader(m.req.Body))
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", ts)
		r.Header.Set("webhook-signature", sig)
		if _, err := verifyexample.Verify(r, "https://crm.example.com", []string{docsSecret}, docsSentAt); err != nil {
			t.Fatalf("%s: the documented signature does not verify: %v", m.name, err)
		}
		fmt.Fprintf(&sigs, "webhook-signature (%s):%s%s\n", m.name, strings.Repeat(" ", 10-len(m.name)), sig)
	}
	sigs.WriteString("```\n")

	src, err := os.ReadFile("../verifyexample/verify.go")
	if err != nil {
		t.Fatal(err)
	}
	verify := src[bytes.Index(src, []byte("// Verify checks")):]

	block := func(lang string, b []byte) string { return "```" + lang + "\n" + string(b) + "\n```\n" }
	syncSection(t, "worked-input", block("json", []byte(docsInput)))
	syncSection(t, "worked-json", block("", jsonReq.Body))
	syncSection(t, "worked-form", block("", formReq.Body))
	syncSection(t, "worked-get", block("", []byte("GET "+getReq.URL)))
	syncSection(t, "worked-signatures", sigs.String())
	syncSection(t, "verify-go", block("go", bytes.TrimSpace(verify)))
}

// syncSection compares (or with -update-docs rewrites) the text between
// <!-- name:begin --> and <!-- name:end --> in docs/events.md.
func syncSection(t *testing.T, name, want string) {
	t.Helper()
	b, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/events.md has no %q ... %q section", begin, end)
	}
	if doc[i+len(begin):j] == want {
		return
	}
	if *updateDocs {
		doc = doc[:i+len(begin)] + want + doc[j:]
		if err := os.WriteFile(eventsDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/events.md section %q is out of date; run go test ./web/dispatch/payload -run TestDocs -update-docs\n got: %q\nwant: %q", name, doc[i+len(begin):j], want)
}
