package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	views "github.com/ringhook/ringhook/views/dashboard"
	"github.com/ringhook/ringhook/web/render"
)

// Dashboard shows the account's delivery health over the last 24 hours.
func (h *Handler) Dashboard(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	stats, err := h.store.WebhookStats(ctx, acc.ID, h.now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	s := views.Summary{Webhooks: len(hooks), SuccessRate: "–"}
	for _, w := range hooks {
		if w.Enabled {
			s.Enabled++
		}
		st := stats[w.ID]
		s.Delivered += st.Succeeded
		s.Failed += st.Failed
		s.Pending += st.Pending
		if rate, ok := st.SuccessRate(); ok && rate < 0.9 {
			s.Failing = append(s.Failing, views.Failing{ID: w.ID, Name: w.Name, Rate: fmt.Sprintf("%.0f%%", rate*100)})
		}
	}
	if done := s.Delivered + s.Failed; done > 0 {
		s.SuccessRate = fmt.Sprintf("%.1f%%", float64(s.Delivered)*100/float64(done))
	}
	return render.HTML(c, http.StatusOK, views.Page(h.page(c, "Dashboard", "dashboard"), s))
}
