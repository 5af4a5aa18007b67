package devdb_test

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/devdb"
)

// TestURLFile checks that the connection URL is kept in the named file while
// the server runs, and that Stop removes it.
func TestURLFile(t *testing.T) {
	dir := dataDir(t)
	urlFile := filepath.Join(filepath.Dir(dir), "state", "postgres.url")
	s := start(t, devdb.Options{DataDir: dir, Fast: true, URLFile: urlFile, URLDatabase: "app"})
	b, err := os.ReadFile(urlFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), s.URL("app")+"\n"; got != want {
		t.Fatalf("URL file holds %q, want %q", got, want)
	}
	if err := devdb.EnsureDatabase(context.Background(), s.URL("postgres"), "app"); err != nil {
		t.Fatal(err)
	}
	connect(t, strings.TrimSpace(string(b)))
	stop(t, s)
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Fatalf("after Stop the URL file still exists (stat: %v)", err)
	}
}

// unreachableCheckout makes <base>/checkout/.data under a root-only base, as
// with a checkout in /root, and returns the data dir path below it.
func unreachableCheckout(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the server runs as another user only when we are root")
	}
	base := t.TempDir() // mode 0700, owned by root
	if err := os.MkdirAll(filepath.Join(base, "checkout", ".data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(base, "checkout", ".data", "postgres")
}

// TestStartFallback checks `make run` from a checkout the postgres user
// cannot reach: the cluster goes to that user's home, the data dir becomes a
// link to it, and the next start finds the same cluster through the link.
func TestStartFallback(t *testing.T) {
	dir := unreachableCheckout(t)
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	opts := devdb.Options{DataDir: dir, Fast: true, Fallback: true, URLFile: filepath.Join(filepath.Dir(dir), "postgres.url")}
	s := start(t, opts)
	alt := s.DataDir()
	t.Cleanup(func() {
		if err := os.RemoveAll(alt); err != nil {
			t.Errorf("remove %s: %v", alt, err)
		}
		_ = os.Remove(filepath.Dir(alt)) // ringhook-dev, when now empty
	})
	if want := filepath.Join(pg.HomeDir, "ringhook-dev") + string(filepath.Separator); !strings.HasPrefix(alt, want) || !strings.HasPrefix(filepath.Base(alt), "checkout-") {
		t.Fatalf("cluster in %s, want <postgres home>/ringhook-dev/checkout-<hash>", alt)
	}
	if target, err := os.Readlink(dir); err != nil || target != alt {
		t.Fatalf("%s links to %q (%v), want %s", dir, target, err, alt)
	}
	conn := connect(t, s.URL("postgres"))
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kept (id int)"); err != nil {
		t.Fatal(err)
	}
	stop(t, s)

	s2 := start(t, opts)
	if s2.DataDir() != alt {
		t.Fatalf("second start used %s, want %s", s2.DataDir(), alt)
	}
	if got := queryString(t, connect(t, s2.URL("postgres")), "SELECT to_regclass('kept')::text"); got != "kept" {
		t.Fatalf("table made before the restart: %q", got)
	}
	stop(t, s2)
}

// TestStartFallbackKeepsFiles checks that a non-empty directory in the way
// is reported, not replaced.
func TestStartFallbackKeepsFiles(t *testing.T) {
	dir := unreachableCheckout(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep-me"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := devdb.Start(context.Background(), devdb.Options{DataDir: dir, Fallback: true, Logf: t.Logf})
	if err == nil || !strings.Contains(err.Error(), "already holds files") {
		t.Fatalf("Start error = %v, want one saying the directory already holds files", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep-me")); err != nil {
		t.Fatalf("the file in the way is gone: %v", err)
	}
}

// TestStartWhileRunningNamesURL checks that a second Start on a running data
// dir (admin create while make run is up) says how to use the running server.
func TestStartWhileRunningNamesURL(t *testing.T) {
	dir := dataDir(t)
	s := start(t, devdb.Options{DataDir: dir, Fast: true})
	_, err := devdb.Start(context.Background(), devdb.Options{DataDir: dir, URLDatabase: "ringhook", Logf: t.Logf})
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL="+s.URL("ringhook")) {
		t.Fatalf("Start error = %v, want it to name DATABASE_URL=%s", err, s.URL("ringhook"))
	}
}
