package handlers_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestAccessLog: one line per request with the status the client got, the
// request id, the account and user, and the duration; a 5xx is logged once,
// at error level, with its cause (and the cause never reaches the client).
func TestAccessLog(t *testing.T) {
	logs, log := newLog()
	app := handlertest.NewWith(t, handlertest.Options{Log: log})
	e := app.Server.Config.Handler.(*echo.Echo)
	e.GET("/test/fail", func(echo.Context) error {
		return fmt.Errorf("load thing: %w", errors.New("db exploded"))
	})
	e.GET("/test/panic", func(echo.Context) error { panic("kaboom") })
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)

	cases := []struct {
		name, path string
		status     int
		signedIn   bool
		cause      string // "" when the line must carry no err
	}{
		{"a page", "/webhooks", http.StatusOK, true, ""},
		{"a missing webhook", "/webhooks/wh_000000000000", http.StatusNotFound, true, ""},
		{"no such route", "/no/such/page", http.StatusNotFound, true, ""},
		{"a handler error", "/test/fail", http.StatusInternalServerError, false, "load thing: db exploded"},
		{"a panic", "/test/panic", http.StatusInternalServerError, false, "panic: kaboom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.Get(t, tc.path)
			if res.Status != tc.status {
				t.Fatalf("GET %s: %s", tc.path, handlertest.Describe(res))
			}
			if tc.cause != "" && (strings.Contains(res.Body, "exploded") || strings.Contains(res.Body, "kaboom")) {
				t.Fatal("the cause reached the client")
			}
			rid := res.Header.Get(echo.HeaderXRequestID)
			if rid == "" {
				t.Fatal("no X-Request-Id")
			}
			var mine []map[string]any
			for _, l := range logs.lines(t) {
				if l["request_id"] == rid || tc.cause != "" && strings.Contains(fmt.Sprint(l), strings.TrimPrefix(tc.cause, "panic: ")) {
					mine = append(mine, l)
				}
			}
			if len(mine) != 1 {
				t.Fatalf("%d log records for the request, want 1: %v", len(mine), mine)
			}
			l := mine[0]
			if l["msg"] != "request" || l["path"] != tc.path || l["method"] != "GET" || l["status"] != float64(tc.status) {
				t.Errorf("record %v", l)
			}
			if _, ok := l["ms"].(float64); !ok {
				t.Errorf("no duration: %v", l)
			}
			if tc.signedIn && (l["account"] != tn.Account.ID || l["user"] != tn.User.ID) {
				t.Errorf("account/user %v/%v, want %s/%s", l["account"], l["user"], tn.Account.ID, tn.User.ID)
			}
			wantLevel := "INFO"
			if tc.status >= 500 {
				wantLevel = "ERROR"
			}
			if l["level"] != wantLevel {
				t.Errorf("level %v, want %s", l["level"], wantLevel)
			}
			errText, _ := l["err"].(string)
			if tc.cause == "" && errText != "" || !strings.HasPrefix(errText, tc.cause) {
				t.Errorf("err %q, want it to start with %q", errText, tc.cause)
			}
		})
	}
}
