package modeltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ringhook/ringhook/models/devdb"
)

const (
	// TestDatabaseURLEnv names the environment variable with an admin URL
	// of an existing server for test databases (any database on it, e.g.
	// postgres://user@host:5432/postgres). Unset: a private server is
	// started per test package.
	TestDatabaseURLEnv = "TEST_DATABASE_URL"

	// URLEnv names the environment variable RunTests sets to the URL of
	// the package's test database; read it with URL.
	URLEnv = "RINGHOOK_TEST_DATABASE_URL"

	// testDBPrefix starts every test database name.
	testDBPrefix = "rh_test_"

	// maxIdentifier is PostgreSQL's identifier length limit (NAMEDATALEN-1).
	maxIdentifier = 63

	// runTestsSetupTimeout bounds database creation and setup in RunTests.
	runTestsSetupTimeout = 3 * time.Minute

	// runTestsCloseTimeout bounds cleanup in RunTests.
	runTestsCloseTimeout = time.Minute
)

// NewTestDatabase creates an empty database for test package pkg, named
// rh_test_<pkg>_<8 random hex digits>, on the server named by
// TEST_DATABASE_URL when set and otherwise on a private, non-durable server
// in a new temporary directory. Call Close to drop it.
func NewTestDatabase(ctx context.Context, pkg string) (*devdb.Scratch, error) {
	name, err := testDatabaseName(pkg)
	if err != nil {
		return nil, err
	}
	sc, err := devdb.NewScratch(ctx, devdb.ScratchOptions{AdminURL: os.Getenv(TestDatabaseURLEnv), Name: name, Fast: true})
	if err != nil {
		return nil, fmt.Errorf("modeltest: test database for %s: %w", pkg, err)
	}
	return sc, nil
}

// testDatabaseName builds rh_test_<sanitized pkg>_<random 8 hex>, within
// PostgreSQL's 63-byte identifier limit.
func testDatabaseName(pkg string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("modeltest: random database name suffix: %w", err)
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

// URL returns the URL of the current test package's database as set by
// RunTests, or "" outside of RunTests.
func URL() string {
	return os.Getenv(URLEnv)
}

// RunTests is meant for TestMain (Main is RunTests with the migrations):
//
//	func TestMain(m *testing.M) {
//		os.Exit(modeltest.RunTests(m, "store", setup))
//	}
//
// It creates the package's test database, calls setup with its URL,
// exports the URL as RINGHOOK_TEST_DATABASE_URL (see URL), runs the tests,
// drops the database and returns the exit code. When the database cannot be
// created or set up, or cleanup fails, it reports why on stderr and returns
// 1: tests never skip silently for lack of a database.
func RunTests(m interface{ Run() int }, pkg string, setup func(url string) error) int {
	setupCtx, cancel := context.WithTimeout(context.Background(), runTestsSetupTimeout)
	td, err := NewTestDatabase(setupCtx, pkg)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "modeltest: cannot create the test database for %s: %v\n", pkg, err)
		return 1
	}
	closeDB := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), runTestsCloseTimeout)
		defer cancel()
		return td.Close(ctx)
	}

	if setup != nil {
		if err := setup(td.URL); err != nil {
			fmt.Fprintf(os.Stderr, "modeltest: setting up the test database for %s failed: %v\n", pkg, err)
			if cerr := closeDB(); cerr != nil {
				fmt.Fprintf(os.Stderr, "modeltest: cleanup: %v\n", cerr)
			}
			return 1
		}
	}
	if err := os.Setenv(URLEnv, td.URL); err != nil {
		fmt.Fprintf(os.Stderr, "modeltest: set %s: %v\n", URLEnv, err)
		if cerr := closeDB(); cerr != nil {
			fmt.Fprintf(os.Stderr, "modeltest: cleanup: %v\n", cerr)
		}
		return 1
	}

	code := m.Run()

	if err := closeDB(); err != nil {
		fmt.Fprintf(os.Stderr, "modeltest: cleaning up the test database for %s: %v\n", pkg, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
