package devdb_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/devdb"
)

// TestRunningURLWithoutServer: no live server owns the directory, so there
// is nothing to share. (TestAPIKeyCreateAlongsideMakeRun in cmd/ringhook
// covers a live one.)
func TestRunningURLWithoutServer(t *testing.T) {
	cases := []struct {
		name    string
		pidFile string // "" for none
	}{
		{"no pid file", ""},
		{"garbage", "not a pid file"},
		{"a dead pid", strings.Join([]string{"2147483646", "/x", "1", "5432", "/tmp", "127.0.0.1", ""}, "\n")},
		{"a live process that is not postgres on this dir", strings.Join([]string{strconv.Itoa(os.Getpid()), "/x", "1", "5432", "/tmp", "127.0.0.1", ""}, "\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.pidFile != "" {
				if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(tc.pidFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if url, ok := devdb.RunningURL(dir, "ringhook"); ok {
				t.Fatalf("RunningURL = %q, true", url)
			}
		})
	}
}
