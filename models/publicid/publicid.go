// Package publicid turns the sequential row ids of deliveries, attempts and
// page cursors into opaque strings such as "dlv_3k9…": ids that say nothing
// about how much traffic an account (or anyone else) has.
//
// An id is one AES-128 block: a kind byte, the row id as 8 big-endian bytes
// and 7 zero check bytes, encrypted under a key kept per database. The 16
// bytes are written in lower-case Crockford base32 (26 characters) after the
// kind's prefix. Decoding checks the prefix, the kind byte and the zero
// bytes, so an id changed by hand (or made with another database's key)
// decodes to nothing rather than to some other row.
package publicid

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-128).
const KeySize = 16

// Kind says what an id names; it is encrypted into the id, so an attempt id
// never decodes as a delivery id.
type Kind byte

// Kinds. The values are part of every id ever handed out: never renumber.
const (
	Delivery       Kind = 1 // a delivery: dlv_
	Attempt        Kind = 2 // an attempt: att_
	DeliveryCursor Kind = 3 // a place in the delivery log: cur_
	AuditCursor    Kind = 4 // a place in the audit log: cur_
)

// Prefix is the text before the encrypted part, with its underscore.
func (k Kind) Prefix() string {
	switch k {
	case Delivery:
		return "dlv_"
	case Attempt:
		return "att_"
	case DeliveryCursor, AuditCursor:
		return "cur_"
	}
	return ""
}

// encodedLen is the length of the base32 part: 16 bytes are 128 bits, 26
// characters of 5 bits carry 130; the first character holds only 3 bits.
const encodedLen = 26

// alphabet is Crockford's base32 in lower case (no i, l, o, u).
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// ErrSyntax means the text is not an id of this form at all.
var ErrSyntax = errors.New("publicid: not a public id")

// ID is a public id as text, e.g. "dlv_0f1ztbx0h6ghn9pmy2xw4e7r3a". The zero
// ID is empty and marshals as JSON null.
type ID string

// String returns the id's text.
func (id ID) String() string { return string(id) }

// MarshalJSON writes the id as a JSON string (null when empty).
func (id ID) MarshalJSON() ([]byte, error) {
	if id == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON reads a JSON string that must be a well-formed id (its
// check bytes can only be verified with the key, by Codec.Decode).
func (id *ID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*id = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("public id: %w", err)
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// Parse checks that s has the form of a public id: a known prefix and 26
// characters of the alphabet whose first is at most '7'. It does not check
// that a key made it; Codec.Decode does.
func Parse(s string) (ID, error) {
	prefix, _, ok := strings.Cut(s, "_")
	if !ok {
		return "", ErrSyntax
	}
	switch prefix + "_" {
	case Delivery.Prefix(), Attempt.Prefix(), DeliveryCursor.Prefix():
	default:
		return "", ErrSyntax
	}
	if _, ok := decodeBase32(s[len(prefix)+1:]); !ok {
		return "", ErrSyntax
	}
	return ID(s), nil
}

// Codec encodes and decodes ids under one key.
type Codec struct {
	block cipher.Block
}

// New returns a Codec for a KeySize-byte key.
func New(key []byte) (*Codec, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("publicid: key is %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("publicid: %w", err)
	}
	return &Codec{block: b}, nil
}

// Encode returns the public id of row n of kind k.
func (c *Codec) Encode(k Kind, n int64) ID {
	var plain, sealed [16]byte
	plain[0] = byte(k)
	binary.BigEndian.PutUint64(plain[1:9], uint64(n))
	c.block.Encrypt(sealed[:], plain[:])
	return ID(k.Prefix() + encodeBase32(sealed))
}

// Decode returns the row id s names as kind k, or false when s is not an
// id of that kind made with this key (a different prefix or kind, a typo,
// a tampered character, another database's id, a non-positive row id).
func (c *Codec) Decode(k Kind, s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, k.Prefix())
	if !ok || k.Prefix() == "" {
		return 0, false
	}
	sealed, ok := decodeBase32(rest)
	if !ok {
		return 0, false
	}
	var plain [16]byte
	c.block.Decrypt(plain[:], sealed[:])
	if Kind(plain[0]) != k {
		return 0, false
	}
	for _, b := range plain[9:] {
		if b != 0 {
			return 0, false
		}
	}
	n := int64(binary.BigEndian.Uint64(plain[1:9]))
	return n, n > 0
}

// Delivery is Encode(Delivery, n).
func (c *Codec) Delivery(n int64) ID { return c.Encode(Delivery, n) }

// Attempt is Encode(Attempt, n).
func (c *Codec) Attempt(n int64) ID { return c.Encode(Attempt, n) }

// encodeBase32 writes 16 bytes as 26 characters, most significant first;
// the two bits above the 128 are zero.
func encodeBase32(b [16]byte) string {
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [encodedLen]byte
	for i := encodedLen - 1; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// decodeBase32 reads exactly what encodeBase32 writes: 26 characters of the
// lower-case alphabet, the first at most '7'.
func decodeBase32(s string) ([16]byte, bool) {
	var out [16]byte
	if len(s) != encodedLen {
		return out, false
	}
	var hi, lo uint64
	for i := 0; i < encodedLen; i++ {
		v := strings.IndexByte(alphabet, s[i])
		if v < 0 || (i == 0 && v > 7) {
			return out, false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
	return out, true
}
