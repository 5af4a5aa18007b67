package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/session"
)

// fakeMetrics stands in for the metrics handler (web/metrics, wired by cmd).
var fakeMetrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, "ringhook_up 1\n")
})

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRoutesByRole: a dispatcher-role server answers only the probes and
// the metrics; a full server answers those and the console; without a
// metrics handler /metrics is not there.
func TestRoutesByRole(t *testing.T) {
	db, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	store := models.NewStore(db, nil, models.WithKeyring(modeltest.Keyring()))
	start := func(probesOnly bool, m http.Handler) string {
		h := handlers.New(handlers.Deps{Store: store, Sessions: session.New(store, make([]byte, 32), false), Metrics: m, Log: handlertest.Quiet})
		srv := httptest.NewServer(handlers.NewServer(h, handlers.ServerConfig{ProbesOnly: probesOnly, Log: handlertest.Quiet}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	cases := []struct {
		name       string
		probesOnly bool
		metrics    http.Handler
		want       map[string]int // path -> status
	}{
		{"dispatcher role", true, fakeMetrics, map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200,
			"/login": 404, "/": 404, "/webhooks": 404, "/api/v1/account": 404, "/api/openapi.json": 404, "/static/css/app.css": 404}},
		{"dispatcher role, metrics off", true, nil, map[string]int{"/healthz": 200, "/metrics": 404, "/login": 404}},
		{"full server", false, fakeMetrics, map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/login": 200, "/api/openapi.json": 200, "/static/css/app.css": 200}},
		{"full server, metrics off", false, nil, map[string]int{"/metrics": 404, "/login": 200}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := start(tc.probesOnly, tc.metrics)
			for path, want := range tc.want {
				code, body := get(t, url+path)
				if code != want {
					t.Errorf("GET %s: %d, want %d", path, code, want)
				}
				if path == "/metrics" && want == 200 && !strings.Contains(body, "ringhook_up 1") {
					t.Errorf("GET /metrics did not reach the metrics handler: %q", body)
				}
			}
		})
	}
}
