package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/dashboard"
	"github.com/ringhook/ringhook/web/render"
)

// dashboardFailures is how many recent failed deliveries the dashboard lists.
const dashboardFailures = 5

// Dashboard shows the account's delivery health over the last 24 hours:
// the counters, an hourly chart and the most recent failures.
func (h *Handler) Dashboard(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	now, loc := h.now(), acc.Location()
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	stats, err := h.store.WebhookStats(ctx, acc.ID, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	// 24 hourly buckets ending with the current hour.
	buckets, err := h.store.DeliveryCounts(ctx, acc.ID, now.Add(-23*time.Hour), 24)
	if err != nil {
		return err
	}
	failed, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{Status: models.StatusFailed, Limit: dashboardFailures})
	if err != nil {
		return err
	}
	s := dashboard.Summary{Webhooks: len(hooks), SuccessRate: "–", TimeZone: loc.String()}
	for _, w := range hooks {
		if w.Enabled {
			s.Enabled++
		}
		st := stats[w.ID]
		s.Delivered += st.Succeeded
		s.Failed += st.Failed
		s.Pending += st.Pending
		if rate, ok := st.SuccessRate(); ok && rate < 0.9 {
			s.Failing = append(s.Failing, dashboard.Failing{ID: w.ID, Name: w.Name, Rate: fmt.Sprintf("%.0f%%", rate*100)})
		}
	}
	if done := s.Delivered + s.Failed; done > 0 {
		s.SuccessRate = fmt.Sprintf("%.1f%%", float64(s.Delivered)*100/float64(done))
	}
	s.Chart = dashboard.NewChart(chartHours(buckets, loc))
	for i := range failed {
		s.Failures = append(s.Failures, failureView(&failed[i], loc))
	}
	return render.HTML(c, http.StatusOK, dashboard.Page(h.page(c, "Dashboard", "dashboard"), s))
}

// chartHours labels the hourly buckets in the account's time zone.
func chartHours(buckets []models.Bucket, loc *time.Location) []dashboard.Hour {
	out := make([]dashboard.Hour, len(buckets))
	for i, b := range buckets {
		start := b.Start.In(loc)
		out[i] = dashboard.Hour{Label: start.Format("15:04"), Span: start.Format("2 Jan 15:04") + "–" + start.Add(time.Hour).Format("15:04"),
			Succeeded: b.Succeeded, Failed: b.Failed, Pending: b.Pending}
	}
	return out
}

// maxFailureReason bounds the error text shown in the recent failures list.
const maxFailureReason = 80

func failureView(r *models.DeliveryRow, loc *time.Location) dashboard.Failure {
	reason := "failed"
	switch {
	case r.LastStatusCode != nil:
		reason = "HTTP " + strconv.Itoa(*r.LastStatusCode)
	case r.LastError != "":
		reason = shorten(r.LastError, maxFailureReason)
	}
	return dashboard.Failure{ID: strconv.FormatInt(r.ID, 10), Time: r.CreatedAt.In(loc).Format(deliveryTimeLayout),
		EventLabel: triggerLabel(r.EventType), WebhookName: r.WebhookName, Reason: reason, Test: r.Test}
}
