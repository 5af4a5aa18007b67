package payload_test

import (
	"errors"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

func TestFieldsWorkedExample(t *testing.T) {
	event := workedEvent()
	before := maps.Clone(event)
	got, err := payload.Fields(event, workedTarget("POST", payload.ContentTypeJSON))
	if err != nil {
		t.Fatalf("Fields: %v", err)
	}
	if !reflect.DeepEqual(event, before) {
		t.Errorf("Fields modified its input event")
	}
	want := map[string]any{
		"api_version":       "2026-01",
		"account_id":        "acc_7f2b66a6",
		"webhook_id":        "wh_91eb05e5",
		"test":              false,
		"timezone":          "Asia/Kolkata",
		"custom_data":       map[string]any{"crm_id": "A 1&2"},
		"occurred_at_local": "2026-04-09T12:54:53+05:30",
		"started_at_local":  "2026-04-09T12:54:22+05:30",
		"answered_at_local": "2026-04-09T12:54:23+05:30",
		"ended_at_local":    "2026-04-09T12:54:53+05:30",
		// UTC fields untouched
		"occurred_at": "2026-04-09T07:24:53.000Z",
		"started_at":  "2026-04-09T07:24:22.000Z",
		"answered_at": "2026-04-09T07:24:23.000Z",
		"ended_at":    "2026-04-09T07:24:53.000Z",
	}
	for k, v := range want {
		t.Run(k, func(t *testing.T) {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		})
	}
	for _, k := range []string{"set_at_local", "due_at_local", "crm_id"} {
		if _, ok := got[k]; ok {
			t.Errorf("unexpected key %s in %v", k, got)
		}
	}
	// the event already has account_id; 9 keys are new
	if len(got) != len(event)+9 {
		t.Errorf("got %d keys, want the %d event keys + 9 added", len(got), len(event))
	}
}

func TestFieldsTimes(t *testing.T) {
	tests := []struct {
		name string
		zone string
		in   map[string]any // merged over a minimal event
		want map[string]any // expected keys; nil value = must be present and nil
		gone []string       // keys that must be absent
	}{
		{
			name: "DST end New York, first 01:30 is EDT",
			zone: "America/New_York",
			in:   map[string]any{"occurred_at": "2026-11-01T05:30:00.000Z"},
			want: map[string]any{"occurred_at_local": "2026-11-01T01:30:00-04:00", "occurred_at": "2026-11-01T05:30:00.000Z"},
		},
		{
			name: "DST end New York, second 01:30 is EST",
			zone: "America/New_York",
			in:   map[string]any{"occurred_at": "2026-11-01T06:30:00.000Z"},
			want: map[string]any{"occurred_at_local": "2026-11-01T01:30:00-05:00"},
		},
		{
			name: "default zone is UTC with a numeric offset",
			zone: "",
			in:   map[string]any{"occurred_at": "2026-04-09T07:24:53.999Z"},
			want: map[string]any{"timezone": "UTC", "occurred_at_local": "2026-04-09T07:24:53+00:00"},
		},
		{
			name: "null UTC fields give null local fields, absent ones none",
			zone: "Asia/Kolkata",
			in:   map[string]any{"answered_at": nil, "ended_at": nil, "started_at": "2026-04-09T07:24:22.000Z"},
			want: map[string]any{"answered_at_local": nil, "ended_at_local": nil, "started_at_local": "2026-04-09T12:54:22+05:30"},
			gone: []string{"set_at_local", "due_at_local"},
		},
		{
			name: "set_at and due_at",
			zone: "Europe/Berlin",
			in:   map[string]any{"set_at": "2026-01-15T10:00:00.000Z", "due_at": "2026-07-15T10:00:00.000Z"},
			want: map[string]any{"set_at_local": "2026-01-15T11:00:00+01:00", "due_at_local": "2026-07-15T12:00:00+02:00"},
		},
		{
			name: "half-hour-off zone across the date line",
			zone: "Pacific/Chatham",
			in:   map[string]any{"occurred_at": "2026-04-09T23:00:00.000Z"},
			want: map[string]any{"occurred_at_local": "2026-04-10T11:45:00+12:45"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			event := map[string]any{"event": "call.answered", "event_id": "evt_1", "occurred_at": "2026-04-09T07:24:53.000Z"}
			maps.Copy(event, tc.in)
			got, err := payload.Fields(event, payload.Target{TimeZone: tc.zone})
			if err != nil {
				t.Fatalf("Fields: %v", err)
			}
			for k, v := range tc.want {
				gv, ok := got[k]
				if !ok {
					t.Errorf("%s missing", k)
				} else if gv != v {
					t.Errorf("%s = %#v, want %#v", k, gv, v)
				}
			}
			for _, k := range tc.gone {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
		})
	}
}

func TestFieldsEnvelope(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"event": "webhook.test", "event_id": "evt_1", "occurred_at": "2026-04-09T07:24:53.000Z"}
	}
	tests := []struct {
		name   string
		event  map[string]any
		target payload.Target
		want   map[string]any
	}{
		{
			name:   "defaults",
			event:  base(),
			target: payload.Target{AccountID: "acc_1", WebhookID: "wh_1"},
			want: map[string]any{"api_version": "2026-01", "account_id": "acc_1", "webhook_id": "wh_1", "test": false,
				"timezone": "UTC", "custom_data": map[string]any{}},
		},
		{
			name:   "pinned version and test target",
			event:  base(),
			target: payload.Target{APIVersion: "2027-02", Test: true},
			want:   map[string]any{"api_version": "2027-02", "test": true},
		},
		{
			name:   "test event stays a test without the target flag",
			event:  func() map[string]any { e := base(); e["test"] = true; return e }(),
			target: payload.Target{},
			want:   map[string]any{"test": true},
		},
		{
			name:   "custom data nested and replaces an event custom_data",
			event:  func() map[string]any { e := base(); e["custom_data"] = map[string]any{"x": "y"}; return e }(),
			target: payload.Target{CustomData: map[string]any{"event": "shadow", "crm_id": "A-17"}},
			want:   map[string]any{"event": "webhook.test", "custom_data": map[string]any{"event": "shadow", "crm_id": "A-17"}},
		},
		{
			name:   "custom data merged at top level overrides event fields (Kazoo)",
			event:  base(),
			target: payload.Target{AccountID: "acc_1", CustomDataMerged: true, CustomData: map[string]any{"account_id": "my_crm_account_id", "screen_pop": true, "n": 3.5}},
			want:   map[string]any{"account_id": "my_crm_account_id", "screen_pop": true, "n": 3.5, "custom_data": nil},
		},
		{
			name:   "account from event when the target has none",
			event:  func() map[string]any { e := base(); e["account_id"] = "acc_9"; return e }(),
			target: payload.Target{},
			want:   map[string]any{"account_id": "acc_9"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := payload.Fields(tc.event, tc.target)
			if err != nil {
				t.Fatalf("Fields: %v", err)
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

func TestFieldsErrors(t *testing.T) {
	ok := func() map[string]any {
		return map[string]any{"event": "call.received", "event_id": "evt_1", "occurred_at": "2026-04-09T07:24:53.000Z"}
	}
	with := func(k string, v any) map[string]any { e := ok(); e[k] = v; return e }
	without := func(k string) map[string]any { e := ok(); delete(e, k); return e }
	tests := []struct {
		name   string
		event  map[string]any
		target payload.Target
	}{
		{"nil event", nil, payload.Target{}},
		{"no event name", without("event"), payload.Target{}},
		{"empty event id", with("event_id", ""), payload.Target{}},
		{"no occurred_at", without("occurred_at"), payload.Target{}},
		{"invalid zone", ok(), payload.Target{TimeZone: "Mars/Olympus_Mons"}},
		{"Local zone", ok(), payload.Target{TimeZone: "Local"}},
		{"path-like zone", ok(), payload.Target{TimeZone: "../../etc/passwd"}},
		{"bad time string", with("started_at", "yesterday"), payload.Target{}},
		{"time of wrong type", with("ended_at", 1712647493), payload.Target{}},
		{"other account", with("account_id", "acc_other"), payload.Target{AccountID: "acc_1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := payload.Fields(tc.event, tc.target)
			var re *payload.RenderError
			if !errors.As(err, &re) || re.Kind != "render" {
				t.Fatalf("err = %v (%T), want *RenderError with Kind render", err, err)
			}
		})
	}
}

func TestFieldsAcceptsTimeValues(t *testing.T) {
	ts := time.Date(2026, 4, 9, 7, 24, 53, 0, time.UTC)
	got, err := payload.Fields(map[string]any{"event": "call.received", "event_id": "evt_1", "occurred_at": ts}, payload.Target{TimeZone: "Asia/Kolkata"})
	if err != nil {
		t.Fatalf("Fields: %v", err)
	}
	if got["occurred_at_local"] != "2026-04-09T12:54:53+05:30" || got["occurred_at"] != ts {
		t.Errorf("occurred_at = %v, occurred_at_local = %v", got["occurred_at"], got["occurred_at_local"])
	}
}
