package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	views "github.com/ringhook/ringhook/views/webhooks"
)

// filterRows are the filters the form offers, one row each, in this order.
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
}

func parseWebhookForm(v url.Values) webhookForm {
	f := webhookForm{raw: v, op: v.Get("op"), errors: models.FieldErrors{}}
	in := models.WebhookInput{
		Name: v.Get("name"), Description: v.Get("description"), EventTypes: v["event_types"],
		URL: v.Get("url"), Method: v.Get("method"), ContentType: v.Get("content_type"),
		CallTypes: v["call_types"], DIDNumbers: v["did_numbers"], TimeZone: v.Get("time_zone"),
		AuthType: v.Get("auth_type"), AuthUsername: v.Get("auth_username"), AuthSecret: v.Get("auth_secret"),
		Enabled: v.Get("enabled") == "true",
	}
	if in.ContentType == "" {
		in.ContentType = models.ContentJSON
	}
	if in.AuthType == "" {
		in.AuthType = models.AuthNone
	}
	names, values := v["header_name"], v["header_value"]
	for i := range max(len(names), len(values)) {
		in.Headers = append(in.Headers, models.Header{Name: at(names, i), Value: at(values, i)})
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
	f.in = in
	return f
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
	case "remove_header":
		if i >= 0 && i < len(f.in.Headers) {
			f.in.Headers = slices.Delete(f.in.Headers, i, i+1)
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

// formView turns input + errors into the form's view model.
func formView(in models.WebhookInput, raw url.Values, errs models.FieldErrors, numbers []models.PhoneNumber, hasSecret bool) views.Form {
	f := views.Form{
		Name: in.Name, Description: in.Description, URL: in.URL, Method: in.Method, ContentType: in.ContentType,
		TimeZone: in.TimeZone, TimeZones: models.TimeZones(), AuthType: in.AuthType, AuthUsername: in.AuthUsername,
		HasSecret: hasSecret, AuthSecret: in.AuthSecret, MaxAttempts: strconv.Itoa(in.MaxAttempts), Timeout: strconv.Itoa(in.TimeoutSeconds),
		Enabled: in.Enabled, Errors: map[string]string{}, CustomDataMode: string(in.CustomDataMode),
	}
	if f.CustomDataMode == "" {
		f.CustomDataMode = string(models.CustomDataNested)
	}
	if raw != nil {
		f.MaxAttempts, f.Timeout = raw.Get("max_attempts"), raw.Get("timeout")
	}
	for _, g := range catalog.Groups() {
		og := views.OptionGroup{Label: g.Label}
		for _, t := range g.Types {
			if catalog.Subscribable(t.ID) {
				og.Options = append(og.Options, views.Option{Value: t.ID, Label: t.Label, Hint: t.Description, Checked: slices.Contains(in.EventTypes, t.ID)})
			}
		}
		if len(og.Options) > 0 {
			f.Triggers = append(f.Triggers, og)
		}
	}
	if slices.Contains(in.EventTypes, "call.ended") && (slices.Contains(in.EventTypes, "call.missed") || slices.Contains(in.EventTypes, "call.hangup")) {
		f.Warning = `"Call missed or answered" already covers missed calls and hangups: with both checked, each call end is sent twice.`
	}
	for _, ct := range []struct{ v, l string }{{"inbound", "Inbound"}, {"outbound", "Outbound"}, {"click_to_call", "Click to Call"}} {
		f.CallTypes = append(f.CallTypes, views.Option{Value: ct.v, Label: ct.l, Checked: slices.Contains(in.CallTypes, ct.v)})
	}
	for _, n := range numbers {
		f.Numbers = append(f.Numbers, views.Option{Value: n.Number, Label: n.Label, Checked: slices.Contains(in.DIDNumbers, n.Number)})
	}
	for i, h := range in.Headers {
		f.Headers = append(f.Headers, views.KVRow{Key: h.Name, Value: h.Value,
			KeyErr: errs[fmt.Sprintf("headers.%d.name", i)], ValueErr: errs[fmt.Sprintf("headers.%d.value", i)]})
	}
	for i, kv := range in.CustomData {
		f.CustomData = append(f.CustomData, views.KVRow{Key: kv.Key, Value: models.ScalarString(kv.Value), Kind: models.ScalarKind(kv.Value),
			KeyErr: errs[fmt.Sprintf("custom_data.%d.key", i)], ValueErr: errs[fmt.Sprintf("custom_data.%d.value", i)]})
	}
	for _, fr := range filterRows {
		row := views.FilterRow{Field: fr.field, Label: fr.label, Op: "in", Choices: enumChoices(fr.field)}
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
	return f
}

func enumChoices(field string) []string {
	switch field {
	case "direction":
		return []string{"inbound", "outbound", "internal"}
	case "call_status":
		return []string{"answered", "missed"}
	}
	return nil
}
