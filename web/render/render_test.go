package render_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/web/render"
)

func newContext(headers map[string]string) (echo.Context, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(http.MethodPost, "/x", nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	return echo.New().NewContext(req, rec), rec
}

func TestIsHTMXAndRedirect(t *testing.T) {
	cases := []struct {
		name     string
		headers  map[string]string
		fragment bool
	}{
		{"plain browser request", nil, false},
		{"htmx request", map[string]string{"HX-Request": "true"}, true},
		{"boosted link wants a page", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, false},
		{"history restore wants a page", map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"}, false},
		{"HX-Request other than true", map[string]string{"HX-Request": "1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := newContext(tc.headers)
			if got := render.IsHTMX(c); got != tc.fragment {
				t.Fatalf("IsHTMX = %v, want %v", got, tc.fragment)
			}
			if err := render.Redirect(c, "/next"); err != nil {
				t.Fatal(err)
			}
			if tc.fragment {
				if rec.Code != http.StatusNoContent || rec.Header().Get("HX-Redirect") != "/next" {
					t.Errorf("htmx redirect: %d %v", rec.Code, rec.Header())
				}
			} else if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/next" {
				t.Errorf("redirect: %d %v", rec.Code, rec.Header())
			}
		})
	}
}

func TestHTML(t *testing.T) {
	t.Run("renders with status and varies on the htmx headers", func(t *testing.T) {
		c, rec := newContext(nil)
		comp := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "<p>hi</p>")
			return err
		})
		if err := render.HTML(c, http.StatusTeapot, comp); err != nil {
			t.Fatal(err)
		}
		vary := rec.Header().Get("Vary")
		if rec.Code != http.StatusTeapot || rec.Body.String() != "<p>hi</p>" || !strings.Contains(vary, "HX-Request") || !strings.Contains(vary, "HX-History-Restore-Request") {
			t.Errorf("%d %q vary %q", rec.Code, rec.Body, vary)
		}
	})
	t.Run("a failing component writes nothing", func(t *testing.T) {
		c, rec := newContext(nil)
		comp := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, _ = io.WriteString(w, "<p>half")
			return errors.New("boom")
		})
		if err := render.HTML(c, http.StatusOK, comp); err == nil || rec.Body.Len() != 0 || c.Response().Committed {
			t.Errorf("err %v body %q", err, rec.Body)
		}
	})
}
