package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/dispatch"
)

// callTypes are the events of one call in the order they happen.
var callTypes = []string{"call.received", "call.answered", "call.hangup"}

// callEvent is an event of call callID that occurred at occurred.
func callEvent(typ, callID string, occurred time.Time) map[string]any {
	return event(typ, func(e map[string]any) {
		e["call_id"], e["occurred_at"] = callID, occurred.UTC().Format("2006-01-02T15:04:05.000Z")
	})
}

// envelope is what a receiver reads of a delivery.
type envelope struct {
	Event          string `json:"event"`
	CallID         string `json:"call_id"`
	PreviousFailed *bool  `json:"previous_failed"`
}

func decode(t *testing.T, r received) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return e
}

// okEvents lists, in arrival order, the events a receiver answered 2xx.
type okLog struct {
	mu  sync.Mutex
	got []envelope
}

func (l *okLog) add(e envelope) { l.mu.Lock(); l.got = append(l.got, e); l.mu.Unlock() }

func (l *okLog) list() []envelope { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.got) }

func (f *fixture) orderedHook(t *testing.T, url string, mod func(*models.WebhookInput)) *models.Webhook {
	return f.webhook(t, url, func(in *models.WebhookInput) {
		in.EventTypes = append(slices.Clone(callTypes), "call.dialed", "call.dtmf")
		if !in.OrderedByCall {
			t.Fatal("new webhooks are not ordered by call by default")
		}
		if mod != nil {
			mod(in)
		}
	})
}

func (f *fixture) nextDueAt(t *testing.T, webhookID string) *time.Time {
	t.Helper()
	var at *time.Time
	if err := f.db.Raw("SELECT next_due_at FROM webhooks WHERE id = ?", webhookID).Scan(&at).Error; err != nil {
		t.Fatal(err)
	}
	return at
}

// A received that fails and is retried after answered and ended were
// queued still reaches the receiver first: the receiver sees received →
// answered → ended, and while received waits for its retry the webhook
// leaves the due set instead of being probed on every claim.
func TestRetriedReceivedArrivesBeforeLaterEventsOfItsCall(t *testing.T) {
	f := newFixture(t)
	var ok okLog
	failedOnce := false
	var mu sync.Mutex
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		fail := e.Event == "call.received" && !failedOnce
		failedOnce = failedOnce || fail
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ok.add(e)
		w.WriteHeader(http.StatusNoContent)
	})
	d := f.dispatcher(t, nil)
	w := f.orderedHook(t, rc.URL, nil)
	t0 := f.clock.Now()
	f.ingest(t, d, callEvent("call.received", "call_order_1", t0))
	if n := processDue(t, d); n != 1 {
		t.Fatalf("first turn sent %d, want the received alone", n)
	}
	// answered and ended are queued while received waits for its retry.
	f.ingest(t, d, callEvent("call.answered", "call_order_1", t0.Add(4*time.Second)))
	f.ingest(t, d, callEvent("call.hangup", "call_order_1", t0.Add(30*time.Second)))
	if n := processDue(t, d); n != 0 {
		t.Fatalf("sent %d deliveries of the call while its received waits for a retry", n)
	}
	if due := f.nextDueAt(t, w.ID); due == nil || !due.After(f.clock.Now()) {
		t.Fatalf("next_due_at %v: a webhook whose pending deliveries are all held stays in the due set at %v", due, f.clock.Now())
	}
	for range 10 {
		f.clock.Advance(5 * time.Second)
		processDue(t, d)
	}
	var got []string
	for _, e := range ok.list() {
		got = append(got, e.Event)
	}
	if !slices.Equal(got, callTypes) {
		t.Fatalf("receiver acknowledged %v, want %v", got, callTypes)
	}
	reqs := rc.requests()
	if len(reqs) != 4 || decode(t, reqs[0]).Event != "call.received" || decode(t, reqs[1]).Event != "call.received" {
		t.Fatalf("receiver got %d requests, want received (failed), received, answered, ended", len(reqs))
	}
	for _, e := range ok.list() {
		if e.PreviousFailed != nil {
			t.Errorf("%s carries previous_failed although nothing before it failed for good", e.Event)
		}
	}
}

// Two dispatchers (each with its own store and connection pool, as two
// processes have) claiming concurrently from one database still send each
// call's deliveries in event order, through failures and retries.
func TestCallOrderHoldsAcrossTwoDispatchers(t *testing.T) {
	f := newFixture(t)
	var ok okLog
	var mu sync.Mutex
	tries := map[string]int{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		key := e.CallID + " " + e.Event
		tries[key]++
		// Every third call fails its first event once, every fifth its second.
		var n int
		_, _ = fmt.Sscanf(e.CallID, "call_two_%d", &n)
		fail := tries[key] == 1 && (n%3 == 0 && e.Event == callTypes[0] || n%5 == 0 && e.Event == callTypes[1])
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok.add(e)
		w.WriteHeader(http.StatusNoContent)
	})
	db2, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db2) })
	other := models.NewStore(db2, f.clock.Now, models.WithKeyring(modeltest.Keyring()))
	d1 := f.dispatcher(t, func(c *dispatch.Config) { c.Batch = 7 })
	d2, err := dispatch.New(other, dispatch.Config{AllowPrivate: "true", LoopbackOnly: true, NoJitter: true, Now: f.clock.Now, Log: quiet, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	f.orderedHook(t, rc.URL, nil)
	const calls = 15
	t0 := f.clock.Now()
	for i := range calls {
		for j, typ := range callTypes {
			f.ingest(t, d1, callEvent(typ, fmt.Sprintf("call_two_%d", i), t0.Add(time.Duration(j)*time.Second)))
		}
	}
	for round := 0; len(ok.list()) < calls*len(callTypes); round++ {
		if round > 40 {
			t.Fatalf("only %d of %d deliveries acknowledged after %d rounds", len(ok.list()), calls*len(callTypes), round)
		}
		var wg sync.WaitGroup
		for _, d := range []*dispatch.Dispatcher{d1, d2} {
			wg.Go(func() {
				if _, err := d.ProcessDue(context.Background()); err != nil {
					t.Errorf("process due: %v", err)
				}
			})
		}
		wg.Wait()
		f.clock.Advance(3 * time.Second)
	}
	next := map[string]int{}
	for _, e := range ok.list() {
		if want := callTypes[next[e.CallID]]; e.Event != want {
			t.Fatalf("%s: receiver got %s before %s", e.CallID, e.Event, want)
		}
		next[e.CallID]++
	}
}

// A call's head that keeps failing holds the rest of its call only for the
// webhook's ordering window; other calls, and webhooks not ordered by call,
// are never held at all.
func TestOrderingWindowBoundsTheWaitAndOtherCallsAreNotHeld(t *testing.T) {
	f := newFixture(t)
	var ok okLog
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		if e.CallID == "call_stuck" && e.Event == "call.received" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ok.add(e)
		w.WriteHeader(http.StatusNoContent)
	})
	d := f.dispatcher(t, nil)
	f.orderedHook(t, rc.URL+"/ordered", func(in *models.WebhookInput) { in.OrderingWindowSeconds = 60 })
	plain := newReceiver(t, nil)
	f.orderedHook(t, plain.URL, func(in *models.WebhookInput) { in.OrderedByCall = false })
	t0 := f.clock.Now()
	f.ingest(t, d, callEvent("call.received", "call_stuck", t0))
	f.ingest(t, d, callEvent("call.answered", "call_stuck", t0.Add(time.Second)))
	f.ingest(t, d, callEvent("call.received", "call_fine", t0))
	f.ingest(t, d, callEvent("call.answered", "call_fine", t0.Add(time.Second)))
	for range 3 {
		processDue(t, d)
	}
	if n := len(plain.requests()); n != 4 {
		t.Errorf("the webhook not ordered by call got %d of 4 deliveries at once", n)
	}
	var fine []string
	for _, e := range ok.list() {
		if e.CallID == "call_stuck" {
			t.Fatalf("%s of the stuck call went out while its received was failing", e.Event)
		}
		fine = append(fine, e.Event)
	}
	if !slices.Equal(fine, callTypes[:2]) {
		t.Fatalf("the other call got %v, want received then answered", fine)
	}
	f.clock.Advance(59 * time.Second) // the head was queued 59 s ago: still within the window
	processDue(t, d)
	if n := len(ok.list()); n != 2 {
		t.Fatalf("the stuck call's answered went out %v before its window ended", 60*time.Second-59*time.Second)
	}
	f.clock.Advance(2 * time.Second)
	processDue(t, d)
	got := ok.list()
	if len(got) != 3 || got[2].CallID != "call_stuck" || got[2].Event != "call.answered" || got[2].PreviousFailed != nil {
		t.Fatalf("after the window the stuck call's answered should go out as is, got %+v", got)
	}
}

// A delivery that fails for good releases the ones behind it, which carry
// previous_failed: true in their payload (signed like every other).
func TestFinalFailureReleasesTheRestWithPreviousFailed(t *testing.T) {
	f := newFixture(t)
	var ok okLog
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		if e.Event == "call.received" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		ok.add(e)
		w.WriteHeader(http.StatusNoContent)
	})
	d := f.dispatcher(t, nil)
	w := f.orderedHook(t, rc.URL, func(in *models.WebhookInput) { in.MaxAttempts = 2 })
	t0 := f.clock.Now()
	for i, typ := range callTypes {
		f.ingest(t, d, callEvent(typ, "call_prev", t0.Add(time.Duration(i)*time.Second)))
	}
	processDue(t, d)
	if len(ok.list()) != 0 {
		t.Fatal("a later event went out while received had an attempt left")
	}
	f.clock.Advance(5 * time.Second)
	processDue(t, d) // received's last attempt fails
	for range 3 {
		processDue(t, d)
	}
	got := ok.list()
	if len(got) != 2 || got[0].Event != "call.answered" || got[1].Event != "call.hangup" {
		t.Fatalf("after received failed for good the receiver got %+v", got)
	}
	for _, e := range got {
		if e.PreviousFailed == nil || !*e.PreviousFailed {
			t.Errorf("%s lacks previous_failed: true", e.Event)
		}
	}
	reqs := rc.requests()
	if err := verifyReceived(reqs[len(reqs)-1], rc.URL, []string{w.SigningSecret}, f.clock.Now()); err != nil {
		t.Errorf("the payload with previous_failed is not signed as sent: %v", err)
	}
	if decode(t, reqs[0]).PreviousFailed != nil {
		t.Error("the failing head itself carries previous_failed")
	}
}

// A delivery still unsent at its deadline ends expired and is never sent:
// it is retried up to the deadline, not after; one that arrives after its
// deadline is stored expired at once; an expired head releases its call
// with previous_failed.
func TestDeliveriesExpireAtTheirDeadline(t *testing.T) {
	f := newFixture(t)
	var ok okLog
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		var e envelope
		_ = json.NewDecoder(r.Body).Decode(&e)
		if e.Event == "call.dialed" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ok.add(e)
		w.WriteHeader(http.StatusNoContent)
	})
	d := f.dispatcher(t, nil)
	w := f.orderedHook(t, rc.URL, nil)
	if w.ExpireAfter.V["call.dialed"] != 120 || w.ExpireAfter.V["call.hangup"] != 0 {
		t.Fatalf("new webhook's expiry %v: want ringing events after 2 min, hangups never", w.ExpireAfter.V)
	}
	t0 := f.clock.Now()
	f.ingest(t, d, callEvent("call.dialed", "call_ring", t0))
	f.ingest(t, d, callEvent("call.hangup", "call_ring", t0.Add(20*time.Second)))
	processDue(t, d) // dialed fails; its retry comes 5 s later
	f.clock.Advance(5 * time.Second)
	processDue(t, d) // fails again; the next retry (5 min) is after the deadline
	f.clock.Advance(114 * time.Second)
	var dialed models.Delivery
	if err := f.db.Where("webhook_id = ? AND event_type = ?", w.ID, "call.dialed").Take(&dialed).Error; err != nil {
		t.Fatal(err)
	}
	if dialed.Status != models.StatusPending {
		t.Fatalf("1 s before its deadline the delivery is %s, want pending", dialed.Status)
	}
	if dialed.ExpiresAt == nil || !dialed.ExpiresAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("expires_at %v, want occurred_at + 2 min", dialed.ExpiresAt)
	}
	f.clock.Advance(time.Second) // the deadline
	processDue(t, d)
	processDue(t, d)
	if err := f.db.Where("id = ?", dialed.ID).Take(&dialed).Error; err != nil {
		t.Fatal(err)
	}
	if dialed.Status != models.StatusExpired || dialed.CompletedAt == nil || dialed.AttemptCount != 2 {
		t.Fatalf("at its deadline the delivery is %s after %d attempts, want expired after 2", dialed.Status, dialed.AttemptCount)
	}
	f.clock.Advance(10 * time.Minute)
	processDue(t, d)
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 2 dialed attempts and the hangup", n)
	}
	got := ok.list()
	if len(got) != 1 || got[0].Event != "call.hangup" || got[0].PreviousFailed == nil || !*got[0].PreviousFailed {
		t.Fatalf("after the dialed expired the receiver got %+v, want the hangup with previous_failed", got)
	}

	// Arriving after its deadline: stored expired, never sent.
	lateDTMF := callEvent("call.dtmf", "call_late", f.clock.Now().Add(-3*time.Minute))
	lateDTMF["digits"], lateDTMF["ivr_id"], lateDTMF["ivr_name"] = "1", "ivr_1", "Main menu"
	f.ingest(t, d, lateDTMF)
	var stale models.Delivery
	if err := f.db.Where("webhook_id = ? AND call_id = ?", w.ID, "call_late").Take(&stale).Error; err != nil {
		t.Fatal(err)
	}
	processDue(t, d)
	if stale.Status != models.StatusExpired || len(rc.requests()) != 3 {
		t.Errorf("a delivery past its deadline at ingest is %s and the receiver has %d requests", stale.Status, len(rc.requests()))
	}
	stats, err := f.store.WebhookStats(context.Background(), f.account.ID, time.Time{}, w.ID)
	if st := stats[w.ID]; err != nil || st.Expired != 2 || st.Failed != 0 || st.Succeeded != 1 {
		t.Errorf("stats %+v (%v): want 2 expired counted apart from failures, 0 failed, 1 succeeded", st, err)
	}
}
