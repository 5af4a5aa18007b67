package bench

import (
	"context"
	"fmt"
	"time"
)

// orderRun is one half of phase O: the same events delivered with call
// ordering off or on.
type orderRun struct {
	Deliveries int64
	Elapsed    time.Duration
}

func (o orderRun) rate() float64 { return perSec(o.Deliveries, o.Elapsed) }

// callOrder is phase O: the same pre-ingested call events (whole calls,
// so later events of a call wait behind earlier ones) delivered by --webhooks
// webhooks with ordering by call off and on, each run on its own account,
// in the order off, on, on, off: a later run works on a bigger database
// (and a shared machine drifts), which this order cancels out to first
// order. Each mode's figure sums its two runs; the result is on/off.
func (b *run) callOrder(ctx context.Context) error {
	events, err := b.events(b.o.Events)
	if err != nil {
		return err
	}
	for _, ordered := range []bool{false, true, true, false} {
		name, i := "off", 0
		if ordered {
			name, i = "on", 1
		}
		acc, hooks, err := b.newAccountOrdered(ctx, "Bench O "+name, b.sinkURLs("o"+name, b.o.Webhooks), 0, ordered)
		if err != nil {
			return err
		}
		var rec recorded
		d, err := b.dispatcher(&rec, 0)
		if err != nil {
			return err
		}
		b.progress("bench: O (ordering %s): ingesting %d events", name, len(events))
		want, err := ingest(ctx, d, acc.ID, events, b.o.Ingesters, b.o.MaxWait)
		if err != nil {
			return fmt.Errorf("phase O ingest: %w", err)
		}
		start := time.Now()
		d.Start(ctx)
		deadline := start.Add(b.o.MaxWait)
		tick := time.NewTicker(10 * time.Millisecond) // read the count as phase B does
		for rec.succeeded.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
			<-tick.C
		}
		tick.Stop()
		r := orderRun{Deliveries: rec.succeeded.Load(), Elapsed: time.Since(start)}
		stopDispatcher(d, b.progress)
		b.retire(acc, hooks)
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Deliveries < want {
			return fmt.Errorf("phase O (ordering %s): %d of %d deliveries succeeded within --max-wait %s", name, r.Deliveries, want, b.o.MaxWait)
		}
		b.r.Order[i].Deliveries += r.Deliveries
		b.r.Order[i].Elapsed += r.Elapsed
		b.progress("bench: O (ordering %s): %d deliveries in %.1fs (%.0f/s)", name, r.Deliveries, r.Elapsed.Seconds(), r.rate())
	}
	return nil
}

func (r *report) writeO(p func(string, ...any)) {
	off, on := r.Order[0], r.Order[1]
	ratio := 0.0
	if off.rate() > 0 {
		ratio = on.rate() / off.rate()
	}
	p("  O call order  %d deliveries (whole calls) per mode in runs off, on, on, off; ordering off: %.1fs %8.0f/s   on: %.1fs %8.0f/s   on/off %.2f (target >= 0.90)",
		off.Deliveries, off.Elapsed.Seconds(), off.rate(), on.Elapsed.Seconds(), on.rate(), ratio)
}
