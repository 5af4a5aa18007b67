package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ringhook/ringhook/models"
)

// TestAPIErrorHandler checks that every error a /api handler can return
// comes out as {"error":{"code","message","fields"}} without internal text.
func TestAPIErrorHandler(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(middleware.BodyLimit("1M"))
	errs := map[string]error{
		"fields":    fmt.Errorf("create webhook: %w", models.FieldErrors{"url": "Enter an https URL.", "name": "Required."}),
		"notfound":  fmt.Errorf("webhook: %w", models.ErrNotFound),
		"conflict":  models.ErrConflict,
		"internal":  fmt.Errorf("query: secret connection string postgres://u:p@db"),
		"forbidden": echo.NewHTTPError(http.StatusForbidden, "Your role can view but not change this account."),
	}
	e.POST("/api/test/:kind", func(c echo.Context) error {
		if _, err := c.FormParams(); err != nil {
			return err
		}
		return errs[c.Param("kind")]
	})

	cases := []struct {
		kind   string
		body   string
		status int
		code   string
		fields map[string]string
	}{
		{"fields", "", 422, "invalid", map[string]string{"url": "Enter an https URL.", "name": "Required."}},
		{"notfound", "", 404, "not_found", nil},
		{"conflict", "", 409, "conflict", nil},
		{"internal", "", 500, "internal", nil},
		{"forbidden", "", 403, "forbidden", nil},
		{"fields", strings.Repeat("a", 2<<20), 413, "too_large", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %d", tc.kind, tc.status), func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/test/"+tc.kind, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			var body struct {
				Error struct {
					Code    string            `json:"code"`
					Message string            `json:"message"`
					Fields  map[string]string `json:"fields"`
				} `json:"error"`
			}
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("not the JSON error shape: %v", err)
			}
			if rec.Code != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Fatalf("got %d %+v", rec.Code, body.Error)
			}
			if fmt.Sprint(body.Error.Fields) != fmt.Sprint(tc.fields) {
				t.Errorf("fields %v, want %v", body.Error.Fields, tc.fields)
			}
			if strings.Contains(body.Error.Message, "postgres://") {
				t.Error("internal error text leaked")
			}
		})
	}
}
