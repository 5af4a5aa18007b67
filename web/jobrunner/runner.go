// Package jobrunner works the jobs users start (today: bulk retries of
// failed deliveries) in the serving process: it leases one job at a time
// from the jobs table and does it in small batches, each committed with the
// job's progress, so a job shows how far it got, never holds one huge
// transaction, and is taken over by another process if this one dies.
package jobrunner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ringhook/ringhook/models"
)

// Defaults; Config overrides them.
const (
	DefaultBatch = 500
	DefaultPoll  = time.Second
	// DefaultLease is how long a job stays with a runner without a batch
	// committing: after it, another process takes the job over.
	DefaultLease = 30 * time.Second
)

// Config tunes a Runner; the zero value takes the defaults.
type Config struct {
	Batch int           // deliveries per batch (one transaction)
	Poll  time.Duration // how often to look for jobs when not woken
	Lease time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// Runner works jobs between Start and Stop.
type Runner struct {
	store *models.Store
	cfg   Config
	id    string // the lease holder name
	wake  chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Runner for the store's jobs.
func New(store *models.Store, cfg Config) *Runner {
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Runner{store: store, cfg: cfg, id: models.NewID("jr_"), wake: make(chan struct{}, 1)}
}

// ID is the name this runner leases jobs under.
func (r *Runner) ID() string { return r.id }

// Wake makes the runner look for jobs now (a job was just created in this
// process); others find it within their poll interval.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start runs the runner until Stop or ctx ends.
func (r *Runner) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.cfg.Poll)
		defer t.Stop()
		for {
			for {
				worked, err := r.RunOne(ctx)
				if err != nil && ctx.Err() == nil {
					r.cfg.Log.Error("job runner", "err", err)
				}
				if !worked || err != nil {
					break
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-t.C:
			}
		}
	}()
}

// Stop ends the runner, waiting for the batch in progress (within ctx).
// A job it was working stays leased until its lease runs out, then another
// runner goes on with it.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RunOne claims one job and works it to the end (or until ctx ends or the
// lease is lost); it reports whether there was a job.
func (r *Runner) RunOne(ctx context.Context) (bool, error) {
	j, err := r.store.ClaimJob(ctx, r.id, r.cfg.Now(), r.cfg.Lease)
	if err != nil || j == nil {
		return false, err
	}
	for {
		finished, err := r.store.RunJobBatch(ctx, j, r.id, r.cfg.Batch, r.cfg.Now(), r.cfg.Lease)
		switch {
		case errors.Is(err, models.ErrJobLost):
			r.cfg.Log.Warn("job taken over by another runner", "job", j.ID)
			return true, nil
		case err != nil && ctx.Err() != nil:
			return true, nil // stopping: the lease hands the job on
		case err != nil:
			// The batch rolled back (the database is likely away): the job
			// keeps its progress and is taken up again when its lease runs
			// out, by this runner or another.
			return true, err
		case finished:
			r.cfg.Log.Info("job finished", "job", j.ID, "kind", j.Kind, "done", j.Done)
			return true, nil
		}
	}
}
