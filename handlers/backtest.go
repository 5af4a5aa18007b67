package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/webhooks"
	"github.com/ringhook/ringhook/web/render"
)

// WebhookMatchPreview is the form's filter back-test: what the triggers,
// call types, numbers and filters being edited would have matched among
// the account's last calls, in the MatchesPane beside the form.
func (h *Handler) WebhookMatchPreview(c echo.Context) error {
	params, err := formParams(c)
	if err != nil {
		return err
	}
	f := parseWebhookForm(params)
	f.dropEmptyRows()
	acc := currentAccount(c)
	res, err := h.store.PreviewMatch(c.Request().Context(), acc.ID, f.in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		msg := "Fix the form to see matches."
		if _, ok := fe["event_types"]; ok && len(f.in.EventTypes) == 0 {
			msg = "Choose a trigger to see matches."
		}
		return render.HTML(c, http.StatusOK, webhooks.MatchesPane(webhooks.Matches{Error: msg}))
	}
	if err != nil {
		return err
	}
	loc := acc.Location()
	m := webhooks.Matches{CallsConsidered: res.CallsConsidered, CallsMatched: res.CallsMatched, EventsMatched: res.EventsMatched}
	for _, ex := range res.Examples {
		me := webhooks.MatchExample{Time: components.Time(ex.OccurredAt, loc), Type: ex.Type, From: ex.FromNumber, To: ex.ToNumber}
		if masksPII(c) { // privacy.go
			me.From, me.To = maskNumber(me.From), maskNumber(me.To)
		}
		if ex.CallID != "" {
			me.Link = "/calls/" + url.PathEscape(ex.CallID)
		}
		m.Examples = append(m.Examples, me)
	}
	return render.HTML(c, http.StatusOK, webhooks.MatchesPane(m))
}

type apiMatchExample struct {
	CallID     *string   `json:"call_id"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
}

type apiMatchPreview struct {
	CallsConsidered int               `json:"calls_considered"`
	CallsMatched    int               `json:"calls_matched"`
	EventsMatched   int               `json:"events_matched"`
	Examples        []apiMatchExample `json:"examples"`
}

// APIWebhookPreviewMatch is POST /api/v1/webhooks/preview-match: the body of
// a create (members left out take their defaults; only the matching ones
// are checked) back-tested against the account's last calls.
func (h *Handler) APIWebhookPreviewMatch(c echo.Context) error {
	in, pre, err := readWebhookBody(c, models.NewWebhookInput(currentAccount(c).TimeZone))
	if err != nil {
		return err
	}
	if fe := models.MatchErrors(pre); len(fe) > 0 {
		return fe
	}
	res, err := h.store.PreviewMatch(c.Request().Context(), currentAccount(c).ID, in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return apiFieldNames(fe, in)
	}
	if err != nil {
		return err
	}
	out := apiMatchPreview{CallsConsidered: res.CallsConsidered, CallsMatched: res.CallsMatched, EventsMatched: res.EventsMatched, Examples: []apiMatchExample{}}
	for _, ex := range res.Examples {
		e := apiMatchExample{EventID: ex.EventID, Type: ex.Type, OccurredAt: ex.OccurredAt.UTC()}
		if ex.CallID != "" {
			e.CallID = &ex.CallID
		}
		out.Examples = append(out.Examples, e)
	}
	return apiData(c, http.StatusOK, out)
}
