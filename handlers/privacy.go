package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/pii"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/deliveries"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/settings"
	"github.com/ringhook/ringhook/web/render"
)

// PII-aware history (docs/privacy.md): which answers mask phone numbers
// and callers' names, the audited Reveal of a delivery, and the Privacy
// form of the Settings page.

// masksPII reports whether this request sees masked history: the account
// masks PII and the caller is a console user (any role: owners and admins
// reveal one delivery at a time) or a read-only API key. Full keys are
// the account's own integrations and see everything.
func masksPII(c echo.Context) bool {
	a := currentAccount(c)
	if a == nil || !a.MaskPII {
		return false
	}
	if k := apiKey(c); k != nil {
		return k.Scope == models.ScopeRead
	}
	return true
}

// ctxReveal holds the reveal a DeliveryReveal request asked for.
const ctxReveal = "ringhook.reveal"

// reveal is what an owner or admin revealed: one delivery, all of its
// attempts (attempt 0) or one.
type reveal struct {
	delivery int64
	attempt  int
}

// eventMasker returns the Masker for a delivery's history, or nil when
// this request sees it unmasked. It knows the PII of the delivery's event.
func (h *Handler) eventMasker(c echo.Context, eventID string) (*pii.Masker, error) {
	if !masksPII(c) {
		return nil, nil
	}
	return h.masker(c.Request().Context(), currentAccount(c).ID, eventID)
}

func (h *Handler) masker(ctx context.Context, accountID, eventID string) (*pii.Masker, error) {
	ev, err := h.store.StoredEvent(ctx, accountID, eventID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return pii.New(), nil // the body's own fields are still masked
	case err != nil:
		return nil, err
	}
	return pii.ForEvent(ev.Payload.V), nil
}

// attemptMasker is m unless the request revealed attempt n of delivery id.
func attemptMasker(c echo.Context, m *pii.Masker, id int64, n int) *pii.Masker {
	if r, ok := c.Get(ctxReveal).(reveal); ok && r.delivery == id && (r.attempt == 0 || r.attempt == n) {
		return nil
	}
	return m
}

// maskMessage masks a request or response as the console shows it.
func maskMessage(m *pii.Masker, msg components.Message) components.Message {
	if m == nil {
		return msg
	}
	msg.URL, msg.Body = m.Text(msg.URL), m.Text(msg.Body)
	msg.Headers, msg.Added = maskHeaderLines(m, msg.Headers), maskHeaderLines(m, msg.Added)
	return msg
}

func maskHeaderLines(m *pii.Masker, hs []components.HeaderLine) []components.HeaderLine {
	if len(hs) == 0 {
		return hs
	}
	out := make([]components.HeaderLine, len(hs))
	for i, h := range hs {
		out[i] = components.HeaderLine{Name: h.Name, Value: m.Text(h.Value)}
	}
	return out
}

// maskDetail masks a delivery page's view model for this request and sets
// its Reveal controls.
func (h *Handler) maskDetail(c echo.Context, d *models.Delivery, v *deliveries.Detail) error {
	m, err := h.eventMasker(c, d.EventID)
	if err != nil || m == nil {
		return err
	}
	v.Summary.LastError = m.Text(v.Summary.LastError)
	canReveal := currentUser(c) != nil && currentUser(c).CanWrite()
	v.Timeline.Masked, v.Timeline.CanReveal = true, canReveal
	if r, ok := c.Get(ctxReveal).(reveal); ok && r.delivery == d.ID && r.attempt == 0 {
		v.Timeline.Masked = false
	}
	for i := range v.Timeline.Attempts {
		a := &v.Timeline.Attempts[i]
		n, _ := strconv.Atoi(a.Number)
		am := attemptMasker(c, m, d.ID, n)
		a.Masked, a.CanReveal, a.DeliveryID, a.CSRF = am != nil, canReveal && am != nil, v.Timeline.DeliveryID, v.Timeline.CSRF
		a.Request, a.Response, a.ErrorText = maskMessage(am, a.Request), maskMessage(am, a.Response), am.Text(a.ErrorText)
	}
	return nil
}

// DeliveryReveal shows an owner or admin one delivery unmasked (all its
// attempts, or the one the form names) and records that in the audit log.
func (h *Handler) DeliveryReveal(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	r := reveal{delivery: id}
	if s := strings.TrimSpace(c.FormValue("attempt")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return models.FieldErrors{"attempt": "The attempt to reveal must be a positive number."}
		}
		r.attempt = n
	}
	if err := h.store.RecordReveal(c.Request().Context(), currentAccount(c).ID, actor(c), id, r.attempt); err != nil {
		return err
	}
	h.log.Info("delivery revealed", "account", currentAccount(c).ID, "delivery", id, "attempt", r.attempt, "by", actor(c).Label)
	c.Set(ctxReveal, r)
	d, err := h.deliveryDetail(c, id)
	if err != nil {
		return err
	}
	if masksPII(c) {
		d.Timeline.Notice, d.Timeline.NoticeKind = "Revealed in full for you; this is recorded in the audit log.", layout.FlashInfo
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render.HTML(c, http.StatusOK, deliveries.DetailPage(h.page(c, "Delivery "+d.Summary.ID, "deliveries"), d))
}

// privacyForm is the Privacy form as the account has it.
func privacyForm(a *models.Account) settings.PrivacyForm {
	return settings.PrivacyForm{MaskPII: a.MaskPII, FailedBodiesOnly: a.FailedBodiesOnly,
		BodyRetentionDays: strconv.Itoa(a.BodyRetentionDays), MaxBodyRetentionDays: models.MaxBodyRetentionDays}
}

// SettingsPrivacySave changes the account's privacy settings (their own
// form on the Settings page); a refused value comes back by its field.
func (h *Handler) SettingsPrivacySave(c echo.Context) error {
	a := currentAccount(c)
	pf := settings.PrivacyForm{MaskPII: c.FormValue("mask_pii") != "", FailedBodiesOnly: c.FormValue("failed_bodies_only") != "",
		BodyRetentionDays: strings.TrimSpace(c.FormValue("body_retention_days")), MaxBodyRetentionDays: models.MaxBodyRetentionDays}
	in := models.PrivacySettings{MaskPII: pf.MaskPII, FailedBodiesOnly: pf.FailedBodiesOnly, BodyRetentionDays: -1}
	if pf.BodyRetentionDays == "" {
		in.BodyRetentionDays = 0
	} else if n, err := strconv.Atoi(pf.BodyRetentionDays); err == nil {
		in.BodyRetentionDays = n
	}
	_, err := h.store.UpdatePrivacySettings(c.Request().Context(), a.ID, actor(c), in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		pf.Errors = fe
		f := settingsForm(a)
		f.Privacy = pf
		return h.renderSettings(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	h.log.Info("privacy settings changed", "account", a.ID, "by", actor(c).Label)
	h.flash(c, layout.FlashSuccess, "Privacy settings saved.")
	return c.Redirect(http.StatusSeeOther, "/settings#privacy")
}

// maskDeliveryLines masks the error texts of a page of the delivery log;
// the events are not at hand, so pii.Loose masks long digit runs.
func maskDeliveryLines(c echo.Context, out []apiDelivery) {
	for i := range out {
		out[i].LastError = maskedError(c, out[i].LastError)
	}
}

// maskedError is a delivery's error text as the caller may see it: with
// phone-number-like digits hidden when masksPII (the event is not at hand,
// so pii.Loose). The vendor dialects' delivery logs use it too.
func maskedError(c echo.Context, s string) string {
	if !masksPII(c) {
		return s
	}
	return pii.Loose(s)
}

// maskDeliveryJSON masks an API delivery with its stored request and
// attempts.
func (h *Handler) maskDeliveryJSON(c echo.Context, eventID string, out *apiDeliveryDetail) error {
	m, err := h.eventMasker(c, eventID)
	if err != nil || m == nil {
		return err
	}
	out.LastError = m.Text(out.LastError)
	out.Request = maskAPIRequest(m, out.Request)
	for i := range out.Attempts {
		a := &out.Attempts[i]
		a.Request = maskAPIRequest(m, a.Request)
		if a.Response != nil {
			r := *a.Response
			r.Headers, r.Body = maskHeaders(m, r.Headers), m.Text(r.Body)
			a.Response = &r
		}
		if a.Error != nil {
			e := *a.Error
			e.Message = m.Text(e.Message)
			a.Error = &e
		}
	}
	return nil
}

func maskAPIRequest(m *pii.Masker, r apiHTTPRequest) apiHTTPRequest {
	r.URL, r.Headers, r.Body = m.Text(r.URL), maskHeaders(m, r.Headers), m.Text(r.Body)
	return r
}

func maskHeaders(m *pii.Masker, hs []models.Header) []models.Header {
	out := make([]models.Header, len(hs))
	for i, hd := range hs {
		hd.Value = m.Text(hd.Value)
		out[i] = hd
	}
	return out
}

// maskEventJSON masks a stored event's payload and its deliveries' errors
// for this request.
func maskEventJSON(c echo.Context, ev *apiEvent) {
	if !masksPII(c) {
		return
	}
	m := pii.ForEvent(ev.Payload)
	if p, ok := m.Payload(ev.Payload).(map[string]any); ok {
		ev.Payload = p
	}
	for i := range ev.Deliveries {
		ev.Deliveries[i].LastError = m.Text(ev.Deliveries[i].LastError)
	}
}

// maskNumber masks one phone number shown on its own ("" stays "").
func maskNumber(s string) string {
	if s == "" {
		return s
	}
	return pii.Phone(s)
}
