package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ringhook/ringhook/models/fault"
)

// PayloadKey is the fault.FieldErrors key for problems with the
// payload as a whole (size, number of errors). It can never be a valid
// payload key.
const PayloadKey = "(payload)"

// TimeLayout is the layout of every canonical UTC time field.
const TimeLayout = "2006-01-02T15:04:05.000Z"

const (
	maxKeyBytes  = 64
	maxURLBytes  = 2 << 10
	maxErrors    = 50
	minYear      = 1970
	maxYear      = 9999
	maxCodeBytes = 64
)

var (
	keyRe         = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	eventIDRe     = regexp.MustCompile(`^evt_[A-Za-z0-9]{8,64}$`)
	codeRe        = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	digitsRe      = regexp.MustCompile(`^[0-9*#A-D]{1,32}$`)
	placeholderRe = regexp.MustCompile(`^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|\{\{.*\}\})$`)
)

// errs collects field errors, at most maxErrors of them.
type errs map[string]string

func (e errs) add(field, format string, args ...any) {
	if _, dup := e[field]; dup {
		return
	}
	if len(e) >= maxErrors {
		e[PayloadKey] = fmt.Sprintf("too many problems; only the first %d are reported", maxErrors)
		return
	}
	e[field] = fmt.Sprintf(format, args...)
}

// Normalize validates an incoming event and returns its canonical form.
//
// The input is the ingest API's JSON body decoded into map[string]any with
// json.Decoder.UseNumber (Go callers may also pass int/int64/float64 for
// integers, time.Time for times, []string and []map[string]any for lists).
// The output has every key of Fields(event) present (missing or null input
// -> nil) plus event and event_id, in the Go types listed in the package
// doc; Normalize(output) returns an equal map. On invalid input it returns
// nil and a fault.FieldErrors. The value rules (docs/events.md, "Value rules"):
//
//   - event: required, a known type other than webhook.test;
//   - event_id: required, ^evt_[A-Za-z0-9]{8,64}$;
//   - occurred_at and the other time fields: RFC 3339 with any offset,
//     output in UTC with millisecond precision (TimeLayout), years
//     1970-9999; only occurred_at is required;
//   - keys: ^[a-z][a-z0-9_]*$ (at most 64 bytes); keys outside Fields(event)
//     are rejected, except "tags" on call events and <phone field>_raw
//     (accepted and recomputed); the render-time keys (ReservedFields and
//     *_local) are rejected;
//   - call events require call_id, direction, call_type, from_number and
//     to_number; other types have their own RequiredFields; call.hangup
//     requires call_status "answered", call.missed "missed", call.ended
//     either; missed_reason needs call_status "missed" (or null);
//     direction "inbound" needs call_type "inbound" and direction
//     "outbound" forbids it;
//   - enums: trimmed, lower-cased, '-' and ' ' turned into '_', then
//     checked against the documented set;
//   - phone numbers: see NormalizePhone, with the account's default country
//     (NormalizeFor); a number that cannot be normalized is kept unchanged
//     and copied to <field>_raw;
//   - did_number and customer_number, when missing, are derived from
//     to_number/from_number: inbound -> did=to, customer=from; outbound and
//     click_to_call -> did=from, customer=to; internal calls derive nothing;
//   - integers: whole numbers >= 0 (hangup_sip_code 100-699), at most 2^53-1,
//     output as int64;
//   - strings: valid UTF-8, at most MaxScalarBytes (MaxIDBytes for ids and
//     extension numbers, MaxTextBytes for long text, 2 KiB for URLs); ids,
//     names, enums and numbers are trimmed and "" becomes null; long text
//     (body, note, transcription, summary, disable_reason) is kept
//     verbatim; unfilled template placeholders ("$campaign_name",
//     "{{name}}") are rejected;
//   - lists: dialed_extensions/missed_extensions are arrays of
//     {id, number, name, result?} (number required); media_urls an array of
//     http(s) URLs; tags an array of non-empty strings; at most MaxListItems;
//   - the canonical payload, as compact JSON, is at most MaxPayloadBytes.
//
// Normalize has no default country: phone numbers are recognised only in
// international form. Ingest uses NormalizeFor with the account's country.
func Normalize(in map[string]any) (map[string]any, error) { return NormalizeFor(in, "") }

// NormalizeFor is Normalize with a default country (ISO 3166-1 alpha-2, see
// NormalizePhone) for phone numbers sent in national form. Its output is
// canonical for every country: NormalizeFor(out, any) returns an equal map.
func NormalizeFor(in map[string]any, country string) (map[string]any, error) {
	e := errs{}
	out := make(map[string]any, len(in)+8)

	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	// event
	var td *typeDef
	switch v := in["event"].(type) {
	case nil:
		e.add("event", "required")
	case string:
		switch d, ok := lookupDef(v); {
		case !ok:
			e.add("event", "unknown event type %q", clip(v, maxKeyBytes))
		case v == TestType || d.System:
			e.add("event", "event type %q is generated by Ringhook and cannot be ingested", v)
		default:
			td = d
			out["event"] = d.ID
		}
	default:
		e.add("event", "must be a string")
	}

	// event_id
	switch v := in["event_id"].(type) {
	case nil:
		e.add("event_id", "required")
	case string:
		if !eventIDRe.MatchString(v) {
			e.add("event_id", "must look like evt_ followed by 8 to 64 letters or digits")
		} else {
			out["event_id"] = v
		}
	default:
		e.add("event_id", "must be a string")
	}

	var fields []string
	if td != nil {
		fields = idx.fields[td.ID]
	}

	// key syntax, reserved and unknown keys
	for _, k := range keys {
		switch {
		case len(k) > maxKeyBytes:
			e.add(clip(k, maxKeyBytes), "key is longer than %d bytes", maxKeyBytes)
		case !keyRe.MatchString(k):
			e.add(k, "invalid key %q: keys must match ^[a-z][a-z0-9_]*$", k)
		case k == "event" || k == "event_id":
		case slices.Contains(reservedFields[:], k) || strings.HasSuffix(k, "_local"):
			e.add(k, "reserved: added by Ringhook when the delivery is rendered; do not send it")
		case td == nil:
			// Without a known type the other keys cannot be checked.
		case slices.Contains(fields, k):
		case k == "tags":
			if !td.Call {
				e.add(k, "tags are only accepted on call events")
			}
		case strings.HasSuffix(k, "_raw") && isPhoneField(strings.TrimSuffix(k, "_raw")) &&
			slices.Contains(fields, strings.TrimSuffix(k, "_raw")):
			if _, ok := in[k].(string); !ok && in[k] != nil {
				e.add(k, "must be a string")
			}
		default:
			e.add(k, "unknown field for event type %q", td.ID)
		}
	}

	if td == nil {
		// Still check occurred_at so the producer sees every problem at once.
		normalizeField(e, out, fieldSpecs["occurred_at"], "occurred_at", in["occurred_at"], country)
		if _, bad := e["occurred_at"]; !bad && out["occurred_at"] == nil {
			e.add("occurred_at", "required")
		}
		return nil, fault.FieldErrors(e)
	}

	for _, f := range fields {
		spec, _ := specFor(td, f)
		normalizeField(e, out, spec, f, in[f], country)
	}
	if tags, ok := in["tags"]; ok && td.Call && tags != nil {
		if v, ok := normalizeList(e, "tags", tags, kText); ok {
			out["tags"] = v
		}
	}

	checkCallRules(e, td, out)
	deriveNumbers(e, td, out)

	for _, f := range idx.required[td.ID] {
		if _, bad := e[f]; !bad && out[f] == nil {
			e.add(f, "required")
		}
	}

	if len(e) == 0 && jsonBound(out) > MaxPayloadBytes {
		// Only a payload that might be over the limit is encoded to know
		// its exact size: the bound is cheap, the encoding is not.
		b, err := json.Marshal(out)
		switch {
		case err != nil:
			e.add(PayloadKey, "cannot be encoded as JSON: %v", err)
		case len(b) > MaxPayloadBytes:
			e.add(PayloadKey, "payload is %d bytes; the limit is %d", len(b), MaxPayloadBytes)
		}
	}
	if len(e) > 0 {
		return nil, fault.FieldErrors(e)
	}
	return out, nil
}

// checkCallRules applies the cross-field rules of call events.
func checkCallRules(e errs, td *typeDef, out map[string]any) {
	if td.fam != famCall {
		return
	}
	status, _ := out["call_status"].(string)
	if _, bad := e["call_status"]; !bad && status != "" {
		switch td.ID {
		case "call.hangup":
			if status != "answered" {
				e.add("call_status", `call.hangup requires call_status "answered"; a call that ended unanswered is call.missed`)
			}
		case "call.missed":
			if status != "missed" {
				e.add("call_status", `call.missed requires call_status "missed"; an answered call that ended is call.hangup`)
			}
		case "call.ended":
			if status != "answered" && status != "missed" {
				e.add("call_status", `call.ended requires a terminal call_status ("answered" or "missed")`)
			}
		}
	}
	if out["missed_reason"] != nil && status != "" && status != "missed" {
		e.add("missed_reason", `only allowed when call_status is "missed"`)
	}
	dir, _ := out["direction"].(string)
	ct, _ := out["call_type"].(string)
	switch {
	case dir == "inbound" && ct != "" && ct != "inbound":
		e.add("call_type", `%q contradicts direction "inbound"; inbound calls have call_type "inbound"`, ct)
	case dir == "outbound" && ct == "inbound":
		e.add("call_type", `"inbound" contradicts direction "outbound"`)
	}
}

// deriveNumbers fills did_number and customer_number when missing. It runs
// after the phone fields were normalized, so copying a value (and its _raw
// companion) gives the same result as normalizing it again.
func deriveNumbers(e errs, td *typeDef, out map[string]any) {
	if td.fam == famNone {
		return
	}
	for _, f := range []string{"direction", "call_type", "from_number", "to_number"} {
		if _, bad := e[f]; bad {
			return
		}
	}
	dir, _ := out["direction"].(string)
	kind := dir
	if td.fam == famCall {
		if dir == "internal" {
			return
		}
		kind, _ = out["call_type"].(string)
	}
	var did, cust string
	switch kind {
	case "inbound":
		did, cust = "to_number", "from_number"
	case "outbound", "click_to_call":
		did, cust = "from_number", "to_number"
	default:
		return
	}
	copyNumber := func(dst, src string) {
		if _, bad := e[dst]; bad || out[dst] != nil || out[src] == nil {
			return
		}
		out[dst] = out[src]
		if raw, ok := out[src+"_raw"]; ok {
			out[dst+"_raw"] = raw
		}
	}
	copyNumber("did_number", did)
	copyNumber("customer_number", cust)
}

// normalizeField validates v as field name and stores the canonical value
// in out (nil when absent), recording any problem in e. country is the
// default country for phone numbers.
func normalizeField(e errs, out map[string]any, spec fieldSpec, name string, v any, country string) {
	out[name] = nil
	if v == nil {
		return
	}
	switch spec.kind {
	case kInt:
		n, ok := toInt(v)
		switch {
		case !ok:
			e.add(name, "must be a whole number")
		case spec.max != maxSafeInt && (n < spec.min || n > spec.max):
			e.add(name, "must be between %d and %d", spec.min, spec.max)
		case n < spec.min:
			e.add(name, "must be a whole number >= %d", spec.min)
		case n > spec.max:
			e.add(name, "must be at most %d", spec.max)
		default:
			out[name] = n
		}
	case kTime:
		if t, ok := v.(time.Time); ok {
			v = t.Format(time.RFC3339Nano)
		}
		s, ok := v.(string)
		if !ok {
			e.add(name, "must be an RFC 3339 time string, e.g. 2026-04-09T07:24:53.000Z")
			return
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			e.add(name, "must be an RFC 3339 time, e.g. 2026-04-09T07:24:53.000Z")
			return
		}
		t = t.UTC()
		if y := t.Year(); y < minYear || y > maxYear {
			e.add(name, "year must be between %d and %d", minYear, maxYear)
			return
		}
		out[name] = t.Format(TimeLayout)
	case kExtList:
		if l, ok := normalizeExtList(e, name, v); ok {
			out[name] = l
		}
	case kURLList:
		if l, ok := normalizeList(e, name, v, kURL); ok {
			out[name] = l
		}
	case kErrorCode:
		if n, ok := toInt(v); ok {
			out[name] = strconv.FormatInt(n, 10)
			return
		}
		if s, ok := scalar(e, name, v, kID); ok && s != "" {
			out[name] = s
		}
	case kPhone:
		s, ok := scalar(e, name, v, kPhone)
		if !ok || s == "" {
			return
		}
		if n, ok := NormalizePhone(s, country); ok {
			out[name] = n
			return
		}
		out[name] = s
		out[name+"_raw"] = s
	default:
		s, ok := scalar(e, name, v, spec.kind)
		if !ok {
			return
		}
		if s == "" && spec.kind != kLongText {
			return
		}
		switch spec.kind {
		case kEnum:
			if !slices.Contains(spec.enum, s) {
				e.add(name, "%q is not one of %s", clip(s, maxKeyBytes), strings.Join(spec.enum, ", "))
				return
			}
		case kCode:
			if len(s) > maxCodeBytes || !codeRe.MatchString(s) {
				e.add(name, "must be an upper-case code such as NORMAL_CLEARING")
				return
			}
		case kDigits:
			if !digitsRe.MatchString(s) {
				e.add(name, "must be 1 to 32 DTMF digits (0-9, *, #, A-D)")
				return
			}
		case kEventType:
			if !Subscribable(s) {
				e.add(name, "unknown event type %q", clip(s, maxKeyBytes))
				return
			}
		}
		out[name] = s
	}
}

// scalar checks that v is a string of kind k and returns it canonicalized
// (trimmed, and for enums, codes and digits case-folded). Long text is
// returned verbatim.
func scalar(e errs, name string, v any, k kind) (string, bool) {
	s, ok := v.(string)
	if !ok {
		e.add(name, "must be a string")
		return "", false
	}
	if !fault.IsText(s) {
		e.add(name, "must be text: valid UTF-8 without NUL bytes")
		return "", false
	}
	limit := MaxScalarBytes
	switch k {
	case kLongText:
		limit = MaxTextBytes
	case kID:
		limit = MaxIDBytes
	case kURL:
		limit = maxURLBytes
	}
	if len(s) > limit {
		e.add(name, "is %d bytes; the limit is %d", len(s), limit)
		return "", false
	}
	if k == kLongText {
		return s, true
	}
	if k != kPhone {
		s = strings.TrimSpace(s)
	}
	if placeholderRe.MatchString(strings.TrimSpace(s)) {
		e.add(name, "unfilled template placeholder %q", clip(strings.TrimSpace(s), maxKeyBytes))
		return "", false
	}
	if k == kPhone && strings.TrimSpace(s) == "" {
		return "", true
	}
	switch k {
	case kEnum:
		s = foldEnum(s)
	case kCode, kDigits:
		s = strings.ToUpper(s)
	case kID:
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			e.add(name, "must not contain spaces or control characters")
			return "", false
		}
	case kURL:
		if s != "" && !isHTTPURL(s) {
			e.add(name, "must be an absolute http or https URL")
			return "", false
		}
	}
	return s, true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// asList returns v as a slice of elements if it is a JSON array.
func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// normalizeList validates an array of non-empty strings of kind k.
func normalizeList(e errs, name string, v any, k kind) ([]any, bool) {
	l, ok := asList(v)
	if !ok {
		e.add(name, "must be an array of strings")
		return nil, false
	}
	if len(l) > MaxListItems {
		e.add(name, "has %d items; the limit is %d", len(l), MaxListItems)
		return nil, false
	}
	out := make([]any, 0, len(l))
	good := true
	for i, item := range l {
		p := fmt.Sprintf("%s[%d]", name, i)
		s, ok := scalar(e, p, item, k)
		switch {
		case !ok:
			good = false
		case s == "":
			e.add(p, "must not be empty")
			good = false
		default:
			out = append(out, s)
		}
	}
	return out, good
}

var extKeys = []string{"id", "name", "number", "result"}

// normalizeExtList validates dialed_extensions / missed_extensions.
func normalizeExtList(e errs, name string, v any) ([]any, bool) {
	l, ok := asList(v)
	if !ok {
		e.add(name, "must be an array of objects {id, number, name, result}")
		return nil, false
	}
	if len(l) > MaxListItems {
		e.add(name, "has %d items; the limit is %d", len(l), MaxListItems)
		return nil, false
	}
	out := make([]any, 0, len(l))
	good := true
	for i, item := range l {
		p := fmt.Sprintf("%s[%d]", name, i)
		m, ok := item.(map[string]any)
		if !ok {
			e.add(p, "must be an object {id, number, name, result}")
			good = false
			continue
		}
		for k := range m {
			if !slices.Contains(extKeys, k) {
				e.add(p+"."+clip(k, maxKeyBytes), "unknown key; entries have id, number, name and result")
				good = false
			}
		}
		entry := map[string]any{}
		normalizeField(e, entry, fieldSpec{kind: kID}, p+".id", m["id"], "")
		normalizeField(e, entry, fieldSpec{kind: kID}, p+".number", m["number"], "")
		normalizeField(e, entry, fieldSpec{kind: kText}, p+".name", m["name"], "")
		normalizeField(e, entry, fieldSpec{kind: kEnum, enum: enumExtensionResult}, p+".result", m["result"], "")
		if _, bad := e[p+".number"]; !bad && entry[p+".number"] == nil {
			e.add(p+".number", "required")
		}
		c := map[string]any{
			"id":     entry[p+".id"],
			"number": entry[p+".number"],
			"name":   entry[p+".name"],
		}
		if r := entry[p+".result"]; r != nil {
			c["result"] = r
		}
		out = append(out, c)
	}
	return out, good
}

// toInt converts the numeric forms Normalize accepts into an int64.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		return floatInt(f)
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintInt(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintInt(n)
	case float32:
		return floatInt(float64(n))
	case float64:
		return floatInt(n)
	}
	return 0, false
}

func uintInt(n uint64) (int64, bool) {
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func floatInt(f float64) (int64, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > maxSafeInt {
		return 0, false
	}
	return int64(f), true
}

// clip shortens s to at most n bytes on a rune boundary for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// jsonBound is an upper bound on the length of json.Marshal(v) for the
// values Normalize outputs (every string byte counted as a six-byte
// escape); a value of any other type gives math.MaxInt, so the caller
// encodes it for the exact figure.
func jsonBound(v any) int {
	const unknown = math.MaxInt
	add := func(a, b int) int {
		if a == unknown || b == unknown {
			return unknown
		}
		return a + b
	}
	switch x := v.(type) {
	case nil:
		return 4
	case bool:
		return 5
	case string:
		return 2 + 6*len(x)
	case json.Number:
		return len(x)
	case int, int64, float64:
		return 24
	case []string:
		n := 2 + len(x)
		for _, s := range x {
			n += 2 + 6*len(s)
		}
		return n
	case []any:
		n := 2 + len(x)
		for _, el := range x {
			n = add(n, jsonBound(el))
		}
		return n
	case []map[string]any:
		n := 2 + len(x)
		for _, el := range x {
			n = add(n, jsonBound(el))
		}
		return n
	case map[string]any:
		n := 2
		for k, el := range x {
			n = add(n, add(4+6*len(k), jsonBound(el)))
		}
		return n
	}
	return unknown
}
