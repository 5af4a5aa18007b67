package catalog_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// hangupJSON is a minimal valid call.hangup as a producer would send it.
const hangupJSON = `{
 "event": "call.hangup", "event_id": "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
 "occurred_at": "2026-04-09T12:54:53+05:30",
 "call_id": "call_01JRB3PZ5X", "direction": "inbound", "call_type": "inbound",
 "from_number": "919240202904", "to_number": "+91 82878 42425",
 "call_status": "answered", "started_at": "2026-04-09T07:24:22Z",
 "answered_at": "2026-04-09T07:24:23.5Z", "ended_at": "2026-04-09T07:24:53.000Z",
 "duration_seconds": 31, "talk_seconds": 30, "ring_seconds": 1,
 "hangup_cause": "NORMAL_CLEARING", "hangup_by": "caller",
 "dialed_extensions": [{"name":"Kapil","number":"101","result":"answered"},{"name":"Asha","number":"102","result":"no_answer"}],
 "tags": ["vip", "sales"]
}`

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func TestNormalizeCanonical(t *testing.T) {
	// hangupJSON's from_number is Smartflo's bare "919240202904": an IN account's form.
	out, err := catalog.NormalizeFor(decode(t, hangupJSON), "IN")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"event":             "call.hangup",
		"event_id":          "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
		"occurred_at":       "2026-04-09T07:24:53.000Z",
		"started_at":        "2026-04-09T07:24:22.000Z",
		"answered_at":       "2026-04-09T07:24:23.500Z",
		"ended_at":          "2026-04-09T07:24:53.000Z",
		"from_number":       "+919240202904",
		"to_number":         "+918287842425",
		"did_number":        "+918287842425", // derived: inbound
		"customer_number":   "+919240202904",
		"duration_seconds":  int64(31),
		"talk_seconds":      int64(30),
		"ring_seconds":      int64(1),
		"hangup_sip_code":   nil,
		"recording_url":     nil,
		"missed_extensions": nil,
		"tags":              []any{"vip", "sales"},
		"dialed_extensions": []any{
			map[string]any{"id": nil, "name": "Kapil", "number": "101", "result": "answered"},
			map[string]any{"id": nil, "name": "Asha", "number": "102", "result": "no_answer"},
		},
	}
	for k, v := range want {
		if got, ok := out[k]; !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	for _, f := range catalog.Fields("call.hangup") {
		if _, ok := out[f]; !ok {
			t.Errorf("documented key %q missing from output", f)
		}
	}
	if len(out) != len(catalog.Fields("call.hangup"))+3 { // + event, event_id, tags
		t.Errorf("output has %d keys, want %d", len(out), len(catalog.Fields("call.hangup"))+3)
	}
	again, err := catalog.Normalize(out)
	if err != nil || !reflect.DeepEqual(again, out) {
		t.Errorf("not idempotent: %v", err)
	}
}

func TestNormalizeValues(t *testing.T) {
	tests := []struct {
		name  string
		patch map[string]any // applied to hangupJSON; nil value deletes
		want  map[string]any // expected output values (nil: the key is present and null)
		gone  []string       // keys that must not be in the output
	}{
		{
			name:  "enum case and separators",
			patch: map[string]any{"direction": " Inbound ", "hangup_by": "CALLER", "call_status": "Answered"},
			want:  map[string]any{"direction": "inbound", "hangup_by": "caller", "call_status": "answered"},
		},
		{
			name:  "missed reason with dash",
			patch: map[string]any{"event": "call.missed", "call_status": "missed", "missed_reason": "no-answer", "answered_at": nil},
			want:  map[string]any{"missed_reason": "no_answer", "answered_at": nil},
		},
		{
			name:  "offset times normalized to UTC ms",
			patch: map[string]any{"started_at": "2026-04-09T03:24:22.123456-04:00"},
			want:  map[string]any{"started_at": "2026-04-09T07:24:22.123Z"},
		},
		{
			name:  "outbound derives did from from_number",
			patch: map[string]any{"direction": "outbound", "call_type": "click_to_call"},
			want:  map[string]any{"did_number": "+919240202904", "customer_number": "+918287842425"},
		},
		{
			name:  "explicit did is kept",
			patch: map[string]any{"did_number": "0044 20 7946 0000"},
			want:  map[string]any{"did_number": "+442079460000", "customer_number": "+919240202904"},
		},
		{
			name:  "internal call derives nothing",
			patch: map[string]any{"direction": "internal", "call_type": "outbound"},
			want:  map[string]any{"did_number": nil, "customer_number": nil},
		},
		{
			name:  "unnormalizable number kept with _raw, derived with _raw",
			patch: map[string]any{"from_number": "anonymous"},
			want: map[string]any{"from_number": "anonymous", "from_number_raw": "anonymous",
				"customer_number": "anonymous", "customer_number_raw": "anonymous"},
		},
		{
			name:  "stale _raw is dropped",
			patch: map[string]any{"from_number_raw": "ignored"},
			gone:  []string{"from_number_raw"},
		},
		{
			name:  "integers from floats and exponents",
			patch: map[string]any{"talk_seconds": json.Number("30.0"), "duration_seconds": json.Number("3.1e1"), "ring_seconds": 1.0},
			want:  map[string]any{"talk_seconds": int64(30), "duration_seconds": int64(31), "ring_seconds": int64(1)},
		},
		{
			name:  "Go integer types",
			patch: map[string]any{"talk_seconds": 30, "duration_seconds": uint16(31), "ring_seconds": float32(1), "hangup_sip_code": int32(200)},
			want:  map[string]any{"talk_seconds": int64(30), "duration_seconds": int64(31), "ring_seconds": int64(1), "hangup_sip_code": int64(200)},
		},
		{
			name:  "empty optional strings become null",
			patch: map[string]any{"from_name": "  ", "leg_id": "", "recording_url": ""},
			want:  map[string]any{"from_name": nil, "leg_id": nil, "recording_url": nil},
		},
		{
			name:  "ids and names trimmed, codes upper-cased",
			patch: map[string]any{"call_id": " call_1 ", "from_name": " Test Man ", "hangup_cause": "normal_clearing"},
			want:  map[string]any{"call_id": "call_1", "from_name": "Test Man", "hangup_cause": "NORMAL_CLEARING"},
		},
		{
			name:  "null tags dropped",
			patch: map[string]any{"tags": nil},
			gone:  []string{"tags"},
		},
		{
			name:  "time.Time accepted from Go callers",
			patch: map[string]any{"started_at": time.Date(2026, 4, 9, 7, 24, 22, 9e8, time.UTC)},
			want:  map[string]any{"started_at": "2026-04-09T07:24:22.900Z"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := decode(t, hangupJSON)
			for k, v := range tc.patch {
				if v == nil {
					delete(in, k)
				} else {
					in[k] = v
				}
			}
			out, err := catalog.NormalizeFor(in, "IN")
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				got, ok := out[k]
				if !ok || !reflect.DeepEqual(got, v) {
					t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, v)
				}
			}
			for _, k := range tc.gone {
				if _, ok := out[k]; ok {
					t.Errorf("%s present in output", k)
				}
			}
			again, err := catalog.Normalize(out)
			if err != nil || !reflect.DeepEqual(again, out) {
				t.Errorf("not idempotent: %v\n%v\n%v", err, out, again)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	big := strings.Repeat("x", catalog.MaxScalarBytes+1)
	tests := []struct {
		name  string
		patch map[string]any // nil value deletes the key
		field string
		msg   string // substring of the field's message
	}{
		{"event missing", map[string]any{"event": nil}, "event", "required"},
		{"event unknown", map[string]any{"event": "call.exploded"}, "event", `unknown event type "call.exploded"`},
		{"event not string", map[string]any{"event": json.Number("1")}, "event", "must be a string"},
		{"webhook.test not ingestible", map[string]any{"event": "webhook.test"}, "event", "cannot be ingested"},
		{"event_id missing", map[string]any{"event_id": nil}, "event_id", "required"},
		{"event_id bad", map[string]any{"event_id": "evt_short"}, "event_id", "evt_ followed by 8 to 64"},
		{"event_id no prefix", map[string]any{"event_id": "01JRB3Q7Z8K2M4N6P8R0S2T4V6"}, "event_id", "evt_"},
		{"occurred_at missing", map[string]any{"occurred_at": nil}, "occurred_at", "required"},
		{"occurred_at naive", map[string]any{"occurred_at": "2026-04-12 09:50:48"}, "occurred_at", "RFC 3339"},
		{"occurred_at number", map[string]any{"occurred_at": json.Number("1712647493")}, "occurred_at", "RFC 3339"},
		{"occurred_at year", map[string]any{"occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at", "year"},
		{"ended_at bad", map[string]any{"ended_at": "yesterday"}, "ended_at", "RFC 3339"},
		{"call_id missing", map[string]any{"call_id": nil}, "call_id", "required"},
		{"call_id blank", map[string]any{"call_id": "  "}, "call_id", "required"},
		{"call_id with space", map[string]any{"call_id": "call 1"}, "call_id", "spaces"},
		{"direction missing", map[string]any{"direction": nil}, "direction", "required"},
		{"direction bad", map[string]any{"direction": "sideways"}, "direction", `"sideways" is not one of inbound, outbound, internal`},
		{"call_type missing", map[string]any{"call_type": nil}, "call_type", "required"},
		{"call_type bad", map[string]any{"call_type": "clicktocall"}, "call_type", "inbound, outbound, click_to_call"},
		{"call_type contradicts direction", map[string]any{"call_type": "outbound"}, "call_type", `contradicts direction "inbound"`},
		{"from_number missing", map[string]any{"from_number": nil}, "from_number", "required"},
		{"to_number missing", map[string]any{"to_number": ""}, "to_number", "required"},
		{"to_number not string", map[string]any{"to_number": json.Number("918287842425")}, "to_number", "must be a string"},
		{"hangup not answered", map[string]any{"call_status": "missed"}, "call_status", `call.hangup requires call_status "answered"`},
		{"hangup without status", map[string]any{"call_status": nil}, "call_status", "required"},
		{"missed answered", map[string]any{"event": "call.missed"}, "call_status", `call.missed requires call_status "missed"`},
		{"ended ringing", map[string]any{"event": "call.ended", "call_status": "ringing"}, "call_status", "terminal"},
		{"call_status bad", map[string]any{"call_status": "done"}, "call_status", "ringing, in_progress, answered, missed"},
		{"missed_reason on answered", map[string]any{"missed_reason": "busy"}, "missed_reason", `call_status is "missed"`},
		{"missed_reason bad", map[string]any{"event": "call.missed", "call_status": "missed", "missed_reason": "asleep"}, "missed_reason", "no_answer"},
		{"hangup_by bad", map[string]any{"hangup_by": "nobody"}, "hangup_by", "caller, callee, system"},
		{"hangup_cause bad", map[string]any{"hangup_cause": "normal clearing"}, "hangup_cause", "upper-case code"},
		{"sip code range", map[string]any{"hangup_sip_code": json.Number("99")}, "hangup_sip_code", "between 100 and 699"},
		{"negative duration", map[string]any{"duration_seconds": json.Number("-1")}, "duration_seconds", ">= 0"},
		{"fractional duration", map[string]any{"duration_seconds": json.Number("1.5")}, "duration_seconds", "whole number"},
		{"string duration", map[string]any{"duration_seconds": "31"}, "duration_seconds", "whole number"},
		{"uint64 overflow", map[string]any{"duration_seconds": uint64(1 << 63)}, "duration_seconds", "whole number"},
		{"beyond 2^53", map[string]any{"duration_seconds": json.Number("9007199254740992")}, "duration_seconds", "at most 9007199254740991"},
		{"bool duration", map[string]any{"duration_seconds": true}, "duration_seconds", "whole number"},
		{"huge duration", map[string]any{"duration_seconds": json.Number("1e300")}, "duration_seconds", "whole number"},
		{"bad key", map[string]any{"Call_ID": "x"}, "Call_ID", "keys must match"},
		{"trailing space key", map[string]any{"call_id ": "x"}, "call_id ", "keys must match"},
		{"long key", map[string]any{strings.Repeat("a", 70): "x"}, strings.Repeat("a", 64) + "…", "longer than 64"},
		{"unknown key", map[string]any{"campaign_name": "x"}, "campaign_name", `unknown field for event type "call.hangup"`},
		{"field of other type", map[string]any{"digits": "1"}, "digits", "unknown field"},
		{"raw of non-phone", map[string]any{"call_id_raw": "x"}, "call_id_raw", "unknown field"},
		{"raw not string", map[string]any{"from_number_raw": json.Number("1")}, "from_number_raw", "must be a string"},
		{"custom_data reserved", map[string]any{"custom_data": map[string]any{"a": "b"}}, "custom_data", "reserved"},
		{"account_id reserved", map[string]any{"account_id": "acc_1"}, "account_id", "reserved"},
		{"webhook_id reserved", map[string]any{"webhook_id": "wh_1"}, "webhook_id", "reserved"},
		{"test reserved", map[string]any{"test": true}, "test", "reserved"},
		{"api_version reserved", map[string]any{"api_version": "2026-01"}, "api_version", "reserved"},
		{"timezone reserved", map[string]any{"timezone": "UTC"}, "timezone", "reserved"},
		{"local reserved", map[string]any{"ended_at_local": "2026-04-09T12:54:53+05:30"}, "ended_at_local", "reserved"},
		{"tags not array", map[string]any{"tags": "vip"}, "tags", "array of strings"},
		{"tags item", map[string]any{"tags": []any{"vip", json.Number("1")}}, "tags[1]", "must be a string"},
		{"tags empty item", map[string]any{"tags": []any{""}}, "tags[0]", "must not be empty"},
		{"dialed not array", map[string]any{"dialed_extensions": map[string]any{}}, "dialed_extensions", "array of objects"},
		{"dialed item not object", map[string]any{"dialed_extensions": []any{"101"}}, "dialed_extensions[0]", "must be an object"},
		{"dialed item no number", map[string]any{"dialed_extensions": []any{map[string]any{"name": "Kapil"}}}, "dialed_extensions[0].number", "required"},
		{"dialed item unknown key", map[string]any{"dialed_extensions": []any{map[string]any{"number": "101", "email": "k@x"}}}, "dialed_extensions[0].email", "unknown key"},
		{"dialed item bad result", map[string]any{"dialed_extensions": []any{map[string]any{"number": "101", "result": "meh"}}}, "dialed_extensions[0].result", "is not one of"},
		{"too many extensions", map[string]any{"missed_extensions": manyExtensions(catalog.MaxListItems + 1)}, "missed_extensions", "limit is 100"},
		{"recording_url not http", map[string]any{"recording_url": "ftp://x/y.mp3"}, "recording_url", "http or https"},
		{"recording_url relative", map[string]any{"recording_url": "/rec/1.mp3"}, "recording_url", "http or https"},
		{"scalar too long", map[string]any{"from_name": big}, "from_name", "limit is 1024"},
		{"id too long", map[string]any{"call_id": strings.Repeat("c", catalog.MaxIDBytes+1)}, "call_id", "limit is 128"},
		{"placeholder", map[string]any{"from_name": "$caller_name"}, "from_name", "placeholder"},
		{"placeholder braces", map[string]any{"reference_id": "{{ref}}"}, "reference_id", "placeholder"},
		{"invalid utf8", map[string]any{"from_name": "a\xffb"}, "from_name", "UTF-8"},
		{"NUL in text", map[string]any{"from_name": "a\x00b"}, "from_name", "without NUL"},
		{"NUL in an id", map[string]any{"call_id": "c\x00"}, "call_id", "without NUL"},
		{"NUL in an enum", map[string]any{"direction": "in\x00bound"}, "direction", "without NUL"},
		{"name not string", map[string]any{"from_name": map[string]any{}}, "from_name", "must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := decode(t, hangupJSON)
			for k, v := range tc.patch {
				if v == nil {
					delete(in, k)
				} else {
					in[k] = v
				}
			}
			out, err := catalog.Normalize(in)
			if err == nil {
				t.Fatalf("Normalize accepted it: %v", out)
			}
			var ve fault.FieldErrors
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a fault.FieldErrors", err)
			}
			if out != nil {
				t.Error("output is not nil on error")
			}
			msg, ok := ve[tc.field]
			if !ok {
				t.Fatalf("no error for %q; got %v", tc.field, ve)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("%s: %q does not contain %q", tc.field, msg, tc.msg)
			}
			if len(ve) != 1 {
				t.Errorf("expected only the %q error, got %v", tc.field, ve)
			}
		})
	}
}

func manyExtensions(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = map[string]any{"number": "101"}
	}
	return l
}

func TestNormalizePerTypeRules(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		field string
		msg   string // "" = must succeed
	}{
		{"message ok, derives numbers", `{"event":"message.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"message_id":"msg_1","direction":"inbound","from_number":"+919240202904","to_number":"+918287842425","body":"hi","media_urls":["https://x.example/a.jpg"],"error_code":30003}`, "", ""},
		{"message internal direction", `{"event":"message.sent","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"message_id":"msg_1","direction":"internal","from_number":"+919240202904","to_number":"+918287842425"}`, "direction", "inbound, outbound"},
		{"message tags refused", `{"event":"message.sent","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"message_id":"msg_1","direction":"outbound","from_number":"+919240202904","to_number":"+918287842425","tags":["a"]}`, "tags", "only accepted on call events"},
		{"message status bad", `{"event":"message.status_updated","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"message_id":"msg_1","direction":"outbound","from_number":"+919240202904","to_number":"+918287842425","status":"read"}`, "status", "queued, sent, delivered, failed, received"},
		{"message media url bad", `{"event":"message.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"message_id":"msg_1","direction":"inbound","from_number":"+919240202904","to_number":"+918287842425","media_urls":["file:///etc/passwd"]}`, "media_urls[0]", "http or https"},
		{"dtmf needs digits", `{"event":"call.dtmf","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","ivr_id":"ivr_1"}`, "digits", "required"},
		{"dtmf bad digits", `{"event":"call.dtmf","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","ivr_id":"ivr_1","digits":"1x"}`, "digits", "DTMF"},
		{"ivr answered needs ivr", `{"event":"call.ivr_answered","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","ivr_name":"Main"}`, "ivr_id", "required"},
		{"received entry point", `{"event":"call.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","entry_point":"sip"}`, "entry_point", "did, extension, api"},
		{"dialed ring strategy", `{"event":"call.dialed","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","ring_strategy":"round_robin"}`, "ring_strategy", "simultaneous, sequential"},
		{"transfer type", `{"event":"call.transferred","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1","direction":"inbound",
			"call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425","transfer_type":"warm"}`, "transfer_type", "blind, attended"},
		{"voicemail needs ids", `{"event":"voicemail.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","mailbox_id":"mbx_1"}`, "voicemail_id", "required"},
		{"voicemail refuses call fields", `{"event":"voicemail.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"mailbox_id":"mbx_1","voicemail_id":"vm_1","direction":"inbound"}`, "direction", "unknown field"},
		{"activity due_at", `{"event":"activity.scheduled","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","activity_type":"callback","due_at":"tomorrow"}`, "due_at", "RFC 3339"},
		{"webhook.disabled ok", `{"event":"webhook.disabled","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z",
			"disabled_webhook_id":"wh_1","disable_reason":"410 Gone"}`, "", ""},
		{"unknown type still checks envelope", `{"event":"nope","event_id":"x","occurred_at":"never","anything":1}`, "occurred_at", "RFC 3339"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := catalog.Normalize(decode(t, tc.json))
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				again, err := catalog.Normalize(out)
				if err != nil || !reflect.DeepEqual(again, out) {
					t.Fatalf("not idempotent: %v", err)
				}
				return
			}
			var ve fault.FieldErrors
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want fault.FieldErrors", err)
			}
			if msg := ve[tc.field]; !strings.Contains(msg, tc.msg) {
				t.Errorf("Fields[%q] = %q, want it to contain %q (all: %v)", tc.field, msg, tc.msg, ve)
			}
		})
	}
	t.Run("message derivation", func(t *testing.T) {
		out, err := catalog.Normalize(decode(t, tests[0].json))
		if err != nil {
			t.Fatal(err)
		}
		if out["did_number"] != "+918287842425" || out["customer_number"] != "+919240202904" || out["error_code"] != "30003" {
			t.Errorf("got did=%v customer=%v error_code=%#v", out["did_number"], out["customer_number"], out["error_code"])
		}
	})
}

func TestNormalizePayloadLimit(t *testing.T) {
	in := decode(t, `{"event":"call.summary_ready","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","call_id":"c1",
		"direction":"inbound","call_type":"inbound","from_number":"+919240202904","to_number":"+918287842425"}`)
	in["summary"] = strings.Repeat("s", catalog.MaxTextBytes)
	if _, err := catalog.Normalize(in); err != nil {
		t.Fatalf("16 KiB summary refused: %v", err)
	}
	in["tags"] = manyTags(80, 1000)
	_, err := catalog.Normalize(in)
	var ve fault.FieldErrors
	if !errors.As(err, &ve) || !strings.Contains(ve[catalog.PayloadKey], "limit is 65536") {
		t.Fatalf("err = %v, want a payload size error", err)
	}
}

func manyTags(n, size int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = strings.Repeat("t", size)
	}
	return l
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := catalog.Normalize(map[string]any{"event": "call.hangup"})
	if err == nil {
		t.Fatal("accepted an empty call.hangup")
	}
	msg := err.Error()
	for _, want := range []string{"invalid input: ", "call_id: required", "and 3 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to contain %q", msg, want)
		}
	}
	var ve fault.FieldErrors
	if !errors.As(err, &ve) || len(ve) != 8 { // call_id, call_status, call_type, direction, event_id, from_number, occurred_at, to_number
		t.Errorf("Fields = %v", ve)
	}

	// many bad keys are capped
	in := map[string]any{}
	for i := range 200 {
		in["Bad"+strings.Repeat("k", i)] = 1
	}
	_, err = catalog.Normalize(in)
	if !errors.As(err, &ve) || len(ve) > 51 || ve[catalog.PayloadKey] == "" {
		t.Errorf("errors not capped: %d", len(ve))
	}
}

func TestNormalizePhone(t *testing.T) {
	// Each input is read under no default country, IN, US and GB.
	tests := []struct {
		in                string
		none, in_, us, gb string // "" = not a phone number under that country
	}{
		{"+919240202904", "+919240202904", "+919240202904", "+919240202904", "+919240202904"},
		{"919240202904", "", "+919240202904", "", ""},                        // Smartflo: IN calling code + 10 digits
		{"9240202904", "", "+919240202904", "+19240202904", "+449240202904"}, // the bare national number the issue names
		{"09240202904", "", "+919240202904", "", "+449240202904"},            // trunk 0
		{"091 92402 02904", "", "", "", ""},                                  // trunk 0 and calling code: neither form
		{"+1 (415) 555-0100", "+14155550100", "+14155550100", "+14155550100", "+14155550100"},
		{"001-415-555-0100", "+14155550100", "+14155550100", "+14155550100", "+14155550100"}, // 00 prefix
		{"(415) 555-0100", "", "+914155550100", "+14155550100", "+444155550100"},
		{"1 415 555 0100", "", "", "+14155550100", ""}, // NANP 1 + ten digits
		{"0044 20 7946 0000", "+442079460000", "+442079460000", "+442079460000", "+442079460000"},
		{"020 7946 0000", "", "+912079460000", "", "+442079460000"},
		{"442079460000", "", "", "", "+442079460000"},
		{" +91 82878 42425 ", "+918287842425", "+918287842425", "+918287842425", "+918287842425"},
		{"+1234567", "+1234567", "+1234567", "+1234567", "+1234567"}, // shortest E.164 accepted
		{"+1234567890123456", "", "", "", ""},                        // 16 digits
		{"+123456", "", "", "", ""},
		{"123456789", "", "", "", "+44123456789"}, // 9 digits: a GB national length only
		{"+0123456789", "", "", "", ""},
		{"0", "", "", "", ""},
		{"00", "", "", "", ""},
		{"101", "", "", "", ""}, // an extension
		{"anonymous", "", "", "", ""},
		{"+91 92402 0290x", "", "", "", ""},
		{"++919240202904", "", "", "", ""},
		{"", "", "", "", ""},
		{"tel:+919240202904", "", "", "", ""},
		{"910123456789", "", "", "", ""}, // calling code then a 0: not a national number
	}
	for _, tc := range tests {
		for _, c := range []struct{ country, want string }{{"", tc.none}, {"IN", tc.in_}, {"US", tc.us}, {"GB", tc.gb}} {
			t.Run(c.country+"/"+tc.in, func(t *testing.T) {
				got, ok := catalog.NormalizePhone(tc.in, c.country)
				want, wantOK := c.want, c.want != ""
				if !wantOK {
					want = tc.in // unchanged when not a number
				}
				if got != want || ok != wantOK {
					t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q, %v", tc.in, c.country, got, ok, want, wantOK)
				}
				if ok {
					// Idempotent, and canonical under every country.
					for _, other := range []string{"", "IN", "US", "GB", "SG"} {
						if again, ok2 := catalog.NormalizePhone(got, other); again != got || !ok2 {
							t.Errorf("%q under %q -> %q, %v", got, other, again, ok2)
						}
					}
				}
			})
		}
	}
	t.Run("lower-case and unknown country codes", func(t *testing.T) {
		if got, ok := catalog.NormalizePhone("8287842425", "in"); got != "+918287842425" || !ok {
			t.Errorf("lower-case in: %q %v", got, ok)
		}
		if got, ok := catalog.NormalizePhone("8287842425", "XX"); got != "8287842425" || ok {
			t.Errorf("unknown country guessed: %q %v", got, ok)
		}
	})
	t.Run("NormalizeE164 is the no-country case", func(t *testing.T) {
		for _, tc := range tests {
			a, aok := catalog.NormalizeE164(tc.in)
			b, bok := catalog.NormalizePhone(tc.in, "")
			if a != b || aok != bok {
				t.Errorf("%q: NormalizeE164 %q %v, NormalizePhone %q %v", tc.in, a, aok, b, bok)
			}
		}
	})
}

// TestCountriesUnambiguous pins the property the table promises: no bare
// digit string is both a national number and a calling-code form, so the
// normaliser never has to guess between them; codes are unique ISO alpha-2.
func TestCountriesUnambiguous(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range catalog.Countries() {
		if len(c.Code) != 2 || strings.ToUpper(c.Code) != c.Code || seen[c.Code] {
			t.Errorf("bad or repeated code %q", c.Code)
		}
		seen[c.Code] = true
		if c.MinLen < 4 || c.MinLen > c.MaxLen || len(c.CallingCode)+c.MaxLen > 15 || c.CallingCode == "" || c.CallingCode[0] == '0' {
			t.Errorf("%s: implausible lengths or calling code %+v", c.Code, c)
		}
		// A national number without trunk (it starts with 1-9, as calling
		// codes do) must be shorter than the shortest calling-code form; with
		// the trunk it starts with 0, which no calling code does.
		if len(c.CallingCode)+c.MinLen <= c.MaxLen {
			t.Errorf("%s: %d-digit national numbers overlap calling-code forms of %d digits", c.Code, c.MaxLen, len(c.CallingCode)+c.MinLen)
		}
		if got, ok := catalog.LookupCountry(strings.ToLower(c.Code)); !ok || got != c {
			t.Errorf("LookupCountry(%q) = %+v, %v", c.Code, got, ok)
		}
	}
	if _, ok := catalog.LookupCountry(catalog.DefaultCountry); !ok {
		t.Errorf("DefaultCountry %q is not in the table", catalog.DefaultCountry)
	}
}

func TestNormalizeForCountry(t *testing.T) {
	in := decode(t, `{"event":"call.hangup","event_id":"evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6","occurred_at":"2026-04-09T07:24:53Z",
		"call_id":"c1","direction":"inbound","call_type":"inbound","from_number":"09240202904","to_number":"918287842425",
		"call_status":"answered"}`)
	out, err := catalog.NormalizeFor(in, "IN")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"from_number": "+919240202904", "to_number": "+918287842425",
		"did_number": "+918287842425", "customer_number": "+919240202904"} {
		if out[k] != want {
			t.Errorf("%s = %v, want %v", k, out[k], want)
		}
	}
	if _, ok := out["from_number_raw"]; ok {
		t.Errorf("from_number_raw set for a number that normalized: %v", out)
	}
	again, err := catalog.NormalizeFor(out, "US")
	if err != nil || !reflect.DeepEqual(again, out) {
		t.Errorf("output not canonical under another country: %v %v", again, err)
	}
	// Without a country the national form is kept raw, not guessed.
	noCountry, err := catalog.Normalize(in)
	if err != nil {
		t.Fatal(err)
	}
	if noCountry["from_number"] != "09240202904" || noCountry["from_number_raw"] != "09240202904" {
		t.Errorf("no country: from_number %v raw %v", noCountry["from_number"], noCountry["from_number_raw"])
	}
}
