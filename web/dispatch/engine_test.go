package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

func TestIngestMatching(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	url := newReceiver(t, nil).URL
	all := f.webhook(t, url, nil)
	inboundOnly := f.webhook(t, url, func(in *models.WebhookInput) { in.CallTypes = []string{"inbound"} })
	outboundOnly := f.webhook(t, url, func(in *models.WebhookInput) { in.CallTypes = []string{"outbound"} })
	otherDID := f.webhook(t, url, func(in *models.WebhookInput) { in.DIDNumbers = []string{"+918287842426"} })
	notAnswered := f.webhook(t, url, func(in *models.WebhookInput) {
		in.Filters = []models.Filter{{Field: "call_status", Op: "not_in", Values: []string{"answered"}}}
	})
	missedOnly := f.webhook(t, url, func(in *models.WebhookInput) { in.EventTypes = []string{"call.missed"} })
	disabled := f.webhook(t, url, func(in *models.WebhookInput) { in.Enabled = false })
	other := f.another(t)
	foreign := other.webhook(t, url, nil)

	res := f.ingest(t, d, event("call.hangup", nil))
	if res.Deliveries != 2 || res.Duplicate {
		t.Fatalf("result %+v", res)
	}
	want := map[string]int{all.ID: 1, inboundOnly.ID: 1, outboundOnly.ID: 0, otherDID.ID: 0, notAnswered.ID: 0, missedOnly.ID: 0, disabled.ID: 0}
	for id, n := range want {
		if got := len(f.deliveries(t, id)); got != n {
			t.Errorf("webhook %s: %d deliveries, want %d", id, got, n)
		}
	}
	if got := len(other.deliveries(t, foreign.ID)); got != 0 {
		t.Fatalf("another account's webhook got %d deliveries", got)
	}

	t.Run("the same event id again creates nothing", func(t *testing.T) {
		ev := event("call.received", nil)
		first := f.ingest(t, d, ev)
		again := f.ingest(t, d, ev)
		if !again.Duplicate || again.Deliveries != first.Deliveries || len(f.deliveries(t, all.ID)) != 2 {
			t.Fatalf("first %+v again %+v", first, again)
		}
	})
	t.Run("invalid events are refused with field messages", func(t *testing.T) {
		cases := []map[string]any{
			event("call.exploded", nil),
			event("call.hangup", func(e map[string]any) { delete(e, "event_id") }),
			event("call.hangup", func(e map[string]any) { e["direction"] = "sideways" }),
			event("call.hangup", func(e map[string]any) { e["custom_data"] = map[string]any{"a": "b"} }),
		}
		for i, ev := range cases {
			_, err := d.Ingest(context.Background(), f.account.ID, ev)
			var ve models.FieldErrors
			if !errors.As(err, &ve) || len(ve) == 0 {
				t.Errorf("case %d: want a validation error, got %v", i, err)
			}
		}
	})
}

func TestCrashedWorkerLosesNothing(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	rc := newReceiver(t, nil)
	w := f.webhook(t, rc.URL, nil)
	for i := 0; i < 5; i++ {
		f.ingest(t, d, event("call.received", nil))
	}
	// A process claims the batch and dies before sending anything.
	claimed, err := f.store.Claim(context.Background(), f.clock.Now(), 10, 10, nil, "")
	if err != nil || len(claimed) != 5 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	if n := processDue(t, d); n != 0 {
		t.Fatalf("leased deliveries were sent again while the lease holds (%d)", n)
	}
	f.clock.Advance(w.Timeout() + time.Minute)
	if n, err := f.store.ReapExpired(context.Background(), f.clock.Now()); err != nil || n != 5 {
		t.Fatalf("reaped %d: %v", n, err)
	}
	if n := processDue(t, d); n != 5 {
		t.Fatalf("sent %d after the reap", n)
	}
	for _, dl := range f.deliveries(t, w.ID) {
		at := f.attempts(t, dl.ID)
		if dl.Status != models.StatusSucceeded || len(at) != 1 || at[0].Number != 1 {
			t.Fatalf("delivery %d: %s with %d attempts", dl.ID, dl.Status, len(at))
		}
	}
	if rc.hits.Load() != 5 {
		t.Fatalf("receiver got %d requests", rc.hits.Load())
	}
}

// TestTwoDispatchersShareTheQueue runs two dispatchers against one database
// on the real clock: 1,000 events arrive, each is delivered exactly once.
func TestTwoDispatchersShareTheQueue(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	seen := map[string]int{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	w := f.webhook(t, rc.URL, nil)
	real := func(c *dispatch.Config) {
		c.Now = nil
		c.Workers = 8
		c.PerWebhook = 16
		c.Poll = 50 * time.Millisecond
	}
	d1, d2 := f.dispatcher(t, real), f.dispatcher(t, real)
	ctx := context.Background()
	registered := func() (n int64) { f.db.Raw("SELECT count(*) FROM dispatchers").Scan(&n); return n }
	before := registered()
	d1.Start(ctx)
	d2.Start(ctx)
	const n = 1000
	for i := 0; i < n; i++ {
		f.ingest(t, []*dispatch.Dispatcher{d1, d2}[i%2], event("call.received", nil))
	}
	count := func(status models.DeliveryStatus) int64 {
		var c int64
		f.db.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ?", w.ID, status).Count(&c)
		return c
	}
	waitFor(t, 60*time.Second, "1000 succeeded deliveries", func() bool { return count(models.StatusSucceeded) == n })
	for _, d := range []*dispatch.Dispatcher{d1, d2} {
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A clean stop ends the heartbeat and unregisters.
	if n := registered(); n != before {
		t.Errorf("%d dispatchers registered after both stopped, %d before", n, before)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("receiver saw %d distinct events, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("event %s delivered %d times", id, c)
		}
	}
	var attempts int64
	f.db.Model(&models.Attempt{}).Where("webhook_id = ?", w.ID).Count(&attempts)
	if attempts != n {
		t.Fatalf("%d attempt rows for %d deliveries", attempts, n)
	}
}

// TestSlowReceiverDoesNotHoldBackOthers: one webhook's receiver hangs; the
// per-webhook cap keeps it from taking every worker.
func TestSlowReceiverDoesNotHoldBackOthers(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fast := newReceiver(t, nil)
	slowHook := f.webhook(t, slow.URL, func(in *models.WebhookInput) { in.EventTypes = []string{"call.missed"} })
	fastHook := f.webhook(t, fast.URL, func(in *models.WebhookInput) { in.EventTypes = []string{"call.received"} })
	d := f.dispatcher(t, func(c *dispatch.Config) { c.Now = nil; c.Workers = 4; c.PerWebhook = 2; c.Poll = 20 * time.Millisecond })
	d.Start(context.Background())
	defer func() {
		close(release)
		if err := d.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	missed := func(e map[string]any) { e["call_status"], e["missed_reason"] = "missed", "no_answer" }
	for i := 0; i < 10; i++ {
		f.ingest(t, d, event("call.missed", missed))
	}
	waitFor(t, 10*time.Second, "the slow receiver to hold its cap", func() bool { return slow.hits.Load() == 2 })
	for i := 0; i < 10; i++ {
		f.ingest(t, d, event("call.received", nil))
	}
	waitFor(t, 10*time.Second, "the fast webhook's deliveries", func() bool {
		var c int64
		f.db.Model(&models.Delivery{}).Where("webhook_id = ? AND status = 'succeeded'", fastHook.ID).Count(&c)
		return c == 10
	})
	if got := slow.hits.Load(); got != 2 {
		t.Fatalf("the slow webhook has %d requests in flight, cap is 2", got)
	}
	_ = slowHook
}

func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.TimeoutSeconds = 30 })
	d := f.dispatcher(t, func(c *dispatch.Config) { c.Now = nil; c.Workers = 2; c.StopTimeout = 200 * time.Millisecond })
	d.Start(context.Background())
	f.ingest(t, d, event("call.received", nil))
	waitFor(t, 10*time.Second, "the request to be in flight", func() bool { return rc.hits.Load() == 1 })
	start := time.Now()
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stop took %s", took)
	}
	dl := f.deliveries(t, w.ID)[0]
	if dl.Status != models.StatusPending || dl.LeaseUntil != nil {
		t.Fatalf("after stop: %s lease %v; the cut-off attempt should be recorded and retried", dl.Status, dl.LeaseUntil)
	}
	if at := f.attempts(t, dl.ID); len(at) != 1 {
		t.Fatalf("%d attempts recorded", len(at))
	}
}

func TestTestEventsAndRedelivery(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	fail := true
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "boom")
		}
	})
	w := f.webhook(t, rc.URL, nil)

	t.Run("send test event", func(t *testing.T) {
		res, err := d.SendTest(context.Background(), w, "call.dtmf")
		if err != nil {
			t.Fatal(err)
		}
		if res.Attempt == nil || res.Attempt.Trigger != models.TriggerTest || res.Attempt.ResponseBody != "boom" {
			t.Fatalf("attempt %+v", res.Attempt)
		}
		if !res.Delivery.Test || res.Delivery.EventType != "call.dtmf" || res.Delivery.Status != models.StatusFailed {
			t.Fatalf("delivery %+v", res.Delivery)
		}
		last := rc.requests()[len(rc.requests())-1]
		var body map[string]any
		if err := jsonUnmarshal(last.Body, &body); err != nil || body["test"] != true || body["event"] != "call.dtmf" || body["digits"] == nil {
			t.Fatalf("test payload %s (%v)", last.Body, err)
		}
		if got, _ := f.store.Webhook(context.Background(), f.account.ID, w.ID); got.ConsecutiveFailures != 0 {
			t.Fatal("a failed test counted toward auto-disable")
		}
	})
	t.Run("redeliver is a manual attempt with the same bytes", func(t *testing.T) {
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		var dl models.Delivery
		f.db.Where("webhook_id = ? AND NOT test", w.ID).Take(&dl)
		fail = false
		at, err := d.Redeliver(context.Background(), f.account.ID, dl.ID, models.Actor{Label: "me"})
		if err != nil {
			t.Fatal(err)
		}
		if at.Number != 2 || at.Trigger != models.TriggerManual || !at.Succeeded() {
			t.Fatalf("attempt %+v", at)
		}
		reqs := rc.requests()
		a, b := reqs[len(reqs)-2], reqs[len(reqs)-1]
		if string(a.Body) != string(b.Body) || a.Header.Get("webhook-id") != b.Header.Get("webhook-id") {
			t.Fatal("redelivery changed the body or webhook-id")
		}
		var after models.Delivery
		f.db.Where("id = ?", dl.ID).Take(&after)
		if after.Status != models.StatusSucceeded {
			t.Fatalf("status %s", after.Status)
		}
		other := f.another(t)
		if _, err := d.Redeliver(context.Background(), other.account.ID, dl.ID, models.Actor{}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another account redelivered: %v", err)
		}
	})
	t.Run("send test to all queues one per enabled webhook", func(t *testing.T) {
		f := newFixture(t)
		d := f.dispatcher(t, nil)
		rc := newReceiver(t, nil)
		f.webhook(t, rc.URL, nil)
		f.webhook(t, rc.URL, nil)
		f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.Enabled = false })
		hooks, _ := f.store.Webhooks(context.Background(), f.account.ID)
		n, err := d.SendTestToAll(context.Background(), f.account.ID, hooks)
		if err != nil || n != 2 {
			t.Fatalf("queued %d: %v", n, err)
		}
		if sent := processDue(t, d); sent != 2 || rc.hits.Load() != 2 {
			t.Fatalf("sent %d, receiver %d", sent, rc.hits.Load())
		}
	})
}

// TestCapDoesNotStallTheQueue: when every webhook is at its in-flight cap,
// the claimer must resume as soon as results are recorded, not on the next
// poll (an hour here).
func TestCapDoesNotStallTheQueue(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	w := f.webhook(t, rc.URL, nil)
	d := f.dispatcher(t, func(c *dispatch.Config) { c.Now = nil; c.Workers = 8; c.PerWebhook = 2; c.Poll = time.Hour })
	for i := 0; i < 50; i++ {
		f.ingest(t, d, event("call.received", nil))
	}
	d.Start(context.Background())
	defer d.Stop(context.Background())
	waitFor(t, 20*time.Second, "50 deliveries through a cap of 2", func() bool {
		var c int64
		f.db.Model(&models.Delivery{}).Where("webhook_id = ? AND status = 'succeeded'", w.ID).Count(&c)
		return c == 50
	})
}

// TestWebhookDeletedMidFlight: a webhook deleted while its delivery is being
// sent must not make the recording of the rest of the batch fail.
func TestWebhookDeletedMidFlight(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	keep := f.webhook(t, rc.URL, nil)
	gone := f.webhook(t, rc.URL, nil)
	d := f.dispatcher(t, nil)
	f.ingest(t, d, event("call.received", nil))
	claimed, err := f.store.Claim(context.Background(), f.clock.Now(), 10, 10, nil, "")
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	if _, err := f.store.DeleteWebhook(context.Background(), f.account.ID, gone.ID, models.Actor{Label: "t"}); err != nil {
		t.Fatal(err)
	}
	var outs []models.Outcome
	for _, c := range claimed {
		code := 200
		outs = append(outs, models.Outcome{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: c.AccountID, DeliveryID: c.ID,
			WebhookID: c.WebhookID, Number: c.AttemptCount, Trigger: models.TriggerAuto, StartedAt: f.clock.Now(), ResponseStatus: &code,
			RequestHeaders: models.JSON[[]models.Header]{V: []models.Header{}}, ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{}}}})
	}
	if _, err := f.store.Record(context.Background(), f.clock.Now(), outs, models.AutoDisable{}); err != nil {
		t.Fatalf("record: %v", err)
	}
	if dl := f.deliveries(t, keep.ID); dl[0].Status != models.StatusSucceeded {
		t.Fatalf("the surviving webhook's delivery is %s", dl[0].Status)
	}
}
