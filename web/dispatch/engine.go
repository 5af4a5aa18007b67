package dispatch

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
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
	DefaultHeartbeat    = time.Second
	DefaultStaleAfter   = 5 * time.Second

	// DefaultFailingWarn is the failure streak at which webhook.failing is
	// emitted (AutoDisable.Warn; negative: never).
	DefaultFailingWarn = 10

	recorderCount = 4
	recordBatch   = 256

	// A recorder whose write failed waits this long before the next try,
	// doubling up to recordBackoffMax, for as long as the database is away.
	recordBackoffMin = 100 * time.Millisecond
	recordBackoffMax = 2 * time.Second
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
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.AutoDisable.Failures == 0 {
		c.AutoDisable = models.AutoDisable{Failures: 50, Window: time.Hour, Warn: c.AutoDisable.Warn}
	}
	if c.AutoDisable.Warn == 0 {
		c.AutoDisable.Warn = DefaultFailingWarn
	}
}

func (d *Dispatcher) jitter() *rand.Rand {
	if d.cfg.NoJitter {
		return nil
	}
	return d.rnd
}

// wake nudges the claimer (after an ingest or a notification).
func (d *Dispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// parts are the running pieces of a started dispatcher. Work flows
// claimer -> sender -> recorder; the listener and the reaper wake the
// claimer; the heart beats for this process and hands back the leases of
// processes that stopped beating. Each part has its own start and stop.
type parts struct {
	claimer  *claimer
	sender   *sender
	recorder *recorder
	listener *listener
	reaper   *reaper
	heart    *heart
	prober   *prober
}

// Start runs the dispatcher's parts until Stop. It returns at once.
func (d *Dispatcher) Start(ctx context.Context) {
	base := context.WithoutCancel(ctx)
	work := make(chan *models.Claimed)
	// Room for one outcome per worker: beyond that, workers wait for the
	// recorders, so outcomes waiting on a slow or absent database stay
	// bounded in memory.
	results := make(chan models.Outcome, d.cfg.Workers)
	p := &parts{recorder: &recorder{d: d, in: results}}
	p.sender = &sender{d: d, work: work, results: results, slots: make(chan struct{}, d.cfg.Workers)}
	p.claimer = &claimer{d: d, work: work, slots: p.sender.slots, rec: p.recorder}
	p.listener = &listener{d: d}
	p.reaper = &reaper{d: d}
	p.heart = &heart{d: d}
	p.prober = &prober{d: d}
	// Register before the first claim, so every lease names a holder
	// other processes can see beating.
	d.heartbeat(base)
	p.recorder.start(base)
	p.sender.start(base)
	p.claimer.start(base)
	p.listener.start(base)
	p.reaper.start(base)
	p.heart.start(base)
	p.prober.start(base)
	d.parts = p
}

// Stop stops claiming, lets in-flight sends finish within the stop timeout
// (then cancels them; their attempts are recorded as failed and retried),
// and records every outcome before returning. Recording gets the stop
// timeout again (or until ctx ends); outcomes the database did not take by
// then are left to the reaper (their leases expire and they are sent
// again), and Stop says how many.
func (d *Dispatcher) Stop(ctx context.Context) error {
	p := d.parts
	if p == nil {
		return nil
	}
	p.claimer.stop()
	p.listener.stop()
	p.reaper.stop()
	p.prober.stop()
	grace := time.NewTimer(d.cfg.StopTimeout)
	defer grace.Stop()
	select {
	case <-p.sender.done:
	case <-grace.C:
	case <-ctx.Done():
	}
	p.sender.cancel()
	bound := time.NewTimer(d.cfg.StopTimeout)
	defer bound.Stop()
	select {
	case <-p.recorder.done:
	case <-bound.C:
		p.recorder.giveUp()
	case <-ctx.Done():
		p.recorder.giveUp()
	}
	<-p.sender.done
	<-p.recorder.done
	p.heart.stop()
	if n := p.recorder.dropped.Load(); n > 0 {
		// Stay registered with a stale beat: other processes hand the
		// leases back within StaleAfter.
		return fmt.Errorf("dispatcher: %d outcomes unrecorded at stop (the database did not answer); other dispatchers send them again once this one counts as gone", n)
	}
	return d.unregister(ctx)
}

// unregister removes this process from the dispatchers table.
func (d *Dispatcher) unregister(ctx context.Context) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.StopTimeout)
	defer cancel()
	return d.store.Unregister(uctx, d.id)
}

// heartbeat records that this process is alive.
func (d *Dispatcher) heartbeat(ctx context.Context) {
	if err := d.store.Heartbeat(ctx, d.id, d.host, os.Getpid(), d.now()); err != nil && ctx.Err() == nil {
		d.log.Error("dispatcher heartbeat", "err", err)
	}
}

// beat refreshes this process's heartbeat every Heartbeat and returns to
// the queue the leases of dispatchers silent for StaleAfter, so the work
// of a crashed process resumes within seconds, whatever the webhook
// timeout (the lease itself runs for the timeout plus a margin).
func (d *Dispatcher) beat(ctx context.Context) {
	t := time.NewTicker(d.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.heartbeat(ctx)
		now := d.now()
		if n, err := d.store.ReapStale(ctx, now, now.Add(-d.cfg.StaleAfter), d.id); err != nil && ctx.Err() == nil {
			d.log.Error("reap leases of stopped dispatchers", "err", err)
		} else if n > 0 {
			d.log.Warn("returned deliveries leased by a dispatcher that stopped beating to the queue", "count", n)
			d.wake()
		}
	}
}

// claim leases up to n due deliveries given what this process has in flight.
func (d *Dispatcher) claim(ctx context.Context, n int, inFlight map[string]int) ([]models.Claimed, error) {
	start := time.Now() // durations in wall time, whatever clock the dispatcher is given
	now := d.now()
	reduced, resting := d.degraded.list(now)
	if len(resting) > 0 {
		// A resting webhook counts as full: the claim passes over it.
		full := make(map[string]int, len(inFlight)+len(resting))
		maps.Copy(full, inFlight)
		for _, id := range resting {
			full[id] = d.cfg.PerWebhook
		}
		inFlight = full
	}
	claimed, err := d.store.ClaimReduced(ctx, now, n, d.cfg.PerWebhook, inFlight, reduced, d.id)
	d.cfg.Observer.Claimed(len(claimed), time.Since(start), err)
	return claimed, err
}

// claimer leases due deliveries for free workers, as many as are free (up
// to the batch size) in one statement, and never more per webhook than the
// per-process cap. It pauses while the recorders cannot write.
type claimer struct {
	d     *Dispatcher
	work  chan<- *models.Claimed
	slots chan struct{} // one token per idle worker
	rec   *recorder

	cancel context.CancelFunc
	done   chan struct{}
}

func (c *claimer) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		defer close(c.work)
		c.run(ctx)
	}()
}

// stop ends claiming; what was claimed has been handed to the sender.
func (c *claimer) stop() {
	c.cancel()
	<-c.done
}

func (c *claimer) run(ctx context.Context) {
	d := c.d
	poll := time.NewTimer(0)
	defer poll.Stop()
	empty := 0 // claims in a row that found nothing
	wait := func() bool {
		poll.Reset(c.sleep(ctx, empty))
		select {
		case <-ctx.Done():
			return false
		case <-d.wakeCh:
		case <-poll.C:
		}
		return true
	}
	for {
		// Outcomes waiting on the database: claiming more would only
		// add to them.
		if c.rec.stalled() {
			if !wait() {
				return
			}
			continue
		}
		// Take at least one free worker, then every other free one.
		select {
		case <-ctx.Done():
			return
		case <-c.slots:
		}
		free := 1
	more:
		for free < d.cfg.Batch {
			select {
			case <-c.slots:
				free++
			default:
				break more
			}
		}
		claimed, err := d.claim(ctx, free, d.inFlight.snapshot())
		if err != nil && ctx.Err() == nil {
			d.log.Error("claim deliveries", "err", err)
		}
		for i := range claimed {
			d.inFlight.add(claimed[i].WebhookID, 1)
			c.work <- &claimed[i]
		}
		for range free - len(claimed) {
			c.slots <- struct{}{}
		}
		if len(claimed) == free {
			empty = 0
			continue // more may be due right now
		}
		if len(claimed) == 0 && err == nil {
			empty++
		} else {
			empty = 0
		}
		if !wait() {
			return
		}
	}
}

// maxIdleDoublings bounds the idle claimer's sleep at Poll << 3 (4 s by
// default).
const maxIdleDoublings = 3

// sleep is how long the claimer waits for a wake-up after empty claims in
// a row found nothing. New work wakes it (ingest notifies, finished sends
// free room), so the poll is for what falls due with no notification: a
// retry's time. An idle claimer doubles its poll up to maxIdleDoublings,
// but never sleeps past the earliest due time in the due set (nor less
// than Poll).
func (c *claimer) sleep(ctx context.Context, empty int) time.Duration {
	d := c.d
	if empty == 0 {
		return d.cfg.Poll
	}
	sleep := d.cfg.Poll << min(empty, maxIdleDoublings)
	next, ok, err := d.store.NextDue(ctx)
	switch {
	case err != nil:
		return d.cfg.Poll
	case ok:
		sleep = min(sleep, max(next.Sub(d.now()), d.cfg.Poll))
	}
	return sleep
}

// sender is the worker pool: each worker sends one claimed delivery at a time
// (recovering from a panic as an internal-error attempt, see send) and
// hands the outcome to the recorders before taking more work.
type sender struct {
	d       *Dispatcher
	work    <-chan *models.Claimed
	results chan<- models.Outcome
	slots   chan struct{}

	cancel context.CancelFunc // cuts in-flight requests short
	done   chan struct{}
}

func (s *sender) start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	var wg sync.WaitGroup
	for range s.d.cfg.Workers {
		s.slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range s.work {
				o := s.d.send(ctx, c, c.Trigger())
				if s.d.degraded.note(c.WebhookID, o, s.d.now()) {
					time.AfterFunc(degradedGap, s.d.wake)
				}
				s.d.inFlight.add(c.WebhookID, -1)
				s.results <- o
				s.slots <- struct{}{}
				s.d.wake() // room under the webhook's cap, maybe
			}
		}()
	}
	go func() {
		wg.Wait()
		close(s.results)
		close(s.done)
	}()
}

// recorder writes outcomes in batches with several writers: whatever has
// arrived by the time the previous write finished goes into the next
// transaction, and overlapping commits let PostgreSQL group their flushes.
// (Lingering to grow batches was measured slower: rows stay 'sending', and
// so count against the per-webhook cap, until recorded.) A batch the
// database refuses is kept and retried with backoff until it is written;
// meanwhile the claimer pauses and the workers wait, so memory stays bounded.
type recorder struct {
	d  *Dispatcher
	in <-chan models.Outcome

	failing atomic.Int32 // writers holding a batch the database refused
	dropped atomic.Int64 // outcomes given up at Stop

	ctx    context.Context
	giveUp context.CancelFunc
	done   chan struct{}
}

func (r *recorder) start(ctx context.Context) {
	r.ctx, r.giveUp = context.WithCancel(ctx)
	r.done = make(chan struct{})
	var wg sync.WaitGroup
	for range recorderCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop()
		}()
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
}

// stalled reports whether some outcomes are waiting for the database.
func (r *recorder) stalled() bool { return r.failing.Load() > 0 }

func (r *recorder) loop() {
	for o := range r.in {
		batch := []models.Outcome{o}
	drain:
		for len(batch) < recordBatch {
			select {
			case o, ok := <-r.in:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		r.keep(batch)
	}
}

// keep writes batch, retrying with backoff for as long as it takes, until
// Stop gives up.
func (r *recorder) keep(batch []models.Outcome) {
	backoff := recordBackoffMin
	for try := 1; ; try++ {
		err := r.d.write(r.ctx, batch)
		if err == nil {
			if try > 1 {
				r.failing.Add(-1)
				r.d.log.Info("recorded outcomes after the database came back", "outcomes", len(batch), "tries", try)
			}
			return
		}
		if r.ctx.Err() != nil {
			if try > 1 {
				r.failing.Add(-1)
			}
			r.dropped.Add(int64(len(batch)))
			r.d.log.Error("stopped before outcomes could be recorded; the reaper will send them again", "outcomes", len(batch), "err", err)
			return
		}
		if try == 1 {
			r.failing.Add(1)
		}
		r.d.log.Error("record attempts: keeping the outcomes and trying again", "err", err, "outcomes", len(batch), "try", try, "retry_in", backoff)
		select {
		case <-r.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, recordBackoffMax)
	}
}

// write records one batch once: the one path by which automatic outcomes
// reach the database.
func (d *Dispatcher) write(ctx context.Context, batch []models.Outcome) error {
	if err := d.record(ctx, batch); err != nil {
		return err
	}
	if d.cfg.OnRecord != nil {
		d.cfg.OnRecord(batch)
	}
	return nil
}

// record writes outcomes (automatic, manual or test) and tells the
// observer: the one place attempts are counted.
func (d *Dispatcher) record(ctx context.Context, outs []models.Outcome) error {
	start := time.Now()
	disabled, err := d.store.Record(ctx, d.now(), outs, d.cfg.AutoDisable)
	d.cfg.Observer.Recorded(outs, disabled, time.Since(start), err)
	if err != nil {
		return err
	}
	for _, id := range disabled {
		d.log.Warn("webhook disabled automatically", "webhook", id)
	}
	return nil
}

// loop is the start and stop of a part that runs one loop: the listener,
// the reaper and the heart.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (l *loop) run(ctx context.Context, body func(context.Context)) {
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		body(ctx)
	}()
}

func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// reaper returns expired leases to the queue every ReapInterval.
type reaper struct {
	loop
	d *Dispatcher
}

func (r *reaper) start(ctx context.Context) { r.run(ctx, r.d.reap) }

// listener wakes the claimer on every notification of new deliveries.
type listener struct {
	loop
	d *Dispatcher
}

func (l *listener) start(ctx context.Context) { l.run(ctx, l.d.listen) }

// heart beats for this process and hands back the leases of dispatchers
// that stopped beating (see beat).
type heart struct {
	loop
	d *Dispatcher
}

func (h *heart) start(ctx context.Context) { h.run(ctx, h.d.beat) }

// reap is the reaper's loop.
func (d *Dispatcher) reap(ctx context.Context) {
	t := time.NewTicker(d.cfg.ReapInterval)
	defer t.Stop()
	for {
		if n, err := d.store.ReapExpired(ctx, d.now()); err != nil && ctx.Err() == nil {
			d.log.Error("reap expired leases", "err", err)
		} else if n > 0 {
			d.log.Warn("returned deliveries with expired leases to the queue", "count", n)
			d.wake()
		}
		n, err := d.TrimBodies(ctx)
		d.logChore(ctx, "trim attempt bodies past their account's body retention", n, err)
		n, err = d.TrimHistory(ctx)
		d.logChore(ctx, "remove events past their account's history retention", n, err)
		// Weekly partitions: made ahead of the clock, dropped whole past
		// every account's retention.
		m, err := d.store.MaintainHistory(ctx)
		d.logChore(ctx, "drop history weeks past every account's retention", int64(len(m.DroppedWeeks)), err)
		// Deleted webhooks whose history has outlived the account's
		// retention go for good, with their delivery logs.
		n, err = d.store.PurgeDeletedWebhooks(ctx, d.now())
		d.logChore(ctx, "remove deleted webhooks past their history retention", n, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listen reconnects after a second when the connection drops.
func (d *Dispatcher) listen(ctx context.Context) {
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
// records the outcomes before returning how many it sent: one turn of the
// same parts Start runs (claim, send, write), synchronously. Tests use it to
// step the dispatcher with an injected clock.
func (d *Dispatcher) ProcessDue(ctx context.Context) (int, error) {
	claimed, err := d.claim(ctx, d.cfg.Batch, nil)
	if err != nil {
		return 0, err
	}
	outs := make([]models.Outcome, len(claimed))
	var wg sync.WaitGroup
	for i := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = d.send(ctx, &claimed[i], claimed[i].Trigger())
			d.degraded.note(claimed[i].WebhookID, outs[i], d.now())
		}()
	}
	wg.Wait()
	if len(outs) == 0 {
		return 0, nil
	}
	if err := d.write(ctx, outs); err != nil {
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

// logChore reports one of the reaper's clean-ups: its error, or how many
// rows it handled when there were any.
func (d *Dispatcher) logChore(ctx context.Context, what string, n int64, err error) {
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Error(what, "err", err)
	case err == nil && n > 0:
		d.log.Info(what, "count", n)
	}
}

// maxTrimBatches bounds each clean-up of one reaper round; a larger backlog
// goes on at the next round.
const maxTrimBatches = 20

// inBatches runs step up to maxTrimBatches times while it says more is
// left, and adds up what it did.
func inBatches(step func() (n int64, more bool, err error)) (int64, error) {
	var total int64
	for range maxTrimBatches {
		n, more, err := step()
		total += n
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}

// TrimHistory removes the events (with their deliveries and attempts)
// older than their account's history retention, in statements of at most
// models.DefaultHistoryBatch per account, and returns how many events went.
// The reaper runs it every round.
func (d *Dispatcher) TrimHistory(ctx context.Context) (int64, error) {
	return inBatches(func() (int64, bool, error) {
		n, err := d.store.TrimHistory(ctx, models.DefaultHistoryBatch)
		return n, n > 0, err // the count is over every account: go on while any had some
	})
}

// TrimBodies drops the bodies of attempts older than their account's body
// retention (docs/privacy.md), in batches of models.DefaultTrimBatch, and
// returns how many it trimmed. The reaper runs it every round; tests call
// it with the injected clock (attempts' started_at is the dispatcher's).
func (d *Dispatcher) TrimBodies(ctx context.Context) (int64, error) {
	return inBatches(func() (int64, bool, error) {
		n, err := d.store.TrimBodies(ctx, d.now(), models.DefaultTrimBatch)
		return n, n == models.DefaultTrimBatch, err
	})
}

// degradedFor is how long a webhook keeps a cap of one after a
// degraded success (see degradedBy), unless a healthy answer comes first.
const degradedFor = time.Minute

// degradedGap is the rest a degraded webhook takes after each degraded
// success before its next attempt starts: with the cap of one it bounds
// such a receiver to ten attempts a second, so one that answers every
// request with megabytes (cheap for it, each answer a connection and a
// recorded attempt for us) cannot take a share of this process's CPU and
// database time that healthy webhooks feel.
const degradedGap = 100 * time.Millisecond

// degraded remembers the webhooks whose receivers lately succeeded in a
// degraded way (slow, or a huge body): the claim gives them one delivery
// in flight, and none at all for degradedGap after each such answer, so
// a receiver that succeeds only after seconds (or makes the sender read
// and drop megabytes) cannot hold a share of this process's workers
// while others wait. Like the cap itself, it is this process's own view.
type degraded struct {
	mu    sync.Mutex
	marks map[string]degradedMark
}

type degradedMark struct {
	until time.Time // the cap of one lasts until then
	rest  time.Time // no attempt starts before then
}

// note records what outcome o says about webhookID's receiver: a degraded
// success marks it for degradedFor, a healthy one clears the mark. It
// reports whether the webhook now rests (the claimer is to be woken when
// the rest is over).
func (g *degraded) note(webhookID string, o models.Outcome, now time.Time) (rests bool) {
	if !o.Attempt.Succeeded() {
		return false // failures count toward the streak and the breaker instead
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if o.Degraded == "" {
		delete(g.marks, webhookID)
		return false
	}
	if g.marks == nil {
		g.marks = map[string]degradedMark{}
	}
	g.marks[webhookID] = degradedMark{until: now.Add(degradedFor), rest: now.Add(degradedGap)}
	return true
}

// list is the webhooks marked at now (reduced) and those of them resting
// at now, forgetting marks that ran out.
func (g *degraded) list(now time.Time) (reduced, resting []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, m := range g.marks {
		if !now.Before(m.until) {
			delete(g.marks, id)
			continue
		}
		reduced = append(reduced, id)
		if now.Before(m.rest) {
			resting = append(resting, id)
		}
	}
	return reduced, resting
}
