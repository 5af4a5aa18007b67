package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// The Dixa dialect: /beta/webhooks… with "Authorization: <api key>" (no
// Bearer word) and Dixa's names inside {"data": …}.

const (
	dixaPrefix  = "/beta/"
	dixaDialect = "Dixa API"
)

// dixaEvents maps Dixa's Conversation* events that have a telephony
// equivalent (a phone conversation is a call) onto catalog types, one to
// one. The others (agent bans, message delivery receipts, ratings, …) have
// none and are refused. docs/migrating.md has the table.
var dixaEvents = []struct{ name, event string }{
	{"ConversationCreated", "call.received"},
	{"ConversationAssigned", "call.dialed"},
	{"ConversationOpen", "call.answered"},
	{"ConversationClosed", "call.ended"},
	{"ConversationAbandoned", "call.queue_abandoned"},
	{"ConversationEnqueued", "call.queue_entered"},
	{"ConversationTransferred", "call.transferred"},
	{"ConversationNoteAdded", "call.note_added"},
	{"ConversationTagAdded", "call.tag_added"},
	{"ConversationTagRemoved", "call.tag_removed"},
	{"ConversationMessageAdded", "message.received"},
}

// dixaFilterFields maps Dixa's filter fields onto Ringhook's; Ringhook's
// own names are accepted too. InitialChannel is checked, not stored as a
// filter: every Ringhook event is a phone (pstn_phone) conversation.
var dixaFilterFields = map[string]string{"QueueId": "queue_id", "Direction": "direction", "queue_id": "queue_id",
	"direction": "direction", "call_status": "call_status", "disposition": "disposition"}

var dixaFields = []string{"name", "events", "url", "authorization", "customHeaders", "enabled", "filters"}

var dixaFieldNames = map[string]string{"name": "name", "event_types": "events", "url": "url", "auth_username": "authorization",
	"auth_secret": "authorization", "auth_type": "authorization", "headers": "customHeaders", "filters": "filters"}

// dixaHookIn is a create or PATCH body; nil members were absent.
type dixaHookIn struct {
	Name          *string         `json:"name"`
	Events        []string        `json:"events"`
	URL           *string         `json:"url"`
	Authorization json.RawMessage `json:"authorization"`
	CustomHeaders json.RawMessage `json:"customHeaders"`
	Enabled       *bool           `json:"enabled"`
	Filters       json.RawMessage `json:"filters"`
}

// dixaAuth is Dixa's authorization object.
type dixaAuth struct {
	Type     string `json:"_type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Value    string `json:"value,omitempty"`
}

// dixaCondition and dixaCombined are Dixa's CombinedFilters form.
type dixaCondition struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
	Type   string   `json:"_type"`
}

type dixaCombined struct {
	Strategy   string          `json:"strategy"`
	Conditions []dixaCondition `json:"conditions"`
	Type       string          `json:"_type"`
}

// orderedHeaders marshals as a JSON object in the stored order.
type orderedHeaders []models.Header

// MarshalJSON writes {"name": "value", …} in order.
func (hs orderedHeaders) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(h.Name)
		v, _ := json.Marshal(h.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// dixaHookOut is a webhook subscription as Dixa shows it.
type dixaHookOut struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	SubscribedEvents []string        `json:"subscribedEvents"`
	URL              string          `json:"url"`
	Headers          orderedHeaders  `json:"headers"`
	Authorization    *dixaAuth       `json:"authorization,omitempty"`
	SecretKey        string          `json:"secretKey"`
	Enabled          bool            `json:"enabled"`
	CreatedAt        time.Time       `json:"createdAt"`
	CreatedBy        string          `json:"createdBy"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	UpdatedBy        string          `json:"updatedBy"`
	Filters          json.RawMessage `json:"filters,omitempty"`
}

func dixaEventNames() []string {
	out := make([]string, len(dixaEvents))
	for i, e := range dixaEvents {
		out[i] = e.name
	}
	return out
}

// dixaEvent maps a Dixa event name (or a catalog id) to a catalog type.
func dixaEvent(name string) (string, bool) {
	for _, e := range dixaEvents {
		if e.name == name {
			return e.event, true
		}
	}
	if catalog.Subscribable(name) {
		return name, true
	}
	return "", false
}

// dixaEventName is the name to show for a catalog type: the one the
// client sent, else the table's, else the catalog id.
func dixaEventName(event string, sent map[string]string) string {
	if n, ok := sent[event]; ok {
		return n
	}
	for _, e := range dixaEvents {
		if e.event == event {
			return e.name
		}
	}
	return event
}

// dixaOrderedObject reads a JSON object of strings keeping its order.
func dixaOrderedObject(raw json.RawMessage) ([]models.Header, error) {
	bad := models.FieldErrors{"headers": `customHeaders must be an object of header names to string values, e.g. {"X-Token": "abc"}.`}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	var out []models.Header
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, bad
		}
		out = append(out, models.Header{Name: k.(string), Value: v})
	}
	return out, nil
}

// dixaFilters translates Dixa's filters onto Ringhook filters.
func dixaFilters(raw json.RawMessage) ([]models.Filter, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var groups map[string]dixaCombined
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		return nil, models.FieldErrors{"filters": `filters must be {"Conversation": {"strategy": "All", "conditions": [{"field", "values", "_type"}], "_type": "CombinedFilters"}}.`}
	}
	var out []models.Filter
	for name, g := range groups {
		switch {
		case name != "Conversation":
			return nil, models.FieldErrors{"filters": fmt.Sprintf("Unknown filter group %q; use Conversation.", name)}
		case g.Type != "CombinedFilters":
			return nil, models.FieldErrors{"filters": fmt.Sprintf("Unknown filter _type %q; use CombinedFilters.", g.Type)}
		case g.Strategy != "All" && !(g.Strategy == "Any" && len(g.Conditions) <= 1):
			return nil, models.FieldErrors{"filters": fmt.Sprintf("Unknown strategy %q; Ringhook combines conditions with All.", g.Strategy)}
		}
		for _, cond := range g.Conditions {
			op := map[string]string{"IsOneOf": "in", "IsNotOneOf": "not_in"}[cond.Type]
			if op == "" {
				return nil, models.FieldErrors{"filters": fmt.Sprintf("Unknown condition _type %q; use IsOneOf or IsNotOneOf.", cond.Type)}
			}
			if cond.Field == "InitialChannel" {
				// Every Ringhook event is a phone conversation.
				if slices.Contains(cond.Values, "pstn_phone") != (op == "in") {
					return nil, models.FieldErrors{"filters": "This InitialChannel condition leaves out pstn_phone, so no call would ever match."}
				}
				continue
			}
			field, ok := dixaFilterFields[cond.Field]
			if !ok {
				return nil, models.FieldErrors{"filters": fmt.Sprintf("Unknown filter field %q; the fields are: InitialChannel, QueueId, Direction, call_status, disposition.", cond.Field)}
			}
			out = append(out, models.Filter{Field: field, Op: op, Values: cond.Values})
		}
	}
	return out, nil
}

// dixaFiltersOut answers the filters as the client sent them while they
// still mean the webhook's filters; otherwise (edited elsewhere) it writes
// them afresh in the CombinedFilters form.
func dixaFiltersOut(w *models.Webhook) json.RawMessage {
	if sent := w.DialectState.V.Filters; len(sent) > 0 {
		if fs, err := dixaFilters(sent); err == nil && reflect.DeepEqual(nonNilFilters(fs), nonNilFilters(w.Filters.V)) {
			return sent
		}
	}
	if len(w.Filters.V) == 0 {
		return nil
	}
	g := dixaCombined{Strategy: "All", Type: "CombinedFilters"}
	for _, f := range w.Filters.V {
		field := f.Field
		if field == "queue_id" {
			field = "QueueId"
		}
		typ := "IsOneOf"
		if f.Op == "not_in" {
			typ = "IsNotOneOf"
		}
		g.Conditions = append(g.Conditions, dixaCondition{Field: field, Values: f.Values, Type: typ})
	}
	b, _ := json.Marshal(map[string]dixaCombined{"Conversation": g})
	return b
}

func nonNilFilters(fs []models.Filter) []models.Filter {
	if fs == nil {
		return []models.Filter{}
	}
	return fs
}

// dixaApply applies the members present in d onto in; state keeps the
// client's spelling.
func dixaApply(in *models.WebhookInput, d dixaHookIn, state *models.DialectState) error {
	if d.Name != nil {
		in.Name = *d.Name
	}
	if d.URL != nil {
		in.URL = *d.URL
	}
	if d.Enabled != nil {
		in.Enabled = *d.Enabled
	}
	if d.Events != nil {
		in.EventTypes = nil
		state.EventNames = map[string]string{}
		for _, name := range d.Events {
			ev, ok := dixaEvent(name)
			if !ok {
				return models.FieldErrors{"event_types": fmt.Sprintf("Event %q has no telephony equivalent in Ringhook; the events are: %s (or a Ringhook event id such as call.hangup).",
					name, strings.Join(dixaEventNames(), ", "))}
			}
			in.EventTypes = append(in.EventTypes, ev)
			state.EventNames[ev] = name
		}
	}
	if len(d.Authorization) > 0 && string(d.Authorization) != "null" {
		var a dixaAuth
		dec := json.NewDecoder(bytes.NewReader(d.Authorization))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return models.FieldErrors{"authorization": `authorization must be {"_type": "BasicAuth", "username", "password"}, {"_type": "TokenAuth", "value"} or {"_type": "NoAuth"}.`}
		}
		secret := func(s string) string { // the redacted echo keeps what is stored
			if s == models.Redacted {
				return ""
			}
			return s
		}
		switch a.Type {
		case "BasicAuth":
			in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthBasic, a.Username, secret(a.Password)
		case "TokenAuth":
			in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthBearer, "", secret(a.Value)
		case "NoAuth", "":
			in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthNone, "", ""
		default:
			return models.FieldErrors{"authorization": fmt.Sprintf("Unknown authorization _type %q; use BasicAuth, TokenAuth or NoAuth.", a.Type)}
		}
	}
	if len(d.CustomHeaders) > 0 && string(d.CustomHeaders) != "null" {
		hs, err := dixaOrderedObject(d.CustomHeaders)
		if err != nil {
			return err
		}
		for i, h := range hs { // a redacted echo keeps the stored value
			if h.Value == models.Redacted {
				if j := slices.IndexFunc(in.Headers, func(o models.Header) bool { return strings.EqualFold(o.Name, h.Name) }); j >= 0 {
					hs[i].Value = in.Headers[j].Value
				}
			}
		}
		in.Headers = hs
	}
	if d.Filters != nil {
		fs, err := dixaFilters(d.Filters)
		if err != nil {
			return err
		}
		in.Filters = fs
		state.Filters = d.Filters
		if string(bytes.TrimSpace(d.Filters)) == "null" {
			state.Filters = nil
		}
	}
	return nil
}

// dixaView shows w the Dixa way; secrets are never echoed in clear.
func dixaView(w *models.Webhook) dixaHookOut {
	out := dixaHookOut{ID: w.ID, Name: w.Name, URL: w.URL, SecretKey: w.SigningSecret, Enabled: w.Enabled,
		CreatedAt: w.CreatedAt.UTC(), CreatedBy: w.CreatedBy, UpdatedAt: w.UpdatedAt.UTC(), UpdatedBy: w.UpdatedBy,
		Filters: dixaFiltersOut(w), Headers: orderedHeaders{}, SubscribedEvents: []string{}}
	for _, e := range w.EventTypes {
		out.SubscribedEvents = append(out.SubscribedEvents, dixaEventName(e, w.DialectState.V.EventNames))
	}
	for _, h := range w.Headers.V {
		out.Headers = append(out.Headers, models.Header{Name: h.Name, Value: models.RedactHeaderValue(h.Name, h.Value)})
	}
	switch w.AuthType {
	case models.AuthBasic:
		out.Authorization = &dixaAuth{Type: "BasicAuth", Username: w.AuthUsername, Password: models.Redacted}
	case models.AuthBearer:
		out.Authorization = &dixaAuth{Type: "TokenAuth", Value: models.Redacted}
	}
	return out
}

// dixaProblem writes {"message", "code", "errors": {field: message}}.
func dixaProblem(c echo.Context, status int, code, message string, fields map[string]string) error {
	fields = renameFields(fields, dixaFieldNames)
	if len(fields) > 0 {
		message = fieldSummary(fields)
	}
	body := map[string]any{"message": message, "code": code}
	if len(fields) > 0 {
		body["errors"] = fields
	}
	return c.JSON(status, body)
}

// DixaAuth authenticates "Authorization: <api key>" (a Bearer word is
// tolerated).
func (h *Handler) DixaAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization))
		if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
			v = rest
		}
		if err := h.dialectAuth(c, v, methodScope(c)); err != nil {
			return err
		}
		return next(c)
	}
}

func dixaData(c echo.Context, status int, data any) error {
	return c.JSON(status, map[string]any{"data": data})
}

// DixaList answers GET /beta/webhooks.
func (h *Handler) DixaList(c echo.Context) error {
	hooks, err := h.store.Webhooks(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]dixaHookOut, len(hooks))
	for i := range hooks {
		out[i] = dixaView(&hooks[i])
	}
	return dixaData(c, http.StatusOK, out)
}

// DixaCreate answers POST /beta/webhooks.
func (h *Handler) DixaCreate(c echo.Context) error {
	var d dixaHookIn
	if _, err := readDialectBody(c, dixaFields, &d); err != nil {
		return err
	}
	acc := currentAccount(c)
	in := models.NewWebhookInput(acc.TimeZone)
	state := &models.DialectState{}
	if err := dixaApply(&in, d, state); err != nil {
		return err
	}
	in.DialectState = state
	w, err := h.store.CreateWebhook(c.Request().Context(), acc.ID, dialectActor(c, dixaDialect), in)
	if err != nil {
		return err
	}
	return dixaData(c, http.StatusCreated, dixaView(w))
}

// DixaGet answers GET /beta/webhooks/{id}.
func (h *Handler) DixaGet(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return dixaData(c, http.StatusOK, dixaView(w))
}

// DixaPatch answers PATCH /beta/webhooks/{id}: only the members sent
// change; events replaces the set.
func (h *Handler) DixaPatch(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	var d dixaHookIn
	if _, err := readDialectBody(c, dixaFields, &d); err != nil {
		return err
	}
	in := models.InputFrom(w)
	state := w.DialectState.V
	if err := dixaApply(&in, d, &state); err != nil {
		return err
	}
	in.DialectState = &state
	if w, err = h.store.UpdateWebhook(ctx, acc.ID, w.ID, dialectActor(c, dixaDialect), in); err != nil {
		return err
	}
	return dixaData(c, http.StatusOK, dixaView(w))
}

// DixaDelete answers DELETE /beta/webhooks/{id} with 204.
func (h *Handler) DixaDelete(c echo.Context) error {
	if _, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"), dialectActor(c, dixaDialect)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// dixaStatusWindow is how many recent deliveries per event the delivery
// status counts.
const dixaStatusWindow = 100

// DixaDeliveryStatus answers GET /beta/webhooks/{id}/delivery-status: per
// subscribed event, the latest delivery's state, counts over the last
// dixaStatusWindow deliveries and the last attempt's time.
func (h *Handler) DixaDeliveryStatus(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	type status struct {
		Event         string     `json:"event"`
		LatestStatus  string     `json:"latestStatus"` // Delivered | Failed | Pending | NoDeliveries
		Delivered     int        `json:"delivered"`
		Failed        int        `json:"failed"`
		Pending       int        `json:"pending"`
		LastAttemptAt *time.Time `json:"lastAttemptAt"`
	}
	out := []status{}
	for _, ev := range w.EventTypes {
		rows, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{WebhookID: w.ID, EventType: ev, Limit: dixaStatusWindow})
		if err != nil {
			return err
		}
		s := status{Event: dixaEventName(ev, w.DialectState.V.EventNames), LatestStatus: "NoDeliveries"}
		for i, d := range rows {
			st := dixaDeliveryState(d.Status)
			switch st {
			case "Delivered":
				s.Delivered++
			case "Failed":
				s.Failed++
			default:
				s.Pending++
			}
			if i == 0 {
				s.LatestStatus = st
			}
			if d.AttemptCount > 0 && (s.LastAttemptAt == nil || d.UpdatedAt.After(*s.LastAttemptAt)) {
				t := d.UpdatedAt.UTC()
				s.LastAttemptAt = &t
			}
		}
		out = append(out, s)
	}
	return dixaData(c, http.StatusOK, out)
}

func dixaDeliveryState(s models.DeliveryStatus) string {
	switch s {
	case models.StatusSucceeded:
		return "Delivered"
	case models.StatusFailed, models.StatusCancelled:
		return "Failed"
	}
	return "Pending"
}

// DixaDeliveryLogs answers GET /beta/webhooks/{id}/delivery-status/logs/{event}:
// the recent deliveries of that event, newest first.
func (h *Handler) DixaDeliveryLogs(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	ev, ok := dixaEvent(c.Param("event"))
	if !ok {
		return models.FieldErrors{"event_types": fmt.Sprintf("Unknown event %q; the events are: %s.", c.Param("event"), strings.Join(dixaEventNames(), ", "))}
	}
	if !slices.Contains(w.EventTypes, ev) {
		return fault.Errorf(fault.ErrNotFound, "This webhook does not subscribe to %s.", c.Param("event"))
	}
	rows, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{WebhookID: w.ID, EventType: ev, Limit: 50})
	if err != nil {
		return err
	}
	type entry struct {
		DeliveryID   string    `json:"deliveryId"`
		EventID      string    `json:"eventId"`
		Status       string    `json:"status"`
		Attempts     int       `json:"attempts"`
		ResponseCode *int      `json:"responseCode"`
		Error        string    `json:"error,omitempty"`
		CreatedAt    time.Time `json:"createdAt"`
		UpdatedAt    time.Time `json:"updatedAt"`
	}
	out := make([]entry, len(rows))
	for i, d := range rows {
		out[i] = entry{DeliveryID: d.PublicID.String(), EventID: d.EventID, Status: dixaDeliveryState(d.Status), Attempts: d.AttemptCount,
			ResponseCode: d.LastStatusCode, Error: maskedError(c, d.LastError), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	}
	return dixaData(c, http.StatusOK, out)
}

// dixaRoutes adds the dialect to the route table.
func dixaRoutes(e *echo.Echo, h *Handler) {
	g := e.Group("/beta", noStore, h.DixaAuth)
	g.GET("/webhooks", h.DixaList)
	g.POST("/webhooks", h.DixaCreate)
	g.GET("/webhooks/:id", h.DixaGet)
	g.PATCH("/webhooks/:id", h.DixaPatch)
	g.DELETE("/webhooks/:id", h.DixaDelete)
	g.GET("/webhooks/:id/delivery-status", h.DixaDeliveryStatus)
	g.GET("/webhooks/:id/delivery-status/logs/:event", h.DixaDeliveryLogs)
	g.RouteNotFound("/*", func(echo.Context) error {
		return fault.Errorf(fault.ErrNotFound, "No such resource; the paths are /beta/webhooks, /beta/webhooks/{id}, …/delivery-status and …/delivery-status/logs/{event}.")
	})
}
