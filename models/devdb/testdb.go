package devdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

const (
	// TestDatabaseURLEnv names the environment variable with an admin URL
	// of an existing server for test databases (any database on it, e.g.
	// postgres://user@host:5432/postgres). Unset: a private server is
	// started per test package.
	TestDatabaseURLEnv = "TEST_DATABASE_URL"

	// TestURLEnv names the environment variable RunTests sets to the URL
	// of the package's test database; read it with TestURL.
	TestURLEnv = "RINGHOOK_TEST_DATABASE_URL"

	// testDBPrefix starts every test database name.
	testDBPrefix = "rh_test_"

	// maxIdentifier is PostgreSQL's identifier length limit (NAMEDATALEN-1).
	maxIdentifier = 63

	// runTestsSetupTimeout bounds database creation and setup in RunTests.
	runTestsSetupTimeout = 3 * time.Minute

	// runTestsCloseTimeout bounds cleanup in RunTests.
	runTestsCloseTimeout = time.Minute
)

// TestDatabase is a throwaway database created by NewTestDatabase.
type TestDatabase struct {
	// URL connects to the test database.
	URL string
	// Name is the database name.
	Name string

	adminURL string
	server   *Server // private server, nil when TEST_DATABASE_URL was used
	tempDir  string  // data dir of the private server
}

// NewTestDatabase creates an empty database for test package pkg, named
// rh_test_<pkg>_<8 random hex digits>. It uses the server named by
// TEST_DATABASE_URL when set and otherwise starts a private, non-durable
// server in a new temporary directory. Call Close to drop it.
func NewTestDatabase(ctx context.Context, pkg string) (*TestDatabase, error) {
	name, err := testDatabaseName(pkg)
	if err != nil {
		return nil, err
	}
	td := &TestDatabase{Name: name}

	if adminURL := os.Getenv(TestDatabaseURLEnv); adminURL != "" {
		td.adminURL = adminURL
	} else {
		dir, err := os.MkdirTemp("", "ringhook-pg-")
		if err != nil {
			return nil, fmt.Errorf("devdb: create temp dir for test server: %w", err)
		}
		td.tempDir = dir
		td.server, err = Start(ctx, Options{DataDir: dir, Fast: true})
		if err != nil {
			return nil, errors.Join(
				fmt.Errorf("devdb: test database for %s: %w", pkg, err),
				removeDir(dir),
			)
		}
		td.adminURL = td.server.URL("postgres")
	}

	if td.URL, err = withDatabase(td.adminURL, name); err == nil {
		err = EnsureDatabase(ctx, td.adminURL, name)
	}
	if err != nil {
		return nil, errors.Join(
			fmt.Errorf("devdb: test database for %s: %w", pkg, err),
			td.closeServer(context.WithoutCancel(ctx)),
		)
	}
	return td, nil
}

// Close drops the test database (terminating open sessions) and stops and
// removes the private server if NewTestDatabase started one.
func (td *TestDatabase) Close(ctx context.Context) error {
	var dropErr error
	if td.adminURL != "" && td.Name != "" {
		dropErr = dropDatabase(ctx, td.adminURL, td.Name)
	}
	return errors.Join(dropErr, td.closeServer(ctx))
}

// closeServer stops the private server and removes its directory.
func (td *TestDatabase) closeServer(ctx context.Context) error {
	var errs []error
	if td.server != nil {
		errs = append(errs, td.server.Stop(ctx))
		td.server = nil
	}
	if td.tempDir != "" {
		errs = append(errs, removeDir(td.tempDir))
		td.tempDir = ""
	}
	return errors.Join(errs...)
}

func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("devdb: remove %s: %w", dir, err)
	}
	return nil
}

// testDatabaseName builds rh_test_<sanitized pkg>_<random 8 hex>, within
// PostgreSQL's 63-byte identifier limit.
func testDatabaseName(pkg string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("devdb: random database name suffix: %w", err)
	}
	suffix := "_" + hex.EncodeToString(b[:])
	s := sanitizeName(pkg)
	if s == "" {
		s = "pkg"
	}
	if room := maxIdentifier - len(testDBPrefix) - len(suffix); len(s) > room {
		s = strings.TrimRight(s[:room], "_")
	}
	return testDBPrefix + s + suffix, nil
}

// sanitizeName lowercases s and turns every run of characters other than
// a-z, 0-9 and _ into one underscore, trimming underscores at both ends, so
// that "models/store" becomes "models_store".
func sanitizeName(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
			continue
		}
		pendingSep = true
	}
	return b.String()
}

// TestURL returns the URL of the current test package's database as set by
// RunTests, or "" outside of RunTests.
func TestURL() string {
	return os.Getenv(TestURLEnv)
}

// RunTests is meant for TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Exit(devdb.RunTests(m, "store", migrate))
//	}
//
// It creates the package's test database, calls setup with its URL (to run
// migrations), exports the URL as RINGHOOK_TEST_DATABASE_URL (see TestURL),
// runs the tests, drops the database and returns the exit code. When the
// database cannot be created or set up, or cleanup fails, it reports why on
// stderr and returns 1: tests never skip silently for lack of a database.
func RunTests(m interface{ Run() int }, pkg string, setup func(url string) error) int {
	setupCtx, cancel := context.WithTimeout(context.Background(), runTestsSetupTimeout)
	td, err := NewTestDatabase(setupCtx, pkg)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "devdb: cannot create the test database for %s: %v\n", pkg, err)
		return 1
	}
	closeDB := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), runTestsCloseTimeout)
		defer cancel()
		return td.Close(ctx)
	}

	if setup != nil {
		if err := setup(td.URL); err != nil {
			fmt.Fprintf(os.Stderr, "devdb: setting up the test database for %s failed: %v\n", pkg, err)
			if cerr := closeDB(); cerr != nil {
				fmt.Fprintf(os.Stderr, "devdb: cleanup: %v\n", cerr)
			}
			return 1
		}
	}
	if err := os.Setenv(TestURLEnv, td.URL); err != nil {
		fmt.Fprintf(os.Stderr, "devdb: set %s: %v\n", TestURLEnv, err)
		if cerr := closeDB(); cerr != nil {
			fmt.Fprintf(os.Stderr, "devdb: cleanup: %v\n", cerr)
		}
		return 1
	}

	code := m.Run()

	if err := closeDB(); err != nil {
		fmt.Fprintf(os.Stderr, "devdb: cleaning up the test database for %s: %v\n", pkg, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
