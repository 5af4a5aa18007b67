package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/profile"
	"github.com/ringhook/ringhook/web/render"
)

// Profile shows the signed-in user's page: change password and sessions.
func (h *Handler) Profile(c echo.Context) error {
	return h.renderProfile(c, http.StatusOK, profile.Password{})
}

func (h *Handler) renderProfile(c echo.Context, status int, pw profile.Password) error {
	u, a := currentUser(c), currentAccount(c)
	cur, err := h.sessions.Current(c)
	if err != nil {
		return err
	}
	list, err := h.store.Sessions(c.Request().Context(), a.ID, u.ID)
	if err != nil {
		return err
	}
	loc := a.Location()
	pw.Summary = errorSummary(pw.Errors, []summaryField{{"current_password", "current_password", "Current password"},
		{"new_password", "new_password", "New password"}, {"confirm_password", "confirm_password", "New password again"}}, "current_password")
	v := profile.View{Email: u.Email, Role: string(u.Role), Password: pw}
	for _, s := range list {
		v.Sessions = append(v.Sessions, profile.Session{ID: s.ID, Browser: browserName(s.UserAgent), IP: s.IP, ThisOne: s.ID == cur.ID,
			Created: components.Time(s.CreatedAt, loc), LastSeen: components.Time(s.LastSeenAt, loc)})
	}
	return render.HTML(c, status, profile.Page(h.page(c, "Profile", "profile"), v))
}

// ProfilePassword changes the user's own password and signs out their
// other sessions; this one stays signed in.
func (h *Handler) ProfilePassword(c echo.Context) error {
	u, a := currentUser(c), currentAccount(c)
	cur, err := h.sessions.Current(c)
	if err != nil {
		return err
	}
	next := c.FormValue("new_password")
	// The current password is guessed no faster here than at /login: a
	// borrowed session must not become a way to learn it.
	ctx, ip := c.Request().Context(), c.RealIP()
	wait, err := h.store.ClaimLoginAttempt(ctx, h.throttle, u.Email, ip)
	if err != nil {
		return err
	}
	if wait > 0 {
		setRetryAfter(c, wait)
		return h.renderProfile(c, http.StatusTooManyRequests, profile.Password{Errors: map[string]string{
			"current_password": "Too many wrong passwords. Try again in " + humanWait(wait) + "."}})
	}
	// Every problem at once: the confirmation's too, not before the others.
	err = h.store.ChangePassword(ctx, a.ID, u.ID, c.FormValue("current_password"), next, c.FormValue("confirm_password"), cur.ID)
	var fe models.FieldErrors
	if err == nil || errors.As(err, &fe) && fe["current_password"] == "" {
		if err := h.store.LoginSucceeded(ctx, h.throttle, u.Email, ip); err != nil { // the current password was right
			return err
		}
	}
	if fe != nil {
		return h.renderProfile(c, http.StatusUnprocessableEntity, profile.Password{Errors: fe})
	}
	if err != nil {
		return err
	}
	h.log.Info("password changed", "user", u.ID, "account", a.ID)
	h.flash(c, "success", "Password changed. Your other sessions have been signed out.")
	return c.Redirect(http.StatusSeeOther, "/profile")
}

// ProfileSessionRevoke signs out one of the user's own sessions.
func (h *Handler) ProfileSessionRevoke(c echo.Context) error {
	u, a := currentUser(c), currentAccount(c)
	if err := h.store.RevokeSession(c.Request().Context(), a.ID, u.ID, c.Param("id")); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return fault.Errorf(fault.ErrNotFound, "That session has already ended, or it is not yours.")
		}
		return err
	}
	h.flash(c, "success", "That session has been signed out.")
	return c.Redirect(http.StatusSeeOther, "/profile")
}

// ProfileSignOutEverywhere ends every session of the user, this one too.
func (h *Handler) ProfileSignOutEverywhere(c echo.Context) error {
	u, a := currentUser(c), currentAccount(c)
	n, err := h.store.RevokeUserSessions(c.Request().Context(), a.ID, u.ID, "")
	if err != nil {
		return err
	}
	h.sessions.Forget(c)
	h.log.Info("signed out everywhere", "user", u.ID, "account", a.ID, "sessions", n)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// browserName shortens a user agent to what a person recognises.
func browserName(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"HeadlessChrome/", "Chrome (headless)"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}
