package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/publicid"
)

// apiHTTPRequest is a request exactly as it was sent (secrets redacted).
type apiHTTPRequest struct {
	Method  string          `json:"method"`
	URL     string          `json:"url"`
	Headers []models.Header `json:"headers"`
	Body    string          `json:"body"`
}

// apiHTTPResponse is what the receiver answered.
type apiHTTPResponse struct {
	Status  int             `json:"status"`
	Headers []models.Header `json:"headers"`
	Body    string          `json:"body"`
}

// apiAttemptError says why an attempt failed.
type apiAttemptError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// apiTestResult is one test send: what the console's test panel shows.
type apiTestResult struct {
	WebhookID  string           `json:"webhook_id"`
	DeliveryID publicid.ID      `json:"delivery_id"`
	EventType  string           `json:"event_type"`
	Success    bool             `json:"success"`
	DurationMS int              `json:"duration_ms"`
	Request    *apiHTTPRequest  `json:"request"`
	Response   *apiHTTPResponse `json:"response"`
	Error      *apiAttemptError `json:"error"`
}

func testResultJSON(w *models.Webhook, eventType string, res *models.TestResult) apiTestResult {
	out := apiTestResult{WebhookID: w.ID, DeliveryID: res.Delivery.PublicID, EventType: eventType}
	a := res.Attempt
	if a == nil {
		out.Error = &apiAttemptError{Kind: "render", Message: res.Delivery.LastError}
		return out
	}
	out.Success, out.DurationMS = a.Succeeded(), a.DurationMS
	out.Request = &apiHTTPRequest{Method: a.RequestMethod, URL: a.RequestURL, Headers: orEmpty(a.RequestHeaders.V), Body: a.RequestBody}
	if a.ResponseStatus != nil {
		out.Response = &apiHTTPResponse{Status: *a.ResponseStatus, Headers: orEmpty(a.ResponseHeaders.V), Body: a.ResponseBody}
	}
	if !out.Success {
		out.Error = &apiAttemptError{Kind: string(a.ErrorKind), Message: a.ErrorMessage}
		if a.ErrorKind == "" {
			out.Error.Kind = "http_status"
		}
	}
	return out
}

// testEventType checks a test body's event type; "" picks fallback.
func testEventType(asked, fallback string) (string, error) {
	if asked == "" {
		asked = fallback
	}
	if !catalog.Subscribable(asked) {
		return "", models.FieldErrors{"event_type": fmt.Sprintf("Unknown event type %q; GET /api/v1/event-types lists them.", asked)}
	}
	return asked, nil
}

// APIWebhookTest is POST /api/v1/webhooks/{id}/test {"event_type": "..."}:
// it sends a sample event now and answers with the exact request sent and
// the response received (200 whether or not the receiver accepted it).
func (h *Handler) APIWebhookTest(c echo.Context) error {
	if h.tester == nil {
		return errNoDispatcher
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	var body struct {
		EventType string `json:"event_type"`
	}
	if err := optionalJSON(c, &body); err != nil {
		return err
	}
	fallback := "call.hangup"
	if len(w.EventTypes) > 0 {
		fallback = w.EventTypes[0]
	}
	eventType, err := testEventType(body.EventType, fallback)
	if err != nil {
		return err
	}
	res, err := h.sendTest(ctx, w, eventType)
	if err != nil {
		return fmt.Errorf("api test send: %w", err)
	}
	return apiData(c, http.StatusOK, testResultJSON(w, eventType, res))
}

// APIWebhookTestAll is POST /api/v1/webhooks/test: a test event to every
// enabled webhook, each sent now, answering {"success", "message_id",
// "results"}. success is true when every receiver accepted it (and false
// when there was no enabled webhook to send to).
func (h *Handler) APIWebhookTestAll(c echo.Context) error {
	if h.tester == nil {
		return errNoDispatcher
	}
	var body struct {
		EventType string `json:"event_type"`
	}
	if err := optionalJSON(c, &body); err != nil {
		return err
	}
	if body.EventType != "" {
		if _, err := testEventType(body.EventType, ""); err != nil {
			return err
		}
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	enabled := true
	hooks, err := h.store.WebhookPage(ctx, acc.ID, models.WebhookQuery{Enabled: &enabled, Limit: models.MaxWebhookLimit})
	if err != nil {
		return err
	}
	out := struct {
		Success   bool            `json:"success"`
		MessageID string          `json:"message_id"`
		SentAt    time.Time       `json:"sent_at"`
		Results   []apiTestResult `json:"results"`
	}{Success: len(hooks) > 0, MessageID: models.NewID("msg_"), SentAt: h.now().UTC(), Results: []apiTestResult{}}
	for i := range hooks {
		w := &hooks[i]
		eventType := body.EventType
		if eventType == "" && len(w.EventTypes) > 0 {
			eventType = w.EventTypes[0]
		}
		if eventType == "" {
			continue
		}
		res, err := h.sendTest(ctx, w, eventType)
		if err != nil {
			return fmt.Errorf("api test send to all: %w", err)
		}
		r := testResultJSON(w, eventType, res)
		out.Success = out.Success && r.Success
		out.Results = append(out.Results, r)
	}
	return c.JSON(http.StatusOK, out)
}
