package handlers

import (
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/static"
)

// ServerConfig tunes the server.
type ServerConfig struct {
	SecureCookies bool // set when served over TLS
	Log           *slog.Logger
}

// NewServer builds the Echo instance: middleware in order, the static
// files and every route.
func NewServer(h *Handler, cfg ServerConfig) *echo.Echo {
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
	e.Use(middleware.BodyLimit(strconv.Itoa(maxBodyBytes))) // bytes; "1M" would be 10^6
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY", ReferrerPolicy: "same-origin",
		ContentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
	}))
	e.Use(readForm) // before CSRF, which reads its token from the form
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        isMachineRoute,
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		ContextKey:     CSRFContextKey,
		CookieName:     "ringhook_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   cfg.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return fault.ErrFormExpired
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
