package models

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models/catalog"
)

// Limits on webhook configuration.
const (
	MaxHeaders        = 20
	MaxCustomData     = 20
	MaxURLLength      = 2048
	DefaultAttempts   = 8
	MaxAttempts       = 20
	DefaultTimeoutSec = 10
	MaxTimeoutSec     = 60
	// DefaultOrderingWindowSec is how long a call's first open delivery
	// holds the later ones of the call, by default (10 minutes).
	DefaultOrderingWindowSec = 600
	// MaxOrderingWindowSec and MaxExpireAfterSec bound both settings at a day.
	MaxOrderingWindowSec = 86400
	MaxExpireAfterSec    = 86400
)

// KV is one custom_data row, kept ordered so errors can point at a row.
// Value is a JSON scalar: a string, a number (float64) or a bool.
type KV struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// emptyKV is a blank form row: no key and an empty (or absent) value.
func emptyKV(kv KV) bool {
	return strings.TrimSpace(kv.Key) == "" && (kv.Value == nil || kv.Value == "")
}

// WebhookInput is a webhook's configuration as a person or program submits it.
type WebhookInput struct {
	Name           string
	Description    string
	EventTypes     []string
	URL            string
	Method         string
	ContentType    string
	CallTypes      []string
	DIDNumbers     []string
	TimeZone       string
	Headers        []Header
	AuthType       string
	AuthUsername   string
	AuthSecret     string // password or bearer token; empty on update keeps the stored one
	CustomData     []KV
	CustomDataMode CustomDataMode // empty means nested
	// DialectState replaces the stored vendor spelling when not nil (only
	// dialects set it; console edits keep it).
	DialectState   *DialectState
	Filters        []Filter
	MaxAttempts    int
	TimeoutSeconds int
	// OrderedByCall and OrderingWindowSeconds: see Webhook.OrderedByCall.
	OrderedByCall         bool
	OrderingWindowSeconds int
	// ExpireAfter maps an event type to seconds after occurred_at when its
	// unsent deliveries expire; types not listed never expire.
	ExpireAfter map[string]int
	Enabled     bool
}

// DefaultExpireAfter is what new webhooks start with: the perishable
// (ringing and IVR) events expire catalog.PerishableExpiry after they
// occurred, everything else never.
func DefaultExpireAfter() map[string]int {
	out := map[string]int{}
	for _, t := range catalog.PerishableTypes() {
		out[t] = int(catalog.PerishableExpiry / time.Second)
	}
	return out
}

// NewWebhookInput returns the defaults a new webhook form starts from.
func NewWebhookInput(timeZone string) WebhookInput {
	if timeZone == "" {
		timeZone = "UTC"
	}
	return WebhookInput{Method: MethodPOST, ContentType: ContentJSON, TimeZone: timeZone, AuthType: AuthNone,
		CustomDataMode: CustomDataNested, MaxAttempts: DefaultAttempts, TimeoutSeconds: DefaultTimeoutSec, Enabled: true,
		OrderedByCall: true, OrderingWindowSeconds: DefaultOrderingWindowSec, ExpireAfter: DefaultExpireAfter()}
}

// InputFrom turns a stored webhook back into editable input (secrets left blank).
func InputFrom(w *Webhook) WebhookInput {
	in := WebhookInput{Name: w.Name, Description: w.Description, EventTypes: slices.Clone(w.EventTypes), URL: w.URL,
		Method: w.Method, ContentType: w.ContentType, CallTypes: slices.Clone(w.CallTypes), DIDNumbers: slices.Clone(w.DIDNumbers),
		TimeZone: w.TimeZone, Headers: slices.Clone(w.Headers.V), AuthType: w.AuthType, AuthUsername: w.AuthUsername,
		CustomDataMode: w.CustomDataMode, Filters: slices.Clone(w.Filters.V), MaxAttempts: w.MaxAttempts, TimeoutSeconds: w.TimeoutMS / 1000, Enabled: w.Enabled,
		OrderedByCall: w.OrderedByCall, OrderingWindowSeconds: w.OrderingWindowS, ExpireAfter: maps.Clone(w.ExpireAfter.V)}
	for i, h := range in.Headers {
		if h.IsSecret() {
			in.Headers[i].Value = "" // kept by keepStoredSecret when left blank
		}
	}
	keys := make([]string, 0, len(w.CustomData.V))
	for k := range w.CustomData.V {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in.CustomData = append(in.CustomData, KV{Key: k, Value: w.CustomData.V[k]})
	}
	return in
}

var (
	headerToken   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	customDataKey = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// reservedHeaders are set by Ringhook itself or by the HTTP transport.
var reservedHeaders = []string{"host", "content-length", "content-type", "transfer-encoding", "connection",
	"keep-alive", "te", "trailer", "upgrade", "user-agent", "proxy-authorization", "proxy-connection"}

// Validate checks in without touching the database; knownNumbers are the
// account's DIDs. It normalizes in place (trimming, de-duplicating).
func (in *WebhookInput) Validate(knownNumbers []string) FieldErrors {
	fe := FieldErrors{}
	checkText(fe, in)
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	in.URL = strings.TrimSpace(in.URL)
	in.TimeZone = strings.TrimSpace(in.TimeZone)
	switch {
	case in.Name == "":
		fe.Add("name", "Name is required.")
	case utf8.RuneCountInString(in.Name) > 100:
		fe.Add("name", "Use at most 100 characters.")
	case hasControl(in.Name):
		fe.Add("name", "Name cannot contain control characters.")
	}
	if utf8.RuneCountInString(in.Description) > 1000 {
		fe.Add("description", "Use at most 1000 characters.")
	}

	in.EventTypes = dedupe(in.EventTypes)
	if len(in.EventTypes) == 0 {
		fe.Add("event_types", "Choose at least one trigger.")
	}
	for _, t := range in.EventTypes {
		if !catalog.Subscribable(t) {
			fe.Add("event_types", fmt.Sprintf("Unknown trigger %q.", t))
		}
	}

	if msg := checkURL(in.URL); msg != "" {
		fe.Add("url", msg)
	}
	if in.Method != MethodGET && in.Method != MethodPOST {
		fe.Add("method", "Choose POST or GET.")
	}
	if in.ContentType != ContentJSON && in.ContentType != ContentForm {
		fe.Add("content_type", "Choose application/json or application/x-www-form-urlencoded.")
	}

	in.CallTypes = dedupe(in.CallTypes)
	for _, c := range in.CallTypes {
		if !slices.Contains(catalog.Values("call_type"), c) {
			fe.Add("call_types", fmt.Sprintf("Unknown call type %q.", c))
		}
	}
	in.DIDNumbers = dedupe(in.DIDNumbers)
	for _, n := range in.DIDNumbers {
		if !slices.Contains(knownNumbers, n) {
			fe.Add("did_numbers", fmt.Sprintf("%q is not one of this account's numbers.", n))
		}
	}

	if in.TimeZone == "" {
		fe.Add("time_zone", "Choose a time zone.")
	} else if _, err := time.LoadLocation(in.TimeZone); err != nil || strings.EqualFold(in.TimeZone, "local") {
		fe.Add("time_zone", fmt.Sprintf("Unknown time zone %q; use an IANA name such as Asia/Kolkata.", in.TimeZone))
	}

	in.Headers = slices.DeleteFunc(slices.Clone(in.Headers), func(h Header) bool { return strings.TrimSpace(h.Name) == "" && h.Value == "" })
	if len(in.Headers) > MaxHeaders {
		fe.Add("headers", fmt.Sprintf("Use at most %d headers.", MaxHeaders))
	}
	seen := map[string]bool{}
	for i, h := range in.Headers {
		h.Name = strings.TrimSpace(h.Name)
		in.Headers[i].Name = h.Name
		key := fmt.Sprintf("headers.%d.name", i)
		lower := strings.ToLower(h.Name)
		switch {
		case !headerToken.MatchString(h.Name):
			fe.Add(key, "Header names use letters, digits and -!#$%&'*+.^_`|~ only.")
		case slices.Contains(reservedHeaders, lower) || strings.HasPrefix(lower, "webhook-") || strings.HasPrefix(lower, "x-webhook-"):
			fe.Add(key, fmt.Sprintf("%s is set by Ringhook and cannot be overridden.", h.Name))
		case lower == "authorization" && in.AuthType != AuthNone:
			fe.Add(key, "Authorization is set by the Authorization setting below.")
		case seen[lower]:
			fe.Add(key, "This header is already set above.")
		}
		seen[lower] = true
		switch {
		case strings.ContainsAny(h.Value, "\r\n\x00"):
			fe.Add(fmt.Sprintf("headers.%d.value", i), "Header values cannot contain line breaks.")
		case !headerValue(h.Value):
			// Go's HTTP client refuses these, so every send would fail.
			fe.Add(fmt.Sprintf("headers.%d.value", i), "Header values cannot contain control characters (tab is allowed).")
		case len(h.Value) > 4096:
			fe.Add(fmt.Sprintf("headers.%d.value", i), "Use at most 4096 characters.")
		}
	}

	switch in.AuthType {
	case AuthNone:
		in.AuthUsername, in.AuthSecret = "", ""
	case AuthBasic:
		switch {
		case in.AuthUsername == "":
			fe.Add("auth_username", "Username is required for Basic auth.")
		case strings.ContainsAny(in.AuthUsername, ":\r\n\x00"):
			fe.Add("auth_username", "Username cannot contain ':' or line breaks.")
		}
		if in.AuthSecret == "" {
			fe.Add("auth_secret", "Password is required for Basic auth.")
		}
	case AuthBearer:
		in.AuthUsername = ""
		switch {
		case in.AuthSecret == "":
			fe.Add("auth_secret", "Token is required for Bearer auth.")
		case !strings.ContainsAny(in.AuthSecret, "\r\n\x00") && !headerValue(in.AuthSecret):
			// The token is sent as is in the Authorization header (Basic's are base64).
			fe.Add("auth_secret", "The token cannot contain control characters (tab is allowed).")
		}
	default:
		fe.Add("auth_type", "Choose None, Basic or Bearer.")
	}
	if strings.ContainsAny(in.AuthSecret, "\r\n\x00") || len(in.AuthSecret) > 4096 {
		fe.Add("auth_secret", "Use at most 4096 characters without line breaks.")
	}

	in.CustomData = slices.DeleteFunc(slices.Clone(in.CustomData), emptyKV)
	if in.CustomDataMode == "" {
		in.CustomDataMode = CustomDataNested
	}
	if !in.CustomDataMode.Valid() {
		fe.Add("custom_data_mode", "Choose nested under custom_data or merged at top level.")
	}
	if len(in.CustomData) > MaxCustomData {
		fe.Add("custom_data", fmt.Sprintf("Use at most %d custom data keys.", MaxCustomData))
	}
	keys := map[string]bool{}
	for i, kv := range in.CustomData {
		kv.Key = strings.TrimSpace(kv.Key)
		in.CustomData[i].Key = kv.Key
		k := fmt.Sprintf("custom_data.%d.key", i)
		switch {
		case !customDataKey.MatchString(kv.Key):
			fe.Add(k, "Keys are 1-64 letters, digits or underscores.")
		case keys[kv.Key]:
			fe.Add(k, "This key is already used above.")
		}
		keys[kv.Key] = true
		v, ok := NormalizeScalar(kv.Value)
		in.CustomData[i].Value = v
		switch text, isText := v.(string); {
		case !ok:
			fe.Add(fmt.Sprintf("custom_data.%d.value", i), "Use a string, a number or true/false.")
		case isText && (len(text) > 1024 || !utf8.ValidString(text)):
			fe.Add(fmt.Sprintf("custom_data.%d.value", i), "Use at most 1024 characters of text.")
		}
	}

	in.Filters = slices.DeleteFunc(slices.Clone(in.Filters), func(f Filter) bool { return len(f.Values) == 0 && f.Field == "" })
	for i, f := range in.Filters {
		k := fmt.Sprintf("filters.%d", i)
		// Enum values are spelled as Normalize spells them, or they never match.
		bad, vals := "", make([]string, len(f.Values))
		for j, v := range f.Values {
			canon, ok := catalog.CanonicalValue(f.Field, v)
			if !ok && bad == "" && strings.TrimSpace(v) != "" {
				bad = v
			}
			vals[j] = canon
		}
		f.Values = dedupe(vals)
		in.Filters[i].Values = f.Values
		switch {
		case !slices.Contains(catalog.FilterFields(), f.Field):
			fe.Add(k, fmt.Sprintf("Unknown filter field %q.", f.Field))
		case f.Op != "in" && f.Op != "not_in":
			fe.Add(k, "Choose \"is one of\" or \"is not one of\".")
		case len(f.Values) == 0:
			fe.Add(k, "Give at least one value.")
		case len(f.Values) > 50:
			fe.Add(k, "Use at most 50 values.")
		case bad != "":
			fe.Add(k, fmt.Sprintf("%q is not one of %s.", bad, strings.Join(catalog.Values(f.Field), ", ")))
		}
	}

	if in.MaxAttempts < 1 || in.MaxAttempts > MaxAttempts {
		fe.Add("max_attempts", fmt.Sprintf("Choose between 1 and %d attempts.", MaxAttempts))
	}
	if in.TimeoutSeconds < 1 || in.TimeoutSeconds > MaxTimeoutSec {
		fe.Add("timeout", fmt.Sprintf("Choose between 1 and %d seconds.", MaxTimeoutSec))
	}
	if in.OrderingWindowSeconds < 1 || in.OrderingWindowSeconds > MaxOrderingWindowSec {
		fe.Add("ordering_window", fmt.Sprintf("Choose between 1 and %d seconds.", MaxOrderingWindowSec))
	}
	types := slices.Sorted(maps.Keys(in.ExpireAfter))
	for _, t := range types {
		switch secs := in.ExpireAfter[t]; {
		case !catalog.Subscribable(t):
			fe.Add("expire_after", fmt.Sprintf("Unknown trigger %q.", t))
		case secs < 1 || secs > MaxExpireAfterSec:
			fe.Add("expire_after", fmt.Sprintf("%s: choose between 1 and %d seconds (leave it out to never expire).", t, MaxExpireAfterSec))
		}
	}
	fe.CheckText("expire_after", types...)
	return fe
}

// checkText applies the one text rule (fault.IsText) to every free-text
// field, naming the field (or row) the bad bytes were found in.
func checkText(fe FieldErrors, in *WebhookInput) {
	for field, v := range map[string]string{"name": in.Name, "description": in.Description, "url": in.URL,
		"time_zone": in.TimeZone, "auth_username": in.AuthUsername, "auth_secret": in.AuthSecret} {
		fe.CheckText(field, v)
	}
	for i, h := range in.Headers {
		fe.CheckText(fmt.Sprintf("headers.%d.name", i), h.Name)
		fe.CheckText(fmt.Sprintf("headers.%d.value", i), h.Value)
	}
	for i, kv := range in.CustomData {
		fe.CheckText(fmt.Sprintf("custom_data.%d.key", i), kv.Key)
		if text, ok := kv.Value.(string); ok {
			fe.CheckText(fmt.Sprintf("custom_data.%d.value", i), text)
		}
	}
	for i, f := range in.Filters {
		fe.CheckText(fmt.Sprintf("filters.%d", i), append([]string{f.Field, f.Op}, f.Values...)...)
	}
	fe.CheckText("event_types", in.EventTypes...)
	fe.CheckText("call_types", in.CallTypes...)
	fe.CheckText("did_numbers", in.DIDNumbers...)
}

func checkURL(raw string) string {
	if raw == "" {
		return "URL is required."
	}
	if len(raw) > MaxURLLength {
		return fmt.Sprintf("Use at most %d characters.", MaxURLLength)
	}
	if hasControl(raw) || strings.ContainsAny(raw, " \t") {
		return "URL cannot contain spaces or control characters."
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "Enter a valid URL, e.g. https://example.com/hooks/calls."
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "URL must start with https:// or http://."
	}
	if u.Hostname() == "" {
		return "URL must include a host name."
	}
	if u.User != nil {
		return "Put credentials in the Authorization setting, not in the URL."
	}
	if u.Fragment != "" {
		return "URL cannot contain a #fragment."
	}
	return ""
}

// headerValue reports whether s can be sent as an HTTP header value:
// no control characters other than tab (RFC 9110 field-value).
func headerValue(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ValidateWebhook checks in as CreateWebhook (id "") or UpdateWebhook (id
// of the webhook) would, without saving anything.
func (s *Store) ValidateWebhook(ctx context.Context, accountID, id string, in WebhookInput) (FieldErrors, error) {
	if id != "" {
		w, err := s.Webhook(ctx, accountID, id)
		if err != nil {
			return nil, err
		}
		in.keepStoredSecret(w)
	}
	numbers, err := accountNumbers(s.db.WithContext(ctx), accountID)
	if err != nil {
		return nil, err
	}
	return in.Validate(numbers), nil
}

// keepStoredSecret applies the edit form's rule: an empty password or token
// keeps the stored one when the auth type is unchanged, so forms never have
// to echo secrets.
func (in *WebhookInput) keepStoredSecret(w *Webhook) {
	if in.AuthSecret == "" && in.AuthType == w.AuthType {
		in.AuthSecret = w.AuthSecret
	}
	// The same for secret custom headers, matched by name.
	hs := slices.Clone(in.Headers)
	for i, h := range hs {
		if h.Value != "" || !h.IsSecret() {
			continue
		}
		for _, stored := range w.Headers.V {
			if stored.IsSecret() && strings.EqualFold(strings.TrimSpace(h.Name), stored.Name) {
				hs[i].Value = stored.Value
			}
		}
	}
	in.Headers = hs
}

func accountNumbers(db *gorm.DB, accountID string) ([]string, error) {
	var numbers []string
	if err := db.Model(&PhoneNumber{}).Where("account_id = ?", accountID).Pluck("number", &numbers).Error; err != nil {
		return nil, fmt.Errorf("load numbers: %w", err)
	}
	return numbers, nil
}

// applyInput validates in against the account's numbers and copies it onto w.
func (s *Store) applyInput(ctx context.Context, tx *gorm.DB, accountID string, w *Webhook, in WebhookInput) error {
	numbers, err := accountNumbers(tx.WithContext(ctx), accountID)
	if err != nil {
		return err
	}
	if fe := in.Validate(numbers); len(fe) > 0 {
		return fe
	}
	in.ApplyTo(w)
	return nil
}

// ApplyTo copies the input's settings onto w (the preview uses it on an
// unsaved webhook; saving validates first).
func (in WebhookInput) ApplyTo(w *Webhook) {
	cd := make(map[string]any, len(in.CustomData))
	for _, kv := range in.CustomData {
		cd[kv.Key] = kv.Value
	}
	w.Name, w.Description, w.EventTypes, w.URL = in.Name, in.Description, in.EventTypes, in.URL
	w.Method, w.ContentType, w.CallTypes, w.DIDNumbers = in.Method, in.ContentType, in.CallTypes, in.DIDNumbers
	w.TimeZone, w.Headers, w.CustomData, w.Filters = in.TimeZone, JSON[[]Header]{V: nonNil(in.Headers)}, JSON[map[string]any]{V: cd}, JSON[[]Filter]{V: nonNil(in.Filters)}
	w.AuthType, w.AuthUsername, w.AuthSecret = in.AuthType, in.AuthUsername, in.AuthSecret
	w.MaxAttempts, w.TimeoutMS, w.Enabled = in.MaxAttempts, in.TimeoutSeconds*1000, in.Enabled
	w.OrderedByCall, w.OrderingWindowS = in.OrderedByCall, in.OrderingWindowSeconds
	w.ExpireAfter = JSON[map[string]int]{V: maps.Clone(in.ExpireAfter)}
	if w.ExpireAfter.V == nil {
		w.ExpireAfter.V = map[string]int{}
	}
	w.CustomDataMode = in.CustomDataMode
	if in.DialectState != nil {
		w.DialectState = JSON[DialectState]{V: *in.DialectState}
	}
	if w.CustomDataMode == "" {
		w.CustomDataMode = CustomDataNested
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
