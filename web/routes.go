package web

import (
	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/handlers"
)

// routes is the one route table.
func routes(e *echo.Echo, h *handlers.Handler) {
	e.GET("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)

	e.GET("/login", h.LoginForm)
	e.POST("/login", h.Login)
	e.POST("/logout", h.Logout)

	con := e.Group("", h.RequireUser)
	w := con.Group("", h.RequireWriter) // changes configuration

	con.GET("/", h.Dashboard)
	con.GET("/webhooks", h.WebhookList)
	w.GET("/webhooks/new", h.WebhookNew)
	w.POST("/webhooks", h.WebhookCreate)
	w.POST("/webhooks/preview", h.WebhookPreview)
	con.GET("/webhooks/:id", h.WebhookShow)
	w.GET("/webhooks/:id/edit", h.WebhookEdit)
	w.POST("/webhooks/:id/edit", h.WebhookUpdate)
	w.POST("/webhooks/:id/toggle", h.WebhookToggle)
	w.GET("/webhooks/:id/delete", h.WebhookConfirmDelete)
	w.POST("/webhooks/:id/delete", h.WebhookDelete)
	w.POST("/webhooks/:id/secret/reveal", h.WebhookSecretReveal)
	w.POST("/webhooks/:id/secret/rotate", h.WebhookSecretRotate)

	con.GET("/numbers", h.NumberList)
	w.POST("/numbers", h.NumberAdd)
	w.POST("/numbers/:id/delete", h.NumberDelete)
}
