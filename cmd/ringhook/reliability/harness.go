package reliability

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/cmd/ringhook/simulate"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/models/devdb"
)

// harness holds what the scenarios share: the private PostgreSQL, the
// work directory and the call generator.
type harness struct {
	o       options
	stderr  io.Writer
	dir     string // work directory: PostgreSQL data, child logs
	pg      *devdb.Server
	pgPort  int
	gen     *catalog.CallGenerator
	genMu   sync.Mutex
	client  *http.Client
	mu      sync.Mutex // progress output; measure's results; sources
	sources int        // loopback source addresses handed out (hostile)
	// encKey is every child's RINGHOOK_ENCRYPTION_KEY and the harness's
	// own Store's key: the processes of one deployment share it.
	encKey []byte
}

func (h *harness) progress(format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.stderr, "reliability %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.0")}, a...)...)
}

func newHarness(ctx context.Context, o options, stderr io.Writer) (*harness, error) {
	h := &harness{o: o, stderr: stderr, encKey: crypto.NewKey(),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	var err error
	// Under the system temp dir (not a private 0700 one): when we are root
	// the server runs as "postgres" and must reach its data directory.
	if h.dir, err = os.MkdirTemp("", "ringhook-reliability-"); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if err := os.Chmod(h.dir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	h.progress("work directory %s", h.dir)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Durable (fsync on), like production: a lost commit would be a real loss.
	h.pg, err = devdb.Start(sctx, devdb.Options{DataDir: filepath.Join(h.dir, "pg"), Logf: func(f string, a ...any) { h.progress(f, a...) }})
	if err != nil {
		h.close()
		return nil, fmt.Errorf("start the private PostgreSQL: %w", err)
	}
	h.pgPort = h.pg.Port()
	var seed [8]byte
	_, _ = crand.Read(seed[:])
	s := binary.LittleEndian.Uint64(seed[:])
	if h.gen, err = catalog.NewCallGenerator(rand.New(rand.NewPCG(s, s^0x52454c49)), simulate.DefaultDIDs); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *harness) close() {
	if h.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := h.pg.Stop(ctx); err != nil {
			h.progress("stop PostgreSQL: %v", err)
		}
		cancel()
	}
	if h.dir != "" {
		if h.o.Keep {
			h.progress("kept %s", h.dir)
		} else if err := os.RemoveAll(h.dir); err != nil {
			h.progress("remove %s: %v", h.dir, err)
		}
	}
}

// restartPG stops PostgreSQL (fast shutdown: clients are disconnected),
// keeps it down for down and starts it again on the same port and data.
func (h *harness) stopPG(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return h.pg.Stop(sctx)
}

func (h *harness) startPG(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := devdb.Start(sctx, devdb.Options{DataDir: filepath.Join(h.dir, "pg"), Port: h.pgPort})
	if err != nil {
		return err
	}
	h.pg = srv
	return nil
}

// scenarioDB is one scenario's database, migrated, with its Store and the
// account, webhooks and ingest key the scenario uses.
type scenarioDB struct {
	url   string
	db    *gorm.DB
	store *models.Store
	acc   *models.Account
	hooks []*models.Webhook
	key   string
}

func (s *scenarioDB) close() {
	if sqlDB, err := s.db.DB(); err == nil {
		sqlDB.Close()
	}
}

// newScenarioDB creates database name on the private server with an
// account whose webhooks point at urls (each subscribed to every call
// event) and an ingest API key.
func (h *harness) newScenarioDB(ctx context.Context, name string, urls []string, timeoutSec int) (*scenarioDB, error) {
	if err := devdb.EnsureDatabase(ctx, h.pg.URL("postgres"), name); err != nil {
		return nil, err
	}
	s := &scenarioDB{url: h.pg.URL(name)}
	var err error
	if s.db, err = models.Open(ctx, s.url); err != nil {
		return nil, err
	}
	if _, err := models.Migrate(ctx, s.db); err != nil {
		s.close()
		return nil, err
	}
	keys, err := crypto.NewKeyring(h.encKey)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	s.store = models.NewStore(s.db, nil, models.WithKeyring(keys))
	if s.acc, err = s.store.CreateAccount(ctx, "Reliability "+name, "UTC"); err != nil {
		s.close()
		return nil, err
	}
	for i, u := range urls {
		in := models.NewWebhookInput("Asia/Kolkata")
		in.Name, in.URL, in.EventTypes = fmt.Sprintf("%s %d", name, i+1), u, catalog.LifecycleTypes()
		// Every queued delivery must arrive for the loss count to mean
		// anything: nothing expires here (the dispatcher tests cover expiry).
		in.ExpireAfter = map[string]int{}
		if timeoutSec > 0 {
			in.TimeoutSeconds = timeoutSec
		}
		w, err := s.store.CreateWebhook(ctx, s.acc.ID, models.Actor{Label: "reliability"}, in)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("create webhook: %w", err)
		}
		s.hooks = append(s.hooks, w)
	}
	if _, s.key, err = s.store.CreateAPIKey(ctx, s.acc.ID, models.Actor{Label: "reliability"},
		models.NewAPIKey{Name: "reliability ingest", Scope: models.ScopeFull}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// hookPath is where webhook i of a scenario delivers on the receiver.
func hookPath(scenario string, i int) string { return fmt.Sprintf("/%s/%d", scenario, i+1) }

// events returns n events from whole generated calls (the last one cut short).
func (h *harness) events(n int) []map[string]any {
	h.genMu.Lock()
	defer h.genMu.Unlock()
	out := make([]map[string]any, 0, n)
	for len(out) < n {
		c, err := h.gen.Next(time.Now())
		if err != nil {
			panic(fmt.Sprintf("call generator: %v", err)) // a generator bug, not an input
		}
		out = append(out, c.Events[:min(len(c.Events), n-len(out))]...)
	}
	return out
}

// child is one `ringhook serve` process.
type child struct {
	name string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment of a child: the caller's minus every
// setting of ringhook's, plus the harness's.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RINGHOOK_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// startChild runs `ringhook serve` on a free loopback port against dbURL.
// With waitReady it returns once /readyz answers 200.
func (h *harness) startChild(ctx context.Context, name, dbURL string, waitReady bool) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var key [32]byte
	_, _ = crand.Read(key[:])
	dataDir := filepath.Join(h.dir, "child-"+name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("child data dir: %w", err)
	}
	logPath := filepath.Join(h.dir, "child-"+name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("child log: %w", err)
	}
	defer logFile.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(h.o.Binary, "serve")
	cmd.Env = childEnv("DATABASE_URL="+dbURL, "RINGHOOK_ADDR="+addr, "RINGHOOK_ALLOW_PRIVATE_TARGETS=true",
		"RINGHOOK_DATA_DIR="+dataDir, "RINGHOOK_SESSION_KEY="+hex.EncodeToString(key[:]),
		"RINGHOOK_ENCRYPTION_KEY="+hex.EncodeToString(h.encKey),
		// The harness is one client sending as fast as it can: per-key limits would measure the limiter.
		"RINGHOOK_API_RATE=100000", "RINGHOOK_API_INGEST_RATE=100000")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group (a terminal Ctrl-C reaches the harness only),
	// and killed if the harness dies, so no child outlives a run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", h.o.Binary, err)
	}
	c := &child{name: name, base: "http://" + addr, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); close(c.done) }()
	path := "/healthz"
	if waitReady {
		path = "/readyz"
	}
	if err := h.waitStatus(ctx, c, path, http.StatusOK, time.Minute); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// waitStatus polls c's path until it answers want, c exits or within passes.
func (h *harness) waitStatus(ctx context.Context, c *child, path string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if st := h.status(ctx, c.base+path); st == want {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("child %s exited (log %s):\n%s", c.name, c.log, tail(c.log))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("child %s: %s did not answer %d within %s (log %s):\n%s", c.name, path, want, within, c.log, tail(c.log))
		}
	}
}

// status is the status code of GET url, 0 when there is no answer.
func (h *harness) status(ctx context.Context, url string) int {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	res, err := h.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// kill is kill -9: no shutdown, leases left as they are.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// stop asks for a graceful shutdown (SIGTERM) and kills after 30 s.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.kill()
	}
}

// ingestResult is what sending a set of events achieved.
type ingestResult struct {
	accepted map[string]int // event id -> deliveries the API said it queued (-1: answered as a duplicate)
	refused  int64          // answers other than 2xx and failed connections, all retried
	statuses map[int]int64  // refusals by status (0: no answer)
	gaveUp   int            // events never accepted within the bound
}

// sender posts events to POST /api/v1/events, retrying each one (same
// event id, so a retry is never a second event) against the children
// targets returns until it is accepted or the deadline passes.
type sender struct {
	h        *harness
	key      string
	targets  func() []string
	deadline time.Time

	mu  sync.Mutex
	res ingestResult
}

func (h *harness) newSender(key string, targets func() []string, bound time.Duration) *sender {
	return &sender{h: h, key: key, targets: targets, deadline: time.Now().Add(bound), res: ingestResult{accepted: map[string]int{}, statuses: map[int]int64{}}}
}

// send posts one event until accepted; false when it gave up.
func (s *sender) send(ctx context.Context, ev map[string]any, n int) bool {
	body, err := json.Marshal(ev)
	if err != nil {
		panic(err) // generated events always marshal
	}
	for try := n; ; try++ {
		if ctx.Err() != nil || time.Now().After(s.deadline) {
			s.mu.Lock()
			s.res.gaveUp++
			s.mu.Unlock()
			return false
		}
		ts := s.targets()
		if len(ts) > 0 {
			id, deliveries, status := s.post(ctx, ts[try%len(ts)], body)
			if status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
				// Refused for what it is: retrying would not help.
				s.h.progress("ingest refused with %d: %s", status, body)
				s.mu.Lock()
				s.res.gaveUp++
				s.mu.Unlock()
				return false
			}
			if status/100 == 2 {
				s.mu.Lock()
				if prev, seen := s.res.accepted[id]; !seen || prev < 0 {
					s.res.accepted[id] = deliveries
				}
				s.mu.Unlock()
				return true
			}
			s.mu.Lock()
			s.res.refused++
			s.res.statuses[status]++
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// post sends one event; status is 0 when there was no usable answer.
func (s *sender) post(ctx context.Context, base string, body []byte) (id string, deliveries, status int) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, base+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return "", 0, 0
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.h.client.Do(req)
	if err != nil {
		return "", 0, 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusOK {
		return "", 0, res.StatusCode
	}
	var out struct {
		Data struct {
			EventID    string `json:"event_id"`
			Deliveries int    `json:"deliveries"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &out) != nil || out.Data.EventID == "" {
		return "", 0, 0
	}
	if res.StatusCode == http.StatusOK {
		// A duplicate: an earlier try was accepted (its answer was lost)
		// and queued the deliveries then.
		return out.Data.EventID, -1, res.StatusCode
	}
	return out.Data.EventID, out.Data.Deliveries, res.StatusCode
}

// sendAll sends events with workers goroutines and returns the result.
func (s *sender) sendAll(ctx context.Context, events []map[string]any, workers int) ingestResult {
	ch := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				s.send(ctx, events[i], i)
			}
		}()
	}
	for i := range events {
		ch <- i
	}
	close(ch)
	wg.Wait()
	return s.result()
}

func (s *sender) result() ingestResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res
	r.accepted = make(map[string]int, len(s.res.accepted))
	for k, v := range s.res.accepted {
		r.accepted[k] = v
	}
	r.statuses = make(map[int]int64, len(s.res.statuses))
	for k, v := range s.res.statuses {
		r.statuses[k] = v
	}
	return r
}

// expected lists the (event, webhook path) pairs the accepted events must
// deliver: every event matches every webhook of the scenario.
func expected(acc map[string]int, scenario string, hooks int) (map[string]bool, error) {
	out := make(map[string]bool, len(acc)*hooks)
	for id, n := range acc {
		if n != hooks && n >= 0 { // < 0: a duplicate answer; the first try queued them
			return nil, fmt.Errorf("event %s queued %d deliveries, want %d (one per webhook)", id, n, hooks)
		}
		for i := range hooks {
			out[deliveryKey(id, hookPath(scenario, i))] = true
		}
	}
	return out, nil
}

// refusals describes the refused ingest attempts by answer.
func (r ingestResult) refusals() string {
	if r.refused == 0 {
		return "no ingest refusals"
	}
	codes := make([]int, 0, len(r.statuses))
	for c := range r.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		what := strconv.Itoa(c)
		if c == 0 {
			what = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s x%d", what, r.statuses[c]))
	}
	return fmt.Sprintf("%d ingest refusals retried (%s)", r.refused, strings.Join(parts, ", "))
}

func deliveryKey(eventID, path string) string { return eventID + " " + path }

var errBound = errors.New("bound reached")

// waitFor polls cond every 20 ms until it holds, ctx ends or within passes
// (errBound).
func waitFor(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return errBound
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
