package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/pii"
	"github.com/ringhook/ringhook/views/components"
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
	// 24 whole local hours ending with the current one; the counters,
	// the chart and the failures list cover the same span.
	hours := models.LocalHours(now, loc, 24)
	since, live := hours[0], false
	stats, err := h.store.WebhookStats(ctx, acc.ID, since)
	if err != nil {
		return err
	}
	buckets, err := h.store.DeliveryCounts(ctx, acc.ID, hours)
	if err != nil {
		return err
	}
	// The same deliveries the counters count: failing ones (ended failed or
	// retrying after a failed attempt), tests left out.
	failed, err := h.store.Deliveries(ctx, acc.ID, models.DeliveryFilter{Failing: true, Test: &live, From: &since, Limit: dashboardFailures})
	if err != nil {
		return err
	}
	s := dashboard.Summary{Webhooks: len(hooks), SuccessRate: "–", TimeZone: loc.String()}
	var total models.WebhookStat
	for i := range hooks {
		w := &hooks[i]
		if w.Enabled {
			s.Enabled++
		}
		st := stats[w.ID]
		s.Delivered += st.Succeeded
		s.Failed += st.Failed + st.Retrying
		s.Pending += st.Pending
		total.Attempts += st.Attempts
		total.Succeeded += st.Succeeded
		if w.Health(st) == models.HealthFailing {
			s.Failing = append(s.Failing, dashboard.Failing{ID: w.ID, Name: w.Name, Rate: rateText(st), Why: failingWhy(w, st)})
		}
	}
	if rate, ok := total.SuccessRate(); ok {
		s.SuccessRate = fmt.Sprintf("%.1f%%", rate*100)
	}
	s.Chart = dashboard.NewChart(chartHours(buckets, loc))
	for i := range failed {
		s.Failures = append(s.Failures, failureView(&failed[i], loc))
		if masksPII(c) { // privacy.go: the events are not at hand
			s.Failures[len(s.Failures)-1].Reason = pii.Loose(s.Failures[len(s.Failures)-1].Reason)
		}
	}
	return render.HTML(c, http.StatusOK, dashboard.Page(h.page(c, "Dashboard", "dashboard"), s))
}

// rateText is a webhook's attempt success rate over the last 24 hours, or "–".
func rateText(st models.WebhookStat) string {
	if rate, ok := st.SuccessRate(); ok {
		return fmt.Sprintf("%.1f%%", rate*100)
	}
	return "–"
}

// failingWhy says in words why a webhook counts as failing.
func failingWhy(w *models.Webhook, st models.WebhookStat) string {
	var parts []string
	if w.ConsecutiveFailures > 0 {
		parts = append(parts, plural(w.ConsecutiveFailures, "failed attempt", "failed attempts")+" in a row")
	}
	if st.Retrying > 0 {
		parts = append(parts, plural(st.Retrying, "delivery", "deliveries")+" retrying")
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// chartHours labels the hourly buckets in the account's time zone.
func chartHours(buckets []models.Bucket, loc *time.Location) []dashboard.Hour {
	out := make([]dashboard.Hour, len(buckets))
	for i, b := range buckets {
		start := b.Start.In(loc)
		out[i] = dashboard.Hour{Label: start.Format("15:04"), Span: start.Format("2 Jan 15:04") + "–" + start.Add(time.Hour).Format("15:04 MST"),
			Succeeded: b.Succeeded, Failed: b.Failed, Retried: b.Retried}
	}
	return out
}

// maxFailureReason bounds the error text shown in the recent failures list.
const maxFailureReason = 80

func failureView(r *models.DeliveryRow, loc *time.Location) dashboard.Failure {
	reason := "failed"
	if r.Status != models.StatusFailed {
		reason = "retrying"
	}
	switch {
	case r.LastStatusCode != nil:
		reason = "HTTP " + strconv.Itoa(*r.LastStatusCode)
	case r.LastError != "":
		reason = shorten(r.LastError, maxFailureReason)
	}
	return dashboard.Failure{ID: r.PublicID.String(), Time: components.Time(r.CreatedAt, loc),
		EventLabel: triggerLabel(r.EventType), WebhookName: r.WebhookName, Reason: reason, Test: r.Test,
		Retrying: r.Status != models.StatusFailed, CallID: deref(r.CallID), CallURL: callURL(r.CallID)}
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
