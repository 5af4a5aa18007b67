package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/metrics"
)

func TestMain(m *testing.M) { modeltest.Main(m, "web/metrics") }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The dispatcher reports to *Metrics through its Observer interface.
var _ dispatch.Observer = (*metrics.Metrics)(nil)

// clock runs at the speed of real time from an offset the test moves, so
// attempts have real durations and retries can be brought due at once.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.offset += d; c.mu.Unlock() }

type fixture struct {
	store   *models.Store
	account *models.Account
	clock   *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	store := models.NewStore(db, clk.Now, models.WithKeyring(modeltest.Keyring()))
	acc, err := store.CreateAccount(ctx, "Metrics "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddPhoneNumber(ctx, acc.ID, models.Actor{Label: "test"}, "+918287842425", ""); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, account: acc, clock: clk}
}

func (f *fixture) webhook(t *testing.T, url string, maxAttempts int) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.MaxAttempts, in.TimeoutSeconds = "hook "+models.NewID(""), url, []string{"call.missed"}, maxAttempts, 1
	w, err := f.store.CreateWebhook(context.Background(), f.account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return w
}

var seq atomic.Int64

func event() map[string]any {
	n := seq.Add(1)
	return map[string]any{"event": "call.missed", "event_id": fmt.Sprintf("evt_metrics%020d", n), "occurred_at": "2026-04-09T07:24:53Z",
		"call_id": fmt.Sprintf("call_%d", n), "direction": "inbound", "call_type": "inbound", "from_number": "+919240202904",
		"to_number": "+918287842425", "call_status": "missed", "missed_reason": "no_answer"}
}

// series is one scraped sample: its name, labels and value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape GETs url (with the bearer token when not empty) and parses the
// Prometheus text format it answers.
func scrape(t *testing.T, url, token string) []series {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape: %d %s", res.StatusCode, b)
	}
	var out []series
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			t.Fatalf("scrape line %q: %v", line, err)
		}
		s := series{name: line[:cut], labels: map[string]string{}, value: v}
		if open := strings.IndexByte(s.name, '{'); open >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(s.name[open+1:], "}"), ",") {
				k, val, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(val, `"`)
			}
			s.name = s.name[:open]
		}
		out = append(out, s)
	}
	return out
}

// value sums the samples of name whose labels include want ("k=v" pairs).
func value(ss []series, name string, want ...string) float64 {
	total := 0.0
	for _, s := range ss {
		if s.name != name {
			continue
		}
		ok := true
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			total += s.value
		}
	}
	return total
}

// has reports whether name was exposed at all.
func has(ss []series, name string) bool {
	for _, s := range ss {
		if s.name == name {
			return true
		}
	}
	return false
}

// TestScrapeAfterRealDeliveries sends real deliveries (successes, a
// retried HTTP failure that runs out of attempts, a refused connection, a
// timeout, a 410 that disables its webhook, a manual redelivery) and
// checks that every counter and histogram moved by exactly what happened.
func TestScrapeAfterRealDeliveries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := metrics.New(metrics.Options{Version: "test", Role: "all", Workers: 4, Queue: f.store, Log: quiet, Now: f.clock.Now})
	d, err := dispatch.New(f.store, dispatch.Config{AllowPrivate: "true", LoopbackOnly: true, NoJitter: true, Now: f.clock.Now,
		Log: quiet, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(""))
	defer srv.Close()

	okRc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond) // a receiver that takes its time, for the latency histogram (not a wait)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer okRc.Close()
	failRc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer failRc.Close()
	goneRc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer goneRc.Close()
	release := make(chan struct{})
	var hanging atomic.Int64
	hangRc := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hanging.Add(1)
		defer hanging.Add(-1)
		select { // until the client gives up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hangRc.Close()
	defer close(release)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	ok := f.webhook(t, okRc.URL, 5)
	f.webhook(t, failRc.URL, 2) // fails, retries once, then fails for good
	f.webhook(t, refusedURL, 5)
	f.webhook(t, hangRc.URL, 5) // times out after its 1 s timeout
	gone := f.webhook(t, goneRc.URL, 5)

	before := scrape(t, srv.URL, "")
	for _, name := range []string{"ringhook_delivery_attempts_total", "ringhook_queue_due_deliveries", "go_goroutines", "process_cpu_seconds_total"} {
		if !has(before, name) {
			t.Fatalf("%s is not exposed", name)
		}
	}
	if v := value(before, "ringhook_delivery_attempts_total"); v != 0 {
		t.Fatalf("attempts before any delivery: %v", v)
	}

	// Two events: each matches all five webhooks.
	var first models.IngestResult
	for i := range 2 {
		res, err := d.Ingest(ctx, f.account.ID, event())
		if err != nil || res.Deliveries != 5 {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		if i == 0 {
			first = res
		}
	}
	dup := event()
	dup["event_id"] = first.EventID
	if _, err := d.Ingest(ctx, f.account.ID, dup); err != nil {
		t.Fatal(err)
	}
	bad := event()
	delete(bad, "call_id")
	bad["from_number"] = "not a number"
	if _, err := d.Ingest(ctx, f.account.ID, bad); err == nil {
		t.Fatal("an invalid event was accepted")
	}
	f.clock.Advance(2 * time.Second)
	queued := scrape(t, srv.URL, "")
	if v := value(queued, "ringhook_queue_due_deliveries"); v != 10 {
		t.Errorf("due after ingest = %v, want 10", v)
	}
	if v := value(queued, "ringhook_queue_oldest_due_age_seconds"); v < 2 || v > 60 {
		t.Errorf("oldest due age = %v, want about 2 s", v)
	}
	if v := value(queued, "ringhook_queue_query_ok"); v != 1 {
		t.Errorf("queue query ok = %v", v)
	}
	// Ingest made the week's partitions first: nothing waits in the
	// default ones.
	if v := value(queued, "ringhook_history_unpartitioned_rows"); !has(queued, "ringhook_history_unpartitioned_rows") || v != 0 {
		t.Errorf("history rows in the default partitions = %v, want a gauge at 0", v)
	}

	// The first turn sends all ten; the 410 disables its webhook. While
	// the two timeouts hang, they are in flight.
	type turn struct {
		n   int
		err error
	}
	done := make(chan turn, 1)
	go func() {
		n, err := d.ProcessDue(ctx)
		done <- turn{n, err}
	}()
	for deadline := time.Now().Add(5 * time.Second); hanging.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hanging receiver never got its two requests")
		}
	}
	if v := value(scrape(t, srv.URL, ""), "ringhook_inflight_requests"); v < 2 || v > 10 {
		t.Errorf("in flight while two requests hang: %v", v)
	}
	if r := <-done; r.err != nil || r.n != 10 {
		t.Fatalf("process due: %d %v", r.n, r.err)
	}
	// The retries come due (5 s) and go out: the failing webhook's are its
	// last attempts; the refused and timed-out ones retry again. The
	// disabled webhook's retry is not claimed.
	f.clock.Advance(6 * time.Second)
	if n, err := d.ProcessDue(ctx); err != nil || n != 6 {
		t.Fatalf("second turn: %d %v", n, err)
	}
	dl, err := f.store.Deliveries(ctx, f.account.ID, models.DeliveryFilter{WebhookID: ok.ID})
	if err != nil || len(dl) != 2 {
		t.Fatalf("deliveries of the healthy webhook: %d %v", len(dl), err)
	}
	if _, err := d.Redeliver(ctx, f.account.ID, dl[0].ID, models.Actor{Label: "test"}); err != nil {
		t.Fatal(err)
	}

	after := scrape(t, srv.URL, "")
	attempts := func(trigger, outcome, kind string) float64 {
		return value(after, "ringhook_delivery_attempts_total", "trigger="+trigger, "outcome="+outcome, "error_kind="+kind)
	}
	checks := []struct {
		what      string
		got, want float64
	}{
		{"auto successes", attempts("auto", "succeeded", "none"), 2},
		{"manual successes", attempts("manual", "succeeded", "none"), 1},
		{"HTTP 500 retried", attempts("auto", "retry", "http_status"), 2},
		{"HTTP 500 out of attempts and 410 Gone (never retried)", attempts("auto", "failed", "http_status"), 2 + 2},
		{"refused connections retried", attempts("auto", "retry", "connect"), 4},
		{"timeouts retried", attempts("auto", "retry", "timeout"), 4},
		{"all attempts", value(after, "ringhook_delivery_attempts_total"), 10 + 6 + 1},
		{"succeeded latency count", value(after, "ringhook_attempt_duration_seconds_count", "outcome=succeeded"), 3},
		{"succeeded under 25 ms", value(after, "ringhook_attempt_duration_seconds_bucket", "outcome=succeeded", "le=0.025"), 0},
		{"succeeded under 250 ms", value(after, "ringhook_attempt_duration_seconds_bucket", "outcome=succeeded", "le=0.25"), 3},
		{"retries under 0.5 s (HTTP 500 and refused)", value(after, "ringhook_attempt_duration_seconds_bucket", "outcome=retry", "le=0.5"), 6},
		{"retries under 2.5 s (and the 1 s timeouts)", value(after, "ringhook_attempt_duration_seconds_bucket", "outcome=retry", "le=2.5"), 10},
		{"all latencies", value(after, "ringhook_attempt_duration_seconds_count"), 17},
		{"claimed", value(after, "ringhook_claimed_deliveries_total"), 16},
		{"claims", value(after, "ringhook_claim_duration_seconds_count"), 2},
		{"written batches", value(after, "ringhook_record_duration_seconds_count"), 3},
		{"outcomes written", value(after, "ringhook_record_batch_size_sum"), 17},
		{"record errors", value(after, "ringhook_record_errors_total"), 0},
		{"accepted events", value(after, "ringhook_ingest_events_total", "result=accepted"), 2},
		{"duplicate events", value(after, "ringhook_ingest_events_total", "result=duplicate"), 1},
		{"invalid events", value(after, "ringhook_ingest_events_total", "result=invalid"), 1},
		{"ingested deliveries", value(after, "ringhook_ingest_deliveries_total"), 10},
		{"disabled by 410", value(after, "ringhook_webhooks_auto_disabled_total", "reason=gone"), 1},
		{"disabled by failures", value(after, "ringhook_webhooks_auto_disabled_total", "reason=failures"), 0},
		{"in flight when idle", value(after, "ringhook_inflight_requests"), 0},
		{"workers", value(after, "ringhook_workers"), 4},
		{"build info", value(after, "ringhook_build_info", "version=test", "role=all"), 1},
		// Left due: the refused and timed-out retries, 5 min out; the 410
		// webhook's second delivery waits on a disabled webhook.
		{"due after the turns", value(after, "ringhook_queue_due_deliveries"), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if w, err := f.store.Webhook(ctx, f.account.ID, gone.ID); err != nil || w.Enabled {
		t.Errorf("the 410 webhook is still enabled (%v)", err)
	}

	// No label names a webhook or an account, and no value carries an id.
	for _, s := range after {
		for k, v := range s.labels {
			if strings.Contains(k, "webhook") || strings.Contains(k, "account") || strings.Contains(k, "url") ||
				strings.HasPrefix(v, "wh_") || strings.HasPrefix(v, "acc_") || strings.Contains(v, "127.0.0.1") {
				t.Errorf("%s has a per-webhook or per-account label %s=%q", s.name, k, v)
			}
		}
	}
}

// TestToken: with a token, only a request carrying it gets the metrics.
func TestToken(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "test", Role: "dispatcher", Log: quiet})
	srv := httptest.NewServer(m.Handler("s3cret-token"))
	defer srv.Close()
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"a prefix of the token", "Bearer s3cret", http.StatusUnauthorized},
		{"not a bearer", "Basic czNjcmV0LXRva2Vu", http.StatusUnauthorized},
		{"the token", "Bearer s3cret-token", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized && (res.Header.Get("WWW-Authenticate") == "" || strings.Contains(string(body), "ringhook_")) {
				t.Fatalf("refusal leaks metrics or lacks WWW-Authenticate: %q", body)
			}
			if tc.want == http.StatusOK && !strings.Contains(string(body), "ringhook_build_info") {
				t.Fatalf("no metrics with the right token: %q", body)
			}
		})
	}
}

// failingQueue is a queue source whose database is away.
type failingQueue struct{}

func (failingQueue) QueueStats(context.Context, time.Time, time.Duration, time.Duration) (models.QueueStats, error) {
	return models.QueueStats{}, fmt.Errorf("queue stats: %w", context.DeadlineExceeded)
}

// TestQueueUnavailable: a failed queue query leaves the queue gauges out
// and says so; everything else is still served, with 200.
func TestQueueUnavailable(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "test", Role: "all", Queue: failingQueue{}, Log: quiet})
	srv := httptest.NewServer(m.Handler(""))
	defer srv.Close()
	ss := scrape(t, srv.URL, "")
	if value(ss, "ringhook_queue_query_ok") != 0 || !has(ss, "ringhook_queue_query_ok") || has(ss, "ringhook_queue_due_deliveries") {
		t.Fatalf("queue gauges with the database away: ok=%v due present=%v", value(ss, "ringhook_queue_query_ok"), has(ss, "ringhook_queue_due_deliveries"))
	}
	if !has(ss, "ringhook_build_info") {
		t.Fatal("the rest of the metrics went missing with the queue")
	}
	names := map[string]bool{}
	for _, s := range ss {
		names[s.name] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	t.Logf("%d metric names", len(sorted))
}

// TestAutoDisableByFailures: the consecutive-failure rule's disables are
// counted under reason=failures.
func TestAutoDisableByFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := metrics.New(metrics.Options{Version: "test", Role: "all", Log: quiet})
	d, err := dispatch.New(f.store, dispatch.Config{AllowPrivate: "true", LoopbackOnly: true, NoJitter: true, Now: f.clock.Now,
		Log: quiet, Observer: m, AutoDisable: models.AutoDisable{Failures: 2, Window: 0}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(""))
	defer srv.Close()
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer rc.Close()
	w := f.webhook(t, rc.URL, 5)
	for range 2 {
		if _, err := d.Ingest(ctx, f.account.ID, event()); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.ProcessDue(ctx); err != nil || n != 2 {
		t.Fatalf("process due: %d %v", n, err)
	}
	ss := scrape(t, srv.URL, "")
	if got := value(ss, "ringhook_webhooks_auto_disabled_total", "reason=failures"); got != 1 {
		t.Errorf("disabled by failures: %v, want 1", got)
	}
	if got := value(ss, "ringhook_webhooks_auto_disabled_total", "reason=gone"); got != 0 {
		t.Errorf("disabled by 410: %v, want 0", got)
	}
	if got := value(ss, "ringhook_delivery_attempts_total", "outcome=retry", "error_kind=http_status"); got != 2 {
		t.Errorf("503s retried: %v, want 2", got)
	}
	if hw, err := f.store.Webhook(ctx, f.account.ID, w.ID); err != nil || hw.Enabled {
		t.Errorf("the failing webhook is still enabled (%v)", err)
	}
}
