package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/render"
)

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
		// A 5xx is logged, with err, by the request logger: once per request.
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			_ = APIError(c, status, msg, fe) // fe is nil unless the error was FieldErrors
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
		csrf, _ := c.Get(CSRFContextKey).(string)
		p := layout.Page{Title: title, CSRF: csrf}
		_ = render.HTML(c, status, layout.ErrorPage(p, msg))
	}
}
