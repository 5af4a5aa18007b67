package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestRotateKey runs `ringhook rotate-key` as an operator would: in
// development (the key kept in the data directory) and with the keys in
// the environment, and checks every value ends up under the new key and
// still opens.
func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	// Its own database: rotation covers every account, and the package's
	// other tests seal under throwaway keys.
	tdb, err := modeltest.NewTestDatabase(ctx, "cmd_rotate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tdb.Close(context.WithoutCancel(ctx)) })
	dir := t.TempDir()
	t.Setenv("DATABASE_URL", tdb.URL)
	t.Setenv("RINGHOOK_DATA_DIR", dir)
	t.Setenv("RINGHOOK_ENCRYPTION_KEY", "")
	t.Setenv("RINGHOOK_ENCRYPTION_OLD_KEYS", "")
	if err := run(ctx, []string{"migrate"}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(ctx, tdb.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	storeFor := func(cfg config) *models.Store {
		t.Helper()
		k, err := keyring(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return models.NewStore(db, nil, models.WithKeyring(k))
	}
	first := storeFor(cfg) // creates the development key
	firstID := first.Keyring().CurrentID()
	acc, err := first.CreateAccount(ctx, "Rotate", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", "https://crm.example.com/h", []string{"call.hangup"}
	in.AuthType, in.AuthSecret = models.AuthBearer, "bearer-tok-1"
	w, err := first.CreateWebhook(ctx, acc.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	rawSecret := func() string {
		var s string
		if err := db.Raw(`SELECT auth_secret FROM webhooks WHERE id = ?`, w.ID).Scan(&s).Error; err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !strings.HasPrefix(rawSecret(), "enc:v1:"+firstID+":") {
		t.Fatalf("not sealed under the development key: %q", rawSecret())
	}

	t.Run("development: a new key replaces the data directory's", func(t *testing.T) {
		var out bytes.Buffer
		if err := rotateKey(ctx, cfg, quiet, nil, &out); err != nil {
			t.Fatal(err)
		}
		now := storeFor(cfg)
		if now.Keyring().CurrentID() == firstID || len(now.Keyring().IDs()) != 1 {
			t.Fatalf("keys after rotation: %v (was %s)", now.Keyring().IDs(), firstID)
		}
		if _, err := os.Stat(filepath.Join(dir, oldKeysFile)); !os.IsNotExist(err) {
			t.Errorf("old keys kept after the rotation: %v", err)
		}
		if !strings.HasPrefix(rawSecret(), "enc:v1:"+now.Keyring().CurrentID()+":") {
			t.Errorf("value not re-sealed under the new key: %q", rawSecret())
		}
		if got, err := now.Webhook(ctx, acc.ID, w.ID); err != nil || got.AuthSecret != "bearer-tok-1" {
			t.Errorf("after rotation: %v %q", err, got.AuthSecret)
		}
		if !strings.Contains(out.String(), "re-encrypted 1 webhooks") {
			t.Errorf("output %q", out.String())
		}
	})

	t.Run("environment: the new key in RINGHOOK_ENCRYPTION_KEY, the old in RINGHOOK_ENCRYPTION_OLD_KEYS", func(t *testing.T) {
		devKey, err := os.ReadFile(filepath.Join(dir, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		newKey := crypto.NewKey()
		t.Setenv("RINGHOOK_ENCRYPTION_KEY", hex.EncodeToString(newKey))
		t.Setenv("RINGHOOK_ENCRYPTION_OLD_KEYS", strings.TrimSpace(string(devKey)))
		envCfg, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := rotateKey(ctx, envCfg, quiet, nil, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rawSecret(), "enc:v1:"+crypto.KeyID(newKey)+":") || !strings.Contains(out.String(), "remove RINGHOOK_ENCRYPTION_OLD_KEYS") {
			t.Errorf("raw %q, output %q", rawSecret(), out.String())
		}
		t.Setenv("RINGHOOK_ENCRYPTION_OLD_KEYS", "")
		onlyNew, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := storeFor(onlyNew).Webhook(ctx, acc.ID, w.ID); err != nil || got.AuthSecret != "bearer-tok-1" {
			t.Errorf("the new key alone: %v", err)
		}
		t.Setenv("RINGHOOK_ENCRYPTION_KEY", "short")
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "RINGHOOK_ENCRYPTION_KEY") {
			t.Errorf("a bad key: %v", err)
		}
	})

	t.Run("--generate prints a key", func(t *testing.T) {
		var out bytes.Buffer
		if err := rotateKey(ctx, cfg, quiet, []string{"--generate"}, &out); err != nil || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(out.String()) {
			t.Errorf("%q %v", out.String(), err)
		}
	})

	t.Run("an unreadable key file is an error, never replaced", func(t *testing.T) {
		bad := t.TempDir()
		path := filepath.Join(bad, keyFile)
		if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := keyring(config{DataDir: bad}); err == nil {
			t.Error("a corrupt key file was accepted")
		}
		if b, _ := os.ReadFile(path); string(b) != "garbage\n" {
			t.Errorf("the key file was overwritten: %q", b)
		}
	})
}
