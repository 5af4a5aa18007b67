package dispatch_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/dispatch"
)

// logBuffer collects a dispatcher's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPanickingTransportIsRecordedAndRetried runs the real Start path: a
// transport that panics on one webhook's first request costs that attempt
// only (recorded as kind internal, the stack in the log and not in the
// attempt), the delivery is retried on schedule, and the other webhook's
// deliveries go out meanwhile.
func TestPanickingTransportIsRecordedAndRetried(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	boom := f.webhook(t, rc.URL+"/boom", nil)
	calm := f.webhook(t, rc.URL+"/calm", nil)
	var panics atomic.Int32
	logs := &logBuffer{}
	d := f.dispatcher(t, func(c *dispatch.Config) {
		c.Poll, c.Log = 20*time.Millisecond, logs.logger()
		c.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Path == "/boom" && panics.Add(1) == 1 {
					panic("injected transport bug")
				}
				return next.RoundTrip(r)
			})
		}
	})
	ctx := context.Background()
	d.Start(ctx)
	t.Cleanup(func() { _ = d.Stop(ctx) })
	f.ingest(t, d, event("call.received", nil))
	f.ingest(t, d, event("call.received", nil))

	waitFor(t, 10*time.Second, "the calm webhook's deliveries", func() bool {
		dl := f.deliveries(t, calm.ID)
		return len(dl) == 2 && dl[0].Status == models.StatusSucceeded && dl[1].Status == models.StatusSucceeded
	})
	var panicked models.Delivery
	waitFor(t, 10*time.Second, "the panicked attempt to be recorded", func() bool {
		for _, dl := range f.deliveries(t, boom.ID) {
			if dl.Status == models.StatusPending && dl.AttemptCount == 1 {
				panicked = dl
				return true
			}
		}
		return false
	})
	at := f.attempts(t, panicked.ID)
	if len(at) != 1 || at[0].ErrorKind != models.ErrKindInternal || at[0].NextRetryAt == nil {
		t.Fatalf("attempts %+v, want one internal error with a retry", at)
	}
	if strings.Contains(at[0].ErrorMessage, "goroutine") || strings.Contains(at[0].ErrorMessage, "injected") {
		t.Errorf("attempt message leaks the panic: %q", at[0].ErrorMessage)
	}
	if want := f.clock.Now().Add(5 * time.Second); !at[0].NextRetryAt.Equal(want) {
		t.Errorf("retry at %s, want %s (the first step of the schedule)", at[0].NextRetryAt, want)
	}
	if l := logs.String(); !strings.Contains(l, "injected transport bug") || !strings.Contains(l, "goroutine ") {
		t.Errorf("the log lacks the panic and its stack:\n%s", l)
	}

	f.clock.Advance(5 * time.Second)
	waitFor(t, 10*time.Second, "the retry to succeed", func() bool {
		for _, dl := range f.deliveries(t, boom.ID) {
			if dl.Status != models.StatusSucceeded {
				return false
			}
		}
		return true
	})
	if at := f.attempts(t, panicked.ID); len(at) != 2 || at[1].ErrorKind != "" {
		t.Fatalf("after the retry: %+v", at)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDatabaseAwayWhileRecording cuts the dispatcher's database connection
// (a TCP proxy stops) while a request is in flight: the outcome is kept and
// retried with backoff, nothing is claimed or sent again meanwhile, and
// once the database is back the attempt is recorded exactly once.
func TestDatabaseAwayWhileRecording(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(modeltest.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := modeltest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	db, err := models.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	away := models.NewStore(db, f.clock.Now, models.WithKeyring(modeltest.Keyring())) // the dispatcher's store, through the proxy

	gate := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		<-gate
		w.WriteHeader(http.StatusNoContent)
	})
	w := f.webhook(t, rc.URL, nil)
	logs := &logBuffer{}
	d, err := dispatch.New(away, dispatch.Config{AllowPrivate: "true", LoopbackOnly: true, NoJitter: true, Now: f.clock.Now,
		Log: logs.logger(), Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(ctx)
	t.Cleanup(func() { _ = d.Stop(ctx) })
	f.ingest(t, d, event("call.received", nil))
	waitFor(t, 10*time.Second, "the request to be in flight", func() bool { return rc.hits.Load() == 1 })

	proxy.Stop()
	close(gate)
	waitFor(t, 10*time.Second, "the recorder to retry", func() bool {
		return strings.Count(logs.String(), "keeping the outcomes and trying again") >= 3
	})
	dl := f.deliveries(t, w.ID)[0]
	if dl.Status != models.StatusSending || len(f.attempts(t, dl.ID)) != 0 {
		t.Fatalf("while the database is away: %s with %d attempts", dl.Status, len(f.attempts(t, dl.ID)))
	}

	proxy.Start()
	waitFor(t, 15*time.Second, "the outcome to be recorded", func() bool {
		return f.deliveries(t, w.ID)[0].Status == models.StatusSucceeded
	})
	if at := f.attempts(t, dl.ID); len(at) != 1 || at[0].ErrorKind != "" {
		t.Fatalf("attempts %+v, want the one successful attempt", at)
	}
	if n := rc.hits.Load(); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
	if !strings.Contains(logs.String(), "recorded outcomes after the database came back") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCrashedProcessResumesWithinSeconds kills a real dispatcher process
// (this test binary, re-run as a child) while it holds a lease of a
// webhook with the longest timeout (a 90 s lease): another dispatcher sees
// its heartbeat stop and sends the delivery again within 10 s.
func TestCrashedProcessResumesWithinSeconds(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var resentAt time.Time
	var hits atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			<-r.Context().Done() // the child's request hangs until the child dies
			return
		}
		mu.Lock()
		if resentAt.IsZero() {
			resentAt = time.Now()
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	w := f.webhook(t, rc.URL, func(in *models.WebhookInput) { in.TimeoutSeconds = 60 })

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1", childDBEnv+"="+modeltest.URL())
	var childLog bytes.Buffer
	child.Stderr = &childLog
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
		if t.Failed() {
			t.Logf("child log:\n%s", childLog.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "started dsp_") {
		t.Fatalf("child: %q, %v", line, err)
	}

	f.ingest(t, f.dispatcher(t, nil), event("call.received", nil))
	waitFor(t, 10*time.Second, "the child to send", func() bool { return hits.Load() == 1 })
	d := f.dispatcher(t, func(c *dispatch.Config) { c.Now, c.Poll = time.Now, 50*time.Millisecond })
	ctx := context.Background()
	d.Start(ctx)
	t.Cleanup(func() { _ = d.Stop(ctx) })

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	_ = child.Wait()
	waitFor(t, 20*time.Second, "the delivery to succeed after the crash", func() bool {
		return f.deliveries(t, w.ID)[0].Status == models.StatusSucceeded
	})
	mu.Lock()
	took := resentAt.Sub(killedAt)
	mu.Unlock()
	t.Logf("resent %s after the crash (lease %s)", took.Round(time.Millisecond), w.Timeout()+30*time.Second)
	if took > 10*time.Second {
		t.Errorf("resent %s after the crash, want within 10s", took)
	}
	if at := f.attempts(t, f.deliveries(t, w.ID)[0].ID); len(at) != 1 || at[0].Number != 1 || at[0].ErrorKind != "" {
		t.Errorf("attempts %+v, want one successful attempt 1 (the child's was never recorded)", at)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
