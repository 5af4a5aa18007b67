package publicid

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func testCodec(t testing.TB, seed byte) *Codec {
	t.Helper()
	c, err := New(bytes.Repeat([]byte{seed}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := testCodec(t, 1)
	for _, k := range []Kind{Delivery, Attempt, DeliveryCursor, AuditCursor} {
		for _, n := range []int64{1, 2, 1 << 40, 1<<63 - 1} {
			id := c.Encode(k, n)
			if !strings.HasPrefix(string(id), k.Prefix()) || len(id) != len(k.Prefix())+encodedLen {
				t.Fatalf("Encode(%d, %d) = %q", k, n, id)
			}
			if _, err := Parse(string(id)); err != nil {
				t.Fatalf("Parse(%q): %v", id, err)
			}
			if got, ok := c.Decode(k, string(id)); !ok || got != n {
				t.Fatalf("Decode(%q) = %d, %v; want %d", id, got, ok, n)
			}
		}
	}
}

func TestIdsAreOpaque(t *testing.T) {
	c := testCodec(t, 1)
	a, b := c.Delivery(1), c.Delivery(2)
	if a == b || a[4:8] == b[4:8] {
		t.Fatalf("neighbouring ids look alike: %s %s", a, b)
	}
	if other := testCodec(t, 2).Delivery(1); other == a {
		t.Fatal("two keys made the same id")
	}
}

func TestDecodeRefuses(t *testing.T) {
	c := testCodec(t, 1)
	id := string(c.Delivery(42))
	flip := func(i int) string {
		b := []byte(id)
		j := strings.IndexByte(alphabet, b[i])
		b[i] = alphabet[(j+1)%32]
		if i == 4 {
			b[i] = alphabet[(j+1)%8]
		}
		return string(b)
	}
	cases := map[string]string{
		"another kind":      string(c.Attempt(42)),
		"attempt as prefix": "att_" + id[4:],
		"tampered last":     flip(len(id) - 1),
		"tampered first":    flip(4),
		"tampered middle":   flip(15),
		"other key":         string(testCodec(t, 2).Delivery(42)),
		"numeric":           "42",
		"upper case":        strings.ToUpper(id[:4]) + strings.ToUpper(id[4:]),
		"short":             id[:len(id)-1],
		"long":              id + "0",
		"bad letter":        id[:10] + "u" + id[11:],
		"top bits":          id[:4] + "8" + id[5:],
		"empty":             "",
	}
	for name, s := range cases {
		if n, ok := c.Decode(Delivery, s); ok {
			t.Errorf("%s: Decode(%q) = %d, want refusal", name, s, n)
		}
	}
	if n, ok := c.Decode(Delivery, string(c.Delivery(0))); ok {
		t.Errorf("row 0 decoded as %d", n)
	}
}

func TestJSON(t *testing.T) {
	id := testCodec(t, 3).Delivery(7)
	b, err := json.Marshal(struct {
		ID   ID `json:"id"`
		None ID `json:"none"`
	}{ID: id})
	if err != nil || string(b) != `{"id":"`+string(id)+`","none":null}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back struct{ ID ID }
	if err := json.Unmarshal([]byte(`{"ID":"`+string(id)+`"}`), &back); err != nil || back.ID != id {
		t.Fatalf("Unmarshal = %q, %v", back.ID, err)
	}
	for _, bad := range []string{`"dlv_x"`, `12`, `"42"`, `"DLV_` + strings.ToUpper(string(id[4:])) + `"`} {
		if err := json.Unmarshal([]byte(`{"ID":`+bad+`}`), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

// FuzzParse: Parse and Decode never panic, whatever they are given; what
// Parse accepts re-encodes to itself; and every id Encode makes decodes back.
func FuzzParse(f *testing.F) {
	c := testCodec(f, 9)
	f.Add(string(c.Delivery(1)), int64(1))
	f.Add(string(c.Attempt(99)), int64(99))
	f.Add("dlv_", int64(-1))
	f.Add("cur_7zzzzzzzzzzzzzzzzzzzzzzzzz", int64(1<<62))
	f.Add("42", int64(0))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if id, err := Parse(s); err == nil {
			prefix, rest, _ := strings.Cut(s, "_")
			b, ok := decodeBase32(rest)
			if string(id) != s || !ok || prefix+"_"+encodeBase32(b) != s {
				t.Fatalf("Parse(%q) accepted a text that does not re-encode to itself", s)
			}
		}
		for _, k := range []Kind{Delivery, Attempt, DeliveryCursor, AuditCursor} {
			if got, ok := c.Decode(k, s); ok {
				if c.Encode(k, got) != ID(s) {
					t.Fatalf("Decode(%q) = %d, which encodes differently", s, got)
				}
			}
			if n > 0 {
				if got, ok := c.Decode(k, string(c.Encode(k, n))); !ok || got != n {
					t.Fatalf("round trip of %d as kind %d gave %d, %v", n, k, got, ok)
				}
			}
		}
	})
}
