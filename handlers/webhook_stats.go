package handlers

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/dashboard"
	"github.com/ringhook/ringhook/views/webhooks"
)

// recentOnWebhookPage is how many of its last deliveries a webhook's page lists.
const recentOnWebhookPage = 5

// statsPanels reads a webhook's 24 h and 7 d reports (the Store function
// the API's stats route reads too) and lays them out for its page. It also
// returns the 24 h stat, which the page's health line shows.
func (h *Handler) statsPanels(ctx context.Context, accountID, webhookID string, loc *time.Location) ([]webhooks.StatsPanel, models.WebhookStat, error) {
	var panels []webhooks.StatsPanel
	var day models.WebhookStat
	for _, win := range []struct{ window, id, title, period, unit, label string }{
		{models.Window24h, "stats-24h", "Last 24 hours", "the last 24 hours", "hour", "15:04"},
		{models.Window7d, "stats-7d", "Last 7 days", "the last 7 days", "day", "Mon 2"},
	} {
		rep, err := h.store.WebhookReport(ctx, accountID, webhookID, win.window, loc)
		if err != nil {
			return nil, day, err
		}
		if win.window == models.Window24h {
			day = rep.Stat
		}
		st := rep.Stat
		p := webhooks.StatsPanel{ID: win.id, Title: win.title, Deliveries: strconv.Itoa(st.Deliveries()), Attempts: strconv.Itoa(st.Attempts),
			SuccessRate: rateText(st), P50: quantileText(st.Latency, 0.5), P95: quantileText(st.Latency, 0.95),
			LastSuccess: whenText(st.LastSuccessAt, loc), LastFailure: whenText(st.LastFailureAt, loc)}
		bars, lat := make([]dashboard.Hour, len(rep.Series)), make([]dashboard.Latency, len(rep.Series))
		for i, b := range rep.Series {
			start, end := b.Start.In(loc), b.End.In(loc)
			span := start.Format("2 Jan 15:04") + "–" + end.Format("15:04")
			if win.unit == "day" {
				span = start.Format("Mon 2 Jan")
			}
			bars[i] = dashboard.Hour{Label: start.Format(win.label), Span: span, Succeeded: b.Succeeded, Failed: b.Failed, Retried: b.Retried}
			p50, ok := b.Latency.Quantile(0.5)
			p95, _ := b.Latency.Quantile(0.95)
			lat[i] = dashboard.Latency{Span: span, P50: p50, P95: p95, Has: ok}
			p.Rows = append(p.Rows, webhooks.StatsRow{Span: span, Succeeded: strconv.Itoa(b.Succeeded), Failed: strconv.Itoa(b.Failed),
				Retried: strconv.Itoa(b.Retried), P50: quantileText(b.Latency, 0.5), P95: quantileText(b.Latency, 0.95)})
		}
		tick := 6
		if win.unit == "day" {
			tick = 1
		}
		p.Bars = dashboard.NewChartFor(dashboard.ChartOptions{ID: win.id + "-bars", Title: "Attempts per " + win.unit + ", " + strings.ToLower(win.title),
			Period: win.period, Unit: win.unit, TickEvery: tick}, bars)
		p.Latency = dashboard.NewLatencyChart(win.id+"-latency", "Latency p50 and p95 per "+win.unit+", "+strings.ToLower(win.title), win.period, lat)
		panels = append(panels, p)
	}
	return panels, day, nil
}

// recentDeliveries are a webhook's last deliveries for its page.
func (h *Handler) recentDeliveries(ctx context.Context, accountID, webhookID string, loc *time.Location) ([]webhooks.RecentDelivery, error) {
	rows, err := h.store.Deliveries(ctx, accountID, models.DeliveryFilter{WebhookID: webhookID, Limit: recentOnWebhookPage})
	if err != nil {
		return nil, err
	}
	out := make([]webhooks.RecentDelivery, len(rows))
	for i, r := range rows {
		status := string(r.Status)
		if r.Test {
			status += " · test"
		}
		out[i] = webhooks.RecentDelivery{ID: r.PublicID.String(), Time: components.Time(r.CreatedAt, loc),
			Event: triggerLabel(r.EventType), Status: status, StatusKind: deliveryStatusKind(r.Status)}
	}
	return out, nil
}

// streakText is a webhook's failure streak in words.
func streakText(w *models.Webhook, loc *time.Location) string {
	if w.ConsecutiveFailures == 0 {
		return "None: the last attempt succeeded (or none was made)."
	}
	s := plural(w.ConsecutiveFailures, "failed attempt", "failed attempts") + " in a row"
	if w.FailingSince != nil {
		s += " since " + w.FailingSince.In(loc).Format("Jan 2, 15:04 MST")
	}
	return s
}

// pausedText is the circuit breaker's state in words (see
// models.BreakerFailures), empty while it is closed: paused until a time,
// or, once that time has passed and until a success closes it, sending one
// delivery at a time to test the receiver.
func pausedText(w *models.Webhook, now time.Time, loc *time.Location) string {
	if w.PausedUntil == nil {
		return ""
	}
	after := plural(w.ConsecutiveFailures, "failure", "failures") + " in a row"
	if w.Paused(now) {
		return "Paused until " + w.PausedUntil.In(loc).Format("Jan 2, 15:04:05 MST") + ", after " + after
	}
	return "Testing the receiver with one delivery at a time, after " + after
}

// webhookLogURL is the delivery log filtered to one webhook.
func webhookLogURL(id string) string { return "/deliveries?" + url.Values{"webhook": {id}}.Encode() }

func quantileText(h models.Histogram, q float64) string {
	if ms, ok := h.Quantile(q); ok {
		return dashboard.MS(ms)
	}
	return "–"
}

func whenText(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "none"
	}
	return t.In(loc).Format("Jan 2, 15:04 MST")
}
