package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/publicid"
)

// apiDelivery is one line of the delivery log.
type apiDelivery struct {
	ID             publicid.ID `json:"id"`
	WebhookID      string      `json:"webhook_id"`
	WebhookName    string      `json:"webhook_name,omitempty"`
	WebhookDeleted bool        `json:"webhook_deleted,omitempty"`
	EventID        string      `json:"event_id"`
	EventType      string      `json:"event_type"`
	CallID         *string     `json:"call_id"`
	Status         string      `json:"status"`
	Test           bool        `json:"test"`
	AttemptCount   int         `json:"attempt_count"`
	NextAttemptAt  *time.Time  `json:"next_attempt_at"`
	LastStatusCode *int        `json:"last_status_code"`
	LastError      string      `json:"last_error"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	CompletedAt    *time.Time  `json:"completed_at"`
}

// apiAttempt is one try at sending a delivery.
type apiAttempt struct {
	ID          publicid.ID      `json:"id"`
	Number      int              `json:"number"`
	Trigger     string           `json:"trigger"`
	StartedAt   time.Time        `json:"started_at"`
	DurationMS  int              `json:"duration_ms"`
	Request     apiHTTPRequest   `json:"request"`
	Response    *apiHTTPResponse `json:"response"`
	Error       *apiAttemptError `json:"error"`
	NextRetryAt *time.Time       `json:"next_retry_at"`
	// BodiesDropped: the account did not keep the bodies (docs/privacy.md).
	BodiesDropped bool `json:"bodies_dropped"`
}

// apiDeliveryDetail is a delivery with its stored request and attempts.
type apiDeliveryDetail struct {
	apiDelivery
	Request  apiHTTPRequest `json:"request"`
	Attempts []apiAttempt   `json:"attempts"`
}

func deliveryJSON(d *models.Delivery, webhookName string, webhookDeleted bool) apiDelivery {
	out := apiDelivery{ID: d.PublicID, WebhookID: d.WebhookID, WebhookName: webhookName, WebhookDeleted: webhookDeleted, EventID: d.EventID, EventType: d.EventType,
		CallID: d.CallID, Status: string(d.Status), Test: d.Test, AttemptCount: d.AttemptCount, LastStatusCode: d.LastStatusCode,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, CompletedAt: d.CompletedAt}
	if d.Status == models.StatusPending {
		out.NextAttemptAt = d.NextAttemptAt
	}
	return out
}

// redactedHeaders hides secret values; stored attempt headers are already
// redacted, and redacting again keeps a missed one out of the answer.
func redactedHeaders(hs []models.Header) []models.Header {
	out := make([]models.Header, len(hs))
	for i, h := range hs {
		out[i] = models.RedactHeader(h)
	}
	return out
}

func attemptJSON(a *models.Attempt) apiAttempt {
	out := apiAttempt{ID: a.PublicID, Number: a.Number, Trigger: string(a.Trigger), StartedAt: a.StartedAt, DurationMS: a.DurationMS,
		Request:     apiHTTPRequest{Method: a.RequestMethod, URL: models.RedactURL(a.RequestURL), Headers: redactedHeaders(a.RequestHeaders.V), Body: a.RequestBody},
		NextRetryAt: a.NextRetryAt, BodiesDropped: a.BodiesDropped}
	if a.ResponseStatus != nil {
		out.Response = &apiHTTPResponse{Status: *a.ResponseStatus, Headers: redactedHeaders(a.ResponseHeaders.V), Body: a.ResponseBody}
	}
	if !a.Succeeded() {
		kind := string(a.ErrorKind)
		if kind == "" {
			kind = string(models.ErrKindHTTPStatus)
		}
		out.Error = &apiAttemptError{Kind: kind, Message: a.ErrorMessage}
	}
	return out
}

// parseAPIDeliveryFilter reads the delivery log's query parameters; every
// one it cannot use is a 422 naming it.
func parseAPIDeliveryFilter(c echo.Context, ids *publicid.Codec) (models.DeliveryFilter, int, error) {
	var f models.DeliveryFilter
	fe := models.FieldErrors{}
	q := c.QueryParams()
	limit := models.DefaultDeliveryLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fe.Add("limit", "Give a whole number from 1 to 100.")
		}
		limit = n
	}
	if id := q.Get("webhook_id"); id != "" {
		f.WebhookID = id // another account's id simply matches nothing
	}
	if t := q.Get("event_type"); t != "" {
		f.EventType = t
		if _, ok := catalog.Lookup(t); !ok {
			fe.Add("event_type", fmt.Sprintf("Unknown event type %q; GET /api/v1/event-types lists them.", t))
		}
	}
	if s := q.Get("status"); s != "" {
		f.Status = models.DeliveryStatus(s)
		if !slices.Contains(models.DeliveryStatuses, f.Status) {
			fe.Add("status", "Give one of pending, sending, succeeded, failed, cancelled.")
		}
	}
	if id := q.Get("call_id"); id != "" {
		f.CallID = id
		if !utf8.ValidString(id) || hasControlChar(id) || utf8.RuneCountInString(id) > maxCallIDLength {
			fe.Add("call_id", fmt.Sprintf("A call ID is up to %d printable characters.", maxCallIDLength))
		}
	}
	if n := q.Get("phone_number"); n != "" {
		e164, ok := catalog.NormalizePhone(n, currentAccount(c).DefaultCountry)
		if !ok {
			fe.Add("phone_number", "Give a phone number, e.g. +918287842425.")
		}
		f.Number = e164
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				fe.Add(p.name, "Give a time as RFC 3339, e.g. 2026-04-09T07:24:53Z.")
				continue
			}
			*p.dst = &t
		}
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		fe.Add("to", "to must be after from.")
	}
	switch q.Get("test") {
	case "":
	case "true":
		f.Test = new(bool)
		*f.Test = true
	case "false":
		f.Test = new(bool)
	default:
		fe.Add("test", "Give true or false.")
	}
	if s := q.Get("cursor"); s != "" {
		n, ok := ids.Decode(publicid.DeliveryCursor, s)
		if !ok {
			fe.Add("cursor", "This cursor is not one this API gave; start again without it.")
		}
		f.Before = n
	}
	if len(fe) > 0 {
		return f, 0, fe
	}
	f.Limit = limit + 1 // one more tells whether a next page exists
	return f, limit, nil
}

func (h *Handler) apiDeliveryPage(c echo.Context, webhookID string) error {
	ids, err := h.store.PublicIDs(c.Request().Context())
	if err != nil {
		return err
	}
	f, limit, err := parseAPIDeliveryFilter(c, ids)
	if err != nil {
		return err
	}
	if webhookID != "" {
		if f.WebhookID != "" && f.WebhookID != webhookID {
			return models.FieldErrors{"webhook_id": "The path already names the webhook."}
		}
		f.WebhookID = webhookID
	}
	rows, err := h.store.Deliveries(c.Request().Context(), currentAccount(c).ID, f)
	if err != nil {
		return err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = ids.Encode(publicid.DeliveryCursor, rows[limit-1].ID).String()
	}
	out := make([]apiDelivery, len(rows))
	for i := range rows {
		out[i] = deliveryJSON(&rows[i].Delivery, rows[i].WebhookName, rows[i].WebhookDeleted)
	}
	maskDeliveryLines(c, out) // privacy.go
	return apiPage(c, out, next)
}

// APIDeliveryList is GET /api/v1/deliveries: the delivery log, newest
// first, with the console's filters and a next cursor.
func (h *Handler) APIDeliveryList(c echo.Context) error { return h.apiDeliveryPage(c, "") }

// APIWebhookDeliveries is GET /api/v1/webhooks/{id}/deliveries.
func (h *Handler) APIWebhookDeliveries(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.apiDeliveryPage(c, w.ID)
}

// deliveryID reads the {id} of a delivery route, a public id (dlv_…);
// anything else, or another account's, is a delivery that does not exist.
func (h *Handler) deliveryID(c echo.Context) (int64, error) {
	return h.store.DeliveryRowID(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
}

func (h *Handler) deliveryDetailJSON(c echo.Context, id int64) (apiDeliveryDetail, error) {
	ctx, acc := c.Request().Context(), currentAccount(c)
	d, err := h.store.Delivery(ctx, acc.ID, id)
	if err != nil {
		return apiDeliveryDetail{}, err
	}
	attempts, err := h.store.Attempts(ctx, acc.ID, d.ID)
	if err != nil {
		return apiDeliveryDetail{}, err
	}
	w, err := h.store.DeliveryWebhook(ctx, acc.ID, d.WebhookID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return apiDeliveryDetail{}, err
	}
	out := apiDeliveryDetail{apiDelivery: deliveryJSON(d, "", w != nil && w.Deleted()), Attempts: make([]apiAttempt, len(attempts)),
		Request: apiHTTPRequest{Method: d.RequestMethod, URL: models.RedactURL(d.RequestURL), Headers: redactedHeaders(d.RequestHeaders.V), Body: string(d.RequestBody)}}
	for i := range attempts {
		out.Attempts[i] = attemptJSON(&attempts[i])
		if i != len(attempts)-1 || d.Status != models.StatusPending {
			out.Attempts[i].NextRetryAt = nil // only the newest attempt of a waiting delivery has a retry ahead
		}
	}
	return out, h.maskDeliveryJSON(c, d.EventID, &out) // privacy.go
}

// APIDeliveryGet is GET /api/v1/deliveries/{id}: the delivery, its stored
// request (secrets redacted) and every attempt, oldest first.
func (h *Handler) APIDeliveryGet(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	out, err := h.deliveryDetailJSON(c, id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, out)
}

// APIDeliveryRedeliver is POST /api/v1/deliveries/{id}/redeliver: the same
// stored request is sent again now as a manual attempt; the answer is that
// attempt (201).
func (h *Handler) APIDeliveryRedeliver(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	if _, err := h.store.Delivery(ctx, acc.ID, id); err != nil {
		return err
	}
	if h.redeliver == nil {
		return errNoRedelivery
	}
	a, err := h.redeliver.Redeliver(ctx, acc.ID, id, actor(c))
	if err != nil {
		return fmt.Errorf("api redeliver %d: %w", id, err)
	}
	if a == nil {
		return fmt.Errorf("api redeliver %d: the dispatcher recorded no attempt", id) // a Redeliverer bug
	}
	if err := h.store.FillAttempt(ctx, a); err != nil {
		return err
	}
	return apiData(c, http.StatusCreated, attemptJSON(a))
}

// APIDeliveryCancel is POST /api/v1/deliveries/{id}/cancel: a waiting
// delivery gets no further attempts.
func (h *Handler) APIDeliveryCancel(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	if _, err := h.store.CancelDelivery(c.Request().Context(), currentAccount(c).ID, id, actor(c)); err != nil {
		return err
	}
	out, err := h.deliveryDetailJSON(c, id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, out)
}
