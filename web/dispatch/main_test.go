package dispatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/dispatch/verifyexample"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChildDispatcher())
	}
	modeltest.Main(m, "dispatch")
}

// childEnv makes the test binary run a dispatcher against the database in
// childDBEnv until it is killed (see TestCrashedProcessResumesWithinSeconds).
const (
	childEnv   = "RINGHOOK_TEST_CHILD_DISPATCHER"
	childDBEnv = "RINGHOOK_TEST_CHILD_DATABASE"
)

func runChildDispatcher() int {
	ctx := context.Background()
	db, err := models.Open(ctx, os.Getenv(childDBEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child dispatcher:", err)
		return 2
	}
	d, err := dispatch.New(models.NewStore(db, time.Now, models.WithKeyring(modeltest.Keyring())), dispatch.Config{AllowPrivate: "true", LoopbackOnly: true,
		Poll: 50 * time.Millisecond, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child dispatcher:", err)
		return 2
	}
	d.Start(ctx)
	fmt.Println("started", d.ID())
	select {} // until the parent kills the process
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 9, 7, 24, 53, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// received is one request a test receiver got.
type received struct {
	Method string
	URL    string // path + query as sent
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP server that records requests and answers with
// whatever respond returns.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	hits    atomic.Int64
	respond func(w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.mu.Lock()
		rc.got = append(rc.got, received{Method: r.Method, URL: r.RequestURI, Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		rc.hits.Add(1)
		if rc.respond != nil {
			rc.respond(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// fixture is a store on the package database with one account.
type fixture struct {
	store   *models.Store
	db      *gorm.DB // the same database, for assertions the Store has no method for
	clock   *clock
	account *models.Account
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	f := &fixture{store: models.NewStore(db, clk.Now, models.WithKeyring(modeltest.Keyring())), db: db, clock: clk}
	return f.another(t)
}

// another is a second account on the same store and clock.
func (f *fixture) another(t *testing.T) *fixture {
	t.Helper()
	store := f.store
	acc, err := store.CreateAccount(context.Background(), "Dispatch "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"+918287842425", "+918287842426"} {
		if _, err := store.AddPhoneNumber(context.Background(), acc.ID, models.Actor{Label: "test"}, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{store: store, db: f.db, clock: f.clock, account: acc}
}

func (f *fixture) dispatcher(t *testing.T, mod func(*dispatch.Config)) *dispatch.Dispatcher {
	t.Helper()
	cfg := dispatch.Config{AllowPrivate: "true", LoopbackOnly: true, NoJitter: true, Now: f.clock.Now, Log: quiet, Batch: 200}
	if mod != nil {
		mod(&cfg)
	}
	d, err := dispatch.New(f.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// webhook creates a webhook for url; mod adjusts the defaults.
func (f *fixture) webhook(t *testing.T, url string, mod func(*models.WebhookInput)) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "hook "+models.NewID(""), url, []string{"call.hangup", "call.received"}
	if mod != nil {
		mod(&in)
	}
	w, err := f.store.CreateWebhook(context.Background(), f.account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return w
}

var seq atomic.Int64

// event returns a valid call event of typ; mod adjusts fields.
func event(typ string, mod func(map[string]any)) map[string]any {
	n := seq.Add(1)
	e := map[string]any{
		"event": typ, "event_id": fmt.Sprintf("evt_test%020d", n), "occurred_at": "2026-04-09T07:24:53.000Z",
		"call_id": fmt.Sprintf("call_%d", n), "leg_id": "leg_1", "direction": "inbound", "call_type": "inbound",
		"from_number": "+919240202904", "from_name": "Test Man", "to_number": "+918287842425",
		"started_at": "2026-04-09T07:24:22.000Z",
	}
	if typ == "call.hangup" {
		e["call_status"], e["answered_at"], e["ended_at"] = "answered", "2026-04-09T07:24:23.000Z", "2026-04-09T07:24:53.000Z"
		e["duration_seconds"], e["talk_seconds"] = json.Number("31"), json.Number("30")
	}
	if mod != nil {
		mod(e)
	}
	return e
}

func (f *fixture) ingest(t *testing.T, d *dispatch.Dispatcher, ev map[string]any) models.IngestResult {
	t.Helper()
	res, err := d.Ingest(context.Background(), f.account.ID, ev)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func (f *fixture) deliveries(t *testing.T, webhookID string) []models.Delivery {
	t.Helper()
	var out []models.Delivery
	if err := f.db.Where("account_id = ? AND webhook_id = ?", f.account.ID, webhookID).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) attempts(t *testing.T, deliveryID int64) []models.Attempt {
	t.Helper()
	var out []models.Attempt
	if err := f.db.Where("delivery_id = ?", deliveryID).Order("number").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func processDue(t *testing.T, d *dispatch.Dispatcher) int {
	t.Helper()
	n, err := d.ProcessDue(context.Background())
	if err != nil {
		t.Fatalf("process due: %v", err)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verifyReceived runs the receiver-side check (verifyexample.Verify) on a
// request a test receiver got.
func verifyReceived(r received, publicURL string, secrets []string, now time.Time) error {
	req := httptest.NewRequest(r.Method, publicURL+r.URL, bytes.NewReader(r.Body))
	req.Header = r.Header.Clone()
	_, err := verifyexample.Verify(req, publicURL, secrets, now)
	return err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
