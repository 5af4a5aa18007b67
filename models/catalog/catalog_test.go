package catalog_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/catalog"
)

func TestGroupsOrder(t *testing.T) {
	want := []string{
		"Call lifecycle", "IVR / DTMF", "Queue / ring group", "Messaging", "Voicemail",
		"Disposition, notes and follow-ups", "Webhook operations",
	}
	var got []string
	for _, g := range catalog.Groups() {
		got = append(got, g.Label)
		if len(g.Types) == 0 {
			t.Errorf("group %q has no types", g.ID)
		}
		for _, ty := range g.Types {
			if ty.Group != g.ID {
				t.Errorf("type %s: Group = %q, listed under %q", ty.ID, ty.Group, g.ID)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("group labels = %q, want %q", got, want)
	}
}

func TestCoreTriggers(t *testing.T) {
	tests := []struct{ id, label string }{
		{"call.received", "Call received on server"},
		{"call.ivr_answered", "Call answered on IVR"},
		{"call.ring_group_answered", "Call answered on ring group"},
		{"call.queue_answered", "Call answered on call queue"},
		{"call.answered", "Call answered by extension"},
		{"call.missed", "Call missed"},
		{"call.hangup", "Call hangup"},
		{"call.ended", "Call missed or answered"},
		{"call.dtmf", "DTMF option"},
		{"call.dialed", "Dialed on extensions"},
		{"call.click_to_call.answered", "Call answered by customer (Click to Call)"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			ty, ok := catalog.Lookup(tc.id)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tc.id)
			}
			if ty.Label != tc.label {
				t.Errorf("Label = %q, want %q", ty.Label, tc.label)
			}
			if !ty.Core || !ty.Call || !catalog.Subscribable(tc.id) {
				t.Errorf("Core=%v Call=%v Subscribable=%v, want all true", ty.Core, ty.Call, catalog.Subscribable(tc.id))
			}
		})
	}
	var core int
	for _, ty := range catalog.Types() {
		if ty.Core {
			core++
		}
	}
	if core != len(tests) {
		t.Errorf("%d core types, want %d", core, len(tests))
	}
}

func TestTypes(t *testing.T) {
	idRe := regexp.MustCompile(`^[a-z]+(\.[a-z_]+)+$`)
	reserved := catalog.ReservedFields()
	var flat []catalog.Type
	for _, g := range catalog.Groups() {
		flat = append(flat, g.Types...)
	}
	types := catalog.Types()
	if !slices.Equal(types, flat) {
		t.Fatal("Types() is not Groups() flattened in order")
	}
	seen := map[string]bool{}
	for _, ty := range types {
		t.Run(ty.ID, func(t *testing.T) {
			if seen[ty.ID] {
				t.Fatal("duplicate id")
			}
			seen[ty.ID] = true
			if !idRe.MatchString(ty.ID) {
				t.Errorf("id is not dotted snake_case")
			}
			if ty.Label == "" || ty.Description == "" {
				t.Errorf("missing label or description")
			}
			if got, ok := catalog.Lookup(ty.ID); !ok || got != ty {
				t.Errorf("Lookup = %+v, %v", got, ok)
			}
			if want := strings.HasPrefix(ty.ID, "call."); ty.Call != want {
				t.Errorf("Call = %v, want %v (every call.* event carries the call fields)", ty.Call, want)
			}
			if want := ty.ID != "webhook.test" && ty.ID != catalog.ProbeType; catalog.Subscribable(ty.ID) != want {
				t.Errorf("Subscribable = %v, want %v", !want, want)
			}
			fields := catalog.Fields(ty.ID)
			if !slices.IsSorted(fields) || len(slices.Compact(slices.Clone(fields))) != len(fields) {
				t.Errorf("Fields not sorted and unique: %q", fields)
			}
			if !slices.Contains(fields, "occurred_at") {
				t.Errorf("Fields lacks occurred_at")
			}
			for _, f := range fields {
				if slices.Contains(reserved, f) || strings.HasSuffix(f, "_local") || f == "event" || f == "event_id" || f == "tags" {
					t.Errorf("Fields lists envelope/reserved key %q", f)
				}
			}
			for _, f := range catalog.RequiredFields(ty.ID) {
				if !slices.Contains(fields, f) {
					t.Errorf("required field %q is not in Fields", f)
				}
			}
			if ty.Call {
				for _, f := range []string{"call_id", "direction", "call_type", "from_number", "to_number"} {
					if !slices.Contains(catalog.RequiredFields(ty.ID), f) {
						t.Errorf("call event does not require %q", f)
					}
				}
			}
		})
	}
	for _, id := range []string{"", "call", "call.unknown", "CALL.HANGUP"} {
		if _, ok := catalog.Lookup(id); ok || catalog.Subscribable(id) || catalog.Fields(id) != nil {
			t.Errorf("unknown id %q is known", id)
		}
	}
}

func TestEventSpecificFields(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"call.received", []string{"entry_point"}},
		{"call.dialed", []string{"dialed_extensions", "ring_strategy"}},
		{"call.queue_answered", []string{"ring_seconds", "wait_seconds", "queue_id"}},
		{"call.dtmf", []string{"digits", "menu_level", "ivr_id", "ivr_name", "option_label"}},
		{"call.hangup", []string{"duration_seconds", "talk_seconds", "ring_seconds", "hangup_cause", "hangup_sip_code", "hangup_by", "missed_extensions", "recording_url"}},
		{"message.received", []string{"message_id", "body", "media_urls", "segments", "status", "error_code", "did_number", "customer_number"}},
		{"voicemail.received", []string{"voicemail_id", "mailbox_id", "mailbox_name", "mailbox_extension", "call_id", "duration_seconds", "transcription"}},
		{"call.disposition_set", []string{"disposition", "disposition_code", "sub_disposition", "note", "set_by_extension_id", "set_at"}},
		{"activity.scheduled", []string{"activity_type", "subject", "due_at", "duration_minutes", "assigned_extension_name"}},
		{"webhook.test", []string{"sample_of", "call_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			fields := catalog.Fields(tc.id)
			for _, f := range tc.want {
				if !slices.Contains(fields, f) {
					t.Errorf("Fields(%q) lacks %q", tc.id, f)
				}
			}
		})
	}
	if slices.Contains(catalog.Fields("message.received"), "call_id") {
		t.Error("message events must not carry call fields")
	}
}

func TestReturnedSlicesAreCopies(t *testing.T) {
	g := catalog.Groups()
	g[0].Label = "changed"
	g[0].Types[0].Label = "changed"
	ty := catalog.Types()
	ty[0].ID = "changed"
	f := catalog.Fields("call.hangup")
	f[0] = "changed"
	tf := catalog.TimeFields()
	tf[0] = "changed"
	r := catalog.ReservedFields()
	r[0] = "changed"
	e := catalog.EnumValues("call.hangup", "call_status")
	e[0] = "changed"

	if catalog.Groups()[0].Label != "Call lifecycle" || catalog.Groups()[0].Types[0].Label != "Call received on server" ||
		catalog.Types()[0].ID != "call.received" || catalog.Fields("call.hangup")[0] == "changed" ||
		catalog.TimeFields()[0] != "occurred_at" || catalog.ReservedFields()[0] == "changed" ||
		catalog.EnumValues("call.hangup", "call_status")[0] == "changed" {
		t.Fatal("a returned slice aliases the catalog")
	}
}

func TestTimeFields(t *testing.T) {
	want := []string{"occurred_at", "started_at", "answered_at", "ended_at", "set_at", "due_at"}
	if got := catalog.TimeFields(); !slices.Equal(got, want) {
		t.Fatalf("TimeFields = %q, want %q", got, want)
	}
}

func TestEnumValues(t *testing.T) {
	tests := []struct {
		typ, field string
		want       []string
	}{
		{"call.hangup", "direction", []string{"inbound", "outbound", "internal"}},
		{"message.sent", "direction", []string{"inbound", "outbound"}},
		{"call.received", "call_type", []string{"inbound", "outbound", "click_to_call"}},
		{"call.missed", "missed_reason", []string{"no_answer", "busy", "caller_abandoned", "rejected", "failed", "no_destination"}},
		{"message.status_updated", "status", []string{"queued", "sent", "delivered", "failed", "received"}},
		{"call.hangup", "call_id", nil},
		{"call.hangup", "status", nil},
		{"nope", "direction", nil},
	}
	for _, tc := range tests {
		t.Run(tc.typ+"/"+tc.field, func(t *testing.T) {
			if got := catalog.EnumValues(tc.typ, tc.field); !slices.Equal(got, tc.want) {
				t.Errorf("EnumValues = %q, want %q", got, tc.want)
			}
		})
	}
}

// The operational events are subscribable catalog types; webhook.probe is a
// system type nobody subscribes to and producers cannot send.
func TestOperationalAndSystemTypes(t *testing.T) {
	want := []string{catalog.WebhookDisabled, catalog.WebhookEnabled, catalog.WebhookFailing, catalog.DeliveryExhausted}
	if got := catalog.OperationalTypes(); !slices.Equal(got, want) {
		t.Fatalf("OperationalTypes = %v, want %v", got, want)
	}
	for _, id := range want {
		if !catalog.Subscribable(id) || !catalog.IsOperational(id) {
			t.Errorf("%s: subscribable %v, operational %v", id, catalog.Subscribable(id), catalog.IsOperational(id))
		}
		if !slices.Contains(catalog.Fields(id), "about_webhook_id") {
			t.Errorf("%s does not carry about_webhook_id", id)
		}
	}
	if catalog.Subscribable(catalog.ProbeType) || catalog.IsOperational("call.hangup") {
		t.Fatal("webhook.probe is subscribable, or call.hangup operational")
	}
	_, err := catalog.Normalize(map[string]any{"event": catalog.ProbeType, "event_id": "evt_0123456789", "occurred_at": "2026-04-09T07:24:53Z"})
	if err == nil || !strings.Contains(err.Error(), "generated by Ringhook") {
		t.Fatalf("ingesting webhook.probe: %v", err)
	}
}
