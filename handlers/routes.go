package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// routes is the one route table. probesOnly keeps only the probes and
// the metrics (a dispatcher-role process).
func routes(e *echo.Echo, h *Handler, probesOnly bool) {
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.GET("/metrics", h.Metrics)
	if probesOnly {
		return
	}

	e.GET("/login", h.LoginForm)
	e.POST("/login", h.Login)
	e.POST("/logout", h.Logout)
	// An invite link signs its invitee up; the token is the credential.
	e.GET(invitePathPrefix+":token", h.InviteForm)
	e.POST(invitePathPrefix+":token", h.InviteAccept)

	con := e.Group("", h.RequireUser)
	w := con.Group("", h.RequireWriter)         // changes configuration
	team := con.Group("", h.RequireTeamManager) // owners and admins: users and settings (docs/architecture.md, "Roles")

	con.GET("/", h.Dashboard)
	con.GET("/profile", h.Profile)
	con.POST("/profile/password", h.ProfilePassword)
	con.POST("/profile/sessions/revoke-all", h.ProfileSignOutEverywhere)
	con.POST("/profile/sessions/:id/revoke", h.ProfileSessionRevoke)
	con.GET("/webhooks", h.WebhookList)
	w.GET("/webhooks/new", h.WebhookNew)
	w.POST("/webhooks", h.WebhookCreate)
	w.POST("/webhooks/preview", h.WebhookPreview)
	w.POST("/webhooks/check-url", h.WebhookCheckURL)
	w.POST("/webhooks/preview-match", h.WebhookMatchPreview)
	con.GET("/webhooks/:id", h.WebhookShow)
	w.GET("/webhooks/:id/edit", h.WebhookEdit)
	w.POST("/webhooks/:id/edit", h.WebhookUpdate)
	w.POST("/webhooks/:id/toggle", h.WebhookToggle)
	w.GET("/webhooks/:id/delete", h.WebhookConfirmDelete)
	w.POST("/webhooks/:id/delete", h.WebhookDelete)
	w.POST("/webhooks/:id/secret/reveal", h.WebhookSecretReveal)
	w.POST("/webhooks/:id/secret/hide", h.WebhookSecretHide)
	w.POST("/webhooks/:id/secret/rotate", h.WebhookSecretRotate)
	w.POST("/webhooks/:id/test", h.WebhookTest)
	w.POST("/webhooks/test", h.WebhookTestAll)
	w.POST("/webhooks/:id/replay", h.WebhookReplay)
	w.GET("/webhooks/:id/retry-failed", h.RetryFailedForm)
	w.POST("/webhooks/:id/retry-failed", h.RetryFailedStart)
	w.GET("/webhooks/:id/retry-failed/preview", h.RetryFailedPreview)
	con.GET("/jobs/:id", h.JobShow)

	con.GET("/numbers", h.NumberList)
	w.POST("/numbers", h.NumberAdd)
	w.GET("/numbers/:id/delete", h.NumberConfirmDelete)
	w.POST("/numbers/:id/delete", h.NumberDelete)

	con.GET("/deliveries", h.DeliveryList)
	con.GET("/deliveries/:id", h.DeliveryShow)
	con.GET("/calls/:call_id", h.CallShow)
	w.POST("/deliveries/:id/redeliver", h.DeliveryRedeliver)
	w.POST("/deliveries/:id/reveal", h.DeliveryReveal) // owners and admins; audited (docs/privacy.md)

	con.GET("/api-keys", h.APIKeyList)
	w.POST("/api-keys", h.APIKeyCreate)
	w.GET("/api-keys/:id/revoke", h.APIKeyConfirmRevoke)
	w.POST("/api-keys/:id/revoke", h.APIKeyRevoke)

	con.GET("/events/catalog", h.EventCatalog)
	con.GET("/audit", h.AuditLog)
	con.GET("/docs/api", h.DocsAPI)
	con.GET("/docs/:name", h.DocsPage)

	team.GET("/users", h.UserList)
	team.POST("/users/invite", h.UserInvite)
	team.POST("/users/invites/:id/revoke", h.InviteRevoke)
	team.POST("/users/:id/role", h.UserRole)
	team.POST("/users/:id/remove", h.UserRemove)
	team.GET("/settings", h.Settings)
	team.POST("/settings", h.SettingsSave)
	team.POST("/settings/privacy", h.SettingsPrivacySave) // docs/privacy.md

	// JSON API. Unknown /api paths answer a JSON 404 here instead of
	// falling into the console group's catch-all (which redirects to /login).
	e.RouteNotFound("/api/*", func(echo.Context) error { return fault.ErrNotFound })
	e.GET("/api/openapi.json", h.OpenAPI)
	// Every API route names the scope it needs: read (GETs), ingest
	// (sending events) or full (anything that changes configuration).
	// POSTs that create or send also take h.Idempotent (Idempotency-Key).
	// Each route must be in the OpenAPI document (openapi.json).
	api := e.Group("/api/v1", useProblemWriter(writeAPIProblem), h.RequireAPIKey, h.RateLimit)
	api.RouteNotFound("/*", apiNotFound(e))
	read, ingest := h.RequireScope(models.ScopeRead), h.RequireScope(models.ScopeIngest)
	api.GET("/account", h.APIAccount, read)
	api.POST("/events", h.APIIngestEvent, ingest, h.Idempotent)
	api.POST("/events/batch", h.APIIngestBatch, ingest, h.Idempotent)

	full := h.RequireScope(models.ScopeFull)
	api.GET("/webhooks", h.APIWebhookList, read)
	api.POST("/webhooks", h.APIWebhookCreate, full, h.Idempotent)
	api.POST("/webhooks/test", h.APIWebhookTestAll, full, h.Idempotent)
	api.POST("/webhooks/preview-match", h.APIWebhookPreviewMatch, full)
	api.GET("/webhooks/:id", h.APIWebhookGet, read)
	api.PATCH("/webhooks/:id", h.APIWebhookPatch, full)
	api.PUT("/webhooks/:id", h.APIWebhookPut, full)
	api.DELETE("/webhooks/:id", h.APIWebhookDelete, full)
	api.GET("/webhooks/:id/secret", h.APIWebhookSecret, full) // the secret signs deliveries: not for read keys
	api.POST("/webhooks/:id/secret/rotate", h.APIWebhookRotateSecret, full, h.Idempotent)
	api.POST("/webhooks/:id/enable", h.APIWebhookEnable, full)
	api.POST("/webhooks/:id/disable", h.APIWebhookDisable, full)
	api.POST("/webhooks/:id/test", h.APIWebhookTest, full, h.Idempotent)
	api.GET("/webhooks/:id/deliveries", h.APIWebhookDeliveries, read)
	api.GET("/webhooks/:id/stats", h.APIWebhookStats, read)
	api.GET("/deliveries", h.APIDeliveryList, read)
	api.GET("/deliveries/:id", h.APIDeliveryGet, read)
	api.POST("/deliveries/:id/redeliver", h.APIDeliveryRedeliver, full, h.Idempotent)
	api.POST("/deliveries/:id/cancel", h.APIDeliveryCancel, full)
	api.POST("/webhooks/:id/retry-failed", h.APIWebhookRetryFailed, full, h.Idempotent)
	api.GET("/jobs/:id", h.APIJobGet, read)
	api.GET("/events/:id", h.APIEventGet, read)
	api.GET("/calls/:call_id", h.APICallTimeline, read)
	api.GET("/numbers", h.APINumberList, read)
	api.POST("/numbers", h.APINumberAdd, full, h.Idempotent)
	api.DELETE("/numbers/:id", h.APINumberDelete, full)
	api.GET("/event-types", h.APIEventTypes, read)
	// No Idempotent on key creation: a kept response would store the new key in clear.
	api.GET("/api-keys", h.APIKeyListJSON, read)
	api.POST("/api-keys", h.APIKeyCreateJSON, full)
	api.DELETE("/api-keys/:id", h.APIKeyRevokeJSON, full)

	// Vendor dialects (docs/migrating.md): each authenticates and answers
	// errors its vendor's way. Kazoo's paths sit under /api/v1 but are
	// more specific than the native group's catch-all, so RequireAPIKey
	// never runs for them.
	kazooRoutes(e, h)
	backendRoutes(e, h)
	kixieRoutes(e, h)
	dixaRoutes(e, h)
}

// apiNotFound answers /api/v1 paths no route matched for the request's
// method. Echo prefers a group's catch-all over its own 405, so this asks
// the router whether the path exists under another method: then it is a
// 405 with an Allow header, otherwise a 404.
func apiNotFound(e *echo.Echo) echo.HandlerFunc {
	return func(c echo.Context) error {
		catchAll := map[string]bool{"": true}
		for _, r := range e.Routes() {
			if r.Method == echo.RouteNotFound {
				catchAll[r.Path] = true
			}
		}
		path := echo.GetPath(c.Request())
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == c.Request().Method {
				continue
			}
			probe := e.NewContext(c.Request(), nil)
			e.Router().Find(m, path, probe)
			if !catchAll[probe.Path()] {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return fault.ErrNotFound
		}
		c.Response().Header().Set(echo.HeaderAllow, strings.Join(allow, ", "))
		return fault.ErrMethodNotAllowed
	}
}
