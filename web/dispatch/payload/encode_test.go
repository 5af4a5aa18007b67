package payload_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

func workedFields(t testing.TB) map[string]any {
	t.Helper()
	f, err := payload.Fields(workedEvent(), workedTarget("POST", payload.ContentTypeJSON))
	if err != nil {
		t.Fatalf("Fields: %v", err)
	}
	return f
}

func TestEncodeJSONWorkedExample(t *testing.T) {
	got, err := payload.EncodeJSON(workedFields(t))
	if err != nil {
		t.Fatalf("EncodeJSON: %v", err)
	}
	if string(got) != workedJSON {
		t.Fatalf("JSON mismatch\n got: %s\nwant: %s", got, workedJSON)
	}
	for _, sub := range []string{
		`"custom_data":{"crm_id":"A 1&2"}`,
		`"answered_at_local":"2026-04-09T12:54:23+05:30"`,
		`"recording_url":null`,
		`"answered_at":"2026-04-09T07:24:23.000Z"`,
		`"started_at":"2026-04-09T07:24:22.000Z"`,
		`"ended_at":"2026-04-09T07:24:53.000Z"`,
		`"occurred_at":"2026-04-09T07:24:53.000Z"`,
	} {
		t.Run(sub, func(t *testing.T) {
			if !bytes.Contains(got, []byte(sub)) {
				t.Errorf("JSON lacks %s", sub)
			}
		})
	}
	if bytes.Contains(got, []byte(`\u0026`)) || bytes.HasSuffix(got, []byte("\n")) {
		t.Errorf("JSON has HTML escaping or a trailing newline: %q", got)
	}
}

func TestEncodeFormWorkedExample(t *testing.T) {
	got := payload.EncodeForm(workedFields(t))
	if got != workedForm {
		t.Fatalf("form mismatch\n got: %s\nwant: %s", got, workedForm)
	}
	// Substrings of the expected form body, pinned one rule at a time.
	for _, sub := range []string{
		"account_id=acc_7f2b66a6&answered_at=2026-04-09T07%3A24%3A23.000Z&answered_at_local=2026-04-09T12%3A54%3A23%2B05%3A30",
		"&api_version=2026-01&call_id=call_01JRB3PZ5X&call_status=answered&call_type=inbound",
		"&custom_data%5Bcrm_id%5D=A+1%262&",
		"customer_number=%2B919240202904",
		"&dialed_extensions%5B0%5D%5Bname%5D=Kapil&dialed_extensions%5B0%5D%5Bnumber%5D=101&dialed_extensions%5B0%5D%5Bresult%5D=answered",
		"&dialed_extensions%5B1%5D%5Bname%5D=Asha&dialed_extensions%5B1%5D%5Bnumber%5D=102&dialed_extensions%5B1%5D%5Bresult%5D=no_answer",
		"&did_number=%2B918287842425&direction=inbound&duration_seconds=31&ended_at=2026-04-09T07%3A24%3A53.000Z&",
		"&event=call.hangup&event_id=evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6&",
		"&from_name=Test+Man&from_number=%2B919240202904&",
		"&recording_url=&ring_seconds=1&",
		"&tags%5B%5D=vip&tags%5B%5D=sales&talk_seconds=30&",
		"timezone=Asia%2FKolkata&",
		"started_at_local=2026-04-09T12%3A54%3A22%2B05%3A30",
	} {
		t.Run(sub, func(t *testing.T) {
			if !strings.Contains(got, sub) {
				t.Errorf("form body lacks %q", sub)
			}
		})
	}

	t.Run("keys sorted", func(t *testing.T) {
		var tops []string
		for _, pair := range strings.Split(got, "&") {
			k, _, _ := strings.Cut(pair, "=")
			k, _ = url.QueryUnescape(k)
			top, _, _ := strings.Cut(k, "[")
			tops = append(tops, top)
		}
		if !slices.IsSorted(tops) {
			t.Errorf("top-level keys not sorted: %v", tops)
		}
	})

	t.Run("round trip", func(t *testing.T) {
		q, err := url.ParseQuery(got)
		if err != nil {
			t.Fatalf("ParseQuery: %v", err)
		}
		want := map[string][]string{
			"from_number":                   {"+919240202904"},
			"custom_data[crm_id]":           {"A 1&2"},
			"answered_at_local":             {"2026-04-09T12:54:23+05:30"},
			"recording_url":                 {""},
			"tags[]":                        {"vip", "sales"},
			"dialed_extensions[1][name]":    {"Asha"},
			"dialed_extensions[0][number]":  {"101"},
			"test":                          {"false"},
			"duration_seconds":              {"31"},
			"timezone":                      {"Asia/Kolkata"},
			"dialed_extensions[1][result]":  {"no_answer"},
			"occurred_at":                   {"2026-04-09T07:24:53.000Z"},
			"custom_data[screen_pop]":       nil,
			"dialed_extensions[2][number]":  nil,
			"dialed_extensions[0][number] ": nil,
		}
		for k, v := range want {
			if !slices.Equal(q[k], v) {
				t.Errorf("%s = %q, want %q", k, q[k], v)
			}
		}
		// 36 JSON keys; custom_data becomes 1 form key, dialed_extensions 6, tags 1
		if len(q) != 41 {
			t.Errorf("ParseQuery gave %d keys, want 41", len(q))
		}
	})
}

// TestReferenceOutput feeds a reference JSON body (the worked event with an
// extra custom_data.screen_pop boolean), verbatim, through both encoders:
// JSON must come back byte for byte, and the form rendering must have the
// expected pairs and 41 keys.
func TestReferenceOutput(t *testing.T) {
	const reference = `{"account_id":"acc_7f2b66a6","answered_at":"2026-04-09T07:24:23.000Z","answered_at_local":"2026-04-09T12:54:23+05:30",
 "api_version":"2026-01","call_id":"call_01JRB3PZ5X","call_status":"answered","call_type":"inbound",
 "custom_data":{"crm_id":"A 1&2","screen_pop":true},"customer_number":"+919240202904",
 "dialed_extensions":[{"name":"Kapil","number":"101","result":"answered"},{"name":"Asha","number":"102","result":"no_answer"}],
 "did_number":"+918287842425","direction":"inbound","duration_seconds":31,"ended_at":"2026-04-09T07:24:53.000Z",
 "ended_at_local":"2026-04-09T12:54:53+05:30","event":"call.hangup","event_id":"evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
 "extension_name":"Kapil","extension_number":"101","from_name":"Test Man","from_number":"+919240202904",
 "hangup_by":"caller","hangup_cause":"NORMAL_CLEARING","leg_id":"leg_69d75426f0a9f",
 "occurred_at":"2026-04-09T07:24:53.000Z","occurred_at_local":"2026-04-09T12:54:53+05:30","recording_url":null,
 "ring_seconds":1,"started_at":"2026-04-09T07:24:22.000Z","started_at_local":"2026-04-09T12:54:22+05:30",
 "tags":["vip","sales"],"talk_seconds":30,"timezone":"Asia/Kolkata","to_number":"+918287842425","webhook_id":"wh_91eb05e5"}`
	dec := json.NewDecoder(strings.NewReader(reference))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		t.Fatalf("decode reference: %v", err)
	}

	t.Run("JSON", func(t *testing.T) {
		got, err := payload.EncodeJSON(fields)
		if err != nil {
			t.Fatalf("EncodeJSON: %v", err)
		}
		if want := strings.ReplaceAll(reference, "\n ", ""); string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("form", func(t *testing.T) {
		form := payload.EncodeForm(fields)
		for _, sub := range []string{"&custom_data%5Bcrm_id%5D=A+1%262&custom_data%5Bscreen_pop%5D=true&customer_number=%2B919240202904"} {
			if !strings.Contains(form, sub) {
				t.Errorf("form lacks %q", sub)
			}
		}
		q, err := url.ParseQuery(form)
		if err != nil {
			t.Fatalf("ParseQuery: %v", err)
		}
		if len(q) != 41 || q.Get("custom_data[crm_id]") != "A 1&2" || q.Get("from_number") != "+919240202904" {
			t.Errorf("ParseQuery: %d keys, crm_id %q, from_number %q; want 41, %q, %q",
				len(q), q.Get("custom_data[crm_id]"), q.Get("from_number"), "A 1&2", "+919240202904")
		}
	})
}

type level string

func TestEncodeFormRules(t *testing.T) {
	str := "s"
	var nilPtr *string
	tests := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"nil and empty map", nil, ""},
		{"scalar escaping", map[string]any{"a": "x y+z:/&=?#%é~._-"}, "a=x+y%2Bz%3A%2F%26%3D%3F%23%25%C3%A9~._-"},
		{"key escaping", map[string]any{"a b+": "1"}, "a+b%2B=1"},
		{"null", map[string]any{"b": nil, "a": nil}, "a=&b="},
		{"bools", map[string]any{"t": true, "f": false}, "f=false&t=true"},
		{"integers", map[string]any{"a": 31, "b": int64(-7), "c": uint8(200), "d": int32(0)}, "a=31&b=-7&c=200&d=0"},
		{"floats like encoding/json", map[string]any{"a": 31.0, "b": 0.5, "c": 1e21, "d": 1e-7, "e": float32(2.5)}, "a=31&b=0.5&c=1e%2B21&d=1e-7&e=2.5"},
		{"json.Number", map[string]any{"n": json.Number("2432232314")}, "n=2432232314"},
		{"named string and pointer", map[string]any{"l": level("hi"), "p": &str, "q": nilPtr}, "l=hi&p=s&q="},
		{"time.Time via MarshalText", map[string]any{"t": time.Date(2026, 4, 9, 7, 24, 53, 0, time.UTC)}, "t=2026-04-09T07%3A24%3A53Z"},
		{"object sorted", map[string]any{"o": map[string]any{"b": "2", "a": "1"}}, "o%5Ba%5D=1&o%5Bb%5D=2"},
		{"string map", map[string]any{"o": map[string]string{"b": "2", "a": "1"}}, "o%5Ba%5D=1&o%5Bb%5D=2"},
		{"nested object", map[string]any{"o": map[string]any{"p": map[string]any{"q": 1}}}, "o%5Bp%5D%5Bq%5D=1"},
		{"scalar array", map[string]any{"tags": []any{"vip", nil, 3}}, "tags%5B%5D=vip&tags%5B%5D=&tags%5B%5D=3"},
		{"string slice", map[string]any{"tags": []string{"b", "a"}}, "tags%5B%5D=b&tags%5B%5D=a"},
		{"object array indexed", map[string]any{"x": []map[string]any{{"n": "1"}, {"n": "2"}}}, "x%5B0%5D%5Bn%5D=1&x%5B1%5D%5Bn%5D=2"},
		{"mixed array indexed", map[string]any{"x": []any{"a", map[string]any{"n": "1"}}}, "x%5B0%5D=a&x%5B1%5D%5Bn%5D=1"},
		{"array of arrays", map[string]any{"x": []any{[]any{"a", "b"}}}, "x%5B0%5D%5B%5D=a&x%5B0%5D%5B%5D=b"},
		{"index order numeric", map[string]any{"x": func() []any {
			s := make([]any, 11)
			for i := range s {
				s[i] = map[string]any{"i": i}
			}
			return s
		}()}, "x%5B0%5D%5Bi%5D=0&x%5B1%5D%5Bi%5D=1&x%5B2%5D%5Bi%5D=2&x%5B3%5D%5Bi%5D=3&x%5B4%5D%5Bi%5D=4&x%5B5%5D%5Bi%5D=5&x%5B6%5D%5Bi%5D=6&x%5B7%5D%5Bi%5D=7&x%5B8%5D%5Bi%5D=8&x%5B9%5D%5Bi%5D=9&x%5B10%5D%5Bi%5D=10"},
		{"empty array and object give nothing", map[string]any{"a": []any{}, "b": map[string]any{}, "c": "1", "d": []string{}}, "c=1"},
		{"nil slice and map are null", map[string]any{"a": []any(nil), "b": map[string]any(nil)}, "a=&b="},
		{"unsupported falls back to fmt", map[string]any{"n": math.NaN(), "b": []byte("hi")}, "b=%5B104+105%5D&n=NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := payload.EncodeForm(tc.fields); got != tc.want {
				t.Errorf("EncodeForm = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeJSONErrors(t *testing.T) {
	if _, err := payload.EncodeJSON(map[string]any{"n": math.Inf(1)}); err == nil {
		t.Error("EncodeJSON(+Inf) = nil error")
	}
	got, err := payload.EncodeJSON(map[string]any{})
	if err != nil || string(got) != "{}" {
		t.Errorf("EncodeJSON(empty) = %q, %v", got, err)
	}
}
