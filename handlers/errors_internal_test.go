package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// secret is internal text that must never reach a response.
const secret = "postgres://u:p@db/secret"

// TestProblemTable pins the one mapping: every sentinel of the vocabulary,
// bare or wrapped with context, gets its status, code and message; a
// fault.Error's message replaces the stock one; anything else is a 500
// that says nothing of the cause.
func TestProblemTable(t *testing.T) {
	cases := []struct {
		kind    error
		status  int
		code    string
		message string
	}{
		{fault.ErrInvalid, 422, "invalid", "The input is not valid."},
		{fault.ErrNotFound, 404, "not_found", "That page does not exist, or it belongs to another account."},
		{fault.ErrInFlight, 409, "in_flight", "This delivery is being sent right now. Try again in a moment."},
		{fault.ErrUnrenderable, 409, "unrenderable", "This delivery cannot be redelivered: its request could not be built."},
		{fault.ErrFinished, 409, "finished", "This has already finished; there is nothing left to change."},
		{fault.ErrInvalidCredentials, 401, "unauthorized", "The credentials are not valid."},
		{fault.ErrUnauthenticated, 401, "unauthorized", "Sign in, or send an API key in the header Authorization: Bearer sk_…"},
		{fault.ErrForbidden, 403, "forbidden", "Your role can view but not change this account."},
		{fault.ErrFormExpired, 403, "form_expired", "This form has expired or did not come from Ringhook. Reload the page and try again."},
		{fault.ErrBadRequest, 400, "bad_request", "The request could not be read."},
		{fault.ErrUnsupportedMediaType, 415, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json."},
		{fault.ErrTooLarge, 413, "too_large", "The request body is larger than 1 MiB."},
		{fault.ErrMethodNotAllowed, 405, "method_not_allowed", "This address does not accept that method."},
		{fault.ErrUnavailable, 503, "unavailable", "This is not available in this process right now. Try again later."},
		{fault.ErrRateLimited, 429, "rate_limited", "Too many requests; wait for the time in the Retry-After header, then try again."},
		{fault.ErrIdempotencyKeyReused, 422, "idempotency_key_reused", "This Idempotency-Key was already used for a different request. Use a new key for a new request."},
	}
	if len(cases) != len(problemTable) {
		t.Fatalf("the table has %d rows, the test %d: a sentinel without a case", len(problemTable), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.code+" "+tc.kind.Error(), func(t *testing.T) {
			want := Problem{Status: tc.status, Code: tc.code, Message: tc.message}
			if got := problemOf(tc.kind); !reflect.DeepEqual(got, want) {
				t.Errorf("problemOf(%v) = %+v, want %+v", tc.kind, got, want)
			}
			wrapped := fmt.Errorf("load thing %s: %w", secret, tc.kind)
			if got := problemOf(wrapped); !reflect.DeepEqual(got, want) {
				t.Errorf("wrapped: %+v, want %+v", got, want)
			}
			own := fault.Errorf(tc.kind, "Own words.").WithCause(errors.New(secret))
			if got := problemOf(own); got.Status != tc.status || got.Code != tc.code || got.Message != "Own words." {
				t.Errorf("fault.Error: %+v", got)
			}
		})
	}

	t.Run("models and the dispatcher's errors are the same vocabulary", func(t *testing.T) {
		for _, err := range []error{models.ErrNotFound, models.ErrInFlight, models.ErrUnrenderable, models.ErrInvalidCredentials} {
			if p := problemOf(err); p.Status >= 500 {
				t.Errorf("%v maps to %d", err, p.Status)
			}
		}
	})
	t.Run("field errors from any layer carry their fields", func(t *testing.T) {
		_, catalogErr := catalog.Normalize(map[string]any{"event": "call.hangup"})
		for name, err := range map[string]error{
			"store":   fmt.Errorf("create webhook: %w", models.FieldErrors{"url": "Enter an https URL.", "name": "Required."}),
			"catalog": fmt.Errorf("ingest: %w", catalogErr),
		} {
			p := problemOf(err)
			var fe fault.FieldErrors
			errors.As(err, &fe)
			if p.Status != 422 || p.Code != "invalid" || !reflect.DeepEqual(p.Fields, map[string]string(fe)) || len(p.Fields) == 0 {
				t.Errorf("%s: %+v", name, p)
			}
			if !strings.HasPrefix(p.Message, "The input is not valid: ") {
				t.Errorf("%s: message %q", name, p.Message)
			}
		}
	})
	t.Run("unknown errors are internal and say nothing", func(t *testing.T) {
		for _, err := range []error{
			errors.New(secret),
			fmt.Errorf("query: %w", errors.New(secret)),
			echo.NewHTTPError(http.StatusTeapot, secret),
			echo.NewHTTPError(http.StatusInternalServerError, secret),
		} {
			if p := problemOf(err); !reflect.DeepEqual(p, internalProblem) {
				t.Errorf("%v: %+v", err, p)
			}
		}
	})
	t.Run("framework errors map by status, without their text", func(t *testing.T) {
		for code, kind := range frameworkKinds {
			p := problemOf(echo.NewHTTPError(code, secret))
			if !reflect.DeepEqual(p, problemOf(kind)) {
				t.Errorf("%d: %+v", code, p)
			}
		}
	})
}

// TestErrorEnvelopes drives errors through the real error handler: the
// JSON API, the console (page and htmx fragment) and a dialect with its
// own envelope all show the same Problem, and none shows internal text.
func TestErrorEnvelopes(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(middleware.BodyLimit("1M"))
	errs := map[string]error{
		"fields":      fmt.Errorf("create webhook: %w", models.FieldErrors{"url": "Enter an https URL.", "name": "Required."}),
		"notfound":    fmt.Errorf("webhook: %w", models.ErrNotFound),
		"inflight":    fmt.Errorf("redeliver: %w", models.ErrInFlight),
		"internal":    fmt.Errorf("query: %s", secret),
		"forbidden":   fault.ErrForbidden,
		"unavailable": fault.Errorf(fault.ErrUnavailable, "The dispatcher is not running.").WithCause(errors.New(secret)),
		"echo":        echo.NewHTTPError(http.StatusTeapot, secret),
	}
	handler := func(c echo.Context) error {
		if _, err := formParams(c); err != nil {
			return err
		}
		return errs[c.Param("kind")]
	}
	e.POST("/api/test/:kind", handler)
	e.POST("/console/:kind", handler)
	// A dialect: its own envelope, the same Problem.
	dialect := e.Group("/dialect", useProblemWriter(func(c echo.Context, p Problem) error {
		return c.JSON(p.Status, map[string]any{"status": "error", "error": p.Code, "message": p.Message, "data": p.Fields})
	}))
	dialect.POST("/:kind", handler)

	cases := []struct {
		kind   string
		body   string
		status int
		code   string
		fields map[string]string
	}{
		{"fields", "", 422, "invalid", map[string]string{"url": "Enter an https URL.", "name": "Required."}},
		{"notfound", "", 404, "not_found", nil},
		{"inflight", "", 409, "in_flight", nil},
		{"internal", "", 500, "internal", nil},
		{"forbidden", "", 403, "forbidden", nil},
		{"unavailable", "", 503, "unavailable", nil},
		{"echo", "", 500, "internal", nil},
		{"fields", strings.Repeat("a", 2<<20), 413, "too_large", nil},
	}
	post := func(t *testing.T, path, body string, h http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("internal text leaked: %s", rec.Body)
		}
		return rec
	}
	for _, tc := range cases {
		want := problemOf(errs[tc.kind])
		if tc.status == 413 {
			want = problemOf(fault.ErrTooLarge)
		}
		if want.Status != tc.status || want.Code != tc.code {
			t.Fatalf("%s: table says %+v", tc.kind, want)
		}
		t.Run(fmt.Sprintf("api %s %d", tc.kind, tc.status), func(t *testing.T) {
			rec := post(t, "/api/test/"+tc.kind, tc.body, nil)
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
			if rec.Code != tc.status || body.Error.Code != tc.code || body.Error.Message != want.Message {
				t.Fatalf("got %d %+v, want %+v", rec.Code, body.Error, want)
			}
			if fmt.Sprint(body.Error.Fields) != fmt.Sprint(tc.fields) {
				t.Errorf("fields %v, want %v", body.Error.Fields, tc.fields)
			}
		})
		t.Run(fmt.Sprintf("dialect %s %d", tc.kind, tc.status), func(t *testing.T) {
			if tc.status == 413 {
				// BodyLimit refuses a declared length before routing, so
				// before the group sets its writer: the path's default applies.
				t.Skip("refused before routing")
			}
			rec := post(t, "/dialect/"+tc.kind, tc.body, nil)
			var body struct {
				Status  string            `json:"status"`
				Error   string            `json:"error"`
				Message string            `json:"message"`
				Data    map[string]string `json:"data"`
			}
			if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || body.Status != "error" || body.Error != tc.code || body.Message != want.Message || fmt.Sprint(body.Data) != fmt.Sprint(tc.fields) {
				t.Fatalf("got %d %+v", rec.Code, body)
			}
		})
		t.Run(fmt.Sprintf("console %s %d", tc.kind, tc.status), func(t *testing.T) {
			escaped := strings.NewReplacer(`"`, "&#34;", "'", "&#39;").Replace(want.Message)
			rec := post(t, "/console/"+tc.kind, tc.body, nil)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), "<html") || !strings.Contains(rec.Body.String(), escaped) {
				t.Fatalf("page %d lacks %q: %s", rec.Code, escaped, rec.Body)
			}
			rec = post(t, "/console/"+tc.kind, tc.body, http.Header{"Hx-Request": {"true"}})
			if rec.Code != tc.status || strings.Contains(rec.Body.String(), "<html") || !strings.Contains(rec.Body.String(), escaped) {
				t.Fatalf("fragment %d lacks %q: %s", rec.Code, escaped, rec.Body)
			}
		})
	}
}
