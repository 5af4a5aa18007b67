package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// hostile are values that once answered 500 somewhere, or could.
var hostile = []string{"", " ", "\x00", "a\x00b", "\xff\xfe", "a\xe2\x82", "\x01", "a\x7fb", "\r\n", "\t", "💥",
	strings.Repeat("a", 5000), "<script>alert(1)</script>", "'; DROP TABLE webhooks;--", "%zz", "-1",
	"9999999999999999999999", "true", "null", "{", "https://", "call.hangup", "2026-01-01T00:00:00Z", "+918287842425"}

// webhookFormFields are the fields of the Add/Edit webhook form.
var webhookFormFields = []string{"name", "description", "event_types", "url", "method", "content_type", "call_types",
	"did_numbers", "time_zone", "header_name", "header_value", "auth_type", "auth_username", "auth_secret",
	"cd_key", "cd_value", "filter_field", "filter_op", "filter_values", "max_attempts", "timeout", "enabled", "op"}

// routeFields are the fields each console POST route reads; a route that
// reads none maps to nil. A new POST route must be added here.
var routeFields = map[string][]string{
	"/login":                       {"email", "password", "next"},
	"/logout":                      nil,
	"/profile/password":            {"current_password", "new_password", "confirm_password"},
	"/profile/sessions/revoke-all": nil,
	"/profile/sessions/:id/revoke": nil,
	"/webhooks":                    webhookFormFields,
	"/webhooks/:id/edit":           webhookFormFields,
	"/webhooks/preview":            append(slices.Clone(webhookFormFields), "preview_trigger"),
	"/webhooks/:id/toggle":         {"enabled"},
	"/webhooks/check-url":          {"url"},
	"/webhooks/preview-match":      slices.Clone(webhookFormFields),
	"/webhooks/:id/delete":         nil,
	"/webhooks/:id/secret/reveal":  nil,
	"/webhooks/:id/secret/hide":    nil,
	"/webhooks/:id/secret/rotate":  nil,
	"/webhooks/:id/test":           {"event_type"},
	"/webhooks/test":               nil,
	"/webhooks/:id/replay":         {"since", "enable", "replay"},
	"/webhooks/:id/retry-failed":   {"since", "until", "event_type"},
	"/numbers":                     {"number", "label"},
	"/numbers/:id/delete":          nil,
	"/deliveries/:id/redeliver":    nil,
	"/api-keys":                    {"name", "mode", "scope"},
	"/api-keys/:id/revoke":         nil,
	"/users/invite":                {"email", "role"},
	"/users/invites/:id/revoke":    nil,
	"/users/:id/role":              {"role"},
	"/users/:id/remove":            nil,
	"/settings":                    {"name", "time_zone", "default_country", "secret_grace_hours", "history_retention_days"},
	"/settings/privacy":            {"mask_pii", "failed_bodies_only", "body_retention_days"},
	"/deliveries/:id/reveal":       {"attempt"},
	"/invite/:token":               {"password", "confirm_password"},
}

// formFields are all the fields above, indexed by the fuzzer.
var formFields = func() []string {
	var all []string
	for _, fs := range routeFields {
		for _, f := range fs {
			if !slices.Contains(all, f) {
				all = append(all, f)
			}
		}
	}
	slices.Sort(all)
	return all
}()

// eventFields are the text fields of the hangup event the API is fed.
var eventFields = []string{"event", "event_id", "occurred_at", "call_id", "direction", "call_type", "from_number",
	"to_number", "call_status", "started_at", "answered_at", "ended_at", "from_name", "disposition", "queue_id"}

// allFields in a seed puts the value into every field at once.
const allFields = 255

// FuzzEndpoints drives every POST route in the router (each console form,
// with any of its fields or all of them set to the value, and the JSON
// ingest API, with one event field set to the value or the value as the
// whole body) and asserts that nothing answers 5xx. `go test` runs the
// seeds (every route with every hostile value in all fields, and with
// bytes PostgreSQL refuses in each field alone); `go test -fuzz
// FuzzEndpoints ./handlers` explores further.
func FuzzEndpoints(f *testing.F) {
	// One key sends every API seed: no rate limit may refuse them.
	app := handlertest.New(f, func(d *handlers.Deps) { d.APILimits = handlers.APILimits{Rate: 1e6, Burst: 1e6} })
	ctx := context.Background()
	tn := app.NewTenant(f, models.RoleOwner)
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Cleanup(receiver.Close)
	who := models.Actor{Label: "fuzz"}
	newHook := func(name string) *models.Webhook {
		in := models.NewWebhookInput("UTC")
		in.Name, in.URL, in.EventTypes = name, receiver.URL, []string{"call.hangup"}
		w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, who, in)
		if err != nil {
			f.Fatal(err)
		}
		return w
	}
	hook, victim := newHook("fuzz"), newHook("fuzz victim")
	_, apiKey, err := app.Store.CreateAPIKey(ctx, tn.Account.ID, who, models.NewAPIKey{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	spare, _, err := app.Store.CreateAPIKey(ctx, tn.Account.ID, who, models.NewAPIKey{Name: "fuzz spare"})
	if err != nil {
		f.Fatal(err)
	}
	nums, err := app.Store.PhoneNumbers(ctx, tn.Account.ID)
	if err != nil || len(nums) == 0 {
		f.Fatalf("numbers %v: %v", nums, err)
	}
	teammate, err := app.Store.CreateUser(ctx, tn.Account.ID, strings.ToLower(models.NewID("fuzzmate"))+"@example.com", "teammate password", models.RoleViewer)
	if err != nil {
		f.Fatal(err)
	}
	owner := models.Actor{UserID: tn.User.ID, Label: tn.Email}
	inv, inviteToken, err := app.Store.CreateInvite(ctx, tn.Account.ID, owner, strings.ToLower(models.NewID("fuzzinv"))+"@example.com", models.RoleViewer)
	if err != nil {
		f.Fatal(err)
	}
	c := app.SignIn(f, tn)
	c.Get(f, "/webhooks/new")
	anon := app.NewClient(f) // /login, /logout and invite links, which would sign c out
	anon.Get(f, "/login")

	var serial atomic.Int64
	eventID := func() string { return fmt.Sprintf("evt_fuzz%012d", serial.Add(1)) }
	res := apiPost(f, c, "/api/v1/events", apiKey, "application/json", strings.Replace(hangupEvent, "%s", "fuzz000000000000", 1))
	if res.Status != http.StatusAccepted {
		f.Fatalf("seed event: %s", handlertest.Describe(res))
	}
	rows, err := app.Store.Deliveries(ctx, tn.Account.ID, models.DeliveryFilter{Limit: 1})
	if err != nil || len(rows) != 1 {
		f.Fatalf("seed delivery: %v %v", rows, err)
	}
	delivery := rows[0].PublicID.String()

	e := app.Server.Config.Handler.(*echo.Echo)
	var routes []string
	for _, r := range e.Routes() {
		// The vendor dialects have their own sweep (TestDialectsNeverAnswer500).
		if r.Method == http.MethodPost && !slices.Contains(routes, r.Path) && !handlers.IsDialectPath(r.Path) {
			routes = append(routes, r.Path)
		}
		// The API's other methods with a body: "METHOD path".
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.HasPrefix(r.Path, "/api/") {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	slices.Sort(routes)
	for _, r := range routes {
		if _, ok := routeFields[r]; !ok && !strings.Contains(r, "/api/") {
			f.Fatalf("POST %s is not in routeFields: say which fields it reads", r)
		}
	}
	// The path for a route, with its :id filled in with a real object.
	pathOf := func(route string) string {
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		id := hook.ID
		switch {
		case route == "/webhooks/:id/delete":
			id = victim.ID
		case strings.HasPrefix(route, "/deliveries/"), strings.HasPrefix(route, "/api/v1/deliveries/"):
			id = delivery
		case strings.HasPrefix(route, "/api-keys/"):
			id = spare.ID
		case strings.HasPrefix(route, "/numbers/"):
			id = nums[len(nums)-1].ID
		case strings.HasPrefix(route, "/users/invites/"):
			id = inv.ID
		case strings.HasPrefix(route, "/users/"):
			id = teammate.ID
		case strings.HasPrefix(route, "/invite/"):
			return strings.Replace(route, ":token", inviteToken, 1)
		}
		return strings.Replace(route, ":id", id, 1)
	}

	for ri := range routes {
		for _, v := range hostile {
			f.Add(uint8(ri), uint8(allFields), v)
		}
	}
	// One field at a time too: with every field bad, the first refusal can
	// hide what a later field would have done.
	for ri, r := range routes {
		if strings.HasPrefix(r, "/api/") {
			continue
		}
		for _, field := range routeFields[r] {
			for _, v := range []string{"a\x00b", "\xff\xfe", "a\x01b"} {
				f.Add(uint8(ri), uint8(slices.Index(formFields, field)), v)
			}
		}
	}
	for fi := range eventFields {
		for _, v := range hostile {
			f.Add(uint8(slices.Index(routes, "/api/v1/events")), uint8(fi+1), v)
		}
	}
	// The other JSON bodies: each member alone set to values that once
	// broke something (as a JSON string, or as the JSON value they spell).
	for ri, r := range routes {
		if !strings.HasPrefix(r, "/api/") && !strings.Contains(r, " /api/") || strings.HasSuffix(r, "/api/v1/events") {
			continue
		}
		for fi := range apiBodyMembers(r) {
			for _, v := range []string{"a\x00b", "\xff\xfe", "null", "-1", "9999999999999999999999", "[]", "{}", strings.Repeat("a", 5000)} {
				f.Add(uint8(ri), uint8(fi+1), v)
			}
		}
	}

	f.Fuzz(func(t *testing.T, route, field uint8, value string) {
		r := routes[int(route)%len(routes)]
		var res handlertest.Response
		switch {
		case strings.Contains(r, "/api/") && !strings.HasSuffix(r, "/api/v1/events"):
			method, path := http.MethodPost, r
			if m, p, ok := strings.Cut(r, " "); ok {
				method, path = m, p
			}
			body := value
			if members := apiBodyMembers(r); field != 0 && len(members) > 0 {
				base := map[string]any{}
				if strings.HasSuffix(path, "/webhooks") || strings.HasSuffix(path, "/webhooks/:id") {
					base = map[string]any{"name": fmt.Sprintf("fuzz api %d", serial.Add(1)), "url": receiver.URL, "event_types": []string{"call.hangup"}}
				}
				var v any = value
				if json.Valid([]byte(value)) {
					v = json.RawMessage(value) // the value as the JSON it spells: other types, null
				}
				base[members[int(field-1)%len(members)]] = v
				b, err := json.Marshal(base)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			res = apiDo(t, c, method, pathOf(path), apiKey, body)
		case strings.HasPrefix(r, "/api/"):
			var body string
			if field%8 == 0 {
				body = value // the value is the whole body
			} else {
				var ev map[string]any
				if err := json.Unmarshal([]byte(strings.Replace(hangupEvent, "%s", "x", 1)), &ev); err != nil {
					t.Fatal(err)
				}
				ev["event_id"] = eventID()
				ev[eventFields[int(field-1)%len(eventFields)]] = value
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			res = apiPost(t, c, pathOf(r), apiKey, "application/json", body)
		default:
			// Valid values for every form, so one bad field is the only problem.
			form := fullForm("fuzz form")
			form.Set("url", receiver.URL)
			for k, v := range map[string]string{"number": "+15550001111", "label": "Main line", "mode": "live",
				"event_type": "call.hangup", "email": tn.Email, "password": "not the password", "next": "/", "since": "",
				"enable": "true", "replay": "all", "preview_trigger": "call.hangup", "role": "viewer",
				"time_zone": "UTC", "default_country": "US", "secret_grace_hours": "24", "history_retention_days": "30"} {
				form.Set(k, v)
			}
			if field == allFields {
				for _, k := range formFields {
					form.Set(k, value)
				}
			} else {
				form.Set(formFields[int(field)%len(formFields)], value)
			}
			client := c
			if r == "/login" || r == "/logout" || strings.HasPrefix(r, "/invite/") {
				client = anon
			}
			res = client.Post(t, pathOf(r), form)
		}
		if res.Status >= 500 {
			t.Fatalf("POST %s with %q in field %d: %s", r, value, field, handlertest.Describe(res))
		}
	})
}

// apiWebhookMembers are the members of a webhook body.
var apiWebhookMembers = []string{"name", "description", "event_types", "url", "method", "content_type", "call_types", "did_numbers",
	"time_zone", "headers", "auth", "custom_data", "filters", "max_attempts", "timeout_ms", "enabled"}

// apiBodyMembers are the members the JSON body of an API route ("path" or
// "METHOD path") reads; nil for a route without a body.
func apiBodyMembers(route string) []string {
	switch {
	case strings.HasSuffix(route, "/webhooks"), strings.HasSuffix(route, "/webhooks/:id"):
		return apiWebhookMembers
	case strings.HasSuffix(route, "/test"):
		return []string{"event_type"}
	case strings.HasSuffix(route, "/secret/rotate"):
		return []string{"grace_period_seconds"}
	case strings.HasSuffix(route, "/disable"):
		return []string{"reason"}
	case strings.HasSuffix(route, "/api/v1/numbers"):
		return []string{"number", "label"}
	case strings.HasSuffix(route, "/api/v1/api-keys"):
		return []string{"name", "scope", "mode"}
	}
	return nil
}
