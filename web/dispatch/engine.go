package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ringhook/ringhook/models"
)

// Defaults for Config fields left zero.
const (
	DefaultWorkers      = 32
	DefaultPerWebhook   = 8
	DefaultBatch        = 64
	DefaultPoll         = 500 * time.Millisecond
	DefaultReapInterval = 15 * time.Second
	DefaultStopTimeout  = 10 * time.Second

	recorderCount = 4
	recordBatch   = 256
)

func (c *Config) defaults() {
	if c.Workers < 1 {
		c.Workers = DefaultWorkers
	}
	if c.PerWebhook < 1 {
		c.PerWebhook = DefaultPerWebhook
	}
	if c.Batch < 1 {
		c.Batch = DefaultBatch
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.ReapInterval <= 0 {
		c.ReapInterval = DefaultReapInterval
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.AutoDisable.Failures == 0 {
		c.AutoDisable = models.AutoDisable{Failures: 50, Window: time.Hour}
	}
}

func (d *Dispatcher) jitter() *rand.Rand {
	if d.cfg.NoJitter {
		return nil
	}
	return d.rnd
}

// wake nudges the claim loop (after an ingest or a notification).
func (d *Dispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// Start runs the claim loop, the workers, the recorder, the reaper and the
// LISTEN loop until Stop. It returns at once.
func (d *Dispatcher) Start(ctx context.Context) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	d.stop, d.cancelSends = cancel, cancelSends
	work := make(chan *models.Claimed)
	results := make(chan models.Outcome, d.cfg.Workers)
	slots := make(chan struct{}, d.cfg.Workers)
	for range d.cfg.Workers {
		slots <- struct{}{}
	}
	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c := range work {
				o := d.attempt(sendCtx, c, models.TriggerAuto)
				d.inFlight.add(c.WebhookID, -1)
				slots <- struct{}{}
				d.wake() // room under the webhook's cap, maybe
				results <- o
			}
		}()
	}
	d.done = make(chan struct{})
	// Several recorders overlap their commits (PostgreSQL groups them), so
	// the wait for one fsync does not bound throughput.
	var recorders sync.WaitGroup
	for range recorderCount {
		recorders.Add(1)
		go func() {
			defer recorders.Done()
			d.recordLoop(results)
		}()
	}
	recorderDone := make(chan struct{})
	go func() {
		recorders.Wait()
		close(recorderDone)
	}()
	go d.listenLoop(runCtx)
	go d.reapLoop(runCtx)
	go func() {
		d.claimLoop(runCtx, work, slots)
		close(work)
		workers.Wait()
		close(results)
		<-recorderDone
		close(d.done)
	}()
}

// Stop stops claiming, lets in-flight sends finish within the stop timeout
// (then cancels them; their attempts are recorded as failed and retried),
// and records everything before returning.
func (d *Dispatcher) Stop(ctx context.Context) error {
	if d.stop == nil {
		return nil
	}
	d.stop()
	timer := time.NewTimer(d.cfg.StopTimeout)
	defer timer.Stop()
	select {
	case <-d.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	d.cancelSends()
	select {
	case <-d.done:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("dispatcher: in-flight work did not finish")
	}
}

func (d *Dispatcher) claimLoop(ctx context.Context, work chan<- *models.Claimed, slots chan struct{}) {
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		// Take at least one free worker, then every other free one.
		select {
		case <-ctx.Done():
			return
		case <-slots:
		}
		free := 1
	more:
		for free < d.cfg.Batch {
			select {
			case <-slots:
				free++
			default:
				break more
			}
		}
		claimed, err := d.store.Claim(ctx, d.now(), free, d.cfg.PerWebhook, d.inFlight.snapshot())
		if err != nil && ctx.Err() == nil {
			d.log.Error("claim deliveries", "err", err)
		}
		for i := range claimed {
			d.inFlight.add(claimed[i].WebhookID, 1)
			work <- &claimed[i]
		}
		for range free - len(claimed) {
			slots <- struct{}{}
		}
		if len(claimed) == free {
			continue // more may be due right now
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(d.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-d.wakeCh:
		case <-poll.C:
		}
	}
}

// recordLoop writes outcomes in batches: whatever has arrived by the time
// the previous write finished goes into the next transaction. (Lingering to
// grow batches was measured slower: rows stay 'sending', and so count
// against the per-webhook cap, until recorded.)
func (d *Dispatcher) recordLoop(results <-chan models.Outcome) {
	for o := range results {
		batch := []models.Outcome{o}
	drain:
		for len(batch) < recordBatch {
			select {
			case o, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		d.record(context.Background(), batch)
	}
}

func (d *Dispatcher) record(ctx context.Context, batch []models.Outcome) {
	for try := 0; ; try++ {
		disabled, err := d.store.Record(ctx, d.now(), batch, d.cfg.AutoDisable)
		if err == nil {
			for _, id := range disabled {
				d.log.Warn("webhook disabled automatically", "webhook", id)
			}
			if d.cfg.OnRecord != nil {
				d.cfg.OnRecord(batch)
			}
			return
		}
		// The database is away: keep the results (the leases keep the rows
		// from being sent again) and retry; after the lease the reaper would
		// hand them out again, so give up well before that.
		d.log.Error("record attempts", "err", err, "try", try)
		if try >= 5 {
			return
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
}

func (d *Dispatcher) reapLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.ReapInterval)
	defer t.Stop()
	for {
		if n, err := d.store.ReapExpired(ctx, d.now()); err != nil && ctx.Err() == nil {
			d.log.Error("reap expired leases", "err", err)
		} else if n > 0 {
			d.log.Warn("returned deliveries with expired leases to the queue", "count", n)
			d.wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Dispatcher) listenLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := d.store.Listen(ctx, d.wake); err != nil {
			d.log.Warn("listen for deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// ProcessDue claims one batch of due deliveries, sends them concurrently and
// records the results before returning how many it sent. Tests drive the
// dispatcher with it (and an injected clock) instead of Start.
func (d *Dispatcher) ProcessDue(ctx context.Context) (int, error) {
	claimed, err := d.store.Claim(ctx, d.now(), d.cfg.Batch, d.cfg.PerWebhook, nil)
	if err != nil {
		return 0, err
	}
	outs := make([]models.Outcome, len(claimed))
	var wg sync.WaitGroup
	for i := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = d.attempt(ctx, &claimed[i], models.TriggerAuto)
		}()
	}
	wg.Wait()
	if _, err := d.store.Record(ctx, d.now(), outs, d.cfg.AutoDisable); err != nil {
		return 0, fmt.Errorf("record: %w", err)
	}
	return len(claimed), nil
}

// inFlight counts this process's requests in flight per webhook.
type inFlight struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *inFlight) add(webhookID string, delta int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	if f.n[webhookID] += delta; f.n[webhookID] <= 0 {
		delete(f.n, webhookID)
	}
}

func (f *inFlight) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.n))
	for k, v := range f.n {
		out[k] = v
	}
	return out
}
