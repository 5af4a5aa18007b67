package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/calls"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/web/render"
)

// CallShow shows one call: its events in time order, each with every
// webhook's delivery of it.
func (h *Handler) CallShow(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	callID := c.Param("call_id")
	if c.Request().URL.RawPath != "" {
		// The router matched the escaped path: the parameter is escaped too.
		s, err := url.PathUnescape(callID)
		if err != nil {
			return models.ErrNotFound
		}
		callID = s
	}
	if !deliveryPrintable(callID) || len(callID) > maxCallIDLength*4 {
		return models.ErrNotFound
	}
	evs, err := h.store.CallTimeline(ctx, acc.ID, callID)
	if err != nil {
		return err
	}
	loc := acc.Location()
	v := calls.Call{CallID: callID, TimeZone: loc.String()}
	for _, e := range evs {
		ev := calls.Event{ID: e.Event.ID, Type: e.Event.Type, Label: triggerLabel(e.Event.Type), Time: components.Time(e.Event.OccurredAt, loc)}
		for i := range e.Deliveries {
			d := &e.Deliveries[i]
			ev.Test = ev.Test || d.Test
			ev.Deliveries = append(ev.Deliveries, calls.Delivery{ID: d.PublicID.String(), WebhookID: d.WebhookID, WebhookName: d.WebhookName, WebhookDeleted: d.WebhookDeleted,
				Status: string(d.Status), StatusKind: deliveryStatusKind(d.Status), Attempts: strconv.Itoa(d.AttemptCount),
				LastCode: deliveryStatusCode(d.LastStatusCode), Latency: latencyText(d.LastDurationMS), NextRetry: nextRetryText(&d.Delivery, loc)})
		}
		v.Events = append(v.Events, ev)
	}
	return render.HTML(c, http.StatusOK, calls.Page(h.page(c, "Call "+callID, "deliveries"), v))
}

// callURL is the call view's address for callID ("" when there is none).
func callURL(callID *string) string {
	if callID == nil || *callID == "" {
		return ""
	}
	return "/calls/" + url.PathEscape(*callID)
}

// latencyText is the newest attempt's duration, or "–" before the first.
func latencyText(ms *int) string {
	if ms == nil {
		return "–"
	}
	return attemptDuration(*ms)
}

// nextRetryText is when a waiting delivery is tried next, "" when it is
// not waiting.
func nextRetryText(d *models.Delivery, loc *time.Location) string {
	switch {
	case d.Status == models.StatusSending:
		return "being sent now"
	case d.Status != models.StatusPending || d.NextAttemptAt == nil:
		return ""
	}
	return components.Time(*d.NextAttemptAt, loc)
}
