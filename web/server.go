// Package web assembles Ringhook's HTTP server: the middleware order, the
// single route table, the error handler and the static file mount.
package web

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/static"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/render"
)

// Config tunes the server.
type Config struct {
	SecureCookies bool // set when served over TLS
	Log           *slog.Logger
}

// New builds the Echo instance with every route.
func New(h *handlers.Handler, cfg Config) *echo.Echo {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log)
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.WriteTimeout = 60 * time.Second
	e.Server.IdleTimeout = 120 * time.Second

	// 308, not 301: the method survives, so POST /api/v1/events/ stays a POST.
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusPermanentRedirect}))
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(requestLogger(log))
	e.Use(middleware.BodyLimit("1M"))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY", ReferrerPolicy: "same-origin",
		ContentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
	}))
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        isMachineRoute,
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		ContextKey:     handlers.CSRFContextKey,
		CookieName:     "ringhook_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   cfg.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired or did not come from Ringhook. Reload the page and try again.")
		},
	}))

	sub, err := fs.Sub(static.FS, ".")
	if err == nil {
		e.StaticFS("/static", sub)
	}
	routes(e, h)
	return e
}

// isMachineRoute marks routes that programs call with API keys or probes;
// they carry no cookies, so CSRF does not apply.
func isMachineRoute(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/static/")
}

func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true, LogError: true,
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/static/") },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// The path only: query strings may carry tokens.
			log.Info("request", "method", v.Method, "path", v.URIPath, "status", v.Status,
				"ms", v.Latency.Milliseconds(), "request_id", v.RequestID)
			return nil
		},
	})
}

// errorHandler maps domain errors to statuses and never shows internal
// text: unexpected errors are logged and answered with a generic 500.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong on our side. It has been logged; please try again."
		var he *echo.HTTPError
		var fe models.FieldErrors
		switch {
		case errors.As(err, &he):
			status = he.Code
			if m, ok := he.Message.(string); ok && status < 500 {
				msg = m
			} else {
				msg = http.StatusText(status)
			}
		case errors.Is(err, models.ErrNotFound):
			status, msg = http.StatusNotFound, "That page does not exist, or it belongs to another account."
		case errors.Is(err, models.ErrConflict):
			status, msg = http.StatusConflict, "That conflicts with existing data."
		case errors.As(err, &fe):
			status, msg = http.StatusUnprocessableEntity, fe.Error()
		}
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) { // from middleware.BodyLimit
			msg = "The request body is larger than 1 MiB."
		}
		if status >= 500 {
			log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			_ = handlers.APIError(c, status, msg, fe) // fe is nil unless the error was FieldErrors
			return
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			_ = render.HTML(c, status, layout.ErrorFragment(msg))
			return
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		title := http.StatusText(status)
		csrf, _ := c.Get(handlers.CSRFContextKey).(string)
		p := layout.Page{Title: title, CSRF: csrf}
		_ = render.HTML(c, status, layout.ErrorPage(p, msg))
	}
}
