package retry

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestDelayWithoutJitter(t *testing.T) {
	tests := []struct {
		failed int
		want   time.Duration
	}{
		{-1, 5 * time.Second}, // out of range counts as 1
		{0, 5 * time.Second},
		{1, 5 * time.Second},
		{2, 5 * time.Minute},
		{3, 30 * time.Minute},
		{4, 2 * time.Hour},
		{5, 5 * time.Hour},
		{6, 10 * time.Hour},
		{7, 10 * time.Hour},
		{8, 10 * time.Hour},
		{1000, 10 * time.Hour},
	}
	for _, tt := range tests {
		if got := Delay(tt.failed, nil); got != tt.want {
			t.Errorf("Delay(%d, nil) = %v, want %v", tt.failed, got, tt.want)
		}
	}
}

func TestScheduleIsACopy(t *testing.T) {
	s := Schedule()
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
	if !slices.Equal(s, want) {
		t.Fatalf("Schedule() = %v, want %v", s, want)
	}
	s[0] = time.Hour
	if Delay(1, nil) != 5*time.Second {
		t.Error("modifying the result of Schedule changed Delay")
	}
}

func TestDelayJitterBounds(t *testing.T) {
	for failed := 1; failed <= 8; failed++ {
		base := Delay(failed, nil)
		lo := time.Duration(float64(base) * (1 - Jitter))
		hi := time.Duration(float64(base) * (1 + Jitter))
		var sawLow, sawHigh bool
		for seed := uint64(0); seed < 2000; seed++ {
			rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			got := Delay(failed, rnd)
			if got < lo || got > hi || got < MinDelay {
				t.Fatalf("Delay(%d) with seed %d = %v, want within [%v, %v] and >= %v", failed, seed, got, lo, hi, MinDelay)
			}
			sawLow = sawLow || got < base-time.Duration(float64(base)*Jitter/2)
			sawHigh = sawHigh || got > base+time.Duration(float64(base)*Jitter/2)
		}
		if !sawLow || !sawHigh {
			t.Errorf("Delay(%d): jitter does not spread over both sides of %v (low %v, high %v)", failed, base, sawLow, sawHigh)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		h      string
		want   time.Duration
		wantOK bool
	}{
		{"absent", "", 0, false},
		{"blank", "   ", 0, false},
		{"seconds", "120", 120 * time.Second, true},
		{"seconds spaced", " 7 ", 7 * time.Second, true},
		{"zero", "0", 0, true},
		{"leading zeros", "0030", 30 * time.Second, true},
		{"huge saturates", "99999999999999999999999", time.Duration(int64(1<<63-1)/int64(time.Second)) * time.Second, true},
		{"negative", "-5", 0, false},
		{"plus sign", "+5", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
		{"seconds with unit", "10s", 0, false},
		{"IMF-fixdate", "Sat, 14 Mar 2026 15:19:26 GMT", 10 * time.Minute, true},
		{"RFC 850 date", "Saturday, 14-Mar-26 16:09:26 GMT", time.Hour, true},
		{"asctime date", "Sat Mar 14 15:09:56 2026", 30 * time.Second, true},
		{"date now", "Sat, 14 Mar 2026 15:09:26 GMT", 0, true},
		{"date in the past", "Sat, 14 Mar 2026 15:09:25 GMT", 0, false},
		{"bad date", "Sat, 32 Mar 2026 15:09:26 GMT", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.h, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name       string
		failed     int
		max        int
		status     int
		retryAfter string
		wantRetry  bool
		wantDelay  time.Duration
	}{
		{"first failure", 1, 5, 500, "", true, 5 * time.Second},
		{"network error", 2, 5, 0, "", true, 5 * time.Minute},
		{"4xx is retried", 3, 5, 404, "", true, 30 * time.Minute},
		{"3xx is retried", 1, 5, 302, "", true, 5 * time.Second},
		{"last allowed retry", 4, 5, 500, "", true, 2 * time.Hour},
		{"max reached", 5, 5, 500, "", false, 0},
		{"beyond max", 6, 5, 500, "", false, 0},
		{"max zero", 1, 0, 500, "", false, 0},
		{"single attempt", 1, 1, 500, "", false, 0},
		{"410 gone", 1, 5, 410, "", false, 0},
		{"410 ignores Retry-After", 1, 5, 410, "10", false, 0},
		{"429 without Retry-After", 2, 5, 429, "", true, 5 * time.Minute},
		{"429 invalid Retry-After", 2, 5, 429, "later", true, 5 * time.Minute},
		{"429 Retry-After seconds", 2, 5, 429, "90", true, 90 * time.Second},
		{"429 Retry-After date", 1, 5, 429, "Sat, 14 Mar 2026 16:09:26 GMT", true, time.Hour},
		{"503 Retry-After seconds", 3, 5, 503, "600", true, 10 * time.Minute},
		{"Retry-After shorter than schedule", 5, 9, 503, "2", true, 2 * time.Second},
		{"Retry-After zero clamps to 1s", 1, 5, 429, "0", true, time.Second},
		{"Retry-After clamps at 24h", 1, 5, 429, "172800", true, 24 * time.Hour},
		{"Retry-After date clamps at 24h", 1, 5, 503, "Sun, 15 Mar 2026 17:09:26 GMT", true, 24 * time.Hour},
		{"Retry-After huge clamps at 24h", 1, 5, 429, "99999999999999999999999", true, 24 * time.Hour},
		{"Retry-After ignored on 500", 1, 5, 500, "3600", true, 5 * time.Second},
		{"Retry-After ignored on 502", 1, 5, 502, "3600", true, 5 * time.Second},
		{"429 max reached", 5, 5, 429, "10", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, retry := Next(tt.failed, tt.max, tt.status, tt.retryAfter, now, nil)
			if retry != tt.wantRetry {
				t.Fatalf("Next(...) retry = %v, want %v", retry, tt.wantRetry)
			}
			if !retry {
				if !at.IsZero() {
					t.Errorf("Next(...) at = %v, want the zero time when not retrying", at)
				}
				return
			}
			if got := at.Sub(now); got != tt.wantDelay {
				t.Errorf("Next(...) at = now+%v, want now+%v", got, tt.wantDelay)
			}
		})
	}
}

func TestNextJitterStaysInBounds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		failed := i%8 + 1
		at, retry := Next(failed, 10, 500, "", now, rnd)
		if !retry {
			t.Fatalf("Next(%d, 10, 500) did not retry", failed)
		}
		base := Delay(failed, nil)
		if d := at.Sub(now); d < time.Duration(float64(base)*0.8) || d > time.Duration(float64(base)*1.2) {
			t.Fatalf("Next(%d) delay %v outside ±20%% of %v", failed, d, base)
		}
	}
	// Retry-After is used as sent, without jitter.
	at, _ := Next(1, 10, 429, "30", now, rnd)
	if at.Sub(now) != 30*time.Second {
		t.Errorf("Retry-After 30 with jitter source gave now+%v, want now+30s", at.Sub(now))
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{
		"", "0", "5", "120", "-1", "+5", "1.5", " 30 ", "99999999999999999999999",
		"9223372036", "9223372037",
		"Sat, 14 Mar 2026 15:19:26 GMT", "Saturday, 14-Mar-26 16:09:26 GMT",
		"Sat Mar 14 15:09:56 2026", "Mon, 01 Jan 0001 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "garbage",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := RetryAfter(h, now)
		if !ok {
			if d != 0 {
				t.Errorf("RetryAfter(%q) = %v, false; want 0 when not ok", h, d)
			}
		} else if d < 0 {
			t.Errorf("RetryAfter(%q) = %v, true; want a non-negative delay", h, d)
		}
		if ok && isDigits(strings.TrimSpace(h)) {
			if n, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64); err == nil && n <= int64(1<<63-1)/int64(time.Second) && d != time.Duration(n)*time.Second {
				t.Errorf("RetryAfter(%q) = %v, want %ds", h, d, n)
			}
		}
		for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			at, retry := Next(1, 5, status, h, now, nil)
			if !retry {
				t.Fatalf("Next(1, 5, %d, %q) did not retry", status, h)
			}
			delay := at.Sub(now)
			if ok && (delay < MinRetryAfter || delay > MaxRetryAfter) {
				t.Errorf("Next with Retry-After %q: delay %v outside [%v, %v]", h, delay, MinRetryAfter, MaxRetryAfter)
			}
			if !ok && delay != Delay(1, nil) {
				t.Errorf("Next with invalid Retry-After %q: delay %v, want the schedule's %v", h, delay, Delay(1, nil))
			}
		}
	})
}
