package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// The Wirecloud/Kazoo dialect: /api/v1/accounts/{account_id}/webhooks…
// with X-Auth-Token and Kazoo's {"data", "status", "request_id"} envelope.
// It sits under the native /api/v1 prefix but is routed on its own, so the
// native Bearer middleware never sees it.

const (
	kazooPrefix  = "/api/v1/accounts/"
	kazooDialect = "Kazoo API"
)

// kazooHooks maps Kazoo's hook names to catalog event types, in the order
// errors list them.
var kazooHooks = []struct{ hook, event string }{
	{"channel_create", "call.received"},
	{"channel_answer", "call.answered"},
	{"channel_destroy", "call.ended"},
}

// kazooFields are the members of a Kazoo webhook body. id and event_types
// are read-only (what GET answers), accepted so a fetched object can be
// sent back as it is.
var kazooFields = []string{"name", "uri", "http_verb", "hook", "retries", "custom_data", "enabled", "id", "event_types"}

// kazooFieldNames translates Ringhook field names in errors.
var kazooFieldNames = map[string]string{"name": "name", "url": "uri", "method": "http_verb", "event_types": "hook",
	"max_attempts": "retries", "custom_data": "custom_data", "custom_data_mode": "custom_data"}

// kazooHookIn is a Kazoo webhook body's data; nil members were absent.
type kazooHookIn struct {
	Name       *string         `json:"name"`
	URI        *string         `json:"uri"`
	HTTPVerb   *string         `json:"http_verb"`
	Hook       *string         `json:"hook"`
	Retries    *int            `json:"retries"`
	CustomData json.RawMessage `json:"custom_data"`
	Enabled    *bool           `json:"enabled"`
	ID         *string         `json:"id"`
	EventTypes []string        `json:"event_types"`
}

// kazooHookOut is a webhook as Kazoo shows it.
type kazooHookOut struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	URI        string         `json:"uri"`
	HTTPVerb   string         `json:"http_verb"`
	Hook       string         `json:"hook"`
	Retries    int            `json:"retries"`
	CustomData map[string]any `json:"custom_data"`
	Enabled    bool           `json:"enabled"`
	// EventTypes are Ringhook's catalog ids: a webhook made in the console
	// may listen to more than Kazoo's one hook.
	EventTypes []string `json:"event_types"`
}

// kazooHookEvent maps a hook to a catalog event type; Ringhook's own
// catalog ids are accepted as they are.
func kazooHookEvent(hook string) (string, bool) {
	for _, h := range kazooHooks {
		if strings.EqualFold(h.hook, hook) {
			return h.event, true
		}
	}
	if catalog.Subscribable(hook) {
		return hook, true
	}
	return "", false
}

// kazooEventHook is the Kazoo hook name of an event type (the id itself
// when Kazoo has no name for it).
func kazooEventHook(event string) string {
	for _, h := range kazooHooks {
		if h.event == event {
			return h.hook
		}
	}
	return event
}

func kazooHookList() string {
	names := make([]string, len(kazooHooks))
	for i, h := range kazooHooks {
		names[i] = h.hook
	}
	return strings.Join(names, ", ")
}

// kazooApply applies the members present in d onto in (a fresh input on
// create, the stored webhook's on edit: what Kazoo does not know stays).
func kazooApply(in *models.WebhookInput, d kazooHookIn, creating bool) error {
	if d.Name != nil {
		in.Name = *d.Name
	}
	if d.URI != nil {
		in.URL = *d.URI
	}
	if d.HTTPVerb != nil {
		switch strings.ToLower(*d.HTTPVerb) {
		case "get":
			in.Method = models.MethodGET
		case "post":
			in.Method = models.MethodPOST
		default:
			return models.FieldErrors{"http_verb": fmt.Sprintf("Unknown http_verb %q; use get or post.", *d.HTTPVerb)}
		}
	}
	switch {
	case d.Hook != nil:
		ev, ok := kazooHookEvent(*d.Hook)
		if !ok {
			return models.FieldErrors{"hook": fmt.Sprintf("Unknown hook %q; the hooks are: %s (or a Ringhook event id such as call.hangup).", *d.Hook, kazooHookList())}
		}
		in.EventTypes = []string{ev}
	case creating:
		return models.FieldErrors{"hook": "hook is required: one of " + kazooHookList() + "."}
	}
	if d.Retries != nil {
		if *d.Retries < 0 || *d.Retries >= models.MaxAttempts {
			return models.FieldErrors{"retries": fmt.Sprintf("Use between 0 and %d retries.", models.MaxAttempts-1)}
		}
		in.MaxAttempts = *d.Retries + 1
	}
	if len(d.CustomData) > 0 && string(d.CustomData) != "null" {
		kv, err := decodeCustomData(d.CustomData)
		if err != nil {
			return err
		}
		in.CustomData = kv
	}
	if d.Enabled != nil {
		in.Enabled = *d.Enabled
	}
	return nil
}

// kazooView shows w the Kazoo way.
func kazooView(w *models.Webhook) kazooHookOut {
	out := kazooHookOut{ID: w.ID, Name: w.Name, URI: w.URL, HTTPVerb: strings.ToLower(w.Method), Retries: max(w.MaxAttempts-1, 0),
		CustomData: customDataMap(w), Enabled: w.Enabled, EventTypes: append([]string{}, w.EventTypes...)}
	if len(w.EventTypes) > 0 {
		out.Hook = kazooEventHook(w.EventTypes[0])
	}
	return out
}

// kazooSuccess writes Kazoo's success envelope.
func kazooSuccess(c echo.Context, status int, data any) error {
	return c.JSON(status, map[string]any{"data": data, "status": "success", "request_id": requestID(c)})
}

// kazooProblem writes Kazoo's error envelope: error is the HTTP status
// as Kazoo sends it ("404"), data names each offending field with a
// Kazoo-style {rule: {message}} object.
func kazooProblem(c echo.Context, status int, code, message string, fields map[string]string) error {
	data := map[string]any{}
	for k, v := range renameFields(fields, kazooFieldNames) {
		data[k] = map[string]any{code: map[string]string{"message": v}}
	}
	if len(fields) > 0 {
		message = "invalid data: " + fieldSummary(renameFields(fields, kazooFieldNames))
	}
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest // Kazoo answers invalid data with 400
	}
	return c.JSON(status, map[string]any{"status": "error", "error": strconv.Itoa(status), "message": message,
		"data": data, "request_id": requestID(c)})
}

// fieldSummary joins field errors into one sentence, in key order.
func fieldSummary(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + fields[k]
	}
	return strings.Join(parts, " ")
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// KazooAuth authenticates X-Auth-Token and answers 404 when the path's
// account is not the key's (another account's ids change nothing).
func (h *Handler) KazooAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.dialectAuth(c, c.Request().Header.Get("X-Auth-Token"), methodScope(c)); err != nil {
			return err
		}
		if c.Param("account_id") != currentAccount(c).ID {
			return fault.Errorf(fault.ErrNotFound, "No such account for this API key.")
		}
		return next(c)
	}
}

// kazooBody reads {"data": {...}}.
func kazooBody(c echo.Context) (kazooHookIn, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if _, err := readDialectBody(c, []string{"data"}, &env); err != nil {
		return kazooHookIn{}, err
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return kazooHookIn{}, fault.Errorf(fault.ErrBadRequest, `Send the webhook inside "data": {"data": {"name": …, "uri": …, "hook": …}}.`)
	}
	var d kazooHookIn
	if _, err := decodeDialectJSON(env.Data, kazooFields, &d); err != nil {
		return kazooHookIn{}, err
	}
	return d, nil
}

// KazooList answers GET …/webhooks.
func (h *Handler) KazooList(c echo.Context) error {
	hooks, err := h.store.Webhooks(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]kazooHookOut, len(hooks))
	for i := range hooks {
		out[i] = kazooView(&hooks[i])
	}
	return kazooSuccess(c, http.StatusOK, out)
}

// KazooCreate answers PUT …/webhooks. Its custom_data is merged at the top
// level of the payload, as the Kazoo document describes.
func (h *Handler) KazooCreate(c echo.Context) error {
	d, err := kazooBody(c)
	if err != nil {
		return err
	}
	acc := currentAccount(c)
	in := models.NewWebhookInput(acc.TimeZone)
	in.CustomDataMode = models.CustomDataMerged
	in.MaxAttempts = 3 // Kazoo's default: 2 retries
	if err := kazooApply(&in, d, true); err != nil {
		return err
	}
	w, err := h.store.CreateWebhook(c.Request().Context(), acc.ID, dialectActor(c, kazooDialect), in)
	if err != nil {
		return err
	}
	return kazooSuccess(c, http.StatusCreated, kazooView(w))
}

// KazooGet answers GET …/webhooks/{webhook_id}.
func (h *Handler) KazooGet(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("webhook_id"))
	if err != nil {
		return err
	}
	return kazooSuccess(c, http.StatusOK, kazooView(w))
}

// KazooUpdate answers POST …/webhooks/{webhook_id}: the members sent
// replace the stored ones; settings Kazoo has no name for are kept.
func (h *Handler) KazooUpdate(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("webhook_id"))
	if err != nil {
		return err
	}
	d, err := kazooBody(c)
	if err != nil {
		return err
	}
	in := models.InputFrom(w)
	if err := kazooApply(&in, d, false); err != nil {
		return err
	}
	w, err = h.store.UpdateWebhook(ctx, acc.ID, w.ID, dialectActor(c, kazooDialect), in)
	if err != nil {
		return err
	}
	return kazooSuccess(c, http.StatusOK, kazooView(w))
}

// KazooDelete answers DELETE …/webhooks/{webhook_id} with what was deleted.
func (h *Handler) KazooDelete(c echo.Context) error {
	w, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, c.Param("webhook_id"), dialectActor(c, kazooDialect))
	if err != nil {
		return err
	}
	return kazooSuccess(c, http.StatusOK, kazooView(w))
}

// kazooAttempt is one delivery's latest attempt as Kazoo lists attempts.
type kazooAttempt struct {
	HookID       string `json:"hook_id"`
	Result       string `json:"result"` // success | failure | pending
	ResponseCode string `json:"response_code,omitempty"`
	Reason       string `json:"reason,omitempty"`
	RetriesLeft  int    `json:"retries_left"`
	Timestamp    int64  `json:"timestamp"` // Unix seconds of the last change
	EventType    string `json:"hook_event"`
	Attempts     int    `json:"attempts"`
}

func kazooAttemptView(d models.DeliveryRow, maxAttempts map[string]int) kazooAttempt {
	a := kazooAttempt{HookID: d.WebhookID, Reason: d.LastError, Timestamp: d.UpdatedAt.Unix(), EventType: kazooEventHook(d.EventType), Attempts: d.AttemptCount}
	switch d.Status {
	case models.StatusSucceeded:
		a.Result = "success"
	case models.StatusFailed, models.StatusCancelled:
		a.Result = "failure"
	default:
		a.Result = "pending"
	}
	if d.LastStatusCode != nil {
		a.ResponseCode = strconv.Itoa(*d.LastStatusCode)
	}
	if a.Result == "pending" {
		a.RetriesLeft = max(maxAttempts[d.WebhookID]-d.AttemptCount, 0)
	}
	return a
}

// KazooAttempts answers GET …/webhooks/attempts and
// …/webhooks/{webhook_id}/attempts: the latest deliveries, newest first.
func (h *Handler) KazooAttempts(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	filter := models.DeliveryFilter{Limit: 50}
	if id := c.Param("webhook_id"); id != "" {
		if _, err := h.store.Webhook(ctx, acc.ID, id); err != nil {
			return err
		}
		filter.WebhookID = id
	}
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	maxAttempts := make(map[string]int, len(hooks))
	for _, w := range hooks {
		maxAttempts[w.ID] = w.MaxAttempts
	}
	rows, err := h.store.Deliveries(ctx, acc.ID, filter)
	if err != nil {
		return err
	}
	out := make([]kazooAttempt, len(rows))
	for i, d := range rows {
		out[i] = kazooAttemptView(d, maxAttempts)
		out[i].Reason = maskedError(c, out[i].Reason)
	}
	return kazooSuccess(c, http.StatusOK, out)
}

// kazooRoutes adds the dialect to the route table.
func kazooRoutes(e *echo.Echo, h *Handler) {
	g := e.Group("/api/v1/accounts/:account_id", noStore, h.KazooAuth)
	g.GET("/webhooks", h.KazooList)
	g.PUT("/webhooks", h.KazooCreate)
	g.GET("/webhooks/attempts", h.KazooAttempts)
	g.GET("/webhooks/:webhook_id", h.KazooGet)
	g.POST("/webhooks/:webhook_id", h.KazooUpdate)
	// The document's edit example has no slash (…/webhooks{webhook_id});
	// a script copied from it works too.
	g.POST("/webhooks:webhook_id", h.KazooUpdate)
	g.DELETE("/webhooks/:webhook_id", h.KazooDelete)
	g.GET("/webhooks/:webhook_id/attempts", h.KazooAttempts)
	// Unknown paths and methods under the account answer in Kazoo's shape.
	g.RouteNotFound("/*", func(c echo.Context) error {
		return fault.Errorf(fault.ErrNotFound, "No such resource; the webhook paths are …/webhooks, …/webhooks/{webhook_id}, …/webhooks/attempts and …/webhooks/{webhook_id}/attempts.")
	})
}
