package handlers

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/static"
)

// ServerConfig tunes the server.
type ServerConfig struct {
	SecureCookies bool // set when served over TLS: Secure cookies and HSTS
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// (RINGHOOK_TRUSTED_PROXIES). Empty: the client IP is always the peer's,
	// so a client cannot pick the address it is throttled and logged as.
	TrustedProxies []*net.IPNet
	// ProbesOnly limits the routes to /healthz, /readyz and /metrics: the
	// HTTP face of a process that only dispatches (RINGHOOK_ROLE=dispatcher).
	ProbesOnly bool
	Log        *slog.Logger
}

// hstsMaxAge is two years, the value preload lists ask for.
const hstsMaxAge = 2 * 365 * 24 * time.Hour

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
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	ConfigureHTTPServer(e.Server)
	e.Pre(dropUntrustedScheme(cfg.TrustedProxies))

	// 308, not 301: the method survives, so POST /api/v1/events/ stays a POST.
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusPermanentRedirect}))
	e.Use(middleware.RequestID())
	// The logger runs the error handler itself, so it records the status
	// the client got; Recover sits inside it and hands a panic back as an
	// error, so a panic is logged (once, with its stack) like any 5xx.
	e.Use(requestLogger(log))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true, DisablePrintStack: true,
		LogErrorFunc: func(_ echo.Context, err error, _ []byte) error {
			return fmt.Errorf("panic: %w\n%s", err, debug.Stack())
		}}))
	e.Use(middleware.BodyLimit(strconv.Itoa(maxBodyBytes))) // bytes; "1M" would be 10^6
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY", ReferrerPolicy: "same-origin",
		ContentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
	}))
	if cfg.SecureCookies {
		hsts := fmt.Sprintf("max-age=%d", int(hstsMaxAge/time.Second))
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set(echo.HeaderStrictTransportSecurity, hsts)
				return next(c)
			}
		})
	}
	e.Use(h.offerSignedIn)
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

	if !cfg.ProbesOnly {
		if sub, err := fs.Sub(static.FS, "."); err == nil {
			e.StaticFS("/static", sub)
		}
	}
	routes(e, h, cfg.ProbesOnly)
	return e
}

// ConfigureHTTPServer sets the server's timeouts, so a process that serves
// before the Echo instance exists (serve waiting for its database) uses the
// same ones.
func ConfigureHTTPServer(s *http.Server) {
	s.ReadHeaderTimeout = 10 * time.Second
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 60 * time.Second
	s.IdleTimeout = 120 * time.Second
}

// isMachineRoute marks routes that programs call with API keys or probes;
// they carry no cookies, so CSRF does not apply.
func isMachineRoute(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || IsDialectPath(p) || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/static/")
}

// ipExtractor believes X-Forwarded-For only from the trusted networks,
// walking it from the nearest hop; with none configured the client IP is
// the TCP peer's.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// forwardedSchemeHeaders are the headers echo.Context.Scheme believes.
var forwardedSchemeHeaders = []string{echo.HeaderXForwardedProto, echo.HeaderXForwardedProtocol, echo.HeaderXForwardedSsl, echo.HeaderXUrlScheme}

// dropUntrustedScheme removes the scheme a client claims through forwarding
// headers unless the TCP peer is a trusted proxy, so the links the console
// builds from the request (invites, API examples) cannot be steered by a
// header anyone can send.
func dropUntrustedScheme(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !fromTrustedPeer(c.Request().RemoteAddr, trusted) {
				for _, k := range forwardedSchemeHeaders {
					c.Request().Header.Del(k)
				}
			}
			return next(c)
		}
	}
}

func fromTrustedPeer(remoteAddr string, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	for _, n := range trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// requestLogger writes one line per request with the status the client
// actually got (it runs the error handler before reading it), the request
// id, the signed-in account and user, and the duration. A 5xx is logged
// at error level with its cause, and nowhere else.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true, LogError: true, LogRemoteIP: true,
		HandleError: true,
		Skipper:     func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/static/") },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// The path only: query strings may carry tokens.
			attrs := []slog.Attr{slog.String("method", v.Method), slog.String("path", loggedPath(v.URIPath)), slog.Int("status", v.Status),
				slog.Int64("ms", v.Latency.Milliseconds()), slog.String("request_id", v.RequestID), slog.String("ip", v.RemoteIP)}
			if a := currentAccount(c); a != nil {
				attrs = append(attrs, slog.String("account", a.ID))
			}
			if u := currentUser(c); u != nil {
				attrs = append(attrs, slog.String("user", u.ID))
			} else if k, ok := c.Get(ctxAPIKey).(*models.APIKey); ok {
				attrs = append(attrs, slog.String("api_key", k.Prefix))
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
				if v.Error != nil {
					attrs = append(attrs, slog.String("err", v.Error.Error()))
				}
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// loggedPath is a request path as the logs may keep it: an invite link's
// token is a credential, so /invite/<token> is logged as /invite/….
func loggedPath(p string) string {
	if strings.HasPrefix(p, invitePathPrefix) && len(p) > len(invitePathPrefix) {
		return invitePathPrefix + "…"
	}
	return p
}
