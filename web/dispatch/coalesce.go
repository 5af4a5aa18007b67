package dispatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ringhook/ringhook/models"
)

// flushTimeout bounds one group-commit flush. A flush serves several
// callers, so it does not run under any one caller's context (one caller
// going away must not roll back the others' events); this is its own
// limit instead.
const flushTimeout = 30 * time.Second

// coalescer is group commit for single-event ingest: concurrent Ingest
// calls of one account and mode (live or test) are stored together in one
// Store.IngestBatch transaction, so a burst of requests costs one commit
// and one WAL flush instead of one each.
//
// There is no timer. At most one flush per key runs at a time; an event
// that arrives while its key is idle is flushed at once, alone (no added
// latency), and events that arrive while a flush runs wait for it to
// return and then go together in the next one (at most
// models.MaxIngestBatch per flush). Every caller gets its own result, and
// only after the transaction holding its event committed.
type coalescer struct {
	store func(ctx context.Context, accountID string, evs []*models.Event, plan models.PlanFunc) ([]models.IngestResult, error)

	mu   sync.Mutex
	keys map[ingestKey]*ingestQueue

	// onFlush, when set (tests), is called before each flush's store call
	// with the events it holds; an error it returns fails the flush as a
	// database error would.
	onFlush func(evs []*models.Event) error
}

// ingestKey is what one flush shares: Store.IngestBatch takes the events
// of one account, planned for one mode.
type ingestKey struct {
	account string
	test    bool
}

type ingestQueue struct {
	pending  []*ingestCall
	flushing bool // a flush of this key is running (its goroutine owns the queue's flushing)
}

// ingestCall is one waiting caller's event and, once done is closed, its
// result.
type ingestCall struct {
	ev   *models.Event
	done chan struct{}
	res  models.IngestResult
	err  error
}

func newCoalescer(store func(context.Context, string, []*models.Event, models.PlanFunc) ([]models.IngestResult, error)) *coalescer {
	return &coalescer{store: store, keys: map[ingestKey]*ingestQueue{}}
}

// ingest stores ev (validated) in the next flush of its key and returns
// its result. If ctx ends while the event still waits for a flush, the
// event is withdrawn (nothing stored) and ctx's error returned; once its
// flush has started, the call waits for the commit (bounded by
// flushTimeout), so an answer always tells whether the event was stored.
func (c *coalescer) ingest(ctx context.Context, ev *models.Event, test bool) (models.IngestResult, error) {
	if err := ctx.Err(); err != nil {
		return models.IngestResult{}, err // gone before anything was stored
	}
	key := ingestKey{ev.AccountID, test}
	call := &ingestCall{ev: ev, done: make(chan struct{})}
	c.mu.Lock()
	q := c.keys[key]
	if q == nil {
		q = &ingestQueue{}
		c.keys[key] = q
	}
	q.pending = append(q.pending, call)
	lead := !q.flushing
	q.flushing = true
	c.mu.Unlock()
	if lead {
		// Nothing of this key was being flushed: this caller runs the
		// next flush itself, at once (its event and any that arrived
		// meanwhile), and hands later ones to a goroutine.
		c.drain(ctx, key, q, true)
		return call.res, call.err
	}
	select {
	case <-call.done:
		return call.res, call.err
	case <-ctx.Done():
		if c.withdraw(key, q, call) {
			return models.IngestResult{}, ctx.Err()
		}
		<-call.done // already in a flush: its outcome is the answer
		return call.res, call.err
	}
}

// drain flushes q until it is empty. The leader's own event is in the
// first flush; when that flush returned and others are waiting, a new
// goroutine takes over, so the leader answers without waiting for
// flushes of other callers.
func (c *coalescer) drain(ctx context.Context, key ingestKey, q *ingestQueue, lead bool) {
	base := context.WithoutCancel(ctx)
	for {
		c.mu.Lock()
		n := min(len(q.pending), models.MaxIngestBatch)
		if n == 0 {
			q.flushing = false
			delete(c.keys, key)
			c.mu.Unlock()
			return
		}
		batch := q.pending[:n:n]
		q.pending = append([]*ingestCall(nil), q.pending[n:]...)
		c.mu.Unlock()
		c.flush(base, key, batch)
		if lead {
			// The leader's event is stored: hand what arrived meanwhile
			// over to a goroutine rather than keep the caller waiting.
			c.mu.Lock()
			idle := len(q.pending) == 0
			if idle {
				q.flushing = false
				delete(c.keys, key)
			}
			c.mu.Unlock()
			if !idle {
				go c.drain(base, key, q, false)
			}
			return
		}
	}
}

// withdraw takes call out of q's pending list; false when a flush has
// already taken it.
func (c *coalescer) withdraw(key ingestKey, q *ingestQueue, call *ingestCall) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range q.pending {
		if p == call {
			q.pending = append(q.pending[:i:i], q.pending[i+1:]...)
			return true
		}
	}
	return false
}

// flush stores one batch in one transaction and answers its callers: each
// its own result, or all the same error.
func (c *coalescer) flush(ctx context.Context, key ingestKey, batch []*ingestCall) {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	evs := make([]*models.Event, len(batch))
	for i, call := range batch {
		evs[i] = call.ev
	}
	res, err := c.store1(ctx, key, evs)
	for i, call := range batch {
		if err != nil {
			call.err = err
		} else {
			call.res = res[i]
		}
		close(call.done)
	}
}

// store1 runs one flush's store call. A panic becomes the flush's error:
// the callers waiting on it must be answered, and the queue must go on.
func (c *coalescer) store1(ctx context.Context, key ingestKey, evs []*models.Event) (res []models.IngestResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("ingest flush: panic: %v", r)
		}
	}()
	if c.onFlush != nil {
		if err := c.onFlush(evs); err != nil {
			return nil, err
		}
	}
	return c.store(ctx, key.account, evs, planDeliveries(key.test))
}
