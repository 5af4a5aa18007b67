package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ringhook/ringhook/models/crypto"
)

// Development key files in the data directory: the current key, and the
// old keys kept only while a rotation runs.
const (
	keyFile     = "encryption.key"
	oldKeysFile = "encryption.old-keys"
)

// keyring is the configured encryption keyring: RINGHOOK_ENCRYPTION_KEY
// (plus RINGHOOK_ENCRYPTION_OLD_KEYS), or else the key generated and kept in
// the data directory, like the session key.
func keyring(cfg config) (*crypto.Keyring, error) {
	if cfg.EncryptionKey != nil {
		return crypto.NewKeyring(cfg.EncryptionKey, cfg.OldEncryptionKeys...)
	}
	current, err := persistedKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	old, err := readOldKeys(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return crypto.NewKeyring(current, append(old, cfg.OldEncryptionKeys...)...)
}

// persistedKey reads the data directory's key, creating it on first use.
// Unlike the session key, an unreadable key file is an error, never
// replaced: the secrets sealed under it would be lost.
func persistedKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, keyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := crypto.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read encryption key: %w", err)
	}
	return persistedSecret(dir, keyFile, crypto.KeySize)
}

func readOldKeys(dir string) ([][]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, oldKeysFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read old encryption keys: %w", err)
	}
	var out [][]byte
	for _, line := range strings.Fields(string(b)) {
		k, err := crypto.ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", oldKeysFile, err)
		}
		out = append(out, k)
	}
	return out, nil
}

const rotateUsage = `usage: ringhook rotate-key [--generate]
  Re-encrypts every secret at rest under the current key.
  With RINGHOOK_ENCRYPTION_KEY set: run every process with the new key in
  RINGHOOK_ENCRYPTION_KEY and the old one in RINGHOOK_ENCRYPTION_OLD_KEYS,
  then run rotate-key, then drop RINGHOOK_ENCRYPTION_OLD_KEYS.
  Without it (development): a new key replaces the one in the data
  directory; restart a running server afterwards.
  --generate prints a new random key and exits.`

// rotateKey is `ringhook rotate-key`.
func rotateKey(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rotate-key", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), rotateUsage) }
	generate := fs.Bool("generate", false, "print a new random key and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *generate {
		fmt.Fprintln(stdout, hex.EncodeToString(crypto.NewKey()))
		return nil
	}
	if cfg.EncryptionKey == nil {
		if err := newDevKey(cfg.DataDir); err != nil {
			return err
		}
	}
	store, closeDB, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := store.ReencryptSecrets(ctx)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	if cfg.EncryptionKey == nil {
		if err := os.Remove(filepath.Join(cfg.DataDir, oldKeysFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate key: drop old keys: %w", err)
		}
	}
	fmt.Fprintf(stdout, "re-encrypted %d webhooks and %d stored requests under key %s\n", res.Webhooks, res.Deliveries, store.Keyring().CurrentID())
	if len(store.Keyring().IDs()) > 1 && cfg.EncryptionKey != nil {
		fmt.Fprintln(stdout, "every value now opens with the current key: remove RINGHOOK_ENCRYPTION_OLD_KEYS")
	}
	return nil
}

// newDevKey moves the data directory's current key to the old keys (so a
// rotation cut short still opens everything) and writes a new current key.
func newDevKey(dir string) error {
	current, err := persistedKey(dir)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, oldKeysFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("keep old encryption key: %w", err)
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(current)); err != nil {
		f.Close()
		return fmt.Errorf("keep old encryption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keep old encryption key: %w", err)
	}
	path := filepath.Join(dir, keyFile)
	if err := os.WriteFile(path+".new", []byte(hex.EncodeToString(crypto.NewKey())+"\n"), 0o600); err != nil {
		return fmt.Errorf("write new encryption key: %w", err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		return fmt.Errorf("write new encryption key: %w", err)
	}
	return nil
}
