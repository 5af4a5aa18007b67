package catalog

import (
	"slices"
	"strings"
)

// kind is how a field's value is validated and normalized.
type kind int

const (
	kText      kind = iota // short free text (names, labels): string, at most MaxScalarBytes
	kLongText              // long free text (SMS body, notes, transcripts): at most MaxTextBytes
	kID                    // identifier: trimmed, no whitespace or control characters, at most MaxIDBytes
	kEnum                  // lower-case snake_case value from a documented set
	kPhone                 // phone number, normalized to E.164
	kTime                  // RFC 3339 instant, normalized to UTC with ms
	kInt                   // whole number in [min, max]
	kURL                   // absolute http(s) URL
	kExtList               // array of {id, number, name, result?}
	kURLList               // array of absolute http(s) URLs
	kCode                  // upper-case code such as a Q.850 cause name
	kDigits                // DTMF digits
	kErrorCode             // provider error code: string, or an integer turned into a string
	kEventType             // a subscribable event type id
)

type fieldSpec struct {
	kind     kind
	enum     []string
	min, max int64
}

// Size limits applied by Normalize.
const (
	// MaxScalarBytes caps a string value (UTF-8 bytes) unless a field says otherwise.
	MaxScalarBytes = 1 << 10
	// MaxTextBytes caps long free text: body, note, transcription, summary, disable_reason.
	MaxTextBytes = 16 << 10
	// MaxIDBytes caps identifiers and extension numbers.
	MaxIDBytes = 128
	// MaxListItems caps the list fields (dialed_extensions, missed_extensions, media_urls, tags).
	MaxListItems = 100
	// MaxPayloadBytes caps the canonical payload encoded as compact JSON.
	// The ingest API should refuse larger request bodies before decoding.
	MaxPayloadBytes = 64 << 10
	// maxSafeInt is the largest integer every JSON reader keeps exactly (2^53-1).
	maxSafeInt = 1<<53 - 1
)

// Enumerations, each listed in full in docs/events.md ("Field reference").
var (
	enumCallDirection    = []string{"inbound", "outbound", "internal"}
	enumMessageDirection = []string{"inbound", "outbound"}
	enumCallType         = []string{"inbound", "outbound", "click_to_call"}
	enumCallStatus       = []string{"ringing", "in_progress", "answered", "missed"}
	enumMissedReason     = []string{"no_answer", "busy", "caller_abandoned", "rejected", "failed", "no_destination"}
	enumHangupBy         = []string{"caller", "callee", "system"}
	enumRingStrategy     = []string{"simultaneous", "sequential"}
	enumEntryPoint       = []string{"did", "extension", "api"}
	enumYesNo            = []string{"yes", "no"}
	enumTransferType     = []string{"blind", "attended"}
	enumMessageStatus    = []string{"queued", "sent", "delivered", "failed", "received"}
	enumExtensionResult  = []string{"ringing", "answered", "no_answer", "busy", "rejected", "unavailable", "failed"}
)

func fText() fieldSpec           { return fieldSpec{kind: kText} }
func fLong() fieldSpec           { return fieldSpec{kind: kLongText} }
func fID() fieldSpec             { return fieldSpec{kind: kID} }
func fPhone() fieldSpec          { return fieldSpec{kind: kPhone} }
func fTime() fieldSpec           { return fieldSpec{kind: kTime} }
func fURL() fieldSpec            { return fieldSpec{kind: kURL} }
func fCount() fieldSpec          { return fieldSpec{kind: kInt, min: 0, max: maxSafeInt} }
func fEnum(v []string) fieldSpec { return fieldSpec{kind: kEnum, enum: v} }

// fieldSpecs is the one definition of every field name used by any type:
// a name has the same meaning and value rules wherever it appears.
var fieldSpecs = map[string]fieldSpec{
	"occurred_at": fTime(),

	// call fields
	"call_id":          fID(),
	"leg_id":           fID(),
	"sequence":         fCount(),
	"direction":        fEnum(enumCallDirection), // message events: enumMessageDirection
	"call_type":        fEnum(enumCallType),
	"from_number":      fPhone(),
	"from_name":        fText(),
	"to_number":        fPhone(),
	"to_name":          fText(),
	"did_number":       fPhone(),
	"customer_number":  fPhone(),
	"call_status":      fEnum(enumCallStatus),
	"missed_reason":    fEnum(enumMissedReason),
	"started_at":       fTime(),
	"answered_at":      fTime(),
	"ended_at":         fTime(),
	"extension_id":     fID(),
	"extension_number": fID(),
	"extension_name":   fText(),
	"ivr_id":           fID(),
	"ivr_name":         fText(),
	"ring_group_id":    fID(),
	"ring_group_name":  fText(),
	"queue_id":         fID(),
	"queue_name":       fText(),
	"reference_id":     fID(),

	// per-type call extras
	"entry_point":           fEnum(enumEntryPoint),
	"dialed_extensions":     {kind: kExtList},
	"ring_strategy":         fEnum(enumRingStrategy),
	"ring_seconds":          fCount(),
	"wait_seconds":          fCount(),
	"digits":                {kind: kDigits},
	"menu_level":            fCount(),
	"option_label":          fText(),
	"customer_ring_seconds": fCount(),
	"duration_seconds":      fCount(),
	"talk_seconds":          fCount(),
	"hangup_cause":          {kind: kCode},
	"hangup_sip_code":       {kind: kInt, min: 100, max: 699},
	"hangup_by":             fEnum(enumHangupBy),
	"missed_extensions":     {kind: kExtList},
	"recording_url":         fURL(),
	"transfer_type":         fEnum(enumTransferType),
	"from_extension_id":     fID(),
	"from_extension_number": fID(),
	"from_extension_name":   fText(),
	"to_extension_id":       fID(),
	"to_extension_number":   fID(),
	"to_extension_name":     fText(),
	"to_queue_id":           fID(),
	"to_queue_name":         fText(),
	"transfer_to_number":    fPhone(),
	"parking_slot":          fID(),

	// messaging
	"message_id": fID(),
	"body":       fLong(),
	"media_urls": {kind: kURLList},
	"segments":   fCount(),
	"status":     fEnum(enumMessageStatus),
	"error_code": {kind: kErrorCode},

	// voicemail
	"voicemail_id":      fID(),
	"mailbox_id":        fID(),
	"mailbox_name":      fText(),
	"mailbox_extension": fID(),
	"transcription":     fLong(),

	// disposition, notes, follow-ups
	"disposition":                fText(),
	"disposition_code":           fID(),
	"sub_disposition":            fText(),
	"note":                       fLong(),
	"set_by_extension_id":        fID(),
	"set_by_extension_number":    fID(),
	"set_by_extension_name":      fText(),
	"set_at":                     fTime(),
	"note_id":                    fID(),
	"author_extension_id":        fID(),
	"author_extension_number":    fID(),
	"author_extension_name":      fText(),
	"tag":                        fText(),
	"activity_id":                fID(),
	"activity_type":              fID(),
	"subject":                    fText(),
	"due_at":                     fTime(),
	"duration_minutes":           fCount(),
	"assigned_extension_id":      fID(),
	"assigned_extension_number":  fID(),
	"assigned_extension_name":    fText(),
	"recording_duration_seconds": fCount(),
	"summary":                    fLong(),
	"transcript_url":             fURL(),

	// webhook operations
	"sample_of":             {kind: kEventType},
	"disabled_webhook_id":   fID(),
	"disabled_webhook_name": fText(),
	"disabled_webhook_url":  fURL(),
	"disable_reason":        fLong(),
	"failure_count":         fCount(),
	"about_webhook_id":      fID(),
	"about_webhook_name":    fText(),
	"about_webhook_url":     fURL(),
	"automatic":             {kind: kEnum, enum: enumYesNo},
	"changed_by":            fText(),
	"enable_reason":         fLong(),
	"replayed_count":        fCount(),
	"last_error":            fLong(),
	"delivery_id":           fID(),
	"delivery_event_id":     fID(),
	"delivery_event_type":   {kind: kEventType},
	"attempt_count":         fCount(),
	"probe_number":          fCount(),
}

// specFor returns the rules for field name within type td.
func specFor(td *typeDef, name string) (fieldSpec, bool) {
	s, ok := fieldSpecs[name]
	if ok && name == "direction" && td.fam == famMessage {
		s.enum = enumMessageDirection
	}
	return s, ok
}

// isPhoneField reports whether name is normalized to E.164 (and may thus
// come with a <name>_raw companion).
func isPhoneField(name string) bool {
	s, ok := fieldSpecs[name]
	return ok && s.kind == kPhone
}

// EnumValues returns the documented values of an enum field of the given
// type (for example "call_status" or, for message events, "direction"), or
// nil when the field is not an enum of that type.
func EnumValues(typeID, field string) []string {
	td, ok := lookupDef(typeID)
	if !ok || !slices.Contains(idx.fields[typeID], field) {
		return nil
	}
	s, _ := specFor(td, field)
	if s.kind != kEnum {
		return nil
	}
	return slices.Clone(s.enum)
}

// filterFields are the payload fields a webhook filter may test, in the
// order the form shows them.
var filterFields = []string{"direction", "call_status", "disposition", "queue_id"}

// FilterFields returns the payload fields a webhook filter may test. The
// form's filter rows, filter validation and filter matching read this list.
func FilterFields() []string { return slices.Clone(filterFields) }

// Values returns the documented values of an enum payload field
// ("call_status": ringing, in_progress, answered, missed), or nil when the
// field is not an enum. "direction" is the call set, a superset of the
// messaging one. The form's choices, filter validation and Normalize all
// read the same lists.
func Values(field string) []string {
	spec, ok := fieldSpecs[field]
	if !ok || spec.kind != kEnum {
		return nil
	}
	return slices.Clone(spec.enum)
}

// CanonicalValue folds v the way Normalize folds an enum value (trimmed,
// lower case, '-' and ' ' as '_') and reports whether it is one of
// Values(field). For a field that is not an enum it returns v trimmed, true.
func CanonicalValue(field, v string) (string, bool) {
	spec, ok := fieldSpecs[field]
	v = strings.TrimSpace(v)
	if !ok || spec.kind != kEnum {
		return v, true
	}
	v = foldEnum(v)
	return v, slices.Contains(spec.enum, v)
}

// foldEnum is the one spelling rule for enum values.
func foldEnum(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(s))
}
