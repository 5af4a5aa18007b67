package reliability

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhook/ringhook/cmd/ringhook/bench"
	"github.com/ringhook/ringhook/web/dispatch"
)

// webhooks per scenario: each event makes this many deliveries.
const (
	killHooks  = 2
	pgHooks    = 2
	multiHooks = 4
)

// kill: one child delivers to a slow receiver; once the events are in and
// a third of the deliveries arrived, it gets kill -9 and a new child
// starts. The deliveries the dead child held leased ("stranded") must still
// arrive: the figure is the time from the kill to the first of them.
func (h *harness) kill(ctx context.Context) ([]row, error) {
	rcv, err := startReceiver(time.Duration(h.o.ReceiverMS) * time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	urls := make([]string, killHooks)
	for i := range urls {
		urls[i] = rcv.base + hookPath("kill", i)
	}
	sdb, err := h.newScenarioDB(ctx, "rel_kill", urls, 0)
	if err != nil {
		return nil, err
	}
	defer sdb.close()

	a, err := h.startChild(ctx, "kill-a", sdb.url, true)
	if err != nil {
		return nil, err
	}
	rcv.track(a)
	var mu sync.Mutex
	current := []*child{a}
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, c := range current {
			if c.alive() {
				out = append(out, c.base)
			}
		}
		return out
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range current {
			c.stop()
		}
	}()
	h.progress("kill: ingesting %d events through child A (%d webhooks, receiver %dms per delivery)", h.o.Events, killHooks, h.o.ReceiverMS)
	snd := h.newSender(sdb.key, targets, h.o.SettleMax)
	ing := snd.sendAll(ctx, h.events(h.o.Events), 8)
	want, err := expected(ing.accepted, "kill", killHooks)
	if err != nil {
		return nil, err
	}
	third := int64(len(want) / 3)
	// Kill while the receiver is answering one of A's requests, so at least
	// one delivery is surely leased by A: on a loaded machine A can be
	// between sends at any given moment.
	if err := waitFor(ctx, h.o.SettleMax, func() bool { return rcv.received() >= third && rcv.answering() > 0 }); err != nil {
		return nil, fmt.Errorf("a third of the deliveries did not arrive before the kill: %w", err)
	}
	killedAt := time.Now()
	a.kill()
	before := rcv.received()
	// Every delivery still leased now was leased by A, the only child.
	var stranded []struct{ EventID, WebhookID string }
	if err := sdb.db.WithContext(ctx).Raw(`SELECT event_id, webhook_id FROM deliveries WHERE status = 'sending'`).Scan(&stranded).Error; err != nil {
		return nil, fmt.Errorf("read the leased deliveries: %w", err)
	}
	pathOf := map[string]string{}
	for i, w := range sdb.hooks {
		pathOf[w.ID] = hookPath("kill", i)
	}
	strandedKeys := map[string]bool{}
	for _, s := range stranded {
		strandedKeys[deliveryKey(s.EventID, pathOf[s.WebhookID])] = true
	}
	h.progress("kill: kill -9 child A after %d of %d deliveries; %d deliveries were leased by it; starting child B", before, len(want), len(strandedKeys))
	b, err := h.startChild(ctx, "kill-b", sdb.url, false)
	if err != nil {
		return nil, err
	}
	rcv.track(b)
	mu.Lock()
	current = append(current, b)
	mu.Unlock()

	figure := "no delivery was leased at the kill"
	if len(strandedKeys) > 0 {
		err := waitFor(ctx, h.o.ResumeMax, func() bool { return !rcv.firstAfter(strandedKeys, killedAt, a.name).IsZero() })
		switch {
		case err == errBound:
			figure = fmt.Sprintf("resume > %s (bound): none of %d stranded deliveries arrived", h.o.ResumeMax, len(strandedKeys))
		case err != nil:
			return nil, err
		default:
			figure = fmt.Sprintf("resume %.1fs after kill -9 (first of %d stranded deliveries, via a new child)",
				rcv.firstAfter(strandedKeys, killedAt, a.name).Sub(killedAt).Seconds(), len(strandedKeys))
		}
	}
	if err := waitFor(ctx, h.o.SettleMax, func() bool { return rcv.seenAll(want) }); err != nil && err != errBound {
		return nil, err
	}
	lost, dups := rcv.tally(want)
	if ing.gaveUp > 0 {
		figure += fmt.Sprintf("; %d events never accepted", ing.gaveUp)
	}
	return []row{{Scenario: "kill -9 mid-dispatch", Events: int64(len(ing.accepted)), Deliveries: int64(len(want)),
		Lost: lost, Dups: dups, Figure: figure, Failed: lost > 0}}, nil
}

// pgOutage runs the outage twice: a restart (stopped and started at once)
// and a stop of --pg-down.
func (h *harness) pgOutage(ctx context.Context) ([]row, error) {
	var rows []row
	downs := []time.Duration{0, h.o.PGDown}
	if h.o.Short {
		downs = downs[1:] // the stop covers the restart's path too
	}
	for i, down := range downs {
		r, err := h.pgRun(ctx, fmt.Sprintf("rel_pg_%d", i), down)
		rows = append(rows, r)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// pgRun: one child delivers a steady --rate ingest; after a third of the
// run PostgreSQL is stopped (fast shutdown), kept down for down and started
// again; the ingest goes on throughout, each event retried until accepted
// (as a PBX would). /readyz is watched every 100 ms.
func (h *harness) pgRun(ctx context.Context, name string, down time.Duration) (row, error) {
	label := "pg restart"
	if down > 0 {
		label = fmt.Sprintf("pg stop %s", down)
	}
	r := row{Scenario: label, Lost: -1, Dups: -1}
	rcv, err := startReceiver(0)
	if err != nil {
		return r, err
	}
	defer rcv.close()
	urls := make([]string, pgHooks)
	for i := range urls {
		urls[i] = rcv.base + hookPath(name, i)
	}
	sdb, err := h.newScenarioDB(ctx, name, urls, 0)
	if err != nil {
		return r, err
	}
	defer sdb.close()
	c, err := h.startChild(ctx, name, sdb.url, true)
	if err != nil {
		return r, err
	}
	defer c.stop()

	// The readiness watcher: when /readyz last answered 200 before the
	// stop, first answered non-200, and first answered 200 after the start.
	var ready struct {
		sync.Mutex
		samples []readySample
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for wctx.Err() == nil {
			st := h.status(wctx, c.base+"/readyz")
			ready.Lock()
			ready.samples = append(ready.samples, readySample{time.Now(), st})
			ready.Unlock()
			select {
			case <-wctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	phase := 3 * time.Second // ingest before the stop and after the start
	total := int(h.o.Rate * (2*phase + down + 2*time.Second).Seconds())
	events := h.events(total)
	snd := h.newSender(sdb.key, func() []string { return []string{c.base} }, h.o.SettleMax)
	h.progress("%s: ingesting %d events at %.0f/s through one child; PostgreSQL stops after %s", label, total, h.o.Rate, phase)
	var wg sync.WaitGroup
	var sent atomic.Int64
	jobs := make(chan int, total)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				snd.send(ctx, events[i], i)
				sent.Add(1)
			}
		}()
	}
	pace := time.Duration(float64(time.Second) / h.o.Rate)
	paced := make(chan struct{})
	go func() {
		defer close(paced)
		start := time.Now()
		for i := range events {
			if d := time.Until(start.Add(time.Duration(i) * pace)); d > 0 {
				select { // pacing the producer, not waiting for a result
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			jobs <- i
		}
		close(jobs)
	}()
	select {
	case <-time.After(phase):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	stopAt := time.Now()
	if err := h.stopPG(ctx); err != nil {
		return r, fmt.Errorf("stop PostgreSQL: %w", err)
	}
	h.progress("%s: PostgreSQL stopped (%.1fs to stop)", label, time.Since(stopAt).Seconds())
	if down > 0 {
		select {
		case <-time.After(down):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	if err := h.startPG(ctx); err != nil {
		return r, fmt.Errorf("start PostgreSQL again: %w", err)
	}
	upAt := time.Now()
	h.progress("%s: PostgreSQL up again after %.1fs", label, upAt.Sub(stopAt).Seconds())
	<-paced
	wg.Wait()
	ing := snd.result()
	want, err := expected(ing.accepted, name, pgHooks)
	if err != nil {
		return r, err
	}
	if err := waitFor(ctx, h.o.SettleMax, func() bool { return rcv.seenAll(want) }); err != nil && err != errBound {
		return r, err
	}
	// Readiness must be back before the figure is read.
	_ = waitFor(ctx, 30*time.Second, func() bool {
		ready.Lock()
		defer ready.Unlock()
		n := len(ready.samples)
		return n > 0 && ready.samples[n-1].at.After(upAt) && ready.samples[n-1].status == 200
	})
	stopWatch()
	<-watchDone
	r.Events, r.Deliveries = int64(len(ing.accepted)), int64(len(want))
	r.Lost, r.Dups = rcv.tally(want)
	r.Failed = r.Lost > 0 || !c.alive()
	ready.Lock()
	r.Figure = readiness(ready.samples, stopAt, upAt) + "; " + ing.refusals()
	ready.Unlock()
	if ing.gaveUp > 0 {
		r.Figure += fmt.Sprintf("; %d events never accepted", ing.gaveUp)
	}
	if !c.alive() {
		r.Figure += "; the child EXITED"
	}
	return r, nil
}

type readySample struct {
	at     time.Time
	status int
}

// readiness describes /readyz around the outage: how soon it turned 503
// after the stop and 200 after the start.
func readiness(s []readySample, stopAt, upAt time.Time) string {
	var notReady, readyAgain time.Time
	for _, x := range s {
		if x.at.Before(stopAt) {
			continue
		}
		if notReady.IsZero() && x.status != 200 {
			notReady = x.at
		}
		if x.at.After(upAt) && x.status == 200 && readyAgain.IsZero() {
			readyAgain = x.at
		}
	}
	out := "readyz never left 200"
	if !notReady.IsZero() {
		out = fmt.Sprintf("readyz 503 %.1fs after the stop", notReady.Sub(stopAt).Seconds())
	}
	if readyAgain.IsZero() {
		return out + ", not ready again within 30s of the start"
	}
	return out + fmt.Sprintf(", 200 %.1fs after the start", readyAgain.Sub(upAt).Seconds())
}

// multi: --processes children on one database, events ingested round-robin
// through all of them; every delivery must arrive once, and the figure is
// each child's share of the requests the receiver got.
func (h *harness) multi(ctx context.Context) ([]row, error) {
	rcv, err := startReceiver(5 * time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	urls := make([]string, multiHooks)
	for i := range urls {
		urls[i] = rcv.base + hookPath("multi", i)
	}
	sdb, err := h.newScenarioDB(ctx, "rel_multi", urls, 0)
	if err != nil {
		return nil, err
	}
	defer sdb.close()
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	for i := range h.o.Processes {
		c, err := h.startChild(ctx, fmt.Sprintf("multi-%d", i+1), sdb.url, true)
		if err != nil {
			return nil, err
		}
		rcv.track(c)
		children = append(children, c)
	}
	bases := make([]string, len(children))
	for i, c := range children {
		bases[i] = c.base
	}
	h.progress("multi: ingesting %d events round-robin through %d children (%d webhooks)", h.o.Events, len(children), multiHooks)
	snd := h.newSender(sdb.key, func() []string { return bases }, h.o.SettleMax)
	ing := snd.sendAll(ctx, h.events(h.o.Events), 8)
	want, err := expected(ing.accepted, "multi", multiHooks)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, h.o.SettleMax, func() bool { return rcv.seenAll(want) }); err != nil && err != errBound {
		return nil, err
	}
	lost, dups := rcv.tally(want)
	shares := rcv.shares()
	var total int64
	for _, n := range shares {
		total += n
	}
	var parts []string
	names := make([]string, 0, len(shares))
	for n := range shares {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", n, 100*float64(shares[n])/float64(max(total, 1))))
	}
	figure := "share of work: " + strings.Join(parts, ", ")
	idle := slices.ContainsFunc(children, func(c *child) bool { return shares[c.name] == 0 })
	if idle {
		figure += " (a child sent nothing)"
	}
	return []row{{Scenario: fmt.Sprintf("%d processes, one database", len(children)), Events: int64(len(ing.accepted)), Deliveries: int64(len(want)),
		Lost: lost, Dups: dups, Figure: figure, Failed: lost > 0}}, nil
}

// isolation is the benchmark's phase I (bench.Isolation, not a second
// copy) on a database of the harness's PostgreSQL.
func (h *harness) isolation(ctx context.Context) ([]row, error) {
	args := []string{"--iso-events", fmt.Sprint(h.o.IsoEvents)}
	if h.o.Short {
		args = append(args, "--iso-max", "30s", "--broken-timeout", "1s", "--slow-answer", "100ms", "--huge-mb", "1")
	}
	h.progress("iso: bench phase I %s", strings.Join(args, " "))
	res, err := bench.Isolation(ctx, bench.Env{DatabaseURL: h.pg.URL("postgres"), DefaultWorkers: dispatch.DefaultWorkers}, args, h.stderr)
	if err != nil {
		return nil, err
	}
	fig := fmt.Sprintf("isolation ratio %.2f (healthy %.0f/s alone, %.0f/s beside 5 broken receivers; target >= %.1f; bench %s)",
		res.Ratio, res.Alone, res.Beside, res.Target, strings.Join(args, " "))
	if res.Incomplete {
		fig += "; INCOMPLETE within --iso-max"
	}
	if h.o.Short && h.o.has("kill") {
		fig += "; measured beside the kill scenario"
	}
	return []row{{Scenario: "broken-receiver isolation", Events: res.Events, Deliveries: -1, Lost: -1, Dups: -1, Figure: fig,
		Failed: res.Ratio < res.Target}}, nil
}
