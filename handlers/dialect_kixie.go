package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// The Kixie dialect: POST /app/v1/api/{postwebhook,getWebhooks,
// deleteWebhooks} with apikey and businessid (the account's id) inside
// the JSON body and a "call" naming the operation.

const (
	kixiePrefix  = "/app/v1/api/"
	kixieDialect = "Kixie API"
)

// kixieEvents maps Kixie's eventname values to catalog event types, in
// the order errors list them. SMS is both directions.
var kixieEvents = []kixieEvent{
	{"endcall", []string{"call.ended"}},
	{"startcall", []string{"call.received"}},
	{"answeredcall", []string{"call.answered"}},
	{"SMS", []string{"message.received", "message.sent"}},
	{"disposition", []string{"call.disposition_set"}},
	{"voicemail", []string{"voicemail.received"}},
	{"scheduledactivity", []string{"activity.scheduled"}},
	{"cisummary", []string{"call.summary_ready"}},
}

// kixieEvent is one Kixie eventname and the catalog types it stands for.
type kixieEvent struct {
	name   string
	events []string
}

// kixieDirections and kixieResults map Kixie's filter values onto
// Ringhook's filter values ("all" is no filter).
var (
	kixieDirections = map[string]string{"incoming": "inbound", "outgoing": "outbound"}
	kixieResults    = map[string]string{"answered": "answered", "missed": "missed"}
)

// kixieFields are the members each call accepts.
var (
	kixieAuthFields   = []string{"apikey", "businessid", "call"}
	kixieWriteFields  = []string{"apikey", "businessid", "call", "callresult", "direction", "disposition", "eventname", "headers", "location", "name", "runtime", "webhookid"}
	kixieDeleteFields = []string{"apikey", "businessid", "call", "webhookid"}
)

var kixieFieldNames = map[string]string{"name": "name", "url": "location", "event_types": "eventname", "headers": "headers",
	"filters": "direction", "custom_data": "custom_data"}

// kixieBody is a Kixie request; raw members keep Kixie's loose typing
// (numbers or strings for ids, false or a JSON string for headers).
type kixieBody struct {
	APIKey      string          `json:"apikey"`
	BusinessID  json.RawMessage `json:"businessid"`
	Call        string          `json:"call"`
	CallResult  *string         `json:"callresult"`
	Direction   *string         `json:"direction"`
	Disposition *string         `json:"disposition"`
	EventName   *string         `json:"eventname"`
	Headers     json.RawMessage `json:"headers"`
	Location    *string         `json:"location"`
	Name        *string         `json:"name"`
	Runtime     *string         `json:"runtime"`
	WebhookID   json.RawMessage `json:"webhookid"`
}

// kixieHookOut is one webhook as getWebhooks lists it.
type kixieHookOut struct {
	WebhookID   string `json:"webhookid"`
	Name        string `json:"name"`
	Location    string `json:"location"`
	EventName   string `json:"eventname"`
	Direction   string `json:"direction"`
	CallResult  string `json:"callresult"`
	Disposition string `json:"disposition"`
	Headers     any    `json:"headers"` // false, or a JSON-array string of {name, value}
	Runtime     string `json:"runtime"`
	Enabled     bool   `json:"enabled"`
}

// scalarID reads an id sent as a JSON string or number.
func scalarID(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s), true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func kixieEventNames() string {
	names := make([]string, len(kixieEvents))
	for i, e := range kixieEvents {
		names[i] = e.name
	}
	return strings.Join(names, ", ")
}

// kixieHeaders reads headers: false, "false", "" or a JSON array (as a
// string, as the document shows, or as an array) of {name, value}.
func kixieHeaders(raw json.RawMessage) ([]models.Header, error) {
	raw = bytes.TrimSpace(raw)
	bad := models.FieldErrors{"headers": `Use false or a JSON array of {"name","value"} objects, e.g. "[{\"name\":\"X-Token\",\"value\":\"abc\"}]".`}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s = strings.TrimSpace(s); s == "" || s == "false" {
			return []models.Header{}, nil
		}
		raw = []byte(s)
	}
	if string(raw) == "false" || string(raw) == "null" {
		return []models.Header{}, nil
	}
	var hs []models.Header
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hs); err != nil {
		return nil, bad
	}
	return hs, nil
}

// kixieHeadersOut is headers the way Kixie shows them.
func kixieHeadersOut(hs []models.Header) any {
	if len(hs) == 0 {
		return false
	}
	b, _ := json.Marshal(hs)
	return string(b)
}

// setFilter replaces the filter on field (none when values is empty).
func setFilter(fs []models.Filter, field string, values []string) []models.Filter {
	fs = slices.DeleteFunc(slices.Clone(fs), func(f models.Filter) bool { return f.Field == field })
	if len(values) > 0 {
		fs = append(fs, models.Filter{Field: field, Op: "in", Values: values})
	}
	return fs
}

// kixieApply applies a postWebhook/putWebhook body onto in.
func kixieApply(in *models.WebhookInput, b kixieBody, creating bool) error {
	if b.Name != nil {
		in.Name = *b.Name
	}
	if b.Location != nil {
		in.URL = *b.Location
	}
	switch {
	case b.EventName != nil:
		i := slices.IndexFunc(kixieEvents, func(e kixieEvent) bool { return strings.EqualFold(e.name, *b.EventName) })
		if i < 0 {
			return models.FieldErrors{"eventname": fmt.Sprintf("Unknown eventname %q; the events are: %s.", *b.EventName, kixieEventNames())}
		}
		in.EventTypes = slices.Clone(kixieEvents[i].events)
	case creating:
		return models.FieldErrors{"eventname": "eventname is required: one of " + kixieEventNames() + "."}
	}
	if b.Direction != nil {
		d := strings.ToLower(*b.Direction)
		v, ok := kixieDirections[d]
		if !ok && d != "all" {
			return models.FieldErrors{"direction": fmt.Sprintf("Unknown direction %q; use all, incoming or outgoing.", *b.Direction)}
		}
		in.Filters = setFilter(in.Filters, "direction", nonEmpty(v))
	}
	if b.CallResult != nil {
		r := strings.ToLower(*b.CallResult)
		v, ok := kixieResults[r]
		if !ok && r != "all" {
			return models.FieldErrors{"callresult": fmt.Sprintf("Unknown callresult %q; use all, answered or missed.", *b.CallResult)}
		}
		in.Filters = setFilter(in.Filters, "call_status", nonEmpty(v))
	}
	if b.Disposition != nil {
		v := strings.TrimSpace(*b.Disposition)
		if strings.EqualFold(v, "all") {
			v = ""
		}
		in.Filters = setFilter(in.Filters, "disposition", nonEmpty(v))
	}
	if len(b.Headers) > 0 {
		hs, err := kixieHeaders(b.Headers)
		if err != nil {
			return err
		}
		in.Headers = hs
	}
	if b.Runtime != nil && !strings.EqualFold(*b.Runtime, "realtime") {
		return models.FieldErrors{"runtime": fmt.Sprintf("Unknown runtime %q; Ringhook sends every event in realtime.", *b.Runtime)}
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// kixieView shows w the way getWebhooks lists it.
func kixieView(w *models.Webhook) kixieHookOut {
	out := kixieHookOut{WebhookID: w.ID, Name: w.Name, Location: w.URL, Direction: "all", CallResult: "all", Disposition: "all",
		Headers: kixieHeadersOut(w.Headers.V), Runtime: "realtime", Enabled: w.Enabled, EventName: strings.Join(w.EventTypes, ",")}
	for _, e := range kixieEvents {
		if slices.Equal(e.events, []string(w.EventTypes)) {
			out.EventName = e.name
		}
	}
	for _, f := range w.Filters.V {
		if f.Op != "in" || len(f.Values) != 1 {
			continue
		}
		switch f.Field {
		case "direction":
			for k, v := range kixieDirections {
				if v == f.Values[0] {
					out.Direction = k
				}
			}
		case "call_status":
			out.CallResult = f.Values[0]
		case "disposition":
			out.Disposition = f.Values[0]
		}
	}
	return out
}

// kixieProblem writes the dialect's error shape:
// {"success": false, "error": code, "message", "fields"}.
func kixieProblem(c echo.Context, status int, code, message string, fields map[string]string) error {
	fields = renameFields(fields, kixieFieldNames)
	if len(fields) > 0 {
		message = fieldSummary(fields)
	}
	body := map[string]any{"success": false, "error": code, "message": message}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	return c.JSON(status, body)
}

// kixieRequest reads the body, checks call, and authenticates apikey +
// businessid: a key used with another account's businessid is refused.
func (h *Handler) kixieRequest(c echo.Context, allowed []string, calls []string, need models.APIKeyScope) (kixieBody, error) {
	var b kixieBody
	if _, err := readDialectBody(c, allowed, &b); err != nil {
		return b, err
	}
	if err := h.dialectAuth(c, b.APIKey, need); err != nil {
		return b, err
	}
	biz, ok := scalarID(b.BusinessID)
	if !ok {
		return b, fault.Errorf(fault.ErrUnauthenticated, "Send businessid (your account id) with the apikey.")
	}
	if biz != currentAccount(c).ID {
		return b, fault.Errorf(fault.ErrForbidden, "This apikey does not belong to that businessid.")
	}
	if !slices.Contains(calls, b.Call) {
		return b, models.FieldErrors{"call": fmt.Sprintf("Unknown call %q here; use %s.", b.Call, strings.Join(calls, " or "))}
	}
	return b, nil
}

// KixiePostWebhook answers POST /app/v1/api/postwebhook: postWebhook
// creates, putWebhook (with webhookid) updates.
func (h *Handler) KixiePostWebhook(c echo.Context) error {
	b, err := h.kixieRequest(c, kixieWriteFields, []string{"postWebhook", "putWebhook"}, models.ScopeFull)
	if err != nil {
		return err
	}
	ctx, acc, who := c.Request().Context(), currentAccount(c), dialectActor(c, kixieDialect)
	if b.Call == "postWebhook" {
		in := models.NewWebhookInput(acc.TimeZone)
		if err := kixieApply(&in, b, true); err != nil {
			return err
		}
		w, err := h.store.CreateWebhook(ctx, acc.ID, who, in)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"success": true, "message": "Webhook created", "webhookid": w.ID, "data": kixieView(w)})
	}
	id, ok := scalarID(b.WebhookID)
	if !ok {
		return models.FieldErrors{"webhookid": "putWebhook needs the webhookid to update."}
	}
	w, err := h.store.Webhook(ctx, acc.ID, id)
	if err != nil {
		return err
	}
	in := models.InputFrom(w)
	if err := kixieApply(&in, b, false); err != nil {
		return err
	}
	if w, err = h.store.UpdateWebhook(ctx, acc.ID, w.ID, who, in); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true, "message": "Webhook updated", "webhookid": w.ID, "data": kixieView(w)})
}

// KixieGetWebhooks answers POST /app/v1/api/getWebhooks.
func (h *Handler) KixieGetWebhooks(c echo.Context) error {
	if _, err := h.kixieRequest(c, kixieAuthFields, []string{"getWebhooks"}, models.ScopeRead); err != nil {
		return err
	}
	hooks, err := h.store.Webhooks(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]kixieHookOut, len(hooks))
	for i := range hooks {
		out[i] = kixieView(&hooks[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true, "data": out})
}

// KixieDeleteWebhooks answers POST /app/v1/api/deleteWebhooks.
func (h *Handler) KixieDeleteWebhooks(c echo.Context) error {
	b, err := h.kixieRequest(c, kixieDeleteFields, []string{"removeWebhook"}, models.ScopeFull)
	if err != nil {
		return err
	}
	id, ok := scalarID(b.WebhookID)
	if !ok {
		return models.FieldErrors{"webhookid": "removeWebhook needs the webhookid to delete."}
	}
	w, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, id, dialectActor(c, kixieDialect))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true, "message": "Webhook deleted", "webhookid": w.ID})
}

// kixieRoutes adds the dialect to the route table.
func kixieRoutes(e *echo.Echo, h *Handler) {
	g := e.Group("/app/v1/api", noStore)
	g.POST("/postwebhook", h.KixiePostWebhook)
	g.POST("/getWebhooks", h.KixieGetWebhooks)
	g.POST("/deleteWebhooks", h.KixieDeleteWebhooks)
	g.RouteNotFound("/*", func(echo.Context) error {
		return fault.Errorf(fault.ErrNotFound, "No such API; the webhook APIs are POST /app/v1/api/postwebhook, /app/v1/api/getWebhooks and /app/v1/api/deleteWebhooks.")
	})
}
