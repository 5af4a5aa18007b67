package catalog_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

// BenchmarkNormalizeFor is ingest's validation of one event, decoded from
// the JSON a producer sends (every event type's sample in turn).
func BenchmarkNormalizeFor(b *testing.B) {
	now := time.Date(2026, 4, 9, 7, 25, 0, 0, time.UTC)
	var ins []map[string]any
	for i, ty := range catalog.Types() {
		if ty.System || ty.ID == catalog.TestType {
			continue
		}
		raw, err := json.Marshal(catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(uint64(i), 3))))
		if err != nil {
			b.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var in map[string]any
		if err := d.Decode(&in); err != nil {
			b.Fatal(err)
		}
		if _, err := catalog.NormalizeFor(in, "US"); err != nil {
			b.Fatalf("%s: %v", ty.ID, err)
		}
		ins = append(ins, in)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := catalog.NormalizeFor(ins[i%len(ins)], "US"); err != nil {
			b.Fatal(err)
		}
	}
}
