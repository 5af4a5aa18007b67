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
// Adding an API route:
//  1. routes.go: api.METHOD(path, handler, <scope>) with the scope it needs
//     (read for GETs, h.RequireScope(models.ScopeFull) for changes, ingest
//     only for sending events), plus h.Idempotent on a POST that creates or
//     sends.
//  2. openapi.json: the operation (operationId, summary, x-ringhook-scope,
//     parameters, request body with examples, every status it can answer:
//     401/403/429/500 always, 400/413/415/422 with a body, 409 with
//     Idempotency-Key), schemas with additionalProperties: false.
//  3. Tests through handlertest's Client: each call is checked against the
//     document; TestOpenAPICoversRoutes, TestAPIKeyScopes and
//     TestOpenAPIExamples cover the new route without edits.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI serves the document at /api/openapi.json, to anyone: it holds no
// account data.
func (h *Handler) OpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
