package main

import (
	"context"
	"strings"
	"testing"
)

// simulate is a client of a running server: the server's configuration,
// even a broken one, is none of its business. serve still refuses it.
func TestSimulateIgnoresServerConfig(t *testing.T) {
	t.Setenv("RINGHOOK_WORKERS", "lots")
	t.Setenv("RINGHOOK_SESSION_KEY", "not-hex")
	ctx := context.Background()
	if err := run(ctx, []string{"simulate", "--help"}); err != nil {
		t.Errorf("simulate --help with a broken server config: %v", err)
	}
	err := run(ctx, []string{"simulate", "--key", "sk_test_x", "--rate", "0"})
	if err == nil || !strings.Contains(err.Error(), "--rate") {
		t.Errorf("simulate with a bad flag: error %v, want one about --rate", err)
	}
	if err := run(ctx, []string{"serve"}); err == nil || !strings.Contains(err.Error(), "RINGHOOK_WORKERS") {
		t.Errorf("serve with RINGHOOK_WORKERS=lots: error %v, want one naming RINGHOOK_WORKERS", err)
	}
	if err := run(ctx, []string{"bench", "--phases", "A"}); err == nil || !strings.Contains(err.Error(), "RINGHOOK_WORKERS") {
		t.Errorf("bench with RINGHOOK_WORKERS=lots: error %v, want one naming RINGHOOK_WORKERS", err)
	}
	if err := run(ctx, []string{"nope"}); err == nil || !strings.Contains(err.Error(), `unknown command "nope"`) {
		t.Errorf("unknown command: %v", err)
	}
}
