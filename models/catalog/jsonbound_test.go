package catalog

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestJSONBound: the size check skips the encoding only when jsonBound
// proves the payload fits, so the bound must never be below the real
// encoded length.
func TestJSONBound(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	check := func(name string, v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonBound(v); got < len(b) {
			t.Errorf("%s: jsonBound %d < encoded length %d", name, got, len(b))
		}
	}
	for _, ty := range Types() {
		for range 5 {
			p := Sample(ty.ID, time.Now(), rnd)
			if out, err := Normalize(p); err == nil {
				check(ty.ID, out)
			}
			check(ty.ID+" sample", p)
		}
	}
	nasty := "<>&\u2028\u2029\x01\"\\\xff\xfe é"
	check("escapes", map[string]any{"k": nasty, nasty: []any{nasty, map[string]any{"x": nasty}}, "n": int64(math.MinInt64), "nil": nil, "b": true})
	if jsonBound(map[string]any{"t": time.Now()}) != math.MaxInt {
		t.Error("an unexpected type must give MaxInt (encode for the exact size)")
	}
}
