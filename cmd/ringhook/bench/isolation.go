package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// isolation is phase I: the same healthy webhook's throughput alone and
// then beside five broken receivers (hanging, HTTP 500, connection reset,
// slow answers, huge bodies), each run on its own account with the same
// number of events. One slow or broken receiver must not starve the
// others: the target is a ratio of at least targetIsolation.
func (b *run) isolation(ctx context.Context) error {
	var err error
	if b.r.IsoAlone, err = b.isoRun(ctx, "alone", nil); err != nil {
		return err
	}
	broken, err := startBroken(b.o.BrokenPort, b.o.SlowAnswer, int64(b.o.HugeMB)<<20)
	if err != nil {
		return err
	}
	defer broken.close()
	b.r.IsoBeside, err = b.isoRun(ctx, "beside", broken)
	return err
}

// isoRun pre-ingests --iso-events events for a healthy webhook (and the
// broken ones, if any), starts a dispatcher and times the healthy
// webhook's deliveries, bounded by --iso-max.
func (b *run) isoRun(ctx context.Context, label string, broken *brokenSet) (isoResult, error) {
	var res isoResult
	urls := []string{b.sink.base + "/i/" + label}
	if broken != nil {
		urls = append(urls, broken.urls[:]...)
	}
	// Every webhook of the phase has the --broken-timeout setting; the
	// healthy one answers at once, so it only matters for the broken ones.
	acc, hooks, err := b.newAccount(ctx, "Bench I "+label, urls, b.o.BrokenTimeout)
	if err != nil {
		return res, err
	}
	defer b.retire(acc, hooks)
	events, err := b.events(b.o.IsoEvents)
	if err != nil {
		return res, err
	}
	rec := recorded{only: hooks[0].ID, perHook: map[string]*hookCounts{}}
	for _, w := range hooks[1:] {
		rec.perHook[w.ID] = &hookCounts{}
	}
	// Stop gives up on sends in flight quickly: the broken receivers are
	// closed by then and nothing more is measured.
	d, err := b.dispatcher(&rec, 2*time.Second)
	if err != nil {
		return res, err
	}
	b.progress("bench: I %s: ingesting %d events for %d webhooks", label, len(events), len(hooks))
	queued, err := ingest(ctx, d, acc.ID, events, b.o.Ingesters, b.o.IsoMax)
	if err != nil {
		return res, fmt.Errorf("phase I ingest: %w", err)
	}
	res.Wanted = int64(len(events))
	if queued != res.Wanted*int64(len(hooks)) {
		return res, fmt.Errorf("phase I: %d events matched %d deliveries, want %d x %d webhooks", len(events), queued, len(events), len(hooks))
	}

	if broken != nil && b.profiles('I') {
		stop, err := b.startProfile()
		if err != nil {
			return res, err
		}
		defer stop()
	}
	res.Load = loadAverage()
	goCPU0 := selfCPU()
	pgCPU0, pgOK := postgresCPU(b.pgDir)
	start := time.Now()
	d.Start(ctx)
	limit := time.NewTimer(b.o.IsoMax)
	defer limit.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for rec.succeeded.Load() < res.Wanted {
		select {
		case <-ctx.Done():
			stopDispatcher(d, b.progress)
			return res, ctx.Err()
		case <-limit.C:
			res.Incomplete = true
			break wait
		case <-tick.C:
		}
	}
	res.Elapsed = time.Since(start)
	res.Delivered = rec.succeeded.Load()
	res.GoCPU, res.PGCPU = selfCPU()-goCPU0, -1
	if pgCPU1, ok := postgresCPU(b.pgDir); ok && pgOK {
		res.PGCPU = pgCPU1 - pgCPU0
	}
	if broken != nil {
		broken.close() // ends the hanging and slow requests before Stop waits for them
	}
	stopDispatcher(d, b.progress)
	if broken != nil {
		for i, w := range hooks[1:] {
			k := brokenKind(i)
			c := rec.perHook[w.ID]
			res.Broken = append(res.Broken, brokenStat{Kind: k, Hits: broken.hits[k].Load(), Recorded: c.recorded.Load(), Retries: c.retries.Load()})
		}
	}
	b.progress("bench: I %s: %d/%d healthy deliveries in %.1fs (%.0f/s)", label, res.Delivered, res.Wanted, res.Elapsed.Seconds(), res.rate())
	return res, nil
}

// profiles reports whether phase (B, G, I or W) writes --cpuprofile: the
// first of them, in that order, that runs, and only once (phase W runs
// phase B's delivery again, which must not overwrite it).
func (b *run) profiles(phase byte) bool {
	if b.o.CPUProfile == "" || b.r.Profile != "" {
		return false
	}
	for _, p := range []byte("BGIW") {
		if b.o.has(p) {
			return p == phase
		}
	}
	return false
}

// startProfile writes a CPU profile to --cpuprofile until stop is called
// (once; later calls do nothing).
func (b *run) startProfile() (stop func(), err error) {
	f, err := os.Create(b.o.CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	b.r.Profile = b.o.CPUProfile
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); f.Close() }), nil
}

// loadAverage is the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
