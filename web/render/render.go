// Package render writes templ components to Echo responses. It buffers the
// whole component first, so a failing template produces a clean error page
// instead of half a page with a 200 status, and it marks every HTML response
// as varying on the htmx headers because htmx requests get fragments.
// IsHTMX is the one place that decides whether a request wants a fragment.
package render

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// IsHTMX reports whether the request came from htmx and wants a fragment.
// Boosted links and forms want whole pages, and so does htmx restoring
// a page missing from its history cache (HX-History-Restore-Request): it
// swaps the response in as the whole body.
func IsHTMX(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
}

// HTML renders comp with status.
func HTML(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return fmt.Errorf("render %s: %w", c.Path(), err)
	}
	h := c.Response().Header()
	h.Add("Vary", "HX-Request, HX-Boosted, HX-History-Restore-Request")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// Redirect sends the browser to url: a 303 for normal requests, and an
// HX-Redirect header for htmx fragment requests so the whole page changes.
func Redirect(c echo.Context, url string) error {
	if IsHTMX(c) {
		c.Response().Header().Set("HX-Redirect", url)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, url)
}
