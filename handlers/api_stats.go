package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
)

// statsJSON is a webhook's report in the API (WebhookStats in openapi.json).
type statsJSON struct {
	WebhookID     string           `json:"webhook_id"`
	Window        string           `json:"window"`
	TimeZone      string           `json:"time_zone"`
	From          time.Time        `json:"from"`
	To            time.Time        `json:"to"`
	Deliveries    int              `json:"deliveries"`
	Succeeded     int              `json:"succeeded"`
	Failed        int              `json:"failed"`
	Attempts      int              `json:"attempts"`
	Retried       int              `json:"retried"`
	SuccessRate   *float64         `json:"success_rate"`
	LatencyMS     latencyJSON      `json:"latency_ms"`
	LastSuccessAt *time.Time       `json:"last_success_at"`
	LastFailureAt *time.Time       `json:"last_failure_at"`
	FailureStreak int              `json:"failure_streak"`
	FailingSince  *time.Time       `json:"failing_since"`
	Pending       int              `json:"pending"`
	Retrying      int              `json:"retrying"`
	Series        []statsPointJSON `json:"series"`
}

type latencyJSON struct {
	P50 *int `json:"p50"`
	P95 *int `json:"p95"`
}

type statsPointJSON struct {
	Start     time.Time   `json:"start"`
	End       time.Time   `json:"end"`
	Attempts  int         `json:"attempts"`
	Succeeded int         `json:"succeeded"`
	Failed    int         `json:"failed"`
	Retried   int         `json:"retried"`
	LatencyMS latencyJSON `json:"latency_ms"`
}

// quantiles is a histogram's p50 and p95, null when it is empty.
func quantiles(h models.Histogram) latencyJSON {
	var out latencyJSON
	if p, ok := h.Quantile(0.5); ok {
		out.P50 = &p
	}
	if p, ok := h.Quantile(0.95); ok {
		out.P95 = &p
	}
	return out
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// APIWebhookStats is GET /api/v1/webhooks/{id}/stats?window=24h|7d: the
// same report as the webhook's console page, buckets in the account's
// time zone (hours for 24h, days for 7d).
func (h *Handler) APIWebhookStats(c echo.Context) error {
	acc := currentAccount(c)
	window := c.QueryParam("window")
	if window == "" {
		window = models.Window24h
	}
	loc := acc.Location()
	rep, err := h.store.WebhookReport(c.Request().Context(), acc.ID, c.Param("id"), window, loc)
	if err != nil {
		return err
	}
	st := rep.Stat
	out := statsJSON{WebhookID: c.Param("id"), Window: rep.Window, TimeZone: loc.String(), Deliveries: st.Deliveries(),
		Succeeded: st.Succeeded, Failed: st.Failed, Attempts: st.Attempts, Retried: st.Retried, LatencyMS: quantiles(st.Latency),
		LastSuccessAt: utcOrNil(st.LastSuccessAt), LastFailureAt: utcOrNil(st.LastFailureAt), FailureStreak: rep.Streak,
		FailingSince: utcOrNil(rep.FailingSince), Pending: st.Pending, Retrying: st.Retrying, Series: make([]statsPointJSON, len(rep.Series))}
	if rate, ok := st.SuccessRate(); ok {
		out.SuccessRate = &rate
	}
	for i, b := range rep.Series {
		out.Series[i] = statsPointJSON{Start: b.Start.UTC(), End: b.End.UTC(), Attempts: b.Attempts, Succeeded: b.Succeeded,
			Failed: b.Failed, Retried: b.Retried, LatencyMS: quantiles(b.Latency)}
	}
	if n := len(rep.Series); n > 0 {
		out.From, out.To = rep.Series[0].Start.UTC(), rep.Series[n-1].End.UTC()
	}
	return apiData(c, http.StatusOK, out)
}
