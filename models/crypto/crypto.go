// Package crypto seals secrets at rest: webhook signing secrets, Basic and
// Bearer credentials, secret custom headers and the credential headers of
// stored rendered requests. Values are sealed with AES-256-GCM under the
// keyring's current key; each sealed value names the key that sealed it, so
// a keyring holding the new key and the old ones opens everything while
// `ringhook rotate-key` re-seals under the new key.
//
// A sealed value is the text "enc:v1:<key id>:<base64 nonce||ciphertext>".
// Text without the "enc:v1:" prefix is plaintext written before encryption
// existed; Open returns it unchanged and Sealed reports false, so the
// re-encryption pass can find and seal it.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an encryption key in bytes (AES-256).
const KeySize = 32

const prefix = "enc:v1:"

// ErrUnknownKey means a value was sealed under a key the keyring lacks.
var ErrUnknownKey = errors.New("sealed with a key that is not configured")

// Keyring seals under its current key and opens under any of its keys. It
// is safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	ids     []string // current first
}

// NewKeyring builds a keyring from KeySize-byte keys: the first seals (the
// current key), every one opens (old keys kept during a rotation).
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("encryption key %d: %d bytes, want %d", i+1, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", i+1, err)
		}
		id := KeyID(key)
		if _, dup := k.aeads[id]; dup {
			continue
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
	}
	k.current = k.ids[0]
	return k, nil
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never fails since Go 1.24
	return key
}

// Ephemeral returns a keyring with one random key that exists only in this
// process (for tests and tools that keep nothing).
func Ephemeral() *Keyring {
	k, _ := NewKeyring(NewKey()) // a KeySize key cannot fail
	return k
}

// ParseKey reads a key written as 64 hex digits or as standard base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("an encryption key is %d bytes written as %d hex digits or base64", KeySize, 2*KeySize)
}

// KeyID names a key without revealing it: the first 8 hex digits of its
// SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.current }

// IDs are the ids of every key, the current one first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext under the current key. The empty string stays
// empty: "no secret" is not a secret, and columns use ” for it.
func (k *Keyring) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(k.current))
	return prefix + k.current + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value with whichever key sealed it. A value that
// is not sealed (plaintext from before encryption) is returned unchanged.
func (k *Keyring) Open(value string) (string, error) {
	id, data, sealed := split(value)
	if !sealed {
		return value, nil
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("open: key %s: %w", id, ErrUnknownKey)
	}
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("open: malformed sealed value")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return "", fmt.Errorf("open: key %s: authentication failed", id)
	}
	return string(plain), nil
}

// Prefix is how every value sealed under the current key begins.
func (k *Keyring) Prefix() string { return prefix + k.current + ":" }

// Current reports whether value needs no re-sealing: it is empty or sealed
// under the current key.
func (k *Keyring) Current(value string) bool {
	id, _, sealed := split(value)
	return value == "" || sealed && id == k.current
}

// Sealed reports whether value is a sealed value (under any key).
func Sealed(value string) bool {
	_, _, ok := split(value)
	return ok
}

func split(value string) (id, data string, ok bool) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return "", "", false
	}
	id, data, ok = strings.Cut(rest, ":")
	return id, data, ok
}
