package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// apiEvent is a stored call event with its deliveries, oldest first.
type apiEvent struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	CallID     *string        `json:"call_id"`
	OccurredAt time.Time      `json:"occurred_at"`
	ReceivedAt time.Time      `json:"received_at"`
	Payload    map[string]any `json:"payload"`
	Deliveries []apiDelivery  `json:"deliveries"`
}

func eventJSON(ev *models.Event, rows []models.DeliveryRow) apiEvent {
	out := apiEvent{ID: ev.ID, Type: ev.Type, CallID: ev.CallID, OccurredAt: ev.OccurredAt, ReceivedAt: ev.ReceivedAt,
		Payload: ev.Payload.V, Deliveries: []apiDelivery{}}
	if out.Payload == nil {
		out.Payload = map[string]any{}
	}
	for i := range rows {
		out.Deliveries = append(out.Deliveries, deliveryJSON(&rows[i].Delivery, rows[i].WebhookName, rows[i].WebhookDeleted))
	}
	return out
}

// APIEventGet is GET /api/v1/events/{id}: the event as stored and its deliveries.
func (h *Handler) APIEventGet(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	ev, err := h.store.StoredEvent(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	rows, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{EventID: ev.ID, Limit: models.MaxDeliveryLimit})
	if err != nil {
		return err
	}
	slices.Reverse(rows) // the log is newest first; an event lists its deliveries as they were made
	out := eventJSON(ev, rows)
	maskEventJSON(c, &out) // privacy.go
	return apiData(c, http.StatusOK, out)
}

// APICallTimeline is GET /api/v1/calls/{call_id}: every event of one call
// in the order it happened, each with its deliveries.
func (h *Handler) APICallTimeline(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	callID := c.Param("call_id")
	timeline, err := h.store.CallTimeline(ctx, acc.ID, callID) // the console's call view, too
	if err != nil {
		return err
	}
	out := struct {
		CallID string     `json:"call_id"`
		Events []apiEvent `json:"events"`
	}{CallID: callID, Events: make([]apiEvent, len(timeline))}
	for i := range timeline {
		out.Events[i] = eventJSON(&timeline[i].Event, timeline[i].Deliveries)
		maskEventJSON(c, &out.Events[i]) // privacy.go
	}
	return apiData(c, http.StatusOK, out)
}

type apiNumber struct {
	ID        string    `json:"id"`
	Number    string    `json:"number"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

func numberJSON(n *models.PhoneNumber) apiNumber {
	return apiNumber{ID: n.ID, Number: n.Number, Label: n.Label, CreatedAt: n.CreatedAt}
}

// APINumberList is GET /api/v1/numbers: the account's DIDs.
func (h *Handler) APINumberList(c echo.Context) error {
	nums, err := h.store.PhoneNumbers(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]apiNumber, len(nums))
	for i := range nums {
		out[i] = numberJSON(&nums[i])
	}
	return apiData(c, http.StatusOK, out)
}

// APINumberAdd is POST /api/v1/numbers {"number", "label"}: 201.
func (h *Handler) APINumberAdd(c echo.Context) error {
	var body struct {
		Number string `json:"number"`
		Label  string `json:"label"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	n, err := h.store.AddPhoneNumber(c.Request().Context(), currentAccount(c).ID, actor(c), body.Number, body.Label)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusCreated, numberJSON(n))
}

// APINumberDelete is DELETE /api/v1/numbers/{id}: 204, or 422 while a
// webhook is limited to the number.
func (h *Handler) APINumberDelete(c echo.Context) error {
	if err := h.store.DeletePhoneNumber(c.Request().Context(), currentAccount(c).ID, actor(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type apiEventField struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Values   []string `json:"values,omitempty"`
}

type apiSample struct {
	JSON  json.RawMessage `json:"json"`
	Form  *string         `json:"form"`
	Query *string         `json:"query"`
}

type apiEventType struct {
	ID           string          `json:"id"`
	Label        string          `json:"label"`
	Description  string          `json:"description"`
	Group        string          `json:"group"`
	Subscribable bool            `json:"subscribable"`
	Fields       []apiEventField `json:"fields"`
	Sample       apiSample       `json:"sample"`
}

// APIEventTypes is GET /api/v1/event-types: every event type with its
// fields and a sample payload as a webhook receives it as JSON, as a form
// body and as a GET query string.
func (h *Handler) APIEventTypes(c echo.Context) error {
	out := []apiEventType{}
	for _, t := range catalog.Types() {
		et := apiEventType{ID: t.ID, Label: t.Label, Description: t.Description, Group: t.Group,
			Subscribable: catalog.Subscribable(t.ID), Fields: []apiEventField{}}
		required := catalog.RequiredFields(t.ID)
		for _, f := range catalog.Fields(t.ID) {
			et.Fields = append(et.Fields, apiEventField{Name: f, Type: catalog.FieldType(t.ID, f),
				Required: slices.Contains(required, f), Values: catalog.EnumValues(t.ID, f)})
		}
		sample, err := samplePayload(t.ID)
		if err != nil {
			return err
		}
		if sample == "" {
			sample = "{}"
		}
		et.Sample.JSON = json.RawMessage(sample)
		if et.Subscribable && h.preview != nil {
			form, query, err := h.sampleRenders(c, t.ID)
			if err != nil {
				return err
			}
			et.Sample.Form, et.Sample.Query = &form, &query
		}
		out = append(out, et)
	}
	return apiData(c, http.StatusOK, out)
}

// sampleRenders renders a sample of typeID as a form webhook and a GET
// webhook would send it.
func (h *Handler) sampleRenders(c echo.Context, typeID string) (form, query string, err error) {
	w := &models.Webhook{ID: "wh_sample", AccountID: currentAccount(c).ID, APIVersion: models.DefaultAPIVersion,
		SigningSecret: "whsec_c2FtcGxlc2FtcGxlc2FtcGxlc2FtcGxl", URL: "https://example.com/hook", TimeZone: "UTC",
		EventTypes: models.StringList{typeID}, Method: models.MethodPOST, ContentType: models.ContentForm, AuthType: models.AuthNone}
	req, err := h.preview.Preview(c.Request().Context(), w, typeID)
	if err != nil {
		return "", "", fmt.Errorf("sample form of %s: %w", typeID, err)
	}
	form = string(req.Body)
	w.Method = models.MethodGET
	req, err = h.preview.Preview(c.Request().Context(), w, typeID)
	if err != nil {
		return "", "", fmt.Errorf("sample query of %s: %w", typeID, err)
	}
	if u, err := url.Parse(req.URL); err == nil {
		query = u.RawQuery
	}
	return form, query, nil
}

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	Mode       string     `json:"mode"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Key is the key itself, only in the answer to POST /api-keys.
	Key string `json:"key,omitempty"`
}

func keyJSON(k *models.APIKey) apiKeyJSON {
	mode := "live"
	if k.TestMode() {
		mode = "test"
	}
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: string(k.Scope), Mode: mode, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// APIKeyListJSON is GET /api/v1/api-keys: the account's keys (never the keys themselves).
func (h *Handler) APIKeyListJSON(c echo.Context) error {
	keys, err := h.store.APIKeys(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, len(keys))
	for i := range keys {
		out[i] = keyJSON(&keys[i])
	}
	return apiData(c, http.StatusOK, out)
}

// APIKeyCreateJSON is POST /api/v1/api-keys {"name", "scope", "mode"}: 201
// with the key, shown this once.
func (h *Handler) APIKeyCreateJSON(c echo.Context) error {
	var body struct {
		Name  string `json:"name"`
		Scope string `json:"scope"`
		Mode  string `json:"mode"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	switch body.Mode {
	case "":
		body.Mode = "live"
	case "live", "test":
	default:
		return models.FieldErrors{"mode": "Choose live or test."}
	}
	k, plain, err := h.store.CreateAPIKey(c.Request().Context(), currentAccount(c).ID, actor(c),
		models.NewAPIKey{Name: body.Name, Scope: models.APIKeyScope(body.Scope), Test: body.Mode == "test"})
	if err != nil {
		return err
	}
	h.log.Info("api key created", "account", k.AccountID, "key", k.ID, "prefix", k.Prefix, "by", actor(c).Label)
	out := keyJSON(k)
	out.Key = plain
	return apiData(c, http.StatusCreated, out)
}

// APIKeyRevokeJSON is DELETE /api/v1/api-keys/{id}: 204; the key stops working at once.
func (h *Handler) APIKeyRevokeJSON(c echo.Context) error {
	if err := h.store.RevokeAPIKey(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
