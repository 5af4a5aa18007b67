package catalog

import (
	crand "crypto/rand"
	"io"
	"time"
)

// crockford is the Crockford base32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEventID returns "evt_" followed by a 26-character ULID: the 48-bit
// Unix millisecond time of now (clamped to the representable range) and 80
// random bits read from rnd, in Crockford base32. IDs sort by time. A nil
// rnd, or one that fails to supply 10 bytes, is replaced by crypto/rand.
func NewEventID(now time.Time, rnd io.Reader) string {
	return "evt_" + newULID(now, rnd)
}

func newULID(now time.Time, rnd io.Reader) string {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	if ms > 1<<48-1 {
		ms = 1<<48 - 1
	}
	var b [16]byte
	for i := 0; i < 6; i++ {
		b[i] = byte(uint64(ms) >> (8 * (5 - i)))
	}
	if rnd == nil {
		rnd = crand.Reader
	}
	if _, err := io.ReadFull(rnd, b[6:]); err != nil {
		// crypto/rand.Read never returns an error (it aborts the program
		// instead), so the fallback always fills the buffer.
		_, _ = crand.Read(b[6:])
	}
	return encodeULID(b)
}

// encodeULID writes 128 bits as 26 base32 digits (the first holds 3 bits).
func encodeULID(b [16]byte) string {
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
