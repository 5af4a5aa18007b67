package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/auth"
	"github.com/ringhook/ringhook/web/render"
)

// RequireUser lets signed-in users through and sends everyone else to /login.
func (h *Handler) RequireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := h.sessions.UserID(c)
		if id != "" {
			u, err := h.store.UserByID(c.Request().Context(), id)
			if err == nil {
				a, err := h.store.Account(c.Request().Context(), u.AccountID)
				if err != nil {
					return fmt.Errorf("load account: %w", err)
				}
				c.Set(ctxUser, u)
				c.Set(ctxAccount, a)
				return next(c)
			}
			if !errors.Is(err, models.ErrNotFound) {
				return fmt.Errorf("load user: %w", err)
			}
		}
		target := "/login"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		return render.Redirect(c, target)
	}
}

// RequireWriter refuses viewers on routes that change configuration.
func (h *Handler) RequireWriter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.CanWrite() {
			return fault.ErrForbidden
		}
		return next(c)
	}
}

// LoginForm shows the sign-in page.
func (h *Handler) LoginForm(c echo.Context) error {
	if h.sessions.UserID(c) != "" {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render.HTML(c, http.StatusOK, auth.Page(h.page(c, "Sign in", ""), auth.Login{Next: safeNext(c.QueryParam("next"))}))
}

// Login checks the credentials, with throttling per email and per client IP.
func (h *Handler) Login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	keys := []string{"email:" + strings.ToLower(email), "ip:" + c.RealIP()}
	show := func(status int, msg string) error {
		return render.HTML(c, status, auth.Page(h.page(c, "Sign in", ""), auth.Login{Email: email, Next: next, Error: msg}))
	}
	if blocked, until := h.limiter.Blocked(keys...); blocked {
		wait := max(time.Until(until).Round(time.Minute), time.Minute)
		return show(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins. Try again in %s.", wait))
	}
	if email == "" || password == "" {
		return show(http.StatusUnprocessableEntity, "Enter your email and password.")
	}
	u, err := h.store.Authenticate(c.Request().Context(), email, password)
	if errors.Is(err, models.ErrInvalidCredentials) {
		h.limiter.Fail(keys...)
		h.log.Info("sign-in failed", "ip", c.RealIP())
		return show(http.StatusUnauthorized, "Email or password is incorrect.")
	}
	if err != nil {
		return err
	}
	h.limiter.Reset(keys...)
	if err := h.sessions.SignIn(c, u.ID); err != nil {
		return err
	}
	h.log.Info("signed in", "user", u.ID, "account", u.AccountID)
	return c.Redirect(http.StatusSeeOther, next)
}

// Logout ends the session.
func (h *Handler) Logout(c echo.Context) error {
	if err := h.sessions.SignOut(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
