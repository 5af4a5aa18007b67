package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/models/modeltest"
)

// upLog is a logger that remembers the URLs serve announces (the main
// listener's and the metrics listener's), so a test can reach a server
// listening on a port the system chose.
type upLog struct {
	mu   sync.Mutex
	urls map[string]string // message -> url
}

func (l *upLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *upLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *upLog) WithGroup(string) slog.Handler            { return l }
func (l *upLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "url" {
			l.mu.Lock()
			l.urls[r.Message] = a.Value.String()
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// await waits for serve to announce msg and returns its URL.
func (l *upLog) await(t *testing.T, msg string, serveErr <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l.mu.Lock()
		u, ok := l.urls[msg]
		l.mu.Unlock()
		if ok {
			return u
		}
		select {
		case err := <-serveErr:
			t.Fatalf("serve stopped before %q: %v", msg, err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log %q within 20s", msg)
		}
	}
}

// process is one `ringhook serve` running in this test binary.
type process struct {
	url, metricsURL string
	done            <-chan error
}

// startServe runs serve with the environment as it is now (loadConfig
// reads it, as main does) until ctx ends.
func startServe(t *testing.T, ctx context.Context, withMetricsAddr bool) process {
	t.Helper()
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShutdownTimeout = 5 * time.Second
	lh := &upLog{urls: map[string]string{}}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(lh)) }()
	p := process{url: lh.await(t, "Ringhook is up", done), done: done}
	if withMetricsAddr {
		p.metricsURL = lh.await(t, "metrics are served", done)
	}
	return p
}

// scrapeValue GETs a metrics URL with the token and returns the value of
// the one series whose line starts with series (name and labels).
func scrapeValue(t *testing.T, url, token, series string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %s", url, res.StatusCode, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, series+" "), 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("%s has no series %s", url, series)
	return 0
}

func status(t *testing.T, method, url string, header http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestWebAndDispatcherRoles runs a web-role and a dispatcher-role serve on
// one database: an event ingested through the web one's API is sent by the
// dispatcher one, and the web one claims nothing.
func TestWebAndDispatcherRoles(t *testing.T) {
	ctx := context.Background()
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatal(err)
	}
	// Every process of a deployment shares the encryption key.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	ring, err := crypto.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	store := models.NewStore(db, nil, models.WithKeyring(ring))
	acc, err := store.CreateAccount(ctx, "Roles "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddPhoneNumber(ctx, acc.ID, models.Actor{Label: "test"}, "+918287842425", ""); err != nil {
		t.Fatal(err)
	}
	got := make(chan http.Header, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "roles", rc.URL, []string{"call.missed"}
	if _, err := store.CreateWebhook(ctx, acc.ID, models.Actor{Label: "test"}, in); err != nil {
		t.Fatal(err)
	}
	_, apiKey, err := store.CreateAPIKey(ctx, acc.ID, models.Actor{Label: "test"}, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}

	const token = "metrics-token-for-the-roles-test"
	t.Setenv("DATABASE_URL", modeltest.URL())
	t.Setenv("RINGHOOK_DATA_DIR", t.TempDir())
	t.Setenv("RINGHOOK_ENCRYPTION_KEY", hex.EncodeToString(key))
	t.Setenv("RINGHOOK_ALLOW_PRIVATE_TARGETS", "true") // the receiver is on loopback
	t.Setenv("RINGHOOK_ADDR", "127.0.0.1:0")
	t.Setenv("RINGHOOK_METRICS_TOKEN", token)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	live := func() (n int64) {
		t.Helper()
		if err := db.Raw("SELECT count(*) FROM dispatchers WHERE beat_at > now() - interval '5 seconds'").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := live()
	t.Setenv("RINGHOOK_ROLE", "web")
	web := startServe(t, sctx, false)
	// A started dispatcher registers before serve says it is up: the web
	// process has none.
	if n := live(); n != before {
		t.Fatalf("live dispatchers went from %d to %d with a web-role process", before, n)
	}
	t.Setenv("RINGHOOK_ROLE", "dispatcher")
	t.Setenv("RINGHOOK_METRICS_ADDR", "127.0.0.1:0")
	disp := startServe(t, sctx, true)

	// What each role serves.
	auth := http.Header{"Authorization": {"Bearer " + token}}
	for _, c := range []struct {
		method, url string
		header      http.Header
		want        int
	}{
		{"GET", web.url + "/healthz", nil, 200},
		{"GET", web.url + "/readyz", nil, 200},
		{"GET", web.url + "/login", nil, 200},
		{"GET", web.url + "/metrics", nil, 401},
		{"GET", web.url + "/metrics", auth, 200},
		{"GET", disp.url + "/healthz", nil, 200},
		{"GET", disp.url + "/readyz", nil, 200},
		{"GET", disp.url + "/login", nil, 404},
		{"POST", disp.url + "/api/v1/events", http.Header{"Authorization": {"Bearer " + apiKey}}, 404},
		{"GET", disp.url + "/metrics", auth, 200},
		{"GET", disp.metricsURL, nil, 401},
		{"GET", disp.metricsURL, auth, 200},
	} {
		if code := status(t, c.method, c.url, c.header); code != c.want {
			t.Errorf("%s %s (auth %v): %d, want %d", c.method, c.url, c.header != nil, code, c.want)
		}
	}

	// Ingest through the web process's API.
	ev := map[string]any{"event": "call.missed", "event_id": "evt_roles" + models.NewID(""), "occurred_at": "2026-04-09T07:24:53Z",
		"call_id": "call_roles", "direction": "inbound", "call_type": "inbound", "from_number": "+919240202904",
		"to_number": "+918287842425", "call_status": "missed", "missed_reason": "no_answer"}
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest(http.MethodPost, web.url+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest through the web process: %d %s", res.StatusCode, resBody)
	}

	select {
	case h := <-got:
		if h.Get("webhook-id") != ev["event_id"] {
			t.Errorf("the receiver got webhook-id %q, want %q", h.Get("webhook-id"), ev["event_id"])
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the receiver got nothing within 20s")
	}
	// Sent, then recorded: the dispatcher's metrics say it claimed and
	// delivered it; the web process's say it ingested and claimed nothing.
	attempts := `ringhook_delivery_attempts_total{error_kind="none",outcome="succeeded",trigger="auto"}`
	for deadline := time.Now().Add(20 * time.Second); scrapeValue(t, disp.metricsURL, token, attempts) < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher process never recorded the delivery")
		}
	}
	checks := []struct {
		what      string
		got, want float64
	}{
		{"dispatcher: claimed", scrapeValue(t, disp.metricsURL, token, "ringhook_claimed_deliveries_total"), 1},
		{"dispatcher: delivered", scrapeValue(t, disp.metricsURL, token, attempts), 1},
		{"dispatcher: ingested", scrapeValue(t, disp.metricsURL, token, `ringhook_ingest_events_total{result="accepted"}`), 0},
		{"dispatcher: role", scrapeValue(t, disp.metricsURL, token, `ringhook_build_info{role="dispatcher",version="0.1.0"}`), 1},
		{"web: ingested", scrapeValue(t, web.url+"/metrics", token, `ringhook_ingest_events_total{result="accepted"}`), 1},
		{"web: claimed", scrapeValue(t, web.url+"/metrics", token, "ringhook_claimed_deliveries_total"), 0},
		{"web: claim statements", scrapeValue(t, web.url+"/metrics", token, "ringhook_claim_duration_seconds_count"), 0},
		{"web: delivered", scrapeValue(t, web.url+"/metrics", token, attempts), 0},
		{"web: workers", scrapeValue(t, web.url+"/metrics", token, "ringhook_workers"), 0},
		{"web: sees the one live dispatcher", scrapeValue(t, web.url+"/metrics", token, "ringhook_dispatchers_live"), float64(before + 1)},
		{"pool stats", scrapeValue(t, web.url+"/metrics", token, `go_sql_max_open_connections{db_name="ringhook"}`), 32},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	select {
	case h := <-got:
		t.Errorf("the receiver got a second request (webhook-id %s)", h.Get("webhook-id"))
	default:
	}

	stop()
	for name, p := range map[string]process{"web": web, "dispatcher": disp} {
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("%s serve: %v", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s serve did not stop within 20s", name)
		}
	}
}

// TestRoleAndMetricsConfig: RINGHOOK_ROLE takes all, web or dispatcher
// (empty is all); a short metrics token is refused.
func TestRoleAndMetricsConfig(t *testing.T) {
	cases := []struct {
		role, token string
		want        role
		wantErr     string
	}{
		{"", "", roleAll, ""},
		{"all", "", roleAll, ""},
		{"web", "", roleWeb, ""},
		{" dispatcher ", "", roleDispatcher, ""},
		{"worker", "", "", "RINGHOOK_ROLE must be all, web or dispatcher"},
		{"", "short", "", "RINGHOOK_METRICS_TOKEN must be at least 16 characters"},
		{"", "sixteen-chars-ok", roleAll, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q %q", tc.role, tc.token), func(t *testing.T) {
			t.Setenv("RINGHOOK_ROLE", tc.role)
			t.Setenv("RINGHOOK_METRICS_TOKEN", tc.token)
			cfg, err := loadConfig()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.Role != tc.want {
				t.Fatalf("role %q, %v; want %q", cfg.Role, err, tc.want)
			}
		})
	}
}
