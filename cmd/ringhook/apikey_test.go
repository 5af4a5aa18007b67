package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
	"github.com/ringhook/ringhook/models/modeltest"
)

var printedKeyRE = regexp.MustCompile(`(?m)^sk_(live|test)_[A-Za-z0-9]{40}$`)

// createKey runs `apikey create` with args and returns the one key printed.
func createKey(t *testing.T, args ...string) (string, string) {
	t.Helper()
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := apikey(context.Background(), cfg, slog.New(slog.DiscardHandler), append([]string{"create"}, args...), &out); err != nil {
		t.Fatalf("apikey create %v: %v", args, err)
	}
	keys := printedKeyRE.FindAllString(out.String(), -1)
	if len(keys) != 1 {
		t.Fatalf("printed %d keys, want 1:\n%s", len(keys), out.String())
	}
	return keys[0], out.String()
}

// TestAPIKeyCreate runs the subcommand against the package's database, as
// an operator would with DATABASE_URL set.
func TestAPIKeyCreate(t *testing.T) {
	t.Setenv("DATABASE_URL", modeltest.URL())
	t.Setenv("RINGHOOK_DATA_DIR", t.TempDir())
	ctx := context.Background()
	if err := run(ctx, []string{"admin", "create", "--email", "pbx-ops@example.com", "--account", "Key Telecom", "--password", "correct horse 1"}); err != nil {
		t.Fatalf("admin create: %v", err)
	}
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	store := models.NewStore(db, nil)
	acc, err := store.AccountByName(ctx, "Key Telecom")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		args     []string
		scope    models.APIKeyScope
		testMode bool
	}{
		{"default: a full live key", []string{"--account", "Key Telecom", "--name", "CRM"}, models.ScopeFull, false},
		{"an ingest key for the PBX", []string{"--account", "Key Telecom", "--name", "PBX", "--scope", "ingest"}, models.ScopeIngest, false},
		{"a read test key", []string{"--account", "Key Telecom", "--name", "staging reports", "--scope", "read", "--test"}, models.ScopeRead, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plain, out := createKey(t, tc.args...)
			if !strings.Contains(out, "cannot be shown again") {
				t.Errorf("no warning that the key is shown once:\n%s", out)
			}
			k, err := store.AuthenticateAPIKey(ctx, plain)
			if err != nil {
				t.Fatalf("the printed key does not authenticate: %v", err)
			}
			if k.AccountID != acc.ID || k.Scope != tc.scope || k.TestMode() != tc.testMode {
				t.Fatalf("key: account %s scope %s test %v", k.AccountID, k.Scope, k.TestMode())
			}
		})
	}

	errCases := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"apikey"}, "usage: ringhook apikey create"},
		{"unknown subcommand", []string{"apikey", "revoke"}, "usage"},
		{"missing name", []string{"apikey", "create", "--account", "Key Telecom"}, "--account and --name are required"},
		{"missing account", []string{"apikey", "create", "--name", "x"}, "--account and --name are required"},
		{"unknown account", []string{"apikey", "create", "--account", "Nobody Inc", "--name", "x"}, `no account is named "Nobody Inc"`},
		{"bad scope", []string{"apikey", "create", "--account", "Key Telecom", "--name", "x", "--scope", "admin"}, "--scope must be full, read or ingest"},
		{"blank name", []string{"apikey", "create", "--account", "Key Telecom", "--name", "   "}, "--name: Give the key a name"},
		{"unknown flag", []string{"apikey", "create", "--account", "Key Telecom", "--name", "x", "--live"}, "flag provided but not defined"},
		{"stray argument", []string{"apikey", "create", "--account", "Key Telecom", "--name", "x", "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	keys, err := store.APIKeys(ctx, acc.ID)
	if err != nil || len(keys) != len(cases) {
		t.Fatalf("%d keys after the failures, want %d: %v", len(keys), len(cases), err)
	}
}

// TestAPIKeyCreateAlongsideMakeRun: with DATABASE_URL unset and the private
// PostgreSQL already running on the data dir (as under `make run`), the
// command uses that server instead of failing to start a second one, and
// leaves it running.
func TestAPIKeyCreateAlongsideMakeRun(t *testing.T) {
	base, err := os.MkdirTemp("", "ringhook-apikey-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil { // the postgres user must reach it when run as root
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devdb.Start(ctx, devdb.Options{DataDir: filepath.Join(base, "postgres"), Fast: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("start the private server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	if err := devdb.EnsureDatabase(ctx, srv.URL("postgres"), "ringhook"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("RINGHOOK_DATA_DIR", base)
	if err := run(ctx, []string{"admin", "create", "--email", "dev@example.com", "--account", "Demo PBX", "--password", "correct horse 1"}); err != nil {
		t.Fatalf("admin create alongside the running server: %v", err)
	}
	plain, _ := createKey(t, "--account", "Demo PBX", "--name", "desk phone PBX", "--scope", "ingest")

	db, err := models.Open(ctx, srv.URL("ringhook"))
	if err != nil {
		t.Fatalf("the running server is gone: %v", err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	k, err := models.NewStore(db, nil).AuthenticateAPIKey(ctx, plain)
	if err != nil || k.Scope != models.ScopeIngest {
		t.Fatalf("key on the running server: %+v %v", k, err)
	}
}

// TestAPIRateLimitConfig: the API's per-key rates come from the
// environment; nonsense is refused at start.
func TestAPIRateLimitConfig(t *testing.T) {
	cases := []struct {
		rate, ingest string
		want         handlers.APILimits
		err          string
	}{
		{"", "", handlers.APILimits{Rate: 50, IngestRate: 20000}, ""},
		{"2.5", "1000", handlers.APILimits{Rate: 2.5, IngestRate: 1000}, ""},
		{"0", "", handlers.APILimits{}, "RINGHOOK_API_RATE"},
		{"fast", "", handlers.APILimits{}, "RINGHOOK_API_RATE"},
		{"NaN", "", handlers.APILimits{}, "RINGHOOK_API_RATE"},
		{"", "-1", handlers.APILimits{}, "RINGHOOK_API_INGEST_RATE"},
		{"", "+Inf", handlers.APILimits{}, "RINGHOOK_API_INGEST_RATE"},
	}
	for _, tc := range cases {
		t.Run(tc.rate+"/"+tc.ingest, func(t *testing.T) {
			t.Setenv("RINGHOOK_API_RATE", tc.rate)
			t.Setenv("RINGHOOK_API_INGEST_RATE", tc.ingest)
			cfg, err := loadConfig()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want it to name %s", err, tc.err)
				}
				return
			}
			if err != nil || cfg.APILimits != tc.want {
				t.Fatalf("%+v %v, want %+v", cfg.APILimits, err, tc.want)
			}
		})
	}
}
