package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// The backend API dialect: /v1/backend/webhooks… with sk_live_/sk_test_
// keys and the native API's shapes ({"data": …}, {"error": {"code",
// "message"}}) under that document's paths.

const (
	backendPrefix  = "/v1/backend/"
	backendDialect = "backend API"
)

// backendFields are the members a create accepts.
var backendFields = []string{"url", "description", "event_types", "name", "enabled"}

// backendFieldNames translates Ringhook field names in errors.
var backendFieldNames = map[string]string{"url": "url", "description": "description", "event_types": "event_types", "name": "name"}

// backendAliases are the document's own event names, mapped onto the catalog.
var backendAliases = map[string]string{"conversation.completed": "call.ended"}

// backendHookIn is a create body; nil members were absent.
type backendHookIn struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	EventTypes  []string `json:"event_types"`
	Name        *string  `json:"name"`
	Enabled     *bool    `json:"enabled"`
}

// backendHookOut is a webhook endpoint as the document shows it.
type backendHookOut struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	EventTypes  []string  `json:"event_types"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret,omitempty"` // only in the answer to a create
}

// callTriggers are the catalog's call lifecycle types a webhook may
// subscribe to: the default of a create that names none.
func callTriggers() []string {
	var out []string
	for _, g := range catalog.Groups() {
		if g.ID != catalog.GroupCall {
			continue
		}
		for _, t := range g.Types {
			if catalog.Subscribable(t.ID) {
				out = append(out, t.ID)
			}
		}
	}
	return out
}

// nameFromURL is the default name of a webhook: its URL's host.
func nameFromURL(raw string) string {
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "Webhook"
}

// backendInput turns a create body into input with the document's
// defaults: a name from the URL's host, every call trigger, POST JSON,
// enabled.
func backendInput(d backendHookIn, timeZone string) models.WebhookInput {
	in := models.NewWebhookInput(timeZone)
	if d.URL != nil {
		in.URL = *d.URL
	}
	in.Name = nameFromURL(in.URL)
	if d.Name != nil {
		in.Name = *d.Name
	}
	if d.Description != nil {
		in.Description = *d.Description
	}
	in.EventTypes = callTriggers()
	if d.EventTypes != nil {
		in.EventTypes = make([]string, len(d.EventTypes))
		for i, t := range d.EventTypes {
			if alias, ok := backendAliases[t]; ok {
				t = alias
			}
			in.EventTypes[i] = t
		}
	}
	if d.Enabled != nil {
		in.Enabled = *d.Enabled
	}
	return in
}

func backendView(w *models.Webhook) backendHookOut {
	return backendHookOut{ID: w.ID, URL: w.URL, Description: w.Description, EventTypes: append([]string{}, w.EventTypes...),
		Enabled: w.Enabled, CreatedAt: w.CreatedAt.UTC()}
}

// backendProblem writes the native API's error shape; an unknown event
// type's message lists the catalog's ids.
func backendProblem(c echo.Context, status int, code, message string, fields map[string]string) error {
	fields = renameFields(fields, backendFieldNames)
	if msg, ok := fields["event_types"]; ok && strings.Contains(msg, "Unknown trigger") {
		fields["event_types"] = msg + " The event types are: " + strings.Join(subscribableTypes(), ", ") + "."
	}
	if len(fields) > 0 {
		message = fieldSummary(fields)
	}
	return c.JSON(status, apiErrorBody{Error: apiError{Code: code, Message: message, Fields: fields}})
}

// subscribableTypes lists every catalog id a webhook may subscribe to.
func subscribableTypes() []string {
	var out []string
	for _, t := range catalog.Types() {
		if catalog.Subscribable(t.ID) {
			out = append(out, t.ID)
		}
	}
	return out
}

// BackendAuth authenticates "Authorization: Bearer sk_…" (the bare key is
// accepted too).
func (h *Handler) BackendAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization))
		if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
			v = rest
		}
		if err := h.dialectAuth(c, v, methodScope(c)); err != nil {
			if he, ok := err.(*echo.HTTPError); ok && he.Code == http.StatusUnauthorized {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, bearerRealm)
			}
			return err
		}
		return next(c)
	}
}

// BackendList answers GET /v1/backend/webhooks.
func (h *Handler) BackendList(c echo.Context) error {
	hooks, err := h.store.Webhooks(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]backendHookOut, len(hooks))
	for i := range hooks {
		out[i] = backendView(&hooks[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

// BackendCreate answers POST /v1/backend/webhooks, with the signing
// secret this once.
func (h *Handler) BackendCreate(c echo.Context) error {
	var d backendHookIn
	if _, err := readDialectBody(c, backendFields, &d); err != nil {
		return err
	}
	acc := currentAccount(c)
	w, err := h.store.CreateWebhook(c.Request().Context(), acc.ID, dialectActor(c, backendDialect), backendInput(d, acc.TimeZone))
	if err != nil {
		return err
	}
	out := backendView(w)
	out.Secret = w.SigningSecret
	return c.JSON(http.StatusCreated, map[string]any{"data": out})
}

// BackendGet answers GET /v1/backend/webhooks/{id}.
func (h *Handler) BackendGet(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": backendView(w)})
}

// BackendDelete answers DELETE /v1/backend/webhooks/{id} with 204.
func (h *Handler) BackendDelete(c echo.Context) error {
	if _, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"), dialectActor(c, backendDialect)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// BackendSecret answers GET /v1/backend/webhooks/{id}/secret.
func (h *Handler) BackendSecret(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": map[string]string{"secret": w.SigningSecret}})
}

// BackendTest answers POST /v1/backend/webhooks/test: a test event to
// every enabled webhook, through the dispatcher's normal path. message_id
// is the request's id (in the access log and every delivery's log line).
func (h *Handler) BackendTest(c echo.Context) error {
	n, err := h.testAll(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": map[string]any{"success": n > 0, "message_id": requestID(c), "queued": n}})
}

// backendRoutes adds the dialect to the route table.
func backendRoutes(e *echo.Echo, h *Handler) {
	g := e.Group("/v1/backend", noStore, h.BackendAuth)
	g.GET("/webhooks", h.BackendList)
	g.POST("/webhooks", h.BackendCreate)
	g.POST("/webhooks/test", h.BackendTest)
	g.GET("/webhooks/:id", h.BackendGet)
	g.DELETE("/webhooks/:id", h.BackendDelete)
	g.GET("/webhooks/:id/secret", h.BackendSecret)
	g.RouteNotFound("/*", func(echo.Context) error {
		return fault.Errorf(fault.ErrNotFound, "No such resource; the paths are /v1/backend/webhooks, /webhooks/{id}, /webhooks/{id}/secret and /webhooks/test.")
	})
}
