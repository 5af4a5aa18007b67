package models_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestTimeZones checks the hand-kept zone list: UTC first, the rest sorted
// and unique, and every name a zone time.LoadLocation knows.
func TestTimeZones(t *testing.T) {
	zones := models.TimeZones()
	if len(zones) < 300 || zones[0] != "UTC" {
		t.Fatalf("got %d zones starting with %q; want UTC first and the full Area/Location list", len(zones), zones[0])
	}
	rest := zones[1:]
	if !slices.IsSorted(rest) {
		t.Error("zones after UTC are not sorted")
	}
	if len(slices.Compact(slices.Clone(rest))) != len(rest) {
		t.Error("zone list has duplicates")
	}
	for _, z := range zones {
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("%s: %v", z, err)
		}
	}
}
