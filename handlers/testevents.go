package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/webhooks"
	"github.com/ringhook/ringhook/web/render"
)

// Tester sends test events through the dispatcher's normal path.
type Tester interface {
	SendTest(ctx context.Context, w *models.Webhook, eventType string) (*models.TestResult, error)
	SendTestToAll(ctx context.Context, accountID string, hooks []models.Webhook) (int, error)
}

// sendTest sends a test event through the dispatcher and gives its
// delivery (and attempt) their public ids.
func (h *Handler) sendTest(ctx context.Context, w *models.Webhook, eventType string) (*models.TestResult, error) {
	res, err := h.tester.SendTest(ctx, w, eventType)
	if err != nil {
		return nil, err
	}
	ids, err := h.store.PublicIDs(ctx)
	if err != nil {
		return nil, err
	}
	res.Delivery.PublicID = ids.Delivery(res.Delivery.ID)
	if res.Attempt != nil {
		if err := h.store.FillAttempt(ctx, res.Attempt); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// testPanel offers the webhook's own triggers first, then every other type.
func testPanel(w *models.Webhook, selected string) webhooks.TestPanel {
	p := webhooks.TestPanel{WebhookID: w.ID}
	if selected == "" && len(w.EventTypes) > 0 {
		selected = w.EventTypes[0]
	}
	add := func(id string) {
		p.Options = append(p.Options, webhooks.Option{Value: id, Label: triggerLabel(id), Checked: id == selected})
	}
	for _, id := range w.EventTypes {
		add(id)
	}
	for _, t := range catalog.Types() {
		if catalog.Subscribable(t.ID) && !slices.Contains(w.EventTypes, t.ID) {
			add(t.ID)
		}
	}
	return p
}

// WebhookTest sends a sample event of the chosen type and shows the request
// and response inline (htmx), or on the webhook's page.
func (h *Handler) WebhookTest(c echo.Context) error {
	if h.tester == nil {
		return errNoDispatcher
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	eventType := c.FormValue("event_type")
	if !catalog.Subscribable(eventType) {
		return fault.FieldErrors{"event_type": fmt.Sprintf("Unknown trigger %q.", eventType)}
	}
	res, err := h.sendTest(ctx, w, eventType)
	if err != nil {
		return err
	}
	view := testResultView(res, eventType)
	if render.IsHTMX(c) {
		return render.HTML(c, http.StatusOK, webhooks.TestResultView(view))
	}
	panel := testPanel(w, eventType)
	panel.Result = &view
	return h.renderDetail(c, w, &panel)
}

func testResultView(res *models.TestResult, eventType string) webhooks.TestResult {
	v := webhooks.TestResult{Trigger: triggerLabel(eventType), DeliveryID: res.Delivery.PublicID.String()}
	a := res.Attempt
	if a == nil {
		v.Badge, v.Error = "render error", res.Delivery.LastError
		return v
	}
	v.OK = a.Succeeded()
	v.Duration = fmt.Sprintf("%d ms", a.DurationMS)
	v.Badge, v.Error = attemptLabel(a), attemptErrorText(a)
	v.Request, v.HasResponse, v.Response = requestMessage(a, res.Request.Headers), a.ResponseStatus != nil, responseMessage(a)
	return v
}

func headerLines(hs []models.Header) []webhooks.HeaderLine {
	out := make([]webhooks.HeaderLine, len(hs))
	for i, h := range hs {
		out[i] = webhooks.HeaderLine{Name: h.Name, Value: h.Value}
	}
	return out
}

// testAll queues a test event for every enabled webhook of the signed-in
// account (console) or the key's account (APIs) and says how many.
func (h *Handler) testAll(c echo.Context) (int, error) {
	if h.tester == nil {
		return 0, errNoDispatcher
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return 0, err
	}
	n, err := h.tester.SendTestToAll(ctx, acc.ID, hooks)
	if err != nil && !errors.Is(err, context.Canceled) {
		return 0, fmt.Errorf("test all webhooks: %w", err)
	}
	return n, nil
}

// WebhookTestAll queues a test event for every enabled webhook (the
// backend seed's POST /webhooks/test).
func (h *Handler) WebhookTestAll(c echo.Context) error {
	n, err := h.testAll(c)
	if err != nil {
		return err
	}
	if n == 0 {
		h.flash(c, layout.FlashInfo, "No enabled webhooks to test.")
	} else {
		h.flash(c, layout.FlashSuccess, fmt.Sprintf("Queued a test event for %d enabled webhook(s). Results appear in Deliveries.", n))
	}
	return render.Redirect(c, "/deliveries")
}
