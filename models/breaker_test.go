package models_test

import (
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestPauseFor: the breaker's pause starts at a second and doubles with
// each trip of the same streak, up to five minutes.
func TestPauseFor(t *testing.T) {
	for trips, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 40: 5 * time.Minute} {
		if got := models.PauseFor(trips); got != want {
			t.Errorf("PauseFor(%d) = %s, want %s", trips, got, want)
		}
	}
}
