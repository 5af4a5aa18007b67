package dispatch_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/web/dispatch"
)

// flaky is a receiver that answers 503 while down and 204 otherwise,
// logging the events it accepted in arrival order and counting probes.
type flaky struct {
	*receiver
	down                atomic.Bool
	ok                  okLog
	probes              atomic.Int64
	slow                time.Duration // how long a probe takes (to overlap two dispatchers)
	inProbe, maxInProbe atomic.Int64
}

func newFlaky(t *testing.T) *flaky {
	f := &flaky{}
	f.down.Store(true)
	f.receiver = newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		if e.Event == catalog.ProbeType {
			f.probes.Add(1)
			n := f.inProbe.Add(1)
			for m := f.maxInProbe.Load(); n > m && !f.maxInProbe.CompareAndSwap(m, n); m = f.maxInProbe.Load() {
			}
			if f.slow > 0 {
				time.Sleep(f.slow) // the receiver is slow, not the test
			}
			f.inProbe.Add(-1)
		}
		if f.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if e.Event != catalog.ProbeType {
			f.ok.add(e)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return f
}

func (f *fixture) hook(t *testing.T, id string) *models.Webhook {
	t.Helper()
	w, err := f.store.Webhook(context.Background(), f.account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func processProbes(t *testing.T, d *dispatch.Dispatcher) int {
	t.Helper()
	n, err := d.ProcessProbes(context.Background())
	if err != nil {
		t.Fatalf("process probes: %v", err)
	}
	return n
}

// healRule disables a webhook after two failed attempts in a row.
func healRule(c *dispatch.Config) {
	c.AutoDisable = models.AutoDisable{Failures: 2, Window: 0, Warn: -1}
}

// autoDisabled makes w (one attempt per delivery) fail twice in a row so
// the dispatcher disables it, with call callID's hangup held behind.
func (f *fixture) autoDisabled(t *testing.T, d *dispatch.Dispatcher, w *models.Webhook, callID string) {
	t.Helper()
	t0 := f.clock.Now().Add(-time.Minute)
	f.ingest(t, d, callEvent("call.received", callID, t0))
	f.ingest(t, d, callEvent("call.answered", callID, t0.Add(4*time.Second)))
	f.ingest(t, d, callEvent("call.hangup", callID, t0.Add(30*time.Second)))
	for range 4 {
		processDue(t, d)
	}
	got := f.hook(t, w.ID)
	if got.Enabled || !got.DisabledAuto {
		t.Fatalf("after two failures: enabled %v, disabled_auto %v (reason %q)", got.Enabled, got.DisabledAuto, got.DisabledReason)
	}
}

// A webhook disabled automatically is probed 1 min, then 5 and 30 min,
// then hourly after the disable; the first 2xx re-enables it, replays the
// failed and held deliveries of the call in call order, and says so.
func TestProbesHealAndReplayInCallOrder(t *testing.T) {
	f := newFixture(t)
	rc := newFlaky(t)
	d := f.dispatcher(t, healRule)
	w := f.orderedHook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 1 })
	watcher := newFlaky(t)
	watcher.down.Store(false)
	f.webhook(t, watcher.URL, func(in *models.WebhookInput) { in.EventTypes = catalog.OperationalTypes() })
	f.autoDisabled(t, d, w, "call_heal_1")
	disabledAt := f.clock.Now()
	if got := f.hook(t, w.ID); got.ProbeNextAt == nil || !got.ProbeNextAt.Equal(disabledAt.Add(time.Minute)) {
		t.Fatalf("first probe at %v, want a minute after the disable (%v)", got.ProbeNextAt, disabledAt)
	}
	// The schedule: each probe goes exactly when due, not before.
	at := disabledAt
	for i, wait := range []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour, time.Hour} {
		f.clock.Advance(wait - time.Second)
		if n := processProbes(t, d); n != 0 {
			t.Fatalf("probe %d went %s early", i+1, time.Second)
		}
		f.clock.Advance(time.Second)
		at = at.Add(wait)
		if i == 4 {
			rc.down.Store(false) // the endpoint recovers before the fifth probe
		}
		if n := processProbes(t, d); n != 1 {
			t.Fatalf("probe %d at %v: sent %d", i+1, at, n)
		}
		got := f.hook(t, w.ID)
		if got.ProbeCount != i+1 || got.ProbeLastAt == nil || !got.ProbeLastAt.Equal(at) {
			t.Fatalf("after probe %d: count %d, last at %v, want %v", i+1, got.ProbeCount, got.ProbeLastAt, at)
		}
		if i < 4 && (got.Enabled || got.ProbeLastResult != "HTTP 503") {
			t.Fatalf("after failed probe %d: enabled %v, last result %q", i+1, got.Enabled, got.ProbeLastResult)
		}
	}
	if n := rc.probes.Load(); n != 5 {
		t.Fatalf("receiver saw %d probes, want 5", n)
	}
	// Probes are signed like deliveries.
	for _, r := range rc.requests() {
		if r.Header.Get("X-Webhook-Event") != catalog.ProbeType {
			continue
		}
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if err := verifyReceived(r, rc.URL, []string{w.SigningSecret}, time.Unix(ts, 0)); err != nil {
			t.Fatalf("probe signature: %v", err)
		}
	}
	got := f.hook(t, w.ID)
	if !got.Enabled || got.DisabledAuto || got.HealedAt == nil || got.HealedReplayed != 3 || got.ConsecutiveFailures != 0 {
		t.Fatalf("after the 2xx probe: enabled %v auto %v healed %v replayed %d streak %d", got.Enabled, got.DisabledAuto, got.HealedAt,
			got.HealedReplayed, got.ConsecutiveFailures)
	}
	probes, err := f.store.ProbeAttempts(context.Background(), f.account.ID, w.ID, 10)
	if err != nil || len(probes) != 5 || !probes[0].Succeeded() || probes[1].Succeeded() {
		t.Fatalf("probe attempts %+v, %v", probes, err)
	}
	var audits int64
	f.db.Model(&models.AuditEntry{}).Where("account_id = ? AND object_id = ? AND action = ?", f.account.ID, w.ID, "webhook.auto_enabled").Count(&audits)
	if audits != 1 {
		t.Fatalf("%d audit entries webhook.auto_enabled, want 1", audits)
	}
	if f.countEvents(t, catalog.WebhookDisabled, w.ID) != 1 || f.countEvents(t, catalog.WebhookEnabled, w.ID) != 1 {
		t.Fatal("want one webhook.disabled and one webhook.enabled event about the healed webhook")
	}
	// The replay: received, answered (both failed in the streak) and the
	// held hangup, one at a time in the call's order.
	for range 6 {
		processDue(t, d)
	}
	var order []string
	for _, e := range rc.ok.list() {
		order = append(order, e.Event)
	}
	if want := []string{"call.received", "call.answered", "call.hangup"}; !slices.Equal(order, want) {
		t.Fatalf("receiver saw %v after the heal, want %v", order, want)
	}
}

// A webhook disabled by hand is never probed, and disabling by hand a
// webhook that is being probed stops the probes.
func TestManualDisableIsNeverProbed(t *testing.T) {
	f := newFixture(t)
	rc := newFlaky(t)
	d := f.dispatcher(t, healRule)
	manual := f.webhook(t, rc.URL, nil)
	if _, err := f.store.SetWebhookEnabled(context.Background(), f.account.ID, manual.ID, models.Actor{Label: "test"}, false, "maintenance"); err != nil {
		t.Fatal(err)
	}
	auto := f.orderedHook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 1 })
	f.autoDisabled(t, d, auto, "call_manual_1")
	if _, err := f.store.SetWebhookEnabled(context.Background(), f.account.ID, auto.ID, models.Actor{Label: "test"}, false, "broken for now"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.clock.Advance(time.Hour)
		if n := processProbes(t, d); n != 0 {
			t.Fatalf("probed %d webhooks disabled by hand", n)
		}
	}
	if n := rc.probes.Load(); n != 0 {
		t.Fatalf("receiver saw %d probes", n)
	}
	if got := f.hook(t, auto.ID); got.DisabledAuto || got.ProbeNextAt != nil {
		t.Fatalf("manual disable kept the probe state: auto %v next %v", got.DisabledAuto, got.ProbeNextAt)
	}
}

// Two dispatchers probing at the same moment send one probe between them.
func TestTwoDispatchersNeverProbeTwiceAtOnce(t *testing.T) {
	f := newFixture(t)
	rc := newFlaky(t)
	rc.slow = 300 * time.Millisecond
	d1, d2 := f.dispatcher(t, healRule), f.dispatcher(t, healRule)
	w := f.orderedHook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 1 })
	f.autoDisabled(t, d1, w, "call_two_1")
	f.clock.Advance(time.Minute)
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for i, d := range []*dispatch.Dispatcher{d1, d2, d1, d2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := d.ProcessProbes(context.Background())
			if err != nil {
				t.Errorf("process probes: %v", err)
			}
			sent[i] = n
		}()
	}
	wg.Wait()
	if total := sent[0] + sent[1] + sent[2] + sent[3]; total != 1 || rc.probes.Load() != 1 || rc.maxInProbe.Load() != 1 {
		t.Fatalf("probes claimed %v, receiver saw %d (at most %d at once), want exactly one", sent, rc.probes.Load(), rc.maxInProbe.Load())
	}
	if got := f.hook(t, w.ID); got.ProbeCount != 1 || got.ProbeLeaseHolder != nil {
		t.Fatalf("probe count %d, lease %v", got.ProbeCount, got.ProbeLeaseHolder)
	}
}

// After three days of failed probes Ringhook stops probing and says so.
func TestProbesGiveUpAfterThreeDays(t *testing.T) {
	f := newFixture(t)
	rc := newFlaky(t)
	d := f.dispatcher(t, healRule)
	w := f.orderedHook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 1 })
	f.autoDisabled(t, d, w, "call_giveup_1")
	disabledAt := f.clock.Now()
	var last time.Time
	for i := 0; ; i++ {
		got := f.hook(t, w.ID)
		if got.ProbeNextAt == nil {
			break
		}
		if i > 100 {
			t.Fatal("still probing after 100 probes")
		}
		f.clock.Advance(got.ProbeNextAt.Sub(f.clock.Now()))
		last = f.clock.Now()
		if n := processProbes(t, d); n != 1 {
			t.Fatalf("probe %d not sent at %v: %+v", i+1, f.clock.Now(), got)
		}
	}
	got := f.hook(t, w.ID)
	// 1 min, 6 min, 36 min, then hourly up to 72 h: 4 + 70 probes.
	if got.ProbeGaveUpAt == nil || got.Enabled || got.ProbeCount != 74 || last.Sub(disabledAt) > models.ProbeFor {
		t.Fatalf("gave up %v enabled %v after %d probes, last %s after the disable", got.ProbeGaveUpAt, got.Enabled, got.ProbeCount, last.Sub(disabledAt))
	}
	f.clock.Advance(24 * time.Hour)
	if n := processProbes(t, d); n != 0 {
		t.Fatalf("probed %d times after giving up", n)
	}
	var audits int64
	f.db.Model(&models.AuditEntry{}).Where("object_id = ? AND action = ?", w.ID, "webhook.probes_stopped").Count(&audits)
	if audits != 1 {
		t.Fatalf("%d audit entries webhook.probes_stopped, want 1", audits)
	}
}
