package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

// ceiling is phase A: a plain client against the receiver.
func (b *run) ceiling(ctx context.Context) error {
	conns := b.o.Workers
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	body := bytes.Repeat([]byte("x"), 1024)
	target := b.sink.base + "/ceiling"
	var n atomic.Int64
	var firstErr error
	var errOnce sync.Once
	deadline := time.Now().Add(b.o.CeilingFor)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	b.r.CeilingConns, b.r.CeilingRequests, b.r.CeilingElapsed = conns, n.Load(), time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstErr != nil {
		return fmt.Errorf("phase A: %w", firstErr)
	}
	b.progress("bench: A ceiling: %.0f req/s", perSec(b.r.CeilingRequests, b.r.CeilingElapsed))
	return nil
}

// recorded counts what a dispatcher recorded, through Config.OnRecord:
// all outcomes, or (only set) those of one webhook.
type recorded struct {
	only             string
	succeeded, other atomic.Int64
	batches          atomic.Int64 // Record transactions
	// perHook, when set before the dispatcher starts, counts the outcomes
	// of the webhooks it names.
	perHook map[string]*hookCounts
}

// hookCounts are one webhook's recorded outcomes.
type hookCounts struct {
	recorded, retries atomic.Int64
}

// dispatcher is the product's dispatcher with the run's settings; stop
// bounds how long Stop lets sends in flight finish (0: the default).
func (b *run) dispatcher(rec *recorded, stop time.Duration) (*dispatch.Dispatcher, error) {
	return dispatch.New(b.store, dispatch.Config{
		Workers: b.o.Workers, PerWebhook: b.o.PerWebhook, Batch: b.o.Batch, Poll: b.o.Poll, StopTimeout: stop,
		AllowPrivate: "true", LoopbackOnly: true, Log: b.log,
		OnRecord: func(outs []models.Outcome) {
			rec.batches.Add(1)
			for _, o := range outs {
				if c := rec.perHook[o.Attempt.WebhookID]; c != nil {
					c.recorded.Add(1)
					if o.Status == models.StatusPending {
						c.retries.Add(1)
					}
				}
				if rec.only != "" && o.Attempt.WebhookID != rec.only {
					continue
				}
				if o.Status == models.StatusSucceeded {
					rec.succeeded.Add(1)
				} else {
					rec.other.Add(1)
				}
			}
		},
	})
}

func stopDispatcher(d *dispatch.Dispatcher, log func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		log("bench: stop dispatcher: %v", err)
	}
}

// ingest calls d.Ingest for every event from n goroutines, bounded by
// limit, and returns the deliveries queued.
func ingest(ctx context.Context, d *dispatch.Dispatcher, accountID string, events []map[string]any, n int, limit time.Duration) (int64, error) {
	ictx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	const chunk = 100
	chunks := make(chan []map[string]any, len(events)/chunk+1)
	for i := 0; i < len(events); i += chunk {
		chunks <- events[i:min(i+chunk, len(events))]
	}
	close(chunks)
	var queued atomic.Int64
	var ingestErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				for _, ev := range c {
					res, err := d.Ingest(ictx, accountID, ev)
					if err != nil {
						errOnce.Do(func() { ingestErr = err; cancel() })
						return
					}
					queued.Add(int64(res.Deliveries))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return queued.Load(), ingestErr
}

// throughput is phase B.
func (b *run) throughput(ctx context.Context) error {
	acc, hooks, err := b.newAccount(ctx, "Bench B", b.sinkURLs("b", b.o.Webhooks), 0)
	if err != nil {
		return err
	}
	defer b.retire(acc, hooks)
	events, err := b.events(b.o.Events)
	if err != nil {
		return err
	}
	var rec recorded
	d, err := b.dispatcher(&rec, 0)
	if err != nil {
		return err
	}

	// Pre-ingest from a few goroutines, each taking chunks of events.
	b.progress("bench: B: ingesting %d events from %d goroutines", len(events), b.o.Ingesters)
	start := time.Now()
	queued, err := ingest(ctx, d, acc.ID, events, b.o.Ingesters, b.o.MaxWait)
	b.r.IngestElapsed = time.Since(start)
	if err != nil {
		return fmt.Errorf("phase B ingest: %w", err)
	}
	b.r.IngestEvents, b.r.IngestDeliveries = int64(len(events)), queued
	want := b.r.IngestDeliveries
	if want != b.r.IngestEvents*int64(b.o.Webhooks) {
		return fmt.Errorf("phase B: %d events matched %d deliveries, want %d x %d webhooks", len(events), want, len(events), b.o.Webhooks)
	}
	b.progress("bench: B: ingested in %.1fs (%.0f events/s); starting the dispatcher for %d deliveries",
		b.r.IngestElapsed.Seconds(), perSec(b.r.IngestEvents, b.r.IngestElapsed), want)

	// Deliver everything and time it.
	stopProfile := func() {}
	if b.profiles('B') {
		stop, err := b.startProfile()
		if err != nil {
			return err
		}
		stopProfile = stop
		defer stopProfile()
	}
	receivedBefore := b.sink.total.Load()
	goCPU0 := selfCPU()
	pgCPU0, pgOK := postgresCPU(b.pgDir)
	machine0, machineOK := readMachineBusy()
	if b.tracer != nil {
		b.tracer.on.Store(true)
	}
	start = time.Now()
	d.Start(ctx)
	defer stopDispatcher(d, b.progress)
	var t10, t90 time.Time
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(b.o.MaxWait)
	defer limit.Stop()
	lastShown := start
wait:
	for {
		done := rec.succeeded.Load()
		now := time.Now()
		if t10.IsZero() && done*10 >= want {
			t10 = now
		}
		if t90.IsZero() && done*10 >= want*9 {
			t90 = now
		}
		if done >= want {
			break
		}
		if now.Sub(lastShown) >= 2*time.Second {
			lastShown = now
			b.progress("bench: B: %d/%d delivered (%.0f/s so far), %d not succeeded", done, want, perSec(done, now.Sub(start)), rec.other.Load())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-limit.C:
			// A measurement bound, not a failure: report what was done.
			b.r.Incomplete = true
			b.progress("bench: B: --max-wait %s reached with %d of %d deliveries done; reporting the partial run", b.o.MaxWait, done, want)
			break wait
		case <-tick.C:
		}
	}
	end := time.Now()
	b.r.DeliverElapsed = end.Sub(start)
	b.r.Delivered = rec.succeeded.Load()
	b.r.Wanted = want
	b.r.RecordBatches = rec.batches.Load()
	cpuWall := b.r.DeliverElapsed.Seconds()
	b.r.GoCPU = (selfCPU() - goCPU0).Seconds() / cpuWall
	b.r.PgCPU = -1
	if pgCPU1, ok := postgresCPU(b.pgDir); ok && pgOK {
		b.r.PgCPU = (pgCPU1 - pgCPU0).Seconds() / cpuWall
	}
	b.r.MachineCPU = -1
	if machine1, ok := readMachineBusy(); ok && machineOK {
		b.r.MachineCPU = (machine1 - machine0).Seconds() / cpuWall
	}
	switch {
	case t90.After(t10):
		b.r.SteadyRate = float64(want*8/10) / t90.Sub(t10).Seconds()
	case !t10.IsZero() && end.After(t10):
		b.r.SteadyRate = float64(b.r.Delivered-want/10) / end.Sub(t10).Seconds()
	}
	stopProfile()
	if b.tracer != nil {
		b.tracer.on.Store(false)
		b.r.SQL = b.tracer.top()
	}
	stopDispatcher(d, b.progress) // records whatever is in flight
	if b.r.Incomplete && b.r.Delivered == 0 {
		return fmt.Errorf("phase B: no delivery succeeded within --max-wait %s", b.o.MaxWait)
	}

	// Verify from the database: a durable attempt row for every delivery.
	stats, err := b.store.WebhookStats(ctx, acc.ID, time.Time{})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	b.r.Succeeded = 0
	for _, st := range stats {
		b.r.Succeeded += int64(st.Succeeded)
	}
	db := b.db.WithContext(ctx) // reads only
	if err := db.Raw("SELECT count(*) FROM attempts WHERE account_id = ?", acc.ID).Scan(&b.r.Attempts).Error; err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := db.Raw("SELECT count(DISTINCT delivery_id) FROM attempts WHERE account_id = ? AND response_status BETWEEN 200 AND 299", acc.ID).Scan(&b.r.DistinctAttempted).Error; err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	b.r.Received = b.sink.total.Load() - receivedBefore
	b.r.ReceiverDuplicates = max(b.r.Received-b.r.Attempts, 0)
	expect := want
	if b.r.Incomplete {
		expect = b.r.Succeeded // consistency of the part that was done
	}
	if b.r.Attempts != expect || b.r.Succeeded != expect || b.r.DistinctAttempted != expect || b.r.Received < expect {
		return fmt.Errorf("phase B verification failed: attempts %d, deliveries with a 2xx attempt %d, succeeded %d, received %d; want %d each",
			b.r.Attempts, b.r.DistinctAttempted, b.r.Succeeded, b.r.Received, expect)
	}
	b.progress("bench: B: %d deliveries in %.1fs (%.0f/s), verified", want, b.r.DeliverElapsed.Seconds(), b.r.throughput())
	return nil
}

// latency is phase C: its own account, the dispatcher running, events
// ingested at a fixed rate; latency = receiver arrival - Ingest call.
func (b *run) latency(ctx context.Context) error {
	// A CHECKPOINT now, so that one forced by phase B's writes does not
	// land inside this measurement.
	cstart := time.Now()
	if err := b.db.WithContext(ctx).Exec("CHECKPOINT").Error; err != nil {
		b.r.Checkpoint = "not taken: " + err.Error()
	} else {
		b.r.Checkpoint = fmt.Sprintf("taken before phase C (%s)", ms(time.Since(cstart)))
	}
	acc, hooks, err := b.newAccount(ctx, "Bench C", b.sinkURLs("c", b.o.Webhooks), 0)
	if err != nil {
		return err
	}
	defer b.retire(acc, hooks)
	n := max(int(math.Round(b.o.Rate*b.o.LatencyFor.Seconds())), 1)
	events, err := b.events(n)
	if err != nil {
		return err
	}
	ids := make(map[string]int, n)
	for i, ev := range events {
		ids[ev["event_id"].(string)] = i
	}
	var rec recorded
	d, err := b.dispatcher(&rec, 0)
	if err != nil {
		return err
	}
	b.sink.record(true)
	defer b.sink.record(false)
	d.Start(ctx)
	defer stopDispatcher(d, b.progress)
	time.Sleep(200 * time.Millisecond) // LISTEN connection up, workers idle

	b.progress("bench: C: ingesting %d events at %g/s", n, b.o.Rate)
	called := make([]time.Time, n)
	took := make([]time.Duration, n)
	jobs := make(chan int, n)
	var queued atomic.Int64
	var ingestErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	// Enough callers that a slow commit never holds up the schedule.
	for range max(16, b.o.Ingesters) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				called[i] = time.Now()
				res, err := d.Ingest(ctx, acc.ID, events[i])
				took[i] = time.Since(called[i])
				if err != nil {
					errOnce.Do(func() { ingestErr = err })
					continue
				}
				queued.Add(int64(res.Deliveries))
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / b.o.Rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	b.r.LatencyIngestFor = time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if ingestErr != nil {
		return fmt.Errorf("phase C ingest: %w", ingestErr)
	}
	for i := range n {
		b.r.PacingLagMax = max(b.r.PacingLagMax, called[i].Sub(start.Add(time.Duration(i)*interval)))
	}
	want := queued.Load()
	b.r.LatencyEvents, b.r.LatencyDeliveries = int64(n), want

	// Wait (bounded) for every delivery to arrive and be recorded.
	deadline := time.Now().Add(30*time.Second + b.o.LatencyFor)
	for (int64(b.sink.seen()) < want || rec.succeeded.Load()+rec.other.Load() < want) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	seen := map[string]bool{}
	for _, a := range b.sink.taken() {
		if seen[a.id] {
			continue // a redelivery: the first arrival counts
		}
		seen[a.id] = true
		evID, _, _ := strings.Cut(a.id, " ")
		i, ok := ids[evID]
		if !ok {
			continue
		}
		b.r.Latency = append(b.r.Latency, a.at.Sub(called[i]))
	}
	slices.Sort(b.r.Latency)
	slices.Sort(took)
	b.r.IngestCall = took
	b.r.LatencyMissing = max(want-int64(len(b.r.Latency)), 0)
	b.progress("bench: C: p99 %s over %d deliveries", ms(percentile(b.r.Latency, 99)), len(b.r.Latency))
	return nil
}
