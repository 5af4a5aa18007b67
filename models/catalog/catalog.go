package catalog

import (
	"slices"
	"sort"
	"time"
)

// Group is a display group of event types, in catalog order.
type Group struct {
	// ID is the stable group identifier, e.g. "call".
	ID string
	// Label is the UI heading, e.g. "Call lifecycle".
	Label string
	// Types are the group's event types in display order.
	Types []Type
}

// Type describes one event type.
type Type struct {
	// ID is the event id a webhook subscribes to, e.g. "call.hangup".
	ID string
	// Label is the UI string shown in trigger pickers and the catalog page.
	Label string
	// Description says when the event fires.
	Description string
	// Core marks the eleven triggers that shipped first.
	Core bool
	// Group is the ID of the Group the type belongs to.
	Group string
	// Call reports whether the payload carries the call fields (every
	// call.* event does); Normalize then requires call_id, direction,
	// call_type, from_number and to_number.
	Call bool
	// Perishable marks events worth nothing once the call has moved on
	// (ringing, IVR): new webhooks let their deliveries expire
	// PerishableExpiry after the event (see models.NewWebhookInput).
	Perishable bool
	// Operational marks the events Ringhook itself emits about the
	// account's webhooks and deliveries (webhook.disabled, …): other
	// webhooks subscribe to them, and they never go to the webhook they
	// are about (see OperationalTypes).
	Operational bool
	// System marks a type Ringhook sends on its own to one webhook (the
	// probe of a disabled endpoint): no webhook subscribes to it and
	// Normalize does not accept it.
	System bool
}

// ProbeType is the id of the signed request that probes a webhook disabled
// automatically (see models.ProbeDelay).
const ProbeType = "webhook.probe"

// Operational event types, emitted by Ringhook (see Type.Operational).
const (
	WebhookDisabled   = "webhook.disabled"
	WebhookEnabled    = "webhook.enabled"
	WebhookFailing    = "webhook.failing"
	DeliveryExhausted = "delivery.exhausted"
)

// OperationalTypes lists the ids of the operational event types, in catalog order.
func OperationalTypes() []string {
	var out []string
	for _, t := range Types() {
		if t.Operational {
			out = append(out, t.ID)
		}
	}
	return out
}

// IsOperational reports whether id is an operational event type.
func IsOperational(id string) bool {
	td, ok := lookupDef(id)
	return ok && td.Operational
}

// PerishableExpiry is how long after occurred_at a new webhook still sends
// a perishable event.
const PerishableExpiry = 2 * time.Minute

// PerishableTypes lists the ids of the perishable event types, in catalog order.
func PerishableTypes() []string {
	var out []string
	for _, t := range Types() {
		if t.Perishable {
			out = append(out, t.ID)
		}
	}
	return out
}

// Group ids, in display order.
const (
	GroupCall      = "call"
	GroupIVR       = "ivr"
	GroupQueue     = "queue"
	GroupMessaging = "messaging"
	GroupVoicemail = "voicemail"
	GroupFollowUp  = "followup"
	GroupWebhook   = "webhook"
)

// TestType is the id of the event that "Send test" produces. It is the only
// type a webhook cannot subscribe to and Normalize does not accept it.
const TestType = "webhook.test"

// DefaultTestSampleOf is the type whose schema Sample(TestType, …) shows.
const DefaultTestSampleOf = "call.hangup"

// payload families: which common block of fields a type carries.
type family int

const (
	famNone family = iota
	famCall
	famMessage
)

type typeDef struct {
	Type
	fam      family
	extra    []string // fields beyond the family's common block
	required []string // fields that must be non-null beyond the family's
}

type groupDef struct {
	id, label string
}

var groupDefs = [...]groupDef{
	{GroupCall, "Call lifecycle"},
	{GroupIVR, "IVR / DTMF"},
	{GroupQueue, "Queue / ring group"},
	{GroupMessaging, "Messaging"},
	{GroupVoicemail, "Voicemail"},
	{GroupFollowUp, "Disposition, notes and follow-ups"},
	{GroupWebhook, "Webhook operations"},
}

// CallFields returns the fields every call.* event carries (the call block
// of docs/events.md), in the documented order.
func CallFields() []string { return append([]string(nil), callFields[:]...) }

// callFields are carried by every call.* event (docs/events.md, "Catalog").
var callFields = [...]string{
	"call_id", "leg_id", "sequence", "direction", "call_type",
	"from_number", "from_name", "to_number", "to_name",
	"did_number", "customer_number",
	"call_status", "missed_reason",
	"started_at", "answered_at", "ended_at",
	"extension_id", "extension_number", "extension_name",
	"ivr_id", "ivr_name", "ring_group_id", "ring_group_name",
	"queue_id", "queue_name", "reference_id",
}

// callRequired must be non-null on every call event.
var callRequired = [...]string{"call_id", "direction", "call_type", "from_number", "to_number"}

// messageFields are carried by every message.* event.
var messageFields = [...]string{
	"message_id", "from_number", "to_number", "did_number", "customer_number",
	"direction", "body", "media_urls", "segments", "status", "error_code",
}

var messageRequired = [...]string{"message_id", "direction", "from_number", "to_number"}

// terminalFields are the extra fields of call.missed, call.hangup, call.ended.
var terminalFields = [...]string{
	"duration_seconds", "talk_seconds", "ring_seconds",
	"hangup_cause", "hangup_sip_code", "hangup_by",
	"dialed_extensions", "missed_extensions", "recording_url",
}

var typeDefs = [...]typeDef{
	// A. Call lifecycle
	{Type: Type{ID: "call.received", Label: "Call received on server", Core: true, Group: GroupCall, Call: true,
		Description: "First signal of a call: an inbound call reaches one of the account's numbers, or an outbound or click-to-call call is originated."},
		fam: famCall, extra: []string{"entry_point"}},
	{Type: Type{ID: "call.dialed", Label: "Dialed on extensions", Core: true, Group: GroupCall, Call: true, Perishable: true,
		Description: "The platform starts ringing one or more extensions for the call; one event per ring attempt, listing dialed_extensions."},
		fam: famCall, extra: []string{"dialed_extensions", "ring_strategy"}},
	{Type: Type{ID: "call.answered", Label: "Call answered by extension", Core: true, Group: GroupCall, Call: true,
		Description: "An extension (user or device) answers the call."},
		fam: famCall, extra: []string{"ring_seconds"}},
	{Type: Type{ID: "call.missed", Label: "Call missed", Core: true, Group: GroupCall, Call: true,
		Description: "The call ended without being answered by any extension (call_status is missed)."},
		fam: famCall, extra: terminalFields[:], required: []string{"call_status"}},
	{Type: Type{ID: "call.hangup", Label: "Call hangup", Core: true, Group: GroupCall, Call: true,
		Description: "An answered call ended (call_status is answered)."},
		fam: famCall, extra: terminalFields[:], required: []string{"call_status"}},
	{Type: Type{ID: "call.ended", Label: "Call missed or answered", Core: true, Group: GroupCall, Call: true,
		Description: "Every call end, answered or not. A webhook subscribed to this and to call.missed or call.hangup gets two deliveries."},
		fam: famCall, extra: terminalFields[:], required: []string{"call_status"}},
	{Type: Type{ID: "call.click_to_call.answered", Label: "Call answered by customer (Click to Call)", Core: true, Group: GroupCall, Call: true,
		Description: "In a click-to-call (extension leg first, then customer), the customer leg answers."},
		fam: famCall, extra: []string{"customer_ring_seconds"}},
	{Type: Type{ID: "call.click_to_call.missed", Label: "Call missed by customer (Click to Call)", Group: GroupCall, Call: true,
		Description: "In a click-to-call, the customer leg is not answered."},
		fam: famCall, extra: []string{"customer_ring_seconds"}},
	{Type: Type{ID: "call.bridged", Label: "Call connected", Group: GroupCall, Call: true,
		Description: "Two legs of the call are bridged (both parties talking)."},
		fam: famCall},
	{Type: Type{ID: "call.transferred", Label: "Call transferred", Group: GroupCall, Call: true,
		Description: "The call is transferred to another extension, a queue or an external number."},
		fam: famCall, extra: []string{
			"transfer_type",
			"from_extension_id", "from_extension_number", "from_extension_name",
			"to_extension_id", "to_extension_number", "to_extension_name",
			"to_queue_id", "to_queue_name", "transfer_to_number",
		}, required: []string{"transfer_type"}},
	{Type: Type{ID: "call.parked", Label: "Call parked", Group: GroupCall, Call: true,
		Description: "The call is put in a park slot."},
		fam: famCall, extra: []string{"parking_slot"}, required: []string{"parking_slot"}},
	{Type: Type{ID: "call.park_retrieved", Label: "Call retrieved from park", Group: GroupCall, Call: true,
		Description: "A parked call is picked up from its park slot."},
		fam: famCall, extra: []string{"parking_slot"}, required: []string{"parking_slot"}},
	{Type: Type{ID: "call.park_abandoned", Label: "Call abandoned in park", Group: GroupCall, Call: true,
		Description: "The caller hangs up while the call is parked."},
		fam: famCall, extra: []string{"parking_slot"}, required: []string{"parking_slot"}},

	// B. IVR / DTMF
	{Type: Type{ID: "call.ivr_answered", Label: "Call answered on IVR", Core: true, Group: GroupIVR, Call: true, Perishable: true,
		Description: "An IVR or auto-attendant answers the call and plays its menu."},
		fam: famCall, required: []string{"ivr_id", "ivr_name"}},
	{Type: Type{ID: "call.dtmf", Label: "DTMF option", Core: true, Group: GroupIVR, Call: true, Perishable: true,
		Description: "The caller selects a menu option; one event per accepted option."},
		fam: famCall, extra: []string{"digits", "menu_level", "option_label"}, required: []string{"digits", "ivr_id"}},

	// C. Queue / ring group
	{Type: Type{ID: "call.ring_group_answered", Label: "Call answered on ring group", Core: true, Group: GroupQueue, Call: true,
		Description: "A member answers a call routed to a ring group."},
		fam: famCall, extra: []string{"ring_seconds"}, required: []string{"ring_group_id"}},
	{Type: Type{ID: "call.queue_answered", Label: "Call answered on call queue", Core: true, Group: GroupQueue, Call: true,
		Description: "A queue agent answers a queued call."},
		fam: famCall, extra: []string{"ring_seconds", "wait_seconds"}, required: []string{"queue_id"}},
	{Type: Type{ID: "call.queue_entered", Label: "Call entered queue", Group: GroupQueue, Call: true,
		Description: "The call joins a queue."},
		fam: famCall, required: []string{"queue_id"}},
	{Type: Type{ID: "call.queue_abandoned", Label: "Caller abandoned queue", Group: GroupQueue, Call: true,
		Description: "The caller hangs up while waiting in a queue."},
		fam: famCall, extra: []string{"wait_seconds"}, required: []string{"queue_id"}},

	// D. Messaging
	{Type: Type{ID: "message.received", Label: "SMS received", Group: GroupMessaging,
		Description: "An inbound SMS or MMS arrives on one of the account's numbers."},
		fam: famMessage},
	{Type: Type{ID: "message.sent", Label: "SMS sent", Group: GroupMessaging,
		Description: "An outbound SMS is accepted for sending."},
		fam: famMessage},
	{Type: Type{ID: "message.status_updated", Label: "SMS delivery status changed", Group: GroupMessaging,
		Description: "A carrier delivery receipt changes the status of a message."},
		fam: famMessage, required: []string{"status"}},

	// E. Voicemail
	{Type: Type{ID: "voicemail.received", Label: "New voicemail", Group: GroupVoicemail,
		Description: "A message is left in a mailbox."},
		extra: []string{
			"voicemail_id", "mailbox_id", "mailbox_name", "mailbox_extension",
			"call_id", "from_number", "from_name", "duration_seconds", "recording_url", "transcription",
		}, required: []string{"voicemail_id", "mailbox_id"}},
	{Type: Type{ID: "voicemail.mailbox_full", Label: "Voicemail box full", Group: GroupVoicemail,
		Description: "A caller could not leave a message because the mailbox is full."},
		extra:    []string{"mailbox_id", "mailbox_name", "mailbox_extension", "call_id", "from_number", "from_name"},
		required: []string{"mailbox_id"}},

	// F. Disposition, notes and follow-ups
	{Type: Type{ID: "call.disposition_set", Label: "Call disposition set", Group: GroupFollowUp, Call: true,
		Description: "An agent records the outcome of a call."},
		fam: famCall, extra: []string{
			"disposition", "disposition_code", "sub_disposition", "note",
			"set_by_extension_id", "set_by_extension_number", "set_by_extension_name", "set_at",
		}, required: []string{"disposition"}},
	{Type: Type{ID: "call.note_added", Label: "Note added to call", Group: GroupFollowUp, Call: true,
		Description: "An internal note is attached to a call."},
		fam: famCall, extra: []string{
			"note_id", "note", "author_extension_id", "author_extension_number", "author_extension_name",
		}, required: []string{"note"}},
	{Type: Type{ID: "call.tag_added", Label: "Call tagged", Group: GroupFollowUp, Call: true,
		Description: "A tag is added to a call."},
		fam: famCall, extra: []string{"tag"}, required: []string{"tag"}},
	{Type: Type{ID: "call.tag_removed", Label: "Call untagged", Group: GroupFollowUp, Call: true,
		Description: "A tag is removed from a call."},
		fam: famCall, extra: []string{"tag"}, required: []string{"tag"}},
	{Type: Type{ID: "activity.scheduled", Label: "Follow-up scheduled", Group: GroupFollowUp,
		Description: "An agent schedules a callback or task from a call."},
		extra: []string{
			"activity_id", "activity_type", "subject", "due_at", "duration_minutes",
			"assigned_extension_id", "assigned_extension_number", "assigned_extension_name",
			"call_id", "customer_number",
		}, required: []string{"activity_type", "due_at"}},
	{Type: Type{ID: "call.recording_ready", Label: "Call recording available", Group: GroupFollowUp, Call: true,
		Description: "The call recording is stored and can be fetched."},
		fam: famCall, extra: []string{"recording_url", "recording_duration_seconds"}, required: []string{"recording_url"}},
	{Type: Type{ID: "call.summary_ready", Label: "Call summary ready", Group: GroupFollowUp, Call: true,
		Description: "An AI summary or transcript of the call is done."},
		fam: famCall, extra: []string{"summary", "transcript_url"}, required: []string{"summary"}},

	// G. Webhook operations
	{Type: Type{ID: TestType, Label: "Test event", Group: GroupWebhook,
		Description: "An admin presses \"Send test\": a payload in the schema of a chosen type (sample_of), delivered with test set to true."},
		extra: []string{"sample_of"}},
	{Type: Type{ID: ProbeType, Label: "Probe of a disabled endpoint", Group: GroupWebhook, System: true,
		Description: "Sent by Ringhook to a webhook it disabled automatically, on a backoff schedule, to find out whether the endpoint answers again; the first 2xx re-enables it. Nobody subscribes to it."},
		extra: []string{"probe_number", "disable_reason"}},
	{Type: Type{ID: WebhookDisabled, Label: "Webhook disabled", Group: GroupWebhook, Operational: true,
		Description: "A webhook of the account is disabled: automatically (a failure streak or 410 Gone) or by someone. Sent to the account's other subscribed webhooks, never to the disabled one."},
		extra: []string{
			"about_webhook_id", "about_webhook_name", "about_webhook_url", "automatic", "changed_by",
			"disabled_webhook_id", "disabled_webhook_name", "disabled_webhook_url", "disable_reason", "failure_count",
		}, required: []string{"disabled_webhook_id", "disable_reason"}},
	{Type: Type{ID: WebhookEnabled, Label: "Webhook enabled", Group: GroupWebhook, Operational: true,
		Description: "A disabled webhook is enabled again: by someone, or automatically after a successful probe (then replayed_count says how many deliveries were sent again). Never sent to the enabled webhook itself."},
		extra:    []string{"about_webhook_id", "about_webhook_name", "about_webhook_url", "automatic", "changed_by", "enable_reason", "replayed_count"},
		required: []string{"about_webhook_id"}},
	{Type: Type{ID: WebhookFailing, Label: "Webhook failing", Group: GroupWebhook, Operational: true,
		Description: "A webhook's streak of failed attempts reached the warning threshold (once per streak: it fires again only after a success ended the streak). Never sent to the failing webhook itself."},
		extra:    []string{"about_webhook_id", "about_webhook_name", "about_webhook_url", "failure_count", "last_error"},
		required: []string{"about_webhook_id", "failure_count"}},
	{Type: Type{ID: DeliveryExhausted, Label: "Delivery failed for good", Group: GroupWebhook, Operational: true,
		Description: "A delivery used up its automatic attempts (or got 410 Gone) and ended failed. Not emitted for deliveries of operational events, so failures cannot feed each other. Never sent to the webhook of the delivery."},
		extra: []string{"about_webhook_id", "about_webhook_name", "about_webhook_url", "delivery_id", "delivery_event_id",
			"delivery_event_type", "call_id", "attempt_count", "last_error"},
		required: []string{"about_webhook_id", "delivery_id"}},
}

// index is the read-only lookup built once from typeDefs.
type index struct {
	byID     map[string]int      // type id -> position in typeDefs
	fields   map[string][]string // type id -> sorted documented fields
	required map[string][]string // type id -> sorted non-null fields
}

var idx = buildIndex()

func buildIndex() index {
	ix := index{
		byID:     make(map[string]int, len(typeDefs)),
		fields:   make(map[string][]string, len(typeDefs)),
		required: make(map[string][]string, len(typeDefs)),
	}
	for i := range typeDefs {
		td := &typeDefs[i]
		ix.byID[td.ID] = i
		fs := []string{"occurred_at"}
		req := []string{"occurred_at"}
		switch td.fam {
		case famCall:
			fs = append(fs, callFields[:]...)
			req = append(req, callRequired[:]...)
		case famMessage:
			fs = append(fs, messageFields[:]...)
			req = append(req, messageRequired[:]...)
		}
		fs = append(fs, td.extra...)
		req = append(req, td.required...)
		ix.fields[td.ID] = sortedUnique(fs)
		ix.required[td.ID] = sortedUnique(req)
	}
	// webhook.test shows the schema of its default sample type.
	ix.fields[TestType] = sortedUnique(append(slices.Clone(ix.fields[DefaultTestSampleOf]), "sample_of"))
	return ix
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

func lookupDef(id string) (*typeDef, bool) {
	i, ok := idx.byID[id]
	if !ok {
		return nil, false
	}
	return &typeDefs[i], true
}

// Groups returns the display groups in catalog order ("Call lifecycle",
// "IVR / DTMF", "Queue / ring group", "Messaging", "Voicemail",
// "Disposition, notes and follow-ups", "Webhook operations"), each with
// its types in display order. The result is a fresh copy.
func Groups() []Group {
	out := make([]Group, 0, len(groupDefs))
	for _, g := range groupDefs {
		grp := Group{ID: g.id, Label: g.label}
		for i := range typeDefs {
			if typeDefs[i].Group == g.id {
				grp.Types = append(grp.Types, typeDefs[i].Type)
			}
		}
		out = append(out, grp)
	}
	return out
}

// Types returns every event type in display order (the order of Groups,
// flattened). The result is a fresh copy.
func Types() []Type {
	out := make([]Type, 0, len(typeDefs))
	for _, g := range Groups() {
		out = append(out, g.Types...)
	}
	return out
}

// Lookup returns the type with the given id.
func Lookup(id string) (Type, bool) {
	td, ok := lookupDef(id)
	if !ok {
		return Type{}, false
	}
	return td.Type, true
}

// Subscribable reports whether a webhook may subscribe to the type id: true
// for every known type except webhook.test and the system types
// (webhook.probe), false for unknown ids.
func Subscribable(id string) bool {
	td, ok := lookupDef(id)
	return ok && id != TestType && !td.System
}

// Fields returns the sorted documented top-level payload keys of the type,
// including occurred_at but not the other envelope keys: event and event_id
// (always present) and the render-time keys account_id, webhook_id,
// api_version, test, timezone, *_local and custom_data. The optional keys
// "tags" and "<field>_raw" (see the package doc) are not listed either.
//
// For webhook.test the list is that of its default sample
// (DefaultTestSampleOf) plus sample_of; a real test event carries the fields
// of whatever type sample_of names. Unknown ids return nil.
func Fields(id string) []string {
	return slices.Clone(idx.fields[id])
}

// RequiredFields returns the sorted fields of the type that Normalize
// requires to be non-null, occurred_at included (event and event_id are
// always required too). Unknown ids return nil.
func RequiredFields(id string) []string {
	return slices.Clone(idx.required[id])
}

var timeFields = [...]string{"occurred_at", "started_at", "answered_at", "ended_at", "set_at", "due_at"}

// TimeFields returns the UTC time fields (RFC 3339, "Z", millisecond
// precision): occurred_at, started_at, answered_at, ended_at, set_at and
// due_at. The renderer adds a <field>_local next to each of them.
func TimeFields() []string {
	return slices.Clone(timeFields[:])
}

// EnvelopeFields returns the keys every canonical payload carries besides
// Fields: event, event_id and occurred_at.
func EnvelopeFields() []string {
	return []string{"event", "event_id", "occurred_at"}
}

// ReservedFields returns the top-level keys the renderer adds and Normalize
// rejects on input: account_id, api_version, custom_data, previous_failed,
// test, timezone and webhook_id. Every key ending in "_local" is reserved as well.
func ReservedFields() []string {
	return slices.Clone(reservedFields[:])
}

var reservedFields = [...]string{"account_id", "api_version", "custom_data", "previous_failed", "test", "timezone", "webhook_id"}
