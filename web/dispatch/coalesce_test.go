package dispatch_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

// flushGate is a flush hook that records every flush's event ids and holds
// the first flush until released, so that the calls made meanwhile are
// pending together for the next one.
type flushGate struct {
	mu      sync.Mutex
	flushes [][]string
	fail    func(n int) error // error for the n-th flush (0-based), or nil
	entered chan struct{}     // closed when the first flush starts
	release chan struct{}     // the first flush proceeds once this is closed
}

func gate(t *testing.T, d *dispatch.Dispatcher) *flushGate {
	g := &flushGate{entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(g.open)
	dispatch.SetIngestFlushHook(d, func(evs []*models.Event) error {
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
		}
		g.mu.Lock()
		n := len(g.flushes)
		g.flushes = append(g.flushes, ids)
		g.mu.Unlock()
		if n == 0 {
			close(g.entered)
			<-g.release
		}
		if g.fail != nil {
			return g.fail(n)
		}
		return nil
	})
	return g
}

func (g *flushGate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func (g *flushGate) seen() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.flushes)
}

func (g *flushGate) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first flush did not start")
	}
}

type outcome struct {
	id  string
	res models.IngestResult
	err error
}

// ingestAll ingests every event concurrently and returns a channel that
// gets each outcome.
func ingestAll(ctx context.Context, d *dispatch.Dispatcher, accountID string, evs []map[string]any) chan outcome {
	out := make(chan outcome, len(evs))
	for _, ev := range evs {
		go func() {
			res, err := d.Ingest(ctx, accountID, ev)
			out <- outcome{ev["event_id"].(string), res, err}
		}()
	}
	return out
}

func collect(t *testing.T, ch chan outcome, n int) []outcome {
	t.Helper()
	var got []outcome
	for range n {
		select {
		case o := <-ch:
			got = append(got, o)
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d ingest calls returned", len(got), n)
		}
	}
	return got
}

func (f *fixture) storedEvents(t *testing.T, ids ...string) int64 {
	t.Helper()
	var n int64
	if err := f.db.Model(&models.Event{}).Where("account_id = ? AND id IN ?", f.account.ID, ids).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Calls made while a flush runs wait for it and are then stored together
// in one transaction; each caller gets its own result.
func TestIngestCoalescesConcurrentCalls(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	f.webhook(t, "http://127.0.0.1:9/b", func(in *models.WebhookInput) { in.EventTypes = []string{"call.hangup"} })
	d := f.dispatcher(t, nil)
	g := gate(t, d)

	first := ingestAll(context.Background(), d, f.account.ID, []map[string]any{event("call.received", nil)})
	g.waitEntered(t)
	var evs []map[string]any
	var ids []string
	for i := range 20 {
		typ := "call.received"
		if i%2 == 1 {
			typ = "call.hangup"
		}
		ev := event(typ, nil)
		evs, ids = append(evs, ev), append(ids, ev["event_id"].(string))
	}
	rest := ingestAll(context.Background(), d, f.account.ID, evs)
	waitFor(t, 10*time.Second, "20 pending ingest calls", func() bool { return dispatch.PendingIngests(d) == 20 })
	if n := f.storedEvents(t, ids...); n != 0 {
		t.Fatalf("%d events stored before their flush", n)
	}
	g.open()

	if o := collect(t, first, 1)[0]; o.err != nil || o.res.Duplicate || o.res.Deliveries != 1 {
		t.Errorf("first call = %+v, %v; want accepted with 1 delivery", o.res, o.err)
	}
	for _, o := range collect(t, rest, 20) {
		want := 1 // call.received: webhook a only
		if slices.Index(ids, o.id)%2 == 1 {
			want = 2 // call.hangup: a and b
		}
		if o.err != nil || o.res.Duplicate || o.res.EventID != o.id || o.res.Deliveries != want {
			t.Errorf("ingest %s = %+v, %v; want accepted with %d deliveries", o.id, o.res, o.err, want)
		}
	}
	fl := g.seen()
	if len(fl) != 2 || len(fl[0]) != 1 || len(fl[1]) != 20 {
		t.Errorf("flush sizes = %v; want one of 1 then one of 20 (21 calls, 2 transactions)", fl)
	}
	if n := f.storedEvents(t, ids...); n != 20 {
		t.Errorf("%d of 20 events stored", n)
	}
	var deliveries int64
	f.db.Model(&models.Delivery{}).Where("account_id = ? AND event_id IN ?", f.account.ID, ids).Count(&deliveries)
	if deliveries != 30 {
		t.Errorf("%d deliveries stored for the 20 events; want 30", deliveries)
	}
}

// A lone call is flushed at once, alone: nothing waits for company (the
// coalescer has no timer; the flush starts while no other call exists),
// and a call of another account or mode is not held by a running flush.
func TestIngestLoneCallFlushesAtOnce(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	other := f.another(t)
	d := f.dispatcher(t, nil)
	g := gate(t, d)

	ev := event("call.received", nil)
	first := ingestAll(context.Background(), d, f.account.ID, []map[string]any{ev})
	g.waitEntered(t) // started with no other call anywhere, on no clock
	if fl := g.seen(); len(fl) != 1 || !slices.Equal(fl[0], []string{ev["event_id"].(string)}) {
		t.Fatalf("flushes = %v; want the lone event alone", fl)
	}
	// While that flush is held, other keys flush on their own.
	if _, err := d.IngestTest(context.Background(), f.account.ID, event("call.received", nil)); err != nil {
		t.Fatalf("test-mode ingest beside a running live flush: %v", err)
	}
	if _, err := d.Ingest(context.Background(), other.account.ID, event("call.received", nil)); err != nil {
		t.Fatalf("other account's ingest beside a running flush: %v", err)
	}
	g.open()
	if o := collect(t, first, 1)[0]; o.err != nil || o.res.Deliveries != 1 {
		t.Errorf("lone call = %+v, %v", o.res, o.err)
	}
	if fl := g.seen(); len(fl) != 3 {
		t.Errorf("flushes = %v; want 3 of one event each", fl)
	}
}

// Copies of one event id in one flush behave like sequential requests:
// the first is accepted, the others are duplicates with its delivery
// count, as is a copy of an event an earlier flush stored.
func TestIngestCoalesceDuplicatesInOneFlush(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	d := f.dispatcher(t, nil)
	g := gate(t, d)

	lead := event("call.received", nil)
	first := ingestAll(context.Background(), d, f.account.ID, []map[string]any{lead})
	g.waitEntered(t)
	x := event("call.received", nil)
	copies := []map[string]any{x, clone(x), clone(x), clone(lead), event("call.received", nil)}
	rest := ingestAll(context.Background(), d, f.account.ID, copies)
	waitFor(t, 10*time.Second, "5 pending ingest calls", func() bool { return dispatch.PendingIngests(d) == 5 })
	g.open()
	collect(t, first, 1)

	accepted := map[string]int{}
	for _, o := range collect(t, rest, 5) {
		if o.err != nil || o.res.Deliveries != 1 {
			t.Errorf("ingest %s = %+v, %v; want 1 delivery", o.id, o.res, o.err)
		}
		if !o.res.Duplicate {
			accepted[o.id]++
		}
	}
	if accepted[x["event_id"].(string)] != 1 || accepted[lead["event_id"].(string)] != 0 || len(accepted) != 2 {
		t.Errorf("accepted per event id = %v; want one copy of the repeated id and the distinct event, no copy of the stored one", accepted)
	}
	if fl := g.seen(); len(fl) != 2 {
		t.Errorf("flushes = %v; want 2", fl)
	}
	var n int64
	f.db.Model(&models.Delivery{}).Where("account_id = ? AND event_id = ?", f.account.ID, x["event_id"]).Count(&n)
	if n != 1 {
		t.Errorf("the repeated event has %d deliveries; want 1", n)
	}
}

func clone(ev map[string]any) map[string]any {
	out := make(map[string]any, len(ev))
	for k, v := range ev {
		out[k] = v
	}
	return out
}

// A failed flush fails every caller in it with the same error and stores
// none of their events; the next call flushes normally.
func TestIngestCoalesceErrorReachesEveryCaller(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	d := f.dispatcher(t, nil)
	g := gate(t, d)
	down := errors.New("connection refused")
	g.fail = func(n int) error {
		if n == 1 {
			return down
		}
		return nil
	}

	first := ingestAll(context.Background(), d, f.account.ID, []map[string]any{event("call.received", nil)})
	g.waitEntered(t)
	var evs []map[string]any
	var ids []string
	for range 6 {
		ev := event("call.received", nil)
		evs, ids = append(evs, ev), append(ids, ev["event_id"].(string))
	}
	rest := ingestAll(context.Background(), d, f.account.ID, evs)
	waitFor(t, 10*time.Second, "6 pending ingest calls", func() bool { return dispatch.PendingIngests(d) == 6 })
	g.open()
	if o := collect(t, first, 1)[0]; o.err != nil {
		t.Errorf("first flush's caller: %v", o.err)
	}
	for _, o := range collect(t, rest, 6) {
		if !errors.Is(o.err, down) {
			t.Errorf("ingest %s = %+v, %v; want the flush's error", o.id, o.res, o.err)
		}
	}
	if n := f.storedEvents(t, ids...); n != 0 {
		t.Errorf("%d events of the failed flush stored", n)
	}
	if res := f.ingest(t, d, evs[0]); res.Duplicate || res.Deliveries != 1 {
		t.Errorf("retry after the failed flush = %+v; want accepted", res)
	}
}

// A caller whose context ends while it waits for a flush is withdrawn
// (its event is not stored) and the others are stored as usual.
func TestIngestCoalesceCancelledCallerLeavesOthers(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	d := f.dispatcher(t, nil)
	g := gate(t, d)

	first := ingestAll(context.Background(), d, f.account.ID, []map[string]any{event("call.received", nil)})
	g.waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	gone, kept := event("call.received", nil), event("call.received", nil)
	goneCh := ingestAll(ctx, d, f.account.ID, []map[string]any{gone})
	waitFor(t, 10*time.Second, "1 pending ingest call", func() bool { return dispatch.PendingIngests(d) == 1 })
	keptCh := ingestAll(context.Background(), d, f.account.ID, []map[string]any{kept})
	waitFor(t, 10*time.Second, "2 pending ingest calls", func() bool { return dispatch.PendingIngests(d) == 2 })
	cancel()
	if o := collect(t, goneCh, 1)[0]; !errors.Is(o.err, context.Canceled) {
		t.Errorf("cancelled caller = %+v, %v; want context.Canceled", o.res, o.err)
	}
	if n := dispatch.PendingIngests(d); n != 1 {
		t.Errorf("%d pending after the cancel; want 1", n)
	}
	g.open()
	collect(t, first, 1)
	if o := collect(t, keptCh, 1)[0]; o.err != nil || o.res.Duplicate || o.res.Deliveries != 1 {
		t.Errorf("other caller = %+v, %v; want accepted", o.res, o.err)
	}
	if n := f.storedEvents(t, gone["event_id"].(string)); n != 0 {
		t.Error("the withdrawn event was stored")
	}
}

// A flush that panics answers its caller with an error and leaves the
// queue working for the next call.
func TestIngestCoalescePanicAnswersCallers(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, "http://127.0.0.1:9/a", nil)
	d := f.dispatcher(t, nil)
	var flushes sync.Map
	dispatch.SetIngestFlushHook(d, func(evs []*models.Event) error {
		if _, again := flushes.LoadOrStore("first", true); !again {
			panic("boom")
		}
		return nil
	})
	if _, err := d.Ingest(context.Background(), f.account.ID, event("call.received", nil)); err == nil {
		t.Fatal("ingest in a panicking flush succeeded")
	}
	if res := f.ingest(t, d, event("call.received", nil)); res.Duplicate || res.Deliveries != 1 {
		t.Errorf("next ingest = %+v; want accepted", res)
	}
}
