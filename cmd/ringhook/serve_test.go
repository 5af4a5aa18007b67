package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/devdb"
)

// freeLoopbackPort returns a port on 127.0.0.1 nothing listens on now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// get returns the status and body of GET url ("" and 0 when it fails).
func get(url string) (int, string) {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitStatus polls url until it answers want or the deadline passes.
func waitStatus(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, body := get(url)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: status %d (%q), want %d within %s", url, got, body, want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serve started while its database is down stays up: /healthz 200, /readyz
// and the console 503 with Retry-After; once a PostgreSQL starts on the
// configured port it migrates, turns ready and serves the console.
func TestServeWaitsForDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL")
	}
	pgPort, httpPort := freeLoopbackPort(t), freeLoopbackPort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	t.Setenv("DATABASE_URL", "postgres://"+devdb.SuperUser+"@127.0.0.1:"+strconv.Itoa(pgPort)+"/postgres?sslmode=disable")
	t.Setenv("RINGHOOK_ADDR", "127.0.0.1:"+strconv.Itoa(httpPort))
	t.Setenv("RINGHOOK_DATA_DIR", t.TempDir())
	t.Setenv("RINGHOOK_ALLOW_PRIVATE_TARGETS", "true")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}) }()

	waitStatus(t, base+"/healthz", http.StatusOK, 20*time.Second)
	if got, _ := get(base + "/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database down: %d, want 503", got)
	}
	for _, path := range []string{"/login", "/api/v1/account"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s while waiting: %d Retry-After %q, want 503 with Retry-After", path, res.StatusCode, res.Header.Get("Retry-After"))
		}
		if strings.HasPrefix(path, "/api/") && !strings.Contains(string(b), `"code":"unavailable"`) {
			t.Errorf("GET %s while waiting: body %q, want the API error shape", path, b)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("serve exited while the database was down: %v", err)
	default:
	}

	dir, err := os.MkdirTemp("", "ringhook-pg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer scancel()
	srv, err := devdb.Start(sctx, devdb.Options{DataDir: dir, Port: pgPort, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())

	waitStatus(t, base+"/readyz", http.StatusOK, 30*time.Second)
	if got, body := get(base + "/login"); got != http.StatusOK || !strings.Contains(body, "<form") {
		t.Errorf("GET /login once ready: %d, want 200 with the form", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of cancel")
	}
}

// A malformed DATABASE_URL is not worth waiting for.
func TestServeBadDatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://%zz")
	t.Setenv("RINGHOOK_ADDR", "127.0.0.1:0")
	t.Setenv("RINGHOOK_DATA_DIR", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, []string{"serve"}); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("serve with a malformed DATABASE_URL: %v, want an error naming DATABASE_URL", err)
	}
}
