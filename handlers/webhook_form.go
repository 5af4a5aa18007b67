package handlers

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/views/webhooks"
)

// filterRows are the filters the form offers, one row each, in the order
// of catalog.FilterFields (a test pins the two lists together).
var filterRows = []struct{ field, label string }{
	{"direction", "Direction"},
	{"call_status", "Call result"},
	{"disposition", "Disposition"},
	{"queue_id", "Queue ID"},
}

// webhookForm is a submitted form: the input to save, what the person typed
// into the number fields, and which button was pressed.
type webhookForm struct {
	in     models.WebhookInput
	raw    url.Values
	op     string
	errors models.FieldErrors // problems found while parsing, before validation
	focus  int                // after a row op, the header row to focus (webhooks.Form.FocusRow)
}

func parseWebhookForm(v url.Values) webhookForm {
	f := webhookForm{raw: v, op: v.Get("op"), errors: models.FieldErrors{}}
	in := models.WebhookInput{
		Name: v.Get("name"), Description: v.Get("description"), EventTypes: v["event_types"],
		URL: v.Get("url"), Method: v.Get("method"), ContentType: v.Get("content_type"),
		CallTypes: v["call_types"], DIDNumbers: v["did_numbers"], TimeZone: v.Get("time_zone"),
		AuthType: v.Get("auth_type"), AuthUsername: v.Get("auth_username"), AuthSecret: v.Get("auth_secret"),
		Enabled: v.Get("enabled") == "true", OrderedByCall: v.Get("ordered_by_call") == "true",
	}
	if in.ContentType == "" {
		in.ContentType = models.ContentJSON
	}
	if in.AuthType == "" {
		in.AuthType = models.AuthNone
	}
	names, values := v["header_name"], v["header_value"]
	for i := range max(len(names), len(values)) {
		in.Headers = append(in.Headers, models.Header{Name: at(names, i), Value: at(values, i), Secret: slices.Contains(v["header_secret"], strconv.Itoa(i))})
	}
	in.CustomDataMode = models.CustomDataMode(v.Get("custom_data_mode"))
	keys, vals, kinds := v["cd_key"], v["cd_value"], v["cd_type"]
	for i := range max(len(keys), len(vals)) {
		val, err := models.ParseScalar(at(kinds, i), at(vals, i))
		if err != nil && strings.TrimSpace(at(keys, i)) != "" {
			f.errors.Add(fmt.Sprintf("custom_data.%d.value", len(in.CustomData)), "As "+at(kinds, i)+": "+err.Error()+".")
		}
		in.CustomData = append(in.CustomData, models.KV{Key: at(keys, i), Value: val})
	}
	fields, ops, fvals := v["filter_field"], v["filter_op"], v["filter_values"]
	for i := range fields {
		var list []string
		for _, s := range strings.Split(at(fvals, i), ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		if len(list) > 0 {
			in.Filters = append(in.Filters, models.Filter{Field: fields[i], Op: at(ops, i), Values: list})
		}
	}
	var err error
	if in.MaxAttempts, err = strconv.Atoi(strings.TrimSpace(v.Get("max_attempts"))); err != nil {
		f.errors.Add("max_attempts", "Enter a whole number.")
	}
	if in.TimeoutSeconds, err = strconv.Atoi(strings.TrimSpace(v.Get("timeout"))); err != nil {
		f.errors.Add("timeout", "Enter a whole number of seconds.")
	}
	in.OrderingWindowSeconds = models.DefaultOrderingWindowSec // left empty: the default
	if w := strings.TrimSpace(v.Get("ordering_window")); w != "" {
		if in.OrderingWindowSeconds, err = strconv.Atoi(w); err != nil {
			f.errors.Add("ordering_window", "Enter a whole number of seconds.")
		}
	}
	var msg string
	if in.ExpireAfter, msg = parseExpireAfter(v.Get("expire_after")); msg != "" {
		f.errors.Add("expire_after", msg)
	}
	f.in = in
	return f
}

// parseExpireAfter reads the form's expiry list, "call.dialed=120,
// call.dtmf=120" (commas or new lines between entries); a message says
// what is wrong when it cannot.
func parseExpireAfter(s string) (map[string]int, string) {
	out := map[string]int{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		typ, secs, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(strings.TrimSpace(secs))
		if !ok || err != nil {
			return nil, fmt.Sprintf("Write each entry as trigger=seconds, e.g. call.dialed=120 (%q is not).", item)
		}
		out[strings.TrimSpace(typ)] = n
	}
	return out, ""
}

// formatExpireAfter is parseExpireAfter's input for m, sorted by trigger.
func formatExpireAfter(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, t := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, m[t]))
	}
	return strings.Join(parts, ", ")
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// applyRowOp handles the add/remove-row buttons; it reports whether op was one.
func (f *webhookForm) applyRowOp() bool {
	op, arg, _ := strings.Cut(f.op, ":")
	i, _ := strconv.Atoi(arg)
	switch op {
	case "add_header":
		f.in.Headers = append(f.in.Headers, models.Header{})
		f.focus = len(f.in.Headers)
	case "remove_header":
		if i >= 0 && i < len(f.in.Headers) {
			f.in.Headers = slices.Delete(f.in.Headers, i, i+1)
		}
		// The caret goes to the row that took its place, else the one
		// before, else the Add header button.
		f.focus = min(i, len(f.in.Headers)-1) + 1
		if f.focus <= 0 {
			f.focus = len(f.in.Headers) + 1
		}
	case "add_cd":
		f.in.CustomData = append(f.in.CustomData, models.KV{})
	case "remove_cd":
		if i >= 0 && i < len(f.in.CustomData) {
			f.in.CustomData = slices.Delete(f.in.CustomData, i, i+1)
		}
	default:
		return false
	}
	return true
}

// dropEmptyRows removes blank header/custom-data rows before validation so
// error indexes match the rows shown again.
func (f *webhookForm) dropEmptyRows() {
	f.in.Headers = slices.DeleteFunc(f.in.Headers, func(h models.Header) bool { return strings.TrimSpace(h.Name) == "" && h.Value == "" })
	f.in.CustomData = slices.DeleteFunc(f.in.CustomData, func(kv models.KV) bool {
		return strings.TrimSpace(kv.Key) == "" && models.ScalarString(kv.Value) == ""
	})
}

// formView turns the form's state into its view model; numbers are the
// account's DIDs to choose from.
func formView(s formState, numbers []models.PhoneNumber) webhooks.Form {
	in, errs := s.in, s.errs
	f := webhooks.Form{ID: s.id,
		Name: in.Name, Description: in.Description, URL: in.URL, Method: in.Method, ContentType: in.ContentType,
		TimeZone: in.TimeZone, TimeZones: models.TimeZones(), AuthType: in.AuthType, AuthUsername: in.AuthUsername,
		HasSecret: s.hasSecret, AuthSecret: in.AuthSecret, MaxAttempts: strconv.Itoa(in.MaxAttempts), Timeout: strconv.Itoa(in.TimeoutSeconds),
		Enabled: in.Enabled, Errors: map[string]string{}, CustomDataMode: string(in.CustomDataMode),
		OrderedByCall: in.OrderedByCall, OrderingWindow: strconv.Itoa(in.OrderingWindowSeconds), ExpireAfter: formatExpireAfter(in.ExpireAfter),
	}
	if f.CustomDataMode == "" {
		f.CustomDataMode = string(models.CustomDataNested)
	}
	if s.raw != nil {
		f.MaxAttempts, f.Timeout = s.raw.Get("max_attempts"), s.raw.Get("timeout")
		f.OrderingWindow, f.ExpireAfter = s.raw.Get("ordering_window"), s.raw.Get("expire_after")
	}
	for _, g := range catalog.Groups() {
		og := webhooks.OptionGroup{Label: g.Label}
		for _, t := range g.Types {
			if catalog.Subscribable(t.ID) {
				og.Options = append(og.Options, webhooks.Option{Value: t.ID, Label: t.Label, Hint: t.Description, Checked: slices.Contains(in.EventTypes, t.ID)})
			}
		}
		if len(og.Options) > 0 {
			f.Triggers = append(f.Triggers, og)
		}
	}
	if slices.Contains(in.EventTypes, "call.ended") && (slices.Contains(in.EventTypes, "call.missed") || slices.Contains(in.EventTypes, "call.hangup")) {
		f.Warning = `"Call missed or answered" already covers missed calls and hangups: with both checked, each call end is sent twice.`
	}
	for _, ct := range catalog.Values("call_type") {
		f.CallTypes = append(f.CallTypes, webhooks.Option{Value: ct, Label: callTypeLabels[ct], Checked: slices.Contains(in.CallTypes, ct)})
	}
	for _, n := range numbers {
		f.Numbers = append(f.Numbers, webhooks.Option{Value: n.Number, Label: n.Label, Checked: slices.Contains(in.DIDNumbers, n.Number)})
	}
	for i, h := range in.Headers {
		f.Headers = append(f.Headers, webhooks.KVRow{Key: h.Name, Value: h.Value, Secret: h.IsSecret(),
			KeyErr: errs[fmt.Sprintf("headers.%d.name", i)], ValueErr: errs[fmt.Sprintf("headers.%d.value", i)]})
	}
	for i, kv := range in.CustomData {
		f.CustomData = append(f.CustomData, webhooks.KVRow{Key: kv.Key, Value: models.ScalarString(kv.Value), Kind: models.ScalarKind(kv.Value),
			KeyErr: errs[fmt.Sprintf("custom_data.%d.key", i)], ValueErr: errs[fmt.Sprintf("custom_data.%d.value", i)]})
	}
	for _, fr := range filterRows {
		row := webhooks.FilterRow{Field: fr.field, Label: fr.label, Op: "in", Choices: catalog.Values(fr.field)}
		for i, flt := range in.Filters {
			if flt.Field == fr.field {
				row.Op, row.Values, row.Err = flt.Op, strings.Join(flt.Values, ", "), errs[fmt.Sprintf("filters.%d", i)]
			}
		}
		f.Filters = append(f.Filters, row)
	}
	// Row errors show on their rows; the map also counts them for the summary.
	for k, v := range errs {
		f.Errors[k] = v
	}
	f.Summary = errorSummary(errs, webhookSummaryFields(in), "webhook-form")
	f.FocusRow = s.focus
	return f
}

// webhookSummaryFields are the form's fields in the order it shows them,
// with the ids the error summary links to.
func webhookSummaryFields(in models.WebhookInput) []summaryField {
	fs := []summaryField{{"name", "name", "Name"}, {"description", "description", "Description"},
		{"event_types", "triggers", "Triggers"}, {"url", "url", "URL"}, {"method", "field-method", "Method"},
		{"content_type", "field-content_type", "Content type"}, {"time_zone", "time_zone", "Time zone"},
		{"call_types", "field-call_types", "Call type"}, {"did_numbers", "field-did_numbers", "My Numbers"}}
	for r, fr := range filterRows {
		for i, flt := range in.Filters {
			if flt.Field == fr.field {
				fs = append(fs, summaryField{fmt.Sprintf("filters.%d", i), fmt.Sprintf("filter-%d", r), fr.label + " filter"})
			}
		}
	}
	fs = append(fs, summaryField{"headers", "header-name-0", "Custom headers"})
	for i := range in.Headers {
		fs = append(fs, summaryField{fmt.Sprintf("headers.%d.name", i), fmt.Sprintf("header-name-%d", i), fmt.Sprintf("Header %d name", i+1)},
			summaryField{fmt.Sprintf("headers.%d.value", i), fmt.Sprintf("header-value-%d", i), fmt.Sprintf("Header %d value", i+1)})
	}
	fs = append(fs, summaryField{"auth_type", "field-auth_type", "Authorization type"}, summaryField{"auth_username", "auth_username", "Username"},
		summaryField{"auth_secret", "auth_secret", "Password or token"}, summaryField{"custom_data_mode", "custom_data_mode", "Custom data"},
		summaryField{"custom_data", "custom_data_mode", "Custom data"})
	for i := range in.CustomData {
		fs = append(fs, summaryField{fmt.Sprintf("custom_data.%d.key", i), fmt.Sprintf("cd-key-%d", i), fmt.Sprintf("Custom data %d key", i+1)},
			summaryField{fmt.Sprintf("custom_data.%d.value", i), fmt.Sprintf("cd-value-%d", i), fmt.Sprintf("Custom data %d value", i+1)})
	}
	return append(fs, summaryField{"max_attempts", "max_attempts", "Max attempts"}, summaryField{"timeout", "timeout", "Timeout"})
}

// callTypeLabels are the form's "Call Type" labels of catalog.Values("call_type").
var callTypeLabels = map[string]string{"inbound": "Inbound", "outbound": "Outbound", "click_to_call": "Click to Call"}
