package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// APILimits are the JSON API's per-key request rates, enforced in each
// process (N processes behind a balancer allow N times as much).
type APILimits struct {
	// Rate is requests per second for full and read keys; Burst how many
	// may come at once. Defaults 50 and 100.
	Rate  float64
	Burst int
	// IngestRate and IngestBurst apply to ingest keys (a PBX sending call
	// events): generous, defaults 20,000 and 40,000 (a batch request counts
	// once, so that is up to 10,000,000 events a second).
	IngestRate  float64
	IngestBurst int
}

func (l *APILimits) defaults() {
	if l.Rate <= 0 {
		l.Rate = 50
	}
	if l.Burst <= 0 {
		l.Burst = int(math.Ceil(2 * l.Rate))
	}
	if l.IngestRate <= 0 {
		l.IngestRate = 20000
	}
	if l.IngestBurst <= 0 {
		l.IngestBurst = int(math.Ceil(2 * l.IngestRate))
	}
}

// apiGuard holds the API's per-process protection state: one token bucket
// per API key, and when expired idempotency records were last purged.
type apiGuard struct {
	limits APILimits

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter // by API key id
	lastPurge time.Time
}

func newAPIGuard(l APILimits) *apiGuard {
	l.defaults()
	return &apiGuard{limits: l, buckets: map[string]*rate.Limiter{}}
}

// reserve takes one request from k's bucket and returns how long to wait
// when it is empty (0: go ahead).
func (g *apiGuard) reserve(k *models.APIKey, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.buckets[k.ID]
	if b == nil {
		r, burst := g.limits.Rate, g.limits.Burst
		if k.Scope == models.ScopeIngest {
			r, burst = g.limits.IngestRate, g.limits.IngestBurst
		}
		b = rate.NewLimiter(rate.Limit(r), burst)
		g.buckets[k.ID] = b
	}
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now) // a refused request does not use up the next token
		return d
	}
	return 0
}

// RateLimit answers 429 with Retry-After (whole seconds) once the request's
// API key has used up its rate (APILimits). It runs after RequireAPIKey.
func (h *Handler) RateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		k := apiKey(c)
		if k == nil {
			return next(c)
		}
		if wait := h.guard.reserve(k, h.now()); wait > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return fault.Errorf(fault.ErrRateLimited, "Too many requests with this API key; wait for the time in the Retry-After header, then try again.")
		}
		return next(c)
	}
}

// IdempotencyHeader is the request header that makes a POST safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the header (Stripe allows 255 characters).
const maxIdempotencyKey = 255

// maxReplayBody is the largest response kept for replay; larger responses
// are not stored (a repeat then runs again).
const maxReplayBody = 1 << 20

// Idempotent gives a POST Stripe's Idempotency-Key semantics. Without the
// header the request runs as usual. With it, the first request runs and,
// when it succeeds (2xx), its response is kept for models.IdempotencyTTL:
// a repeat with the same key, path and body gets that response again
// (with Idempotent-Replayed: true) and does nothing; the same key with a
// different request is a 422; a repeat while the first is still running
// is a 409 with Retry-After. A failed first request (any non-2xx) did
// nothing and is not kept, so a retry runs again. Keys are scoped to the
// API key that sent them. It runs after RequireAPIKey and RequireScope.
func (h *Handler) Idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		idem, present := req.Header[http.CanonicalHeaderKey(IdempotencyHeader)]
		k := apiKey(c)
		if !present || k == nil {
			return next(c)
		}
		if len(idem) != 1 || !validIdempotencyKey(idem[0]) {
			return fault.Errorf(fault.ErrBadRequest, "The %s header must be one value of 1-%d printable ASCII characters, e.g. a UUID.", IdempotencyHeader, maxIdempotencyKey)
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes+1))
		if err != nil {
			return jsonBodyError(err)
		}
		if len(body) > maxBodyBytes {
			return fault.ErrTooLarge
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		ref := models.IdempotencyRef{AccountID: k.AccountID, APIKeyID: k.ID, Key: idem[0]}
		ctx := req.Context()
		hash := requestHash(req, body)
		prior, started, err := h.store.BeginIdempotent(ctx, ref, hash)
		if err != nil {
			return err
		}
		if !started {
			return replay(c, prior, hash)
		}
		return h.runIdempotent(c, next, ref)
	}
}

// runIdempotent runs the first request with ref and keeps its response
// when it succeeded; otherwise it frees ref for a retry.
func (h *Handler) runIdempotent(c echo.Context, next echo.HandlerFunc, ref models.IdempotencyRef) (err error) {
	// The outcome is written even when the client has gone away.
	ctx := context.WithoutCancel(c.Request().Context())
	res := c.Response()
	tee := &teeWriter{ResponseWriter: res.Writer}
	res.Writer = tee
	done := false
	defer func() {
		res.Writer = tee.ResponseWriter
		if done {
			return
		}
		// A panic (re-raised for the Recover middleware): nothing to replay.
		if rerr := h.store.ReleaseIdempotent(ctx, ref); rerr != nil {
			h.log.Error("release idempotency key", "err", rerr)
		}
	}()
	if err := next(c); err != nil {
		// Render the error now, so its response is the one seen below.
		c.Error(err)
	}
	done = true
	if res.Status >= 200 && res.Status < 300 && !tee.overflow {
		headers := map[string]string{}
		for _, name := range []string{echo.HeaderContentType, echo.HeaderLocation} { // what a replay repeats
			if v := res.Header().Get(name); v != "" {
				headers[name] = v
			}
		}
		if err := h.store.FinishIdempotent(ctx, ref, res.Status, headers, tee.buf.Bytes()); err != nil {
			h.log.Error("store idempotent response", "err", err)
		}
	} else if err := h.store.ReleaseIdempotent(ctx, ref); err != nil {
		h.log.Error("release idempotency key", "err", err)
	}
	h.purgeIdempotency(ctx)
	return nil
}

// replay answers a repeat from the record that holds its key.
func replay(c echo.Context, prior *models.IdempotencyKey, hash []byte) error {
	if !bytes.Equal(prior.RequestHash, hash) {
		return fault.Errorf(fault.ErrIdempotencyKeyReused, "This %s was already used for a different request (another path or body). Use a new key for a new request.", IdempotencyHeader)
	}
	if prior.Status == nil {
		c.Response().Header().Set("Retry-After", "1")
		return fault.Errorf(fault.ErrInFlight, "A request with this %s is still being processed; retry in a moment to get its response.", IdempotencyHeader)
	}
	h := c.Response().Header()
	for name, v := range prior.Headers.V {
		h.Set(name, v)
	}
	h.Set("Idempotent-Replayed", "true")
	c.Response().WriteHeader(*prior.Status)
	_, err := c.Response().Write(prior.Body)
	return err
}

// purgeIdempotency deletes expired idempotency records, at most once an
// hour per process, on the back of a request that stored one.
func (h *Handler) purgeIdempotency(ctx context.Context) {
	g := h.guard
	now := h.now()
	g.mu.Lock()
	due := now.Sub(g.lastPurge) >= time.Hour
	if due {
		g.lastPurge = now
	}
	g.mu.Unlock()
	if !due {
		return
	}
	if n, err := h.store.PurgeIdempotencyKeys(ctx); err != nil {
		h.log.Error("purge idempotency keys", "err", err)
	} else if n > 0 {
		h.log.Info("purged expired idempotency keys", "count", n)
	}
}

// requestHash identifies a request for idempotency: method, path, query
// and the exact body bytes.
func requestHash(req *http.Request, body []byte) []byte {
	s := sha256.New()
	fmt.Fprintf(s, "%s %s?%s\n", req.Method, req.URL.Path, req.URL.RawQuery)
	s.Write(body)
	return s.Sum(nil)
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// teeWriter passes a response through and keeps a copy of its body (up to
// maxReplayBody).
type teeWriter struct {
	http.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if !w.overflow {
		if w.buf.Len()+len(b) > maxReplayBody {
			w.overflow = true
			w.buf.Reset()
		} else {
			w.buf.Write(b)
		}
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
