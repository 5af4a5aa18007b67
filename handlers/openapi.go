package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the JSON API's OpenAPI 3.1 description, written by
// hand. It is kept true by the tests: every API request the handler tests
// make, and its response, is validated against it (handlertest), and every
// /api route of the route table must be in it and the other way round.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI serves the document at /api/openapi.json, to anyone: it holds no
// account data.
func (h *Handler) OpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
