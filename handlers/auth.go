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
	"github.com/ringhook/ringhook/web/session"
)

// RequireUser lets requests with a live session through and sends everyone
// else to /login.
func (h *Handler) RequireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, a, err := h.signedIn(c)
		if err != nil {
			return err
		}
		if u != nil {
			c.Set(ctxUser, u)
			c.Set(ctxAccount, a)
			return next(c)
		}
		target := "/login"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		return render.Redirect(c, target)
	}
}

// ctxFindUser holds offerSignedIn's lookup.
const ctxFindUser = "ringhook.find_user"

// offerSignedIn lets the error pages of paths outside the signed-in routes
// (a /static/… file that does not exist) find who is signed in: the session
// is looked up only when such a page is written.
func (h *Handler) offerSignedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxFindUser, func() (*models.User, *models.Account) {
			u, a, err := h.signedIn(c)
			if err != nil {
				return nil, nil
			}
			return u, a
		})
		return next(c)
	}
}

// signedIn resolves the request's session to its user and account; nil
// (and no error) when there is no live session or its user is gone.
func (h *Handler) signedIn(c echo.Context) (*models.User, *models.Account, error) {
	ctx := c.Request().Context()
	cur, err := h.sessions.Current(c)
	if errors.Is(err, session.ErrNoSession) || errors.Is(err, models.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := h.store.User(ctx, cur.AccountID, cur.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load user: %w", err)
	}
	a, err := h.store.Account(ctx, u.AccountID)
	if err != nil {
		return nil, nil, fmt.Errorf("load account: %w", err)
	}
	return u, a, nil
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
	u, _, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if u != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render.HTML(c, http.StatusOK, auth.Page(h.page(c, "Sign in", ""), auth.Login{Next: safeNext(c.QueryParam("next")),
		SignedOut: c.QueryParam("signed_out") != ""}))
}

// Login checks the credentials. Attempts are throttled per (email, client
// IP) and per client IP with growing delays, in counters every process
// shares; the client IP is the peer's unless it is a trusted proxy (see
// ServerConfig.TrustedProxies).
func (h *Handler) Login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	ip := c.RealIP()
	show := func(status int, msg string) error {
		return render.HTML(c, status, auth.Page(h.page(c, "Sign in", ""), auth.Login{Email: email, Next: next, Error: msg,
			Summary: errorSummary(map[string]string{"login": msg}, []summaryField{{"login", "email", "Email and password"}}, "email")}))
	}
	if email == "" || password == "" {
		return show(http.StatusUnprocessableEntity, "Enter your email and password.")
	}
	if !fault.IsText(email) {
		email = "" // not echoed back: the bytes cannot be shown or stored
		return show(http.StatusUnprocessableEntity, "The email contains a NUL byte or bytes that are not valid UTF-8; type it as plain text.")
	}
	if !fault.IsText(email) {
		email = "" // not echoed back: the bytes cannot be shown or stored
		return show(http.StatusUnprocessableEntity, "The email contains a NUL byte or bytes that are not valid UTF-8; type it as plain text.")
	}
	wait, err := h.store.ClaimLoginAttempt(ctx, h.throttle, email, ip)
	if err != nil {
		return err
	}
	if wait > 0 {
		setRetryAfter(c, wait)
		return show(http.StatusTooManyRequests, "Too many failed sign-ins. Try again in "+humanWait(wait)+".")
	}
	u, err := h.store.Authenticate(ctx, email, password)
	if errors.Is(err, models.ErrInvalidCredentials) {
		h.log.Info("sign-in failed", "ip", ip)
		return show(http.StatusUnauthorized, "Email or password is incorrect.")
	}
	if err != nil {
		return err
	}
	if err := h.store.LoginSucceeded(ctx, h.throttle, email, ip); err != nil {
		return err
	}
	if err := h.sessions.SignIn(c, u.AccountID, u.ID); err != nil {
		return err
	}
	h.log.Info("signed in", "user", u.ID, "account", u.AccountID, "ip", ip)
	return c.Redirect(http.StatusSeeOther, next)
}

// setRetryAfter tells the client how many whole seconds to wait.
func setRetryAfter(c echo.Context, wait time.Duration) {
	c.Response().Header().Set("Retry-After", fmt.Sprint(int((wait+time.Second-1)/time.Second)))
}

// humanWait says a wait the way a person would: "20 seconds", "2 minutes".
func humanWait(d time.Duration) string {
	if d < time.Minute {
		s := int((d + time.Second - 1) / time.Second)
		if s == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Logout ends the session server-side, so a copied cookie dies with it.
func (h *Handler) Logout(c echo.Context) error {
	if err := h.sessions.SignOut(c); err != nil {
		return err
	}
	// The session and its flashes are gone: the sign-in page confirms from the URL.
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// safeNext keeps post-login redirects on this site: only an absolute path
// ("/webhooks?x=1") passes. Browsers drop tabs and newlines from URLs and
// read a backslash as a slash, so "/\t/evil.example" or "/\\evil.example"
// would leave the site; any control character, space or backslash, and
// anything that parses with a scheme or host, falls back to "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	for _, r := range next {
		if r <= 0x20 || r == 0x7f || r == '\\' || r >= 0x80 && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return "/"
		}
	}
	if strings.HasPrefix(next, "//") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}
