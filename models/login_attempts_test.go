package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

func TestThrottlePolicyDelay(t *testing.T) {
	p := models.ThrottlePolicy{Free: 4, Base: 30 * time.Second, Max: 15 * time.Minute}
	want := map[int]time.Duration{0: 0, 1: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute, 8: 4 * time.Minute,
		9: 8 * time.Minute, 10: 15 * time.Minute, 11: 15 * time.Minute, 1000: 15 * time.Minute}
	for n, d := range want {
		if got := p.Delay(n); got != d {
			t.Errorf("Delay(%d) = %v, want %v", n, got, d)
		}
	}
}

func TestClaimLoginAttempt(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Now().UTC()}
	s := newStore(t, clock.now)
	p := models.LoginThrottle{
		PerEmailIP: models.ThrottlePolicy{Free: 2, Base: 10 * time.Second, Max: time.Minute, Window: time.Hour},
		PerIP:      models.ThrottlePolicy{Free: 3, Base: 10 * time.Second, Max: time.Minute, Window: time.Hour},
	}
	claim := func(t *testing.T, email, ip string) time.Duration {
		t.Helper()
		w, err := s.ClaimLoginAttempt(ctx, p, email, ip)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	t.Run("parallel guesses cannot slip past the check", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := s.ClaimLoginAttempt(ctx, p, "parallel@example.com", "192.0.2.1")
				if err != nil {
					t.Error(err)
					return
				}
				if w == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != p.PerEmailIP.Free+1 { // the free ones, and the one that starts the first delay
			t.Fatalf("%d of 20 parallel attempts allowed, want %d", allowed, p.PerEmailIP.Free+1)
		}
	})

	t.Run("delays grow, and an idle window starts over", func(t *testing.T) {
		ip := "192.0.2.2"
		for i := range 3 {
			if w := claim(t, "grow@example.com", ip); w != 0 {
				t.Fatalf("attempt %d refused (%v)", i+1, w)
			}
		}
		if w := claim(t, "grow@example.com", ip); w != 10*time.Second {
			t.Fatalf("wait %v, want 10s", w)
		}
		clock.add(10 * time.Second)
		claim(t, "grow@example.com", ip) // the 4th failure
		if w := claim(t, "grow@example.com", ip); w != 20*time.Second {
			t.Fatalf("wait %v, want 20s", w)
		}
		clock.add(time.Hour)
		if w := claim(t, "grow@example.com", ip); w != 0 {
			t.Fatalf("after an idle window: wait %v", w)
		}
	})

	t.Run("signing in between guesses buys nothing on the IP key", func(t *testing.T) {
		ip := "192.0.2.3"
		for i := range 3 {
			if w := claim(t, "target"+string(rune('a'+i))+"@example.com", ip); w != 0 {
				t.Fatalf("guess %d refused", i)
			}
			// The attacker's own account, signed in correctly.
			if w := claim(t, "mine@example.com", ip); w != 0 {
				t.Fatalf("own sign-in %d refused", i)
			}
			if err := s.LoginSucceeded(ctx, p, "mine@example.com", ip); err != nil {
				t.Fatal(err)
			}
		}
		// A fourth failure against PerIP.Free = 3 starts a delay, as it
		// would have without the successes in between.
		if w := claim(t, "targetd@example.com", ip); w != 0 {
			t.Fatalf("fourth guess refused (%v)", w)
		}
		if w := claim(t, "targete@example.com", ip); w == 0 {
			t.Fatal("successes in between reset the per-IP count")
		}
	})

	t.Run("another address is not throttled", func(t *testing.T) {
		for range 6 {
			claim(t, "victim@example.com", "192.0.2.4")
		}
		if w := claim(t, "victim@example.com", "192.0.2.4"); w == 0 {
			t.Fatal("the attacking address is not throttled")
		}
		if w := claim(t, "victim@example.com", "198.51.100.4"); w != 0 {
			t.Fatalf("the user is locked out from their own address (%v)", w)
		}
	})
}
