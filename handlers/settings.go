package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/settings"
	"github.com/ringhook/ringhook/web/render"
)

// Settings shows the account settings form.
func (h *Handler) Settings(c echo.Context) error {
	return h.renderSettings(c, http.StatusOK, settingsForm(currentAccount(c)))
}

// settingsForm is the Settings page's forms as the account has them.
func settingsForm(a *models.Account) settings.Form {
	return settings.Form{Name: a.Name, TimeZone: a.TimeZone, DefaultCountry: a.DefaultCountry,
		SecretGraceHours: strconv.Itoa(int(a.SecretGrace() / time.Hour)), HistoryRetentionDays: strconv.Itoa(a.HistoryRetentionDays),
		Privacy: privacyForm(a)}
}

func (h *Handler) renderSettings(c echo.Context, status int, f settings.Form) error {
	f.MaxGraceHours, f.MaxRetentionDays = int(models.MaxSecretGrace/time.Hour), models.MaxHistoryRetentionDays
	f.Summary = errorSummary(f.Errors, settingsFields, "name")
	for _, z := range models.TimeZones() {
		f.TimeZones = append(f.TimeZones, settings.Option{Value: z, Label: strings.ReplaceAll(z, "_", " ")})
	}
	for _, ct := range catalog.Countries() {
		f.Countries = append(f.Countries, settings.Option{Value: ct.Code, Label: ct.Name + " (" + ct.Code + ", +" + ct.CallingCode + ")"})
	}
	return render.HTML(c, status, settings.Page(h.page(c, "Account settings", "settings"), f))
}

// settingsFields are the settings form's fields in order, as its error
// summary names them.
var settingsFields = []summaryField{
	{"name", "name", "Account name"}, {"time_zone", "time_zone", "Time zone"},
	{"default_country", "default_country", "Default country"},
	{"secret_grace_hours", "secret_grace_hours", "Secret rotation grace period"},
	{"history_retention_days", "history_retention_days", "Keep delivery history"},
}

// SettingsSave changes the account settings; refused values come back in
// the form with a message by each.
func (h *Handler) SettingsSave(c echo.Context) error {
	f := settings.Form{Name: c.FormValue("name"), TimeZone: c.FormValue("time_zone"), DefaultCountry: c.FormValue("default_country"),
		SecretGraceHours: strings.TrimSpace(c.FormValue("secret_grace_hours")), HistoryRetentionDays: strings.TrimSpace(c.FormValue("history_retention_days"))}
	in := models.AccountSettings{Name: f.Name, TimeZone: f.TimeZone, DefaultCountry: f.DefaultCountry,
		SecretGrace: -1, HistoryRetentionDays: -1} // out of range unless they parse: the store says what is allowed
	if n, err := strconv.Atoi(f.SecretGraceHours); err == nil && n >= 0 && n <= int(models.MaxSecretGrace/time.Hour) {
		in.SecretGrace = time.Duration(n) * time.Hour
	}
	if n, err := strconv.Atoi(f.HistoryRetentionDays); err == nil {
		in.HistoryRetentionDays = n
	}
	a, err := h.store.UpdateAccountSettings(c.Request().Context(), currentAccount(c).ID, actor(c), in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		f.Errors, f.Privacy = fe, privacyForm(currentAccount(c))
		return h.renderSettings(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	h.log.Info("account settings changed", "account", a.ID, "by", actor(c).Label)
	h.flash(c, layout.FlashSuccess, "Settings saved.")
	return c.Redirect(http.StatusSeeOther, "/settings")
}
