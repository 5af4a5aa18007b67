package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// bearerRealm names the protection space in WWW-Authenticate (RFC 6750).
const bearerRealm = `Bearer realm="Ringhook API"`

// maxAPIKeyLength bounds what is hashed and looked up; real keys are 48 bytes.
const maxAPIKeyLength = 256

// RequireAPIKey authenticates /api/v1 requests by their
// "Authorization: Bearer sk_…" header and puts the key (for actor) and its
// account (for currentAccount) in the context. Anything else is a 401 in
// the API's JSON error shape with a WWW-Authenticate challenge; the
// message does not say whether a key is unknown or revoked.
func (h *Handler) RequireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		plain, msg := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if msg != "" {
			return apiUnauthorized(c, msg, plain != "")
		}
		ctx := c.Request().Context()
		k, acc, err := h.store.AuthenticateAPIKeyAccount(ctx, plain) // one query for both
		if errors.Is(err, models.ErrInvalidCredentials) {
			h.log.Info("api key refused", "ip", c.RealIP(), "path", c.Request().URL.Path)
			return apiUnauthorized(c, "The API key is not valid: it is unknown or has been revoked.", true)
		}
		if err != nil {
			return fmt.Errorf("authenticate api key: %w", err)
		}
		c.Set(ctxAPIKey, k)
		c.Set(ctxAccount, acc)
		return next(c)
	}
}

// bearerToken extracts the key from an Authorization header value. When
// it cannot, msg says why, and token is non-empty when a bearer credential
// was sent (so the challenge can say invalid_token, not just ask for one).
func bearerToken(header string) (token, msg string) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", "Send an API key in the header Authorization: Bearer sk_…"
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "The Authorization header must use the Bearer scheme: Authorization: Bearer sk_…"
	}
	token = strings.TrimSpace(rest)
	switch {
	case token == "":
		return "", "The Authorization header has no API key after Bearer."
	case len(token) > maxAPIKeyLength || strings.ContainsAny(token, " \t"),
		!strings.HasPrefix(token, "sk_live_") && !strings.HasPrefix(token, "sk_test_"):
		return token, "The API key is malformed: keys start with sk_live_ or sk_test_."
	}
	return token, ""
}

// apiUnauthorized answers 401 with a Bearer challenge.
func apiUnauthorized(c echo.Context, msg string, invalidToken bool) error {
	challenge := bearerRealm
	if invalidToken {
		challenge += `, error="invalid_token"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	return fault.Errorf(fault.ErrUnauthenticated, "%s", msg)
}

// APIAccount returns the account the API key belongs to: its id, name and
// time zone, how long and how far back its history goes, and its privacy
// settings (docs/privacy.md).
func (h *Handler) APIAccount(c echo.Context) error {
	type account struct {
		ID               string     `json:"id"`
		Name             string     `json:"name"`
		TimeZone         string     `json:"time_zone"`
		HistoryRetention int        `json:"history_retention_days"`
		HistoryStartsAt  *time.Time `json:"history_starts_at"`
		MaskPII          bool       `json:"mask_pii"`
		FailedBodiesOnly bool       `json:"failed_bodies_only"`
		BodyRetention    int        `json:"body_retention_days"`
	}
	ctx := c.Request().Context()
	// The key's cached account carries only what every request needs.
	a, err := h.store.Account(ctx, currentAccount(c).ID)
	if err != nil {
		return err
	}
	start, err := h.store.HistoryStart(ctx, a.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Data account `json:"data"`
	}{account{ID: a.ID, Name: a.Name, TimeZone: a.TimeZone, HistoryRetention: a.HistoryRetentionDays, HistoryStartsAt: utcOrNil(start),
		MaskPII: a.MaskPII, FailedBodiesOnly: a.FailedBodiesOnly, BodyRetention: a.BodyRetentionDays}})
}

// apiKey returns the API key that authenticated the request.
func apiKey(c echo.Context) *models.APIKey {
	k, _ := c.Get(ctxAPIKey).(*models.APIKey)
	return k
}

// RequireScope lets a route through only for keys whose scope permits
// need; others get 403. A read route answers only safe methods to read
// keys, so a read scope on a route that changes something cannot leak
// write access.
func (h *Handler) RequireScope(need models.APIKeyScope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			k := apiKey(c)
			if k == nil {
				return apiUnauthorized(c, "Send an API key in the header Authorization: Bearer sk_…", false)
			}
			m := c.Request().Method
			effective := need
			if need == models.ScopeRead && m != http.MethodGet && m != http.MethodHead {
				effective = models.ScopeFull
			}
			if !k.Scope.Permits(effective) {
				return fault.Errorf(fault.ErrForbidden, "%s", scopeRefusal(k.Scope))
			}
			return next(c)
		}
	}
}

// scopeRefusal says what a key of scope s may do instead.
func scopeRefusal(s models.APIKeyScope) string {
	switch s {
	case models.ScopeRead:
		return "This API key has the read scope: it may only make GET requests. Use a key with the full scope."
	case models.ScopeIngest:
		return "This API key has the ingest scope: it may only send call events (POST /api/v1/events). Use a key with the full scope."
	}
	return "This API key's scope does not allow this request."
}
