package payload

import (
	"fmt"
	"maps"
	"sync"
	"time"
	_ "time/tzdata" // embedded tz database: local times work without /usr/share/zoneinfo
)

// DefaultAPIVersion is the payload schema version used when a webhook has
// none pinned.
const DefaultAPIVersion = "2026-01"

// DefaultTimeZone is the value of the timezone field when a webhook has no
// time zone set.
const DefaultTimeZone = "UTC"

// localLayout is RFC 3339 with seconds precision and an always numeric
// offset: UTC renders as +00:00, never Z.
const localLayout = "2006-01-02T15:04:05-07:00"

// Header is one HTTP request header, kept in order.
type Header struct{ Name, Value string }

// Auth is a webhook's request authentication.
type Auth struct {
	// Type is "none" (or empty), "basic" or "bearer".
	Type string
	// Username is the Basic auth user; unused for bearer.
	Username string
	// Secret is the Basic auth password or the bearer token.
	Secret string
}

// Target is the part of one webhook's settings that shapes a delivery.
type Target struct {
	AccountID, WebhookID string
	// APIVersion is the pinned payload version; empty means DefaultAPIVersion.
	APIVersion string
	// URL is the absolute http or https endpoint, possibly with its own query.
	URL string
	// Method is GET or POST.
	Method string
	// ContentType is application/json or application/x-www-form-urlencoded;
	// ignored for GET.
	ContentType string
	// TimeZone is an IANA zone name; empty means UTC.
	TimeZone string
	// CustomData is the webhook's static extra data (string, number or
	// bool values), sent nested under custom_data unless CustomDataMerged.
	CustomData map[string]any
	// CustomDataMerged puts each custom_data value at the top level
	// instead, overriding an event field of the same name (Kazoo's rule);
	// no custom_data key is sent then.
	CustomDataMerged bool
	// Headers are the admin's custom headers, in order.
	Headers []Header
	// Auth is the request authentication.
	Auth Auth
	// Test marks a test or "send example" delivery.
	Test bool
}

// Fields returns a copy of event with the delivery envelope added:
// api_version (DefaultAPIVersion when the target pins none), account_id,
// webhook_id, test, timezone, custom_data (an empty map when the webhook has
// none; with CustomDataMerged its values go to the top level instead,
// overriding event fields of the same name) and one <field>_local next to each UTC time field present among
// occurred_at, started_at, answered_at, ended_at, set_at and due_at.
//
// A local time is RFC 3339 with seconds precision and a numeric offset in the
// target's zone (for example "2026-04-09T12:54:22+05:30"); a nil UTC field
// gives a nil local field. The UTC fields and every other event key are left
// as they are; event itself is not modified, but nested values are shared
// with the result.
//
// event, event_id and occurred_at must be present. test is true when either
// the target or the event says so. An account_id in the event that differs
// from the target's is refused. Errors are *RenderError.
func Fields(event map[string]any, t Target) (map[string]any, error) {
	if event == nil {
		return nil, renderErr("fields: event is nil", nil)
	}
	for _, key := range [...]string{"event", "event_id"} {
		if s, ok := event[key].(string); !ok || s == "" {
			return nil, renderErr(fmt.Sprintf("fields: %s must be a non-empty string", key), nil)
		}
	}
	if event["occurred_at"] == nil {
		return nil, renderErr("fields: occurred_at is missing", nil)
	}
	if id, ok := event["account_id"].(string); ok && id != "" && t.AccountID != "" && id != t.AccountID {
		return nil, renderErr(fmt.Sprintf("fields: event account %q does not match webhook account %q", id, t.AccountID), nil)
	}

	zone := t.TimeZone
	if zone == "" {
		zone = DefaultTimeZone
	}
	loc, err := loadZone(zone)
	if err != nil {
		return nil, renderErr(fmt.Sprintf("fields: time zone %q", zone), err)
	}

	out := make(map[string]any, len(event)+12)
	maps.Copy(out, event)
	for _, key := range [...]string{"occurred_at", "started_at", "answered_at", "ended_at", "set_at", "due_at"} {
		v, ok := event[key]
		if !ok {
			continue
		}
		local, err := localTime(v, loc)
		if err != nil {
			return nil, renderErr("fields: "+key, err)
		}
		out[key+"_local"] = local
	}

	version := t.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	out["api_version"] = version
	if t.AccountID != "" || out["account_id"] == nil {
		out["account_id"] = t.AccountID
	}
	out["webhook_id"] = t.WebhookID
	isTest, _ := event["test"].(bool)
	out["test"] = t.Test || isTest
	out["timezone"] = zone
	if t.CustomDataMerged {
		maps.Copy(out, t.CustomData)
		return out, nil
	}
	custom := make(map[string]any, len(t.CustomData))
	maps.Copy(custom, t.CustomData)
	out["custom_data"] = custom
	return out, nil
}

// zones caches the zones loaded so far: time.LoadLocation reads and parses
// the zone's tz data on every call, and every delivery renders in its
// webhook's zone. Only names that loaded are kept, so the cache is bounded
// by the tz database.
var zones sync.Map // name → *time.Location

// loadZone loads an IANA zone. "Local" is refused: it would make the output
// depend on the machine that renders.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("load location: %q is not an IANA zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("load location: %w", err)
	}
	zones.Store(name, loc)
	return loc, nil
}

// localTime converts one UTC time field value (an RFC 3339 string, or a
// time.Time) to its local form; nil stays nil.
func localTime(v any, loc *time.Location) (any, error) {
	var ts time.Time
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		parsed, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return nil, fmt.Errorf("parse RFC 3339 time: %w", err)
		}
		ts = parsed
	case time.Time:
		ts = x
	default:
		return nil, fmt.Errorf("time value has type %T, want RFC 3339 string or null", v)
	}
	return ts.In(loc).Format(localLayout), nil
}
