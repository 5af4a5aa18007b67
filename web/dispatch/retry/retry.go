// Package retry computes the retry schedule of webhook deliveries. It holds
// pure functions only: the caller passes the clock and the random source,
// which keeps the schedule deterministic in tests.
//
// The schedule follows Standard Webhooks: after the first failed attempt the
// next one comes 5 seconds later, then 5 minutes, 30 minutes, 2 hours,
// 5 hours and 10 hours, and every 10 hours after that, until the webhook's
// maximum number of attempts is reached. Each delay gets ±20% jitter. A
// Retry-After header on 429 and 503 responses replaces the schedule, within
// [MinRetryAfter, MaxRetryAfter]. 410 Gone is never retried.
package retry

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// schedule is the Standard Webhooks schedule: schedule[n-1] is the delay
// before attempt n+1 after attempt n failed.
var schedule = [...]time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
}

// Schedule returns a copy of the Standard Webhooks schedule of delays,
// without jitter: element n-1 is the delay before attempt n+1 after attempt
// n failed (5s, 5m, 30m, 2h, 5h, 10h). The last value repeats for every
// later attempt.
func Schedule() []time.Duration {
	return append([]time.Duration(nil), schedule[:]...)
}

const (
	// Jitter is the relative jitter applied by Delay: the delay is drawn
	// uniformly from [d*(1-Jitter), d*(1+Jitter)).
	Jitter = 0.2
	// MinDelay is the smallest delay Delay returns.
	MinDelay = time.Second
	// MinRetryAfter and MaxRetryAfter bound a Retry-After delay used by
	// Next.
	MinRetryAfter = time.Second
	MaxRetryAfter = 24 * time.Hour
)

// Delay returns the delay before the next attempt after failedAttempts
// attempts have failed (failedAttempts >= 1; smaller values count as 1).
// With a non-nil rnd the scheduled delay gets ±20% jitter; with a nil rnd
// it is returned exactly. The result is never below MinDelay.
func Delay(failedAttempts int, rnd *rand.Rand) time.Duration {
	i := min(max(failedAttempts, 1), len(schedule)) - 1
	d := schedule[i]
	if rnd != nil {
		f := 1 - Jitter + 2*Jitter*rnd.Float64()
		d = time.Duration(float64(d) * f)
	}
	return max(d, MinDelay)
}

// RetryAfter parses a Retry-After header value, either delta-seconds
// ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", also the
// obsolete RFC 850 and asctime forms), and returns the delay it asks for
// relative to now. It returns false when h is empty, malformed, negative or
// a date before now. Very large delta-seconds saturate instead of
// overflowing. The delay is not clamped; Next does that.
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDigits(h) {
		const maxSeconds = int64(1<<63-1) / int64(time.Second)
		var secs int64
		for _, c := range []byte(h) {
			secs = secs*10 + int64(c-'0')
			if secs > maxSeconds {
				return time.Duration(maxSeconds) * time.Second, true
			}
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, false
	}
	return d, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Next decides whether a failed delivery is retried and when.
//
// failedAttempts is the number of attempts made so far, all failed, and
// maxAttempts the webhook's total attempt limit. There is no retry when
// failedAttempts >= maxAttempts or status is 410 Gone. On 429 and 503 a
// valid Retry-After header (see RetryAfter) is used instead of the
// schedule, clamped to [MinRetryAfter, MaxRetryAfter]. Otherwise the next
// attempt is at now + Delay(failedAttempts, rnd). status is 0 when no
// response was received.
func Next(failedAttempts, maxAttempts int, status int, retryAfter string, now time.Time, rnd *rand.Rand) (at time.Time, retry bool) {
	if failedAttempts >= maxAttempts || status == http.StatusGone {
		return time.Time{}, false
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if d, ok := RetryAfter(retryAfter, now); ok {
			return now.Add(min(max(d, MinRetryAfter), MaxRetryAfter)), true
		}
	}
	return now.Add(Delay(failedAttempts, rnd)), true
}
