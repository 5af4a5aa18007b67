package devdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ringhook/ringhook/models/devdb"
)

// machineURL is the PostgreSQL server of the development machine (trust
// authentication for root).
const machineURL = "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"

// dataDir returns a not yet existing data dir below a fresh temporary
// directory whose parents the postgres user can traverse (t.TempDir's
// parent is private to root).
func dataDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "devdb-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			t.Errorf("remove %s: %v", base, err)
		}
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(base, "pgdata")
}

func start(t *testing.T, opts devdb.Options) *devdb.Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := devdb.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func stop(t *testing.T, s *devdb.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestServerLifecycle(t *testing.T) {
	dir := dataDir(t)
	s := start(t, devdb.Options{DataDir: dir, Fast: true})

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data dir mode = %v, want 0700", got)
	}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != pg.Uid {
			t.Errorf("data dir owner uid = %d, want postgres (%s)", uid, pg.Uid)
		}
	}
	if _, err := os.Stat(s.LogPath()); err != nil {
		t.Errorf("server log: %v", err)
	}
	if want := fmt.Sprintf("postgres://ringhook@127.0.0.1:%d/app?sslmode=disable", s.Port()); s.URL("app") != want {
		t.Errorf("URL(app) = %q, want %q", s.URL("app"), want)
	}

	admin := connect(t, s.URL("postgres"))
	if got := queryString(t, admin, "SELECT current_user"); got != "ringhook" {
		t.Errorf("current_user = %q, want ringhook", got)
	}
	if got := queryString(t, admin, "SHOW fsync"); got != "off" {
		t.Errorf("fsync with Fast = %q, want off", got)
	}
	if got := queryString(t, admin, "SHOW server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}

	names := []string{"plain", "With Space", `quote"name`, "semi;colon", "ünïcode"}
	for _, name := range names {
		t.Run("ensure "+name, func(t *testing.T) {
			ctx := context.Background()
			for range 2 { // the second call must be a no-op
				if err := devdb.EnsureDatabase(ctx, s.URL("postgres"), name); err != nil {
					t.Fatalf("EnsureDatabase(%q): %v", name, err)
				}
			}
			db := connect(t, s.URL(name))
			if got := queryString(t, db, "SELECT current_database()"); got != name {
				t.Errorf("current_database() = %q, want %q", got, name)
			}
			if err := db.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
				t.Fatalf("drop %q: %v", name, err)
			}
			var n int
			if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
				t.Fatalf("database %q still there after drop (count %d, err %v)", name, n, err)
			}
		})
	}

	// Data survives a restart on the same directory.
	ctx := context.Background()
	if err := devdb.EnsureDatabase(ctx, s.URL("postgres"), "keep"); err != nil {
		t.Fatal(err)
	}
	db := connect(t, s.URL("keep"))
	if _, err := db.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close(ctx)
	_ = admin.Close(ctx)
	stop(t, s)
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after clean stop: %v", err)
	}

	s2 := start(t, devdb.Options{DataDir: dir}) // durable this time
	db2 := connect(t, s2.URL("keep"))
	if got := queryString(t, db2, "SELECT v FROM kept"); got != "still here" {
		t.Errorf("after restart kept.v = %q", got)
	}
	if got := queryString(t, db2, "SHOW fsync"); got != "on" {
		t.Errorf("fsync without Fast = %q, want on", got)
	}
	_ = db2.Close(ctx)
	stop(t, s2)
}

func TestStartExplicitPort(t *testing.T) {
	dir := dataDir(t)
	s := start(t, devdb.Options{DataDir: dir, Fast: true})
	port := s.Port()
	stop(t, s)

	s2 := start(t, devdb.Options{DataDir: dir, Fast: true, Port: port})
	if s2.Port() != port {
		t.Errorf("Port() = %d, want %d", s2.Port(), port)
	}
	connect(t, s2.URL("postgres"))
	stop(t, s2)
}

// readPidFile returns the lines of the server's postmaster.pid.
func readPidFile(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

func TestPidFile(t *testing.T) {
	tests := []struct {
		name string
		// leave puts the data dir into the state to test, given the running
		// first server, and returns a substring of the expected Start error
		// ("" for success).
		leave func(t *testing.T, dir string, s *devdb.Server) string
	}{
		{
			name: "live server owns the directory",
			leave: func(t *testing.T, dir string, s *devdb.Server) string {
				return "already running"
			},
		},
		{
			name: "crashed server left a stale pid file",
			leave: func(t *testing.T, dir string, s *devdb.Server) string {
				pid, err := strconv.Atoi(readPidFile(t, dir)[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				if err := s.Stop(context.Background()); err == nil {
					t.Error("Stop after crash: want an error about the unexpected exit")
				}
				if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
					t.Fatalf("expected a leftover postmaster.pid: %v", err)
				}
				return ""
			},
		},
		{
			name: "stale pid reused by an unrelated process",
			leave: func(t *testing.T, dir string, s *devdb.Server) string {
				lines := readPidFile(t, dir)
				stop(t, s)
				sleeper := exec.Command("sleep", "300")
				if err := sleeper.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_ = sleeper.Process.Kill()
					_ = sleeper.Wait()
				})
				lines[0] = strconv.Itoa(sleeper.Process.Pid)
				if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
					t.Fatal(err)
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := dataDir(t)
			s := start(t, devdb.Options{DataDir: dir, Fast: true})
			ctx := context.Background()
			if err := devdb.EnsureDatabase(ctx, s.URL("postgres"), "app"); err != nil {
				t.Fatal(err)
			}
			wantErr := tt.leave(t, dir, s)

			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			s2, err := devdb.Start(ctx, devdb.Options{DataDir: dir, Fast: true, Logf: t.Logf})
			if wantErr != "" {
				if err == nil {
					_ = s2.Stop(ctx)
					t.Fatalf("Start: got success, want error containing %q", wantErr)
				}
				if !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("Start error = %v, want it to contain %q", err, wantErr)
				}
				t.Logf("Start error (expected): %v", err)
				// The first server is unaffected.
				connect(t, s.URL("app"))
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			t.Cleanup(func() { _ = s2.Stop(context.Background()) })
			connect(t, s2.URL("app"))
			stop(t, s2)
		})
	}
}

func TestStartUntraversableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the traversability check applies only when running as root")
	}
	// t.TempDir is created with mode 0700 and owned by root.
	_, err := devdb.Start(context.Background(), devdb.Options{DataDir: filepath.Join(t.TempDir(), "pgdata")})
	if err == nil || !strings.Contains(err.Error(), "not traversable") {
		t.Fatalf("Start error = %v, want one about a non-traversable parent", err)
	}
	t.Logf("Start error (expected): %v", err)
}

// NewScratch makes a database on an existing server or on a private one,
// and Close drops it (and stops the private server).
func TestNewScratch(t *testing.T) {
	tests := []struct {
		name     string
		adminURL string // "" = private server
	}{
		{name: "private server"},
		{name: "machine server", adminURL: machineURL},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.adminURL != "" {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				conn, err := pgx.Connect(ctx, tt.adminURL)
				cancel()
				if err != nil {
					t.Skipf("machine PostgreSQL server at %s does not answer: %v", tt.adminURL, err)
				}
				_ = conn.Close(context.Background())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			name := fmt.Sprintf("devdb_scratch_%d_%d", i, time.Now().UnixNano())
			sc, err := devdb.NewScratch(ctx, devdb.ScratchOptions{AdminURL: tt.adminURL, Name: name, Fast: true, Logf: t.Logf})
			if err != nil {
				t.Fatalf("NewScratch: %v", err)
			}
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = sc.Close(context.Background())
				}
			})
			if sc.Name != name || sc.Private() != (tt.adminURL == "") || (sc.DataDir != "") != sc.Private() {
				t.Errorf("scratch = name %q private %v data dir %q", sc.Name, sc.Private(), sc.DataDir)
			}
			conn := connect(t, sc.URL)
			if got := queryString(t, conn, "SELECT current_database()"); got != name {
				t.Errorf("current_database() = %q, want %q", got, name)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
				t.Fatal(err)
			}
			dataDir := sc.DataDir

			// Close must succeed with a session still open (DROP ... WITH (FORCE)).
			closed = true
			if err := sc.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if tt.adminURL != "" {
				admin := connect(t, tt.adminURL)
				var n int
				if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("database %s still exists after Close", name)
				}
				return
			}
			probeCtx, probeCancel := context.WithTimeout(ctx, 5*time.Second)
			defer probeCancel()
			if c, err := pgx.Connect(probeCtx, sc.URL); err == nil {
				_ = c.Close(ctx)
				t.Errorf("private server still answers at %s after Close", sc.URL)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("private data dir %s not removed: %v", dataDir, err)
			}
		})
	}
	if _, err := devdb.NewScratch(context.Background(), devdb.ScratchOptions{}); err == nil {
		t.Error("NewScratch without a name succeeded")
	}
}
