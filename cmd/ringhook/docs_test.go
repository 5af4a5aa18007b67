package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOperationsDocListsEveryVariable keeps the environment table of
// docs/operations.md complete: every variable this command reads (in its
// own files; simulate and bench document their flags themselves) has a row.
func TestOperationsDocListsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`"((?:RINGHOOK_[A-Z_]+)|DATABASE_URL)"`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d variables in the source; the pattern is stale", len(seen))
	}
	for v := range seen {
		if !strings.Contains(string(doc), "| `"+v+"` |") {
			t.Errorf("docs/operations.md has no row for %s", v)
		}
	}
}
