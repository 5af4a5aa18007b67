package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Phase W's shape, from the scale target: traffic on idleTraffic webhooks,
// the idle ones spread over idleAccounts accounts.
const (
	idleTraffic  = 10
	idleAccounts = 100
	idleClaims   = 50 // claims timed with nothing due
)

// idleResult is phase W: phase B with idleTraffic webhooks, before and
// after adding idle enabled webhooks, and what the idle process costs.
type idleResult struct {
	Hooks            int     // idle enabled webhooks added
	Base, WithIdle   float64 // phase B deliveries/s
	ClaimBase        time.Duration
	ClaimWithIdle    time.Duration // median claim with nothing due
	IdleFor          time.Duration
	IdleGo, IdlePg   float64 // cores busy while idle (IdlePg < 0 when unknown)
	BaseIncomplete   bool
	WithIdleIncomplt bool
}

// idleWebhooks is phase W. It runs last: the webhooks it adds stay.
func (b *run) idleWebhooks(ctx context.Context) error {
	saved, opts := b.r, b.o
	defer func() { b.o = opts }()
	b.o.Webhooks = idleTraffic
	var w idleResult
	w.Hooks, w.IdleFor = opts.IdleWebhooks, opts.IdleFor

	b.progress("bench: W: phase B with %d webhooks", idleTraffic)
	if err := b.throughput(ctx); err != nil {
		return fmt.Errorf("phase W, before: %w", err)
	}
	w.Base, w.BaseIncomplete = b.r.throughput(), b.r.Incomplete
	var err error
	if w.ClaimBase, err = b.idleClaim(ctx); err != nil {
		return err
	}

	b.progress("bench: W: adding %d idle enabled webhooks across %d accounts", opts.IdleWebhooks, idleAccounts)
	per := (opts.IdleWebhooks + idleAccounts - 1) / idleAccounts
	if err := b.store.SeedIdleWebhooks(ctx, idleAccounts, per, b.sink.base+"/w/idle"); err != nil {
		return fmt.Errorf("phase W: %w", err)
	}
	w.Hooks = per * idleAccounts
	if w.ClaimWithIdle, err = b.idleClaim(ctx); err != nil {
		return err
	}
	// Leave PostgreSQL as quiet as before the first run: phase B's dead
	// rows would otherwise be vacuumed during the idle window and the
	// second run.
	if err := b.db.WithContext(ctx).Exec("VACUUM (ANALYZE)").Error; err != nil {
		return fmt.Errorf("phase W: vacuum: %w", err)
	}
	if err := b.db.WithContext(ctx).Exec("CHECKPOINT").Error; err != nil {
		return fmt.Errorf("phase W: checkpoint: %w", err)
	}
	if w.IdleGo, w.IdlePg, err = b.idleCPU(ctx, opts.IdleFor); err != nil {
		return err
	}
	b.progress("bench: W: idle with %d webhooks: ringhook %.2f%%, postgres %.2f%% of a core", w.Hooks, w.IdleGo*100, w.IdlePg*100)

	b.progress("bench: W: phase B with %d webhooks beside %d idle ones", idleTraffic, w.Hooks)
	if err := b.throughput(ctx); err != nil {
		return fmt.Errorf("phase W, with idle webhooks: %w", err)
	}
	w.WithIdle, w.WithIdleIncomplt = b.r.throughput(), b.r.Incomplete
	b.r = saved
	b.r.Idle = w
	return nil
}

// idleClaim is the median time of a claim with nothing due (the median: a
// shared machine's scheduling hiccups would dominate a mean of
// sub-millisecond calls).
func (b *run) idleClaim(ctx context.Context) (time.Duration, error) {
	took := make([]time.Duration, 0, idleClaims)
	for range idleClaims {
		start := time.Now()
		got, err := b.store.Claim(ctx, start, b.o.Batch, b.o.PerWebhook, nil, "bench-w")
		if err != nil {
			return 0, fmt.Errorf("phase W: %w", err)
		}
		if len(got) > 0 {
			return 0, fmt.Errorf("phase W: %d deliveries due while the queue should be empty", len(got))
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return percentile(took, 50), nil
}

// idleCPU runs a dispatcher with nothing to do for d (after a second to
// settle) and returns the cores it and PostgreSQL kept busy.
func (b *run) idleCPU(ctx context.Context, d time.Duration) (goCores, pgCores float64, err error) {
	var rec recorded
	disp, err := b.dispatcher(&rec, 0)
	if err != nil {
		return 0, 0, err
	}
	disp.Start(ctx)
	defer stopDispatcher(disp, b.progress)
	b.progress("bench: W: measuring idle CPU for %s", d)
	settle := time.NewTimer(time.Second)
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-settle.C:
	}
	if b.profiles('W') {
		stop, err := b.startProfile()
		if err != nil {
			return 0, 0, err
		}
		defer stop()
	}
	go0 := selfCPU()
	pg0, pgOK := postgresCPU(b.pgDir)
	start := time.Now()
	measure := time.NewTimer(d)
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-measure.C:
	}
	wall := time.Since(start).Seconds()
	goCores, pgCores = (selfCPU()-go0).Seconds()/wall, -1
	if pg1, ok := postgresCPU(b.pgDir); ok && pgOK {
		pgCores = (pg1 - pg0).Seconds() / wall
	}
	if n := rec.succeeded.Load() + rec.other.Load(); n > 0 {
		return 0, 0, fmt.Errorf("phase W: the idle dispatcher recorded %d outcomes", n)
	}
	return goCores, pgCores, nil
}

// writeW prints phase W.
func (r *report) writeW(p func(string, ...any)) {
	w := r.Idle
	p("W  idle webhooks: phase B with %d webhooks, then beside %d idle enabled webhooks in %d accounts", idleTraffic, w.Hooks, idleAccounts)
	p("                with %d webhooks                 %.0f deliveries/s%s", idleTraffic, w.Base, partial(w.BaseIncomplete))
	p("                beside %d idle webhooks       %.0f deliveries/s%s", w.Hooks, w.WithIdle, partial(w.WithIdleIncomplt))
	ratio := 0.0
	if w.Base > 0 {
		ratio = w.WithIdle / w.Base
	}
	p("                ratio                            %.2f   target >= %.1f: %s", ratio, targetIdleRatio, verdict(ratio >= targetIdleRatio))
	p("                claim, nothing due               %s with %d webhooks, %s beside the idle ones (median of %d)",
		msPrec(w.ClaimBase), idleTraffic, msPrec(w.ClaimWithIdle), idleClaims)
	pg := "n/a (PostgreSQL not private)"
	total := w.IdleGo
	if w.IdlePg >= 0 {
		pg = fmt.Sprintf("%.2f%%", w.IdlePg*100)
		total += w.IdlePg
	}
	p("                idle CPU over %s               ringhook %.2f%% + postgres %s of a core   target < %.0f%%: %s",
		w.IdleFor, w.IdleGo*100, pg, targetIdleCPU*100, verdict(w.IdlePg >= 0 && total < targetIdleCPU))
}

func partial(incomplete bool) string {
	if incomplete {
		return " (partial: --max-wait)"
	}
	return ""
}

func msPrec(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
