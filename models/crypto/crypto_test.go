package crypto_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/crypto"
)

func mustKeyring(t *testing.T, current []byte, old ...[]byte) *crypto.Keyring {
	t.Helper()
	k, err := crypto.NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustKeyring(t, crypto.NewKey())
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	a, err := k.Seal(secret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal(secret)
	if strings.Contains(a, secret) || strings.Contains(a, "MfKQ9r8G") || !strings.HasPrefix(a, k.Prefix()) {
		t.Fatalf("sealed value %q leaks the secret or lacks the key id", a)
	}
	if a == b {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	for _, v := range []string{a, b} {
		if got, err := k.Open(v); err != nil || got != secret {
			t.Errorf("Open = %q, %v", got, err)
		}
	}
	if !k.Current(a) || !crypto.Sealed(a) || crypto.Sealed(secret) {
		t.Error("Current/Sealed misreport")
	}
	t.Run("empty stays empty", func(t *testing.T) {
		if v, err := k.Seal(""); v != "" || err != nil || !k.Current("") {
			t.Errorf("Seal(\"\") = %q, %v", v, err)
		}
	})
	t.Run("plaintext from before encryption opens as itself", func(t *testing.T) {
		if got, err := k.Open("legacy"); got != "legacy" || err != nil || k.Current("legacy") {
			t.Errorf("Open(legacy) = %q, %v", got, err)
		}
	})
	t.Run("tampering is detected", func(t *testing.T) {
		raw := []byte(a)
		raw[len(raw)-2] ^= 1
		if _, err := k.Open(string(raw)); err == nil {
			t.Error("a modified ciphertext opened")
		}
		other := mustKeyring(t, crypto.NewKey(), crypto.NewKey())
		if _, err := other.Open(a); !errors.Is(err, crypto.ErrUnknownKey) {
			t.Errorf("a foreign key's value: %v", err)
		}
		// The key id is authenticated too: relabelling fails.
		k2 := crypto.NewKey()
		both := mustKeyring(t, crypto.NewKey(), k2)
		v, _ := both.Seal("x")
		relabelled := strings.Replace(v, both.CurrentID(), crypto.KeyID(k2), 1)
		if _, err := both.Open(relabelled); err == nil {
			t.Error("a value relabelled to another key opened")
		}
		if _, err := k.Open(k.Prefix() + "!!!"); err == nil {
			t.Error("malformed value opened")
		}
	})
}

func TestRotation(t *testing.T) {
	oldKey, newKey := crypto.NewKey(), crypto.NewKey()
	oldRing := mustKeyring(t, oldKey)
	sealedOld, _ := oldRing.Seal("token-1")

	during := mustKeyring(t, newKey, oldKey)
	if during.CurrentID() != crypto.KeyID(newKey) || len(during.IDs()) != 2 {
		t.Fatalf("current %s, ids %v", during.CurrentID(), during.IDs())
	}
	if got, err := during.Open(sealedOld); err != nil || got != "token-1" {
		t.Fatalf("an old value does not open during rotation: %q %v", got, err)
	}
	if during.Current(sealedOld) {
		t.Error("an old-key value reported current")
	}
	resealed, _ := during.Seal("token-1")
	after := mustKeyring(t, newKey)
	if got, err := after.Open(resealed); err != nil || got != "token-1" {
		t.Errorf("re-sealed value: %q %v", got, err)
	}
	if _, err := after.Open(sealedOld); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("dropped key still opens: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	key := crypto.NewKey()
	for _, s := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), " " + hex.EncodeToString(key) + "\n"} {
		got, err := crypto.ParseKey(s)
		if err != nil || string(got) != string(key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "abcd", hex.EncodeToString(key[:16]), "not a key at all, not a key at all, not a key at all!!"} {
		if _, err := crypto.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := crypto.NewKeyring(key[:16]); err == nil {
		t.Error("a 16-byte key accepted")
	}
}

// BenchmarkOpen is the cost a claim pays per sealed value.
func BenchmarkOpen(b *testing.B) {
	k, _ := crypto.NewKeyring(crypto.NewKey())
	v, _ := k.Seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	for b.Loop() {
		if _, err := k.Open(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal is the cost ingest pays per credential header stored.
func BenchmarkSeal(b *testing.B) {
	k, _ := crypto.NewKeyring(crypto.NewKey())
	for b.Loop() {
		if _, err := k.Seal("Basic cmluZ2hvb2s6czNjcmV0LWJhc2ljLXBhc3M="); err != nil {
			b.Fatal(err)
		}
	}
}
