package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/webhooks"
	"github.com/ringhook/ringhook/web/render"
)

// WebhookList shows the account's webhooks with 24-hour delivery health.
func (h *Handler) WebhookList(c echo.Context) error {
	ctx := c.Request().Context()
	acc := currentAccount(c)
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	stats, err := h.store.WebhookStats(ctx, acc.ID, h.now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	rows := make([]webhooks.Row, len(hooks))
	for i := range hooks {
		rows[i] = h.webhookRow(&hooks[i], stats[hooks[i].ID], acc.Location())
	}
	return render.HTML(c, http.StatusOK, webhooks.List(h.page(c, "Webhooks", "webhooks"), rows, currentUser(c).CanWrite()))
}

func (h *Handler) webhookRow(w *models.Webhook, st models.WebhookStat, loc *time.Location) webhooks.Row {
	r := webhooks.Row{ID: w.ID, Name: w.Name, URL: models.RedactURL(w.URL), Method: w.Method, Enabled: w.Enabled,
		DisabledReason: disabledNote(w, loc), SuccessRate: "–", P95: "–", LastDelivery: "never", LastStatus: "muted"}
	for _, t := range w.EventTypes {
		r.Triggers = append(r.Triggers, triggerLabel(t))
	}
	r.SuccessRate = rateText(st)
	switch w.Health(st) {
	case models.HealthFailing:
		r.Health, r.HealthLabel = "bad", "Failing: "+failingWhy(w, st)
	case models.HealthOK:
		r.Health, r.HealthLabel = "ok", "Healthy"
	default:
		r.Health, r.HealthLabel = "muted", "No recent deliveries"
	}
	if w.Enabled {
		r.Paused = pausedText(w, h.now(), loc)
	}
	if p95, ok := st.Latency.Quantile(0.95); ok {
		r.P95 = attemptDuration(p95)
	}
	if last := st.LastAt(); last != nil {
		r.LastDelivery, r.LastStatus = ago(h.now().Sub(*last))+" · failed", "bad"
		if st.LastSucceeded() {
			r.LastDelivery, r.LastStatus = ago(h.now().Sub(*last))+" · succeeded", "ok"
		}
	}
	return r
}

func triggerLabel(id string) string {
	if t, ok := catalog.Lookup(id); ok {
		return t.Label
	}
	return id
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// WebhookNew shows an empty Add Webhook form.
func (h *Handler) WebhookNew(c echo.Context) error {
	in := models.NewWebhookInput(currentAccount(c).TimeZone)
	return h.renderForm(c, http.StatusOK, formState{in: in})
}

// formState is what the Add/Edit webhook form shows.
type formState struct {
	id        string              // the webhook being edited; "" for a new one
	in        models.WebhookInput // the values in the fields
	raw       url.Values          // the submitted form, to show mistyped numbers as typed; nil on first show
	errs      models.FieldErrors  // problems next to their fields
	hasSecret bool                // an auth secret is stored, so a blank secret field keeps it
	focus     int                 // the header row to focus after a row op (webhooks.Form.FocusRow)
}

func (h *Handler) renderForm(c echo.Context, status int, s formState) error {
	numbers, err := h.store.PhoneNumbers(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	f := formView(s, numbers)
	f.URLWarning = h.urlWarning(c, s.in.URL)
	title := "Add webhook"
	f.Action = "/webhooks"
	if s.id != "" {
		title, f.Action = "Edit webhook", "/webhooks/"+s.id+"/edit"
	}
	if render.IsHTMX(c) {
		return render.HTML(c, status, webhooks.FormBody(csrfToken(c), f))
	}
	return render.HTML(c, status, webhooks.FormPage(h.page(c, title, "webhooks"), f))
}

// WebhookCheckURL answers the form's URL field as it changes: a warning
// when deliveries to the URL would be refused, else nothing.
func (h *Handler) WebhookCheckURL(c echo.Context) error {
	return render.HTML(c, http.StatusOK, webhooks.URLWarning(h.urlWarning(c, c.FormValue("url"))))
}

// urlWarning is the form's text for a URL the dispatcher's SSRF rule
// refuses (the rule itself is the dispatcher's: TargetChecker).
func (h *Handler) urlWarning(c echo.Context, rawURL string) string {
	if h.targets == nil || strings.TrimSpace(rawURL) == "" {
		return ""
	}
	why := h.targets.TargetRefusal(c.Request().Context(), rawURL)
	if why == "" {
		return ""
	}
	return "Deliveries to this URL will be refused: " + why + ". Ringhook sends only to public addresses; " +
		"an operator can allow a network with RINGHOOK_ALLOW_CIDRS."
}

// WebhookCreate saves a new webhook, or shows the form again with errors.
func (h *Handler) WebhookCreate(c echo.Context) error {
	return h.saveWebhook(c, "", false)
}

// WebhookEdit shows the Edit form for a webhook of the account.
func (h *Handler) WebhookEdit(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, formState{id: w.ID, in: models.InputFrom(w), hasSecret: w.AuthSecret != ""})
}

// WebhookUpdate saves changes to a webhook.
func (h *Handler) WebhookUpdate(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.saveWebhook(c, w.ID, w.AuthSecret != "")
}

func (h *Handler) saveWebhook(c echo.Context, id string, hasSecret bool) error {
	params, err := formParams(c)
	if err != nil {
		return err
	}
	f := parseWebhookForm(params)
	if f.applyRowOp() {
		return h.renderForm(c, http.StatusOK, formState{id: id, in: f.in, raw: f.raw, hasSecret: hasSecret, focus: f.focus})
	}
	f.dropEmptyRows()
	ctx, acc := c.Request().Context(), currentAccount(c)
	if len(f.errors) > 0 {
		// Report every problem at once: number parse errors plus validation.
		fe, err := h.store.ValidateWebhook(ctx, acc.ID, id, f.in)
		if err != nil {
			return err
		}
		for k, v := range fe {
			f.errors.Add(k, v)
		}
		return h.renderForm(c, http.StatusUnprocessableEntity, formState{id: id, in: f.in, raw: f.raw, errs: f.errors, hasSecret: hasSecret})
	}
	var w *models.Webhook
	if id == "" {
		w, err = h.store.CreateWebhook(ctx, acc.ID, actor(c), f.in)
	} else {
		w, err = h.store.UpdateWebhook(ctx, acc.ID, id, actor(c), f.in)
	}
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return h.renderForm(c, http.StatusUnprocessableEntity, formState{id: id, in: f.in, raw: f.raw, errs: fe, hasSecret: hasSecret})
	}
	if err != nil {
		return err
	}
	verb := "created"
	if id != "" {
		verb = "saved"
	}
	h.flash(c, layout.FlashSuccess, fmt.Sprintf("Webhook %q %s.", w.Name, verb))
	return render.Redirect(c, "/webhooks/"+w.ID)
}

// WebhookShow shows one webhook's configuration and signing secret.
func (h *Handler) WebhookShow(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	panel := testPanel(w, "")
	return h.renderDetail(c, w, &panel)
}

// renderDetail renders a webhook's page with its test panel.
func (h *Handler) renderDetail(c echo.Context, w *models.Webhook, panel *webhooks.TestPanel) error {
	return h.renderDetailSecret(c, w, panel, maskSecret(w.SigningSecret))
}

// renderDetailSecret is renderDetail showing secret where the mask goes.
func (h *Handler) renderDetailSecret(c echo.Context, w *models.Webhook, panel *webhooks.TestPanel, secret string) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	loc := acc.Location()
	panels, day, err := h.statsPanels(ctx, acc.ID, w.ID, loc)
	if err != nil {
		return err
	}
	recent, err := h.recentDeliveries(ctx, acc.ID, w.ID, loc)
	if err != nil {
		return err
	}
	d := webhooks.Detail{Row: h.webhookRow(w, day, loc), Stats: panels, Recent: recent, Streak: streakText(w, loc), LogURL: webhookLogURL(w.ID),
		Zone: loc.String(), Description: w.Description, ContentType: w.ContentType,
		CallTypes: listOrAll(w.CallTypes, "all call types"), Numbers: listOrAll(w.DIDNumbers, "all numbers"),
		TimeZone: w.TimeZone, Auth: authSummary(w), MaxAttempts: w.MaxAttempts, Timeout: strconv.FormatFloat(w.Timeout().Seconds(), 'f', -1, 64) + " s",
		DeleteKeeps: deleteNotice(acc), SecretMasked: secret, SecretRevealed: secret != maskSecret(w.SigningSecret), CreatedBy: w.CreatedBy,
		UpdatedAt: components.Time(w.UpdatedAt, acc.Location()) + " by " + w.UpdatedBy, CanWrite: currentUser(c).CanWrite()}
	if w.Method == models.MethodGET {
		d.ContentType = "query string (GET)"
	}
	d.SecretRotated, d.RotateConfirm = rotationNote(w, h.now(), acc.Location()), rotateConfirm(acc)
	if d.Heal, err = h.healView(ctx, w, loc); err != nil {
		return err
	}
	since := replaySince(w, h.now())
	if d.ReplayCount, err = h.store.CountRetryFailed(ctx, acc.ID, models.RetryFailed{WebhookID: w.ID, Since: since}); err != nil {
		return err
	}
	d.ReplayLabel = "Replay " + plural(d.ReplayCount, "failed delivery", "failed deliveries")
	d.ReplayFailed = plural(d.ReplayCount, "delivery", "deliveries")
	if !w.Enabled && d.DisabledReason == "" {
		d.DisabledReason = "It was turned off."
		if w.DisabledAt != nil {
			d.DisabledReason = "It was turned off " + components.Time(*w.DisabledAt, loc) + "."
		}
	}
	if d.CanWrite && w.Enabled { // a disabled webhook's one control is the banner's Re-enable
		f, err := h.retryForm(ctx, c, w, nil)
		if err != nil {
			return err
		}
		d.Retry = &f
	}
	d.ReplaySince, d.ReplaySinceLabel = since.Format(time.RFC3339Nano), components.Time(since, acc.Location())
	for _, hd := range w.Headers.V {
		d.Headers = append(d.Headers, webhooks.HeaderLine{Name: hd.Name, Value: models.RedactHeader(hd).Value})
	}
	for _, kv := range models.InputFrom(w).CustomData {
		val := models.ScalarString(kv.Value)
		if k := models.ScalarKind(kv.Value); k != models.ScalarText {
			val += " (" + k + ")"
		}
		d.CustomData = append(d.CustomData, webhooks.HeaderLine{Name: kv.Key, Value: val})
	}
	d.CustomMode = "Sent nested under custom_data."
	if w.CustomDataMode == models.CustomDataMerged {
		d.CustomMode = "Merged at the top level of the payload, overriding event fields."
	}
	for _, f := range w.Filters.V {
		op := "is one of"
		if f.Op == "not_in" {
			op = "is not one of"
		}
		d.Filters = append(d.Filters, fmt.Sprintf("%s %s %s", f.Field, op, strings.Join(f.Values, ", ")))
	}
	return render.HTML(c, http.StatusOK, webhooks.DetailPage(h.page(c, w.Name, "webhooks"), d, *panel, nil))
}

// healView is the probe state of w (disabled automatically, or re-enabled
// by a probe) and its latest probes.
func (h *Handler) healView(ctx context.Context, w *models.Webhook, loc *time.Location) (webhooks.Heal, error) {
	var v webhooks.Heal
	if !w.DisabledAuto && w.HealedAt == nil {
		return v, nil
	}
	last := ""
	if w.ProbeLastResult != "" {
		last = ", last: " + w.ProbeLastResult
	}
	switch {
	case w.Enabled && w.HealedAt != nil:
		v.Healed = fmt.Sprintf("Re-enabled automatically at %s after a successful probe; %s replayed.", components.Time(*w.HealedAt, loc),
			plural(w.HealedReplayed, "delivery", "deliveries"))
	case w.ProbeGaveUpAt != nil:
		v.GaveUp = fmt.Sprintf("Probing stopped at %s: the endpoint failed every probe for 3 days (%s%s). Fix it, then enable the webhook.",
			components.Time(*w.ProbeGaveUpAt, loc), plural(w.ProbeCount, "probe", "probes"), last)
	case w.ProbeNextAt != nil:
		v.Probing = fmt.Sprintf("Ringhook probes the endpoint and enables the webhook again at the first 2xx: next probe at %s; %s so far%s.",
			components.Time(*w.ProbeNextAt, loc), plural(w.ProbeCount, "probe", "probes"), last)
	}
	probes, err := h.store.ProbeAttempts(ctx, w.AccountID, w.ID, 20)
	if err != nil {
		return v, err
	}
	for _, p := range probes {
		kind := "bad"
		if p.Succeeded() {
			kind = "ok"
		}
		v.Probes = append(v.Probes, webhooks.ProbeRow{Number: strconv.Itoa(p.Number), Time: components.Time(p.StartedAt, loc),
			Result: p.Result(), Kind: kind, Duration: strconv.Itoa(p.DurationMS) + " ms"})
	}
	return v, nil
}

// utcStampRE finds the UTC stamps that disable reasons stored before
// reasons left times out ("… since 2026-04-09 07:24 UTC …").
var utcStampRE = regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC\b`)

// disabledNote is a disabled webhook's reason and when it was disabled, in
// the account's zone; older stored reasons have their UTC stamps converted.
func disabledNote(w *models.Webhook, loc *time.Location) string {
	note := utcStampRE.ReplaceAllStringFunc(w.DisabledReason, func(m string) string {
		t, err := time.ParseInLocation("2006-01-02 15:04", utcStampRE.FindStringSubmatch(m)[1], time.UTC)
		if err != nil {
			return m
		}
		return components.Time(t, loc)
	})
	if w.DisabledAt != nil && note != "" {
		note += " (" + components.Time(*w.DisabledAt, loc) + ")"
	}
	return note
}

func listOrAll(l []string, all string) string {
	if len(l) == 0 {
		return all
	}
	return strings.Join(l, ", ")
}

func authSummary(w *models.Webhook) string {
	switch w.AuthType {
	case models.AuthBasic:
		return "Basic, user " + w.AuthUsername
	case models.AuthBearer:
		return "Bearer token"
	}
	return "None"
}

func maskSecret(s string) string {
	if len(s) < 10 {
		return "whsec_••••"
	}
	return s[:6] + strings.Repeat("•", 12) + s[len(s)-4:]
}

func rotationNote(w *models.Webhook, now time.Time, loc *time.Location) string {
	if len(w.SigningSecrets(now)) > 1 {
		return components.Time(*w.PreviousSecretExpiresAt, loc)
	}
	return ""
}

// WebhookToggle enables or disables a webhook; htmx swaps the switch in place.
func (h *Handler) WebhookToggle(c echo.Context) error {
	enabled := c.FormValue("enabled") == "true"
	reason := ""
	if !enabled {
		reason = "Disabled by " + currentUser(c).Email + "."
	}
	w, err := h.store.SetWebhookEnabled(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c), enabled, reason)
	if err != nil {
		return err
	}
	if render.IsHTMX(c) {
		return render.HTML(c, http.StatusOK, webhooks.Toggle(h.webhookRow(w, models.WebhookStat{}, currentAccount(c).Location()),
			webhooks.ToggleOptions{CSRF: csrfToken(c), CanWrite: currentUser(c).CanWrite(), InPlace: true}))
	}
	state := "disabled"
	if enabled {
		state = "enabled"
	}
	h.flash(c, layout.FlashSuccess, fmt.Sprintf("Webhook %q %s.", w.Name, state))
	return c.Redirect(http.StatusSeeOther, "/webhooks/"+w.ID)
}

// WebhookConfirmDelete asks before deleting (the no-JavaScript path).
func (h *Handler) WebhookConfirmDelete(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return render.HTML(c, http.StatusOK, webhooks.ConfirmDelete(h.page(c, "Delete "+w.Name, "webhooks"), w.ID, w.Name, deleteNotice(currentAccount(c))))
}

// deleteNotice says what deleting a webhook does to its history, with the
// account's retention (Settings).
func deleteNotice(a *models.Account) string {
	return "Its delivery log and attempts stay readable, marked \"deleted webhook\", for " +
		plural(a.HistoryRetentionDays, "day", "days") + " (the account's history retention), then they are removed. " +
		"Deliveries still waiting are cancelled and never sent."
}

// WebhookDelete deletes a webhook; its history is kept (deleteNotice).
func (h *Handler) WebhookDelete(c echo.Context) error {
	w, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c))
	if err != nil {
		return err
	}
	h.flash(c, layout.FlashSuccess, fmt.Sprintf("Webhook %q deleted.", w.Name))
	return render.Redirect(c, "/webhooks")
}

// WebhookSecretReveal shows the full signing secret (htmx fragment or page)
// and records in the audit log who saw it.
func (h *Handler) WebhookSecretReveal(c echo.Context) error {
	w, err := h.store.RevealWebhookSecret(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c), "console")
	if err != nil {
		return err
	}
	return h.secretFragment(c, w, w.SigningSecret)
}

// WebhookSecretHide masks the signing secret again: the htmx fragment, or
// back to the webhook's page without JavaScript.
func (h *Handler) WebhookSecretHide(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	if !render.IsHTMX(c) {
		return render.Redirect(c, "/webhooks/"+w.ID)
	}
	return h.secretFragment(c, w, maskSecret(w.SigningSecret))
}

// WebhookSecretRotate makes a new signing secret; the old one keeps signing for a while.
func (h *Handler) WebhookSecretRotate(c echo.Context) error {
	w, err := h.store.RotateWebhookSecret(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c))
	if err != nil {
		return err
	}
	return h.secretFragment(c, w, w.SigningSecret)
}

// rotateConfirm is the question Rotate asks, naming the account's grace period.
func rotateConfirm(a *models.Account) string {
	if a.SecretGrace() <= 0 {
		return "Rotate the secret? The old one stops signing at once."
	}
	return "Rotate the secret? The old one keeps signing for " + graceText(a.SecretGrace()) + "."
}

// graceText says a grace period the way Settings sets it: "24 hours".
func graceText(d time.Duration) string {
	if d%time.Hour != 0 {
		return plural(int(d/time.Minute), "minute", "minutes")
	}
	return plural(int(d/time.Hour), "hour", "hours")
}

func (h *Handler) secretFragment(c echo.Context, w *models.Webhook, shown string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !render.IsHTMX(c) {
		// The page itself, never a flash: a flash travels in the cookie.
		panel := testPanel(w, "")
		return h.renderDetailSecret(c, w, &panel, shown)
	}
	return render.HTML(c, http.StatusOK, webhooks.Secret(webhooks.SecretView{WebhookID: w.ID, Shown: shown, Revealed: shown != maskSecret(w.SigningSecret),
		Rotated: rotationNote(w, h.now(), currentAccount(c).Location()), RotateConfirm: rotateConfirm(currentAccount(c)), CSRF: csrfToken(c), CanWrite: currentUser(c).CanWrite()}))
}

// WebhookPreview renders the exact request a sample event would produce
// with the form's current (unsaved) settings.
func (h *Handler) WebhookPreview(c echo.Context) error {
	params, err := formParams(c)
	if err != nil {
		return err
	}
	f := parseWebhookForm(params)
	f.dropEmptyRows()
	in := f.in
	pv := webhooks.Preview{Trigger: previewTrigger(in.EventTypes, c.FormValue("preview_trigger"))}
	for _, id := range in.EventTypes {
		if catalog.Subscribable(id) {
			pv.Options = append(pv.Options, webhooks.Option{Value: id, Label: triggerLabel(id), Checked: id == pv.Trigger})
		}
	}
	if msg := previewBlocker(in); msg != "" {
		pv.Error = msg
		return render.HTML(c, http.StatusOK, webhooks.PreviewPane(pv))
	}
	if h.preview == nil {
		pv.Error = "Preview is unavailable."
		return render.HTML(c, http.StatusOK, webhooks.PreviewPane(pv))
	}
	w := &models.Webhook{ID: "wh_preview", AccountID: currentAccount(c).ID, APIVersion: models.DefaultAPIVersion,
		SigningSecret: "whsec_cHJldmlld3ByZXZpZXdwcmV2aWV3"}
	in.ApplyTo(w)
	w.AuthSecret = "preview" // shown redacted; the real one may not be typed yet
	req, err := h.preview.Preview(c.Request().Context(), w, pv.Trigger)
	if err != nil {
		h.log.Warn("preview", "err", err)
		pv.Error = "The preview appears once the settings on the left are valid."
		return render.HTML(c, http.StatusOK, webhooks.PreviewPane(pv))
	}
	pv.Method, pv.URL, pv.Body = req.Method, req.URL, string(req.Body)
	if req.Method == models.MethodPOST && in.ContentType == models.ContentJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, req.Body, "", "  ") == nil {
			pv.Body, pv.Formatted = buf.String(), true
		}
	}
	pv.Headers = headerLines(req.Headers)
	return render.HTML(c, http.StatusOK, webhooks.PreviewPane(pv))
}

// previewTrigger picks the trigger to preview: the one asked for when the
// webhook subscribes to it, else its first, else call.hangup.
func previewTrigger(types []string, asked string) string {
	if slices.Contains(types, asked) && catalog.Subscribable(asked) {
		return asked
	}
	for _, t := range types {
		if catalog.Subscribable(t) {
			return t
		}
	}
	return "call.hangup"
}

// previewBlocker explains, in the form's own words, which setting keeps
// the request from being built.
func previewBlocker(in models.WebhookInput) string {
	if strings.TrimSpace(in.URL) == "" {
		return "Enter a URL to see the request."
	}
	fe := in.Validate(nil)
	for _, field := range []string{"url", "time_zone", "method", "content_type", "auth_type", "auth_username"} {
		if msg := fe[field]; msg != "" {
			return "The preview appears when this is fixed: " + msg
		}
	}
	for k, msg := range fe {
		if strings.HasPrefix(k, "headers.") {
			return "The preview appears when the custom headers are fixed: " + msg
		}
	}
	return ""
}

// replaySince is where a replay starts: for a webhook disabled after a
// failure streak, when the streak began; otherwise the last 24 hours.
func replaySince(w *models.Webhook, now time.Time) time.Time {
	if !w.Enabled && w.FailingSince != nil {
		return *w.FailingSince
	}
	if !w.Enabled && w.DisabledAt != nil {
		return w.DisabledAt.Add(-24 * time.Hour)
	}
	return now.Add(-24 * time.Hour)
}

// WebhookReplay starts a bulk retry of the deliveries that failed since the
// given time (the banners' one-click retry), re-enabling the webhook first
// when asked (the disabled banner); the job's page shows its progress.
func (h *Handler) WebhookReplay(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339Nano, c.FormValue("since"))
	if err != nil {
		since = replaySince(w, h.now())
	}
	enable := c.FormValue("enable") == "true"
	if enable && !w.Enabled {
		if _, err := h.store.SetWebhookEnabled(ctx, acc.ID, w.ID, actor(c), true, ""); err != nil {
			return err
		}
		h.flash(c, layout.FlashSuccess, "Webhook re-enabled.")
	}
	// The disabled banner replays only when its checkbox is ticked
	// (replay=failed); the enabled webhook's "Retry them now" always does.
	if c.FormValue("replay") == "none" || (enable && c.FormValue("replay") != "failed") {
		return render.Redirect(c, "/webhooks/"+w.ID)
	}
	job, err := h.startRetry(ctx, c, models.RetryFailed{WebhookID: w.ID, Since: since})
	if err != nil {
		return err
	}
	return render.Redirect(c, "/jobs/"+job.ID)
}
