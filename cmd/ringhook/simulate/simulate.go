// Package simulate is `ringhook simulate`: it sends realistic call
// lifecycles (catalog.CallGenerator) to a running Ringhook's ingest API,
// POST <url>/api/v1/events, and nowhere else. It needs no server
// configuration: only its flags and an API key.
package simulate

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

const simulateUsage = `usage: ringhook simulate --key sk_… [--url http://127.0.0.1:8080] [--rate 5]
                         [--duration 30s | --calls N] [--seed S] [--dids +91…,+1…] [--concurrency 16]`

// simOptions are the simulate flags.
type simOptions struct {
	URL         string
	Key         string
	Rate        float64 // calls started per second
	Duration    time.Duration
	Calls       int
	Seed        uint64
	DIDs        []string
	Concurrency int           // calls whose events are being sent at once
	Grace       time.Duration // how long in-flight calls may finish after the end or Ctrl-C
	Progress    time.Duration // progress line interval; 0 = none
}

func parseSimulateFlags(args []string, stderr io.Writer) (simOptions, error) {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, simulateUsage); fs.PrintDefaults() }
	o := simOptions{Grace: 10 * time.Second, Progress: time.Second}
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the Ringhook server; events go to <url>/api/v1/events and nowhere else")
	fs.StringVar(&o.Key, "key", os.Getenv("RINGHOOK_API_KEY"), "API key (sk_live_… or sk_test_…; default $RINGHOOK_API_KEY)")
	fs.Float64Var(&o.Rate, "rate", 5, "calls started per second")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "stop starting calls after this long (with --calls and no --duration: no time limit)")
	fs.IntVar(&o.Calls, "calls", 0, "stop after this many calls (0: no limit)")
	seed := fs.Uint64("seed", 0, "random seed for a reproducible call mix (0: random, printed)")
	dids := fs.String("dids", strings.Join(DefaultDIDs, ","), "the account's numbers (DIDs), comma-separated E.164")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "calls sending events at the same time")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("simulate: unexpected argument %q\n%s", fs.Arg(0), simulateUsage)
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if o.Calls > 0 && !durationSet {
		o.Duration = 0 // --calls alone: run until that many calls were made
	}
	var err error
	if o.DIDs, err = parseDIDs(*dids); err != nil {
		return o, err
	}
	u, err := url.Parse(o.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return o, fmt.Errorf("simulate: --url must be an absolute http(s) URL such as http://127.0.0.1:8080, not %q", o.URL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return o, errors.New("simulate: --url takes a scheme, host and optional path prefix only")
	}
	o.URL = strings.TrimRight(u.String(), "/")
	switch {
	case o.Key == "":
		return o, fmt.Errorf("simulate: --key is required (create one on the API keys page)\n%s", simulateUsage)
	case !strings.HasPrefix(o.Key, "sk_"):
		return o, errors.New("simulate: --key must be an API key starting with sk_")
	case !(o.Rate > 0) || o.Rate > 10000:
		return o, errors.New("simulate: --rate must be between 0 and 10000 calls per second")
	case o.Duration < 0 || o.Calls < 0:
		return o, errors.New("simulate: --duration and --calls must not be negative")
	case o.Duration == 0 && o.Calls == 0:
		return o, errors.New("simulate: give --duration or --calls so the run ends")
	case o.Concurrency < 1:
		return o, errors.New("simulate: --concurrency must be at least 1")
	}
	o.Seed = *seed
	if o.Seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		o.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	return o, nil
}

// simStats are the live counters, read by the progress printer.
type simStats struct {
	callsStarted, callsDone atomic.Int64
	events                  atomic.Int64 // events whose sending finished (any outcome)
	ok2xx, c3xx, c4xx, c5xx atomic.Int64 // final outcome per event
	netErrs                 atomic.Int64
	retries                 atomic.Int64
	duplicates              atomic.Int64
	deliveries              atomic.Int64 // queued per the API responses
	byKind                  [catalog.NumCallKinds]atomic.Int64
	shownErrors             atomic.Int64
}

func (s *simStats) line(elapsed time.Duration) string {
	return fmt.Sprintf("[%5.1fs] calls %d (%d done) | events %d | 2xx %d 4xx %d 5xx %d net-err %d | deliveries queued %d",
		elapsed.Seconds(), s.callsStarted.Load(), s.callsDone.Load(), s.events.Load(),
		s.ok2xx.Load(), s.c4xx.Load(), s.c5xx.Load(), s.netErrs.Load(), s.deliveries.Load())
}

// ingestReply is the body of a 2xx from POST /api/v1/events.
type ingestReply struct {
	Data struct {
		EventID    string `json:"event_id"`
		Deliveries int    `json:"deliveries"`
		Duplicate  bool   `json:"duplicate"`
	} `json:"data"`
}

// errRefused stops the run: the server refuses the key, so every further
// request would fail the same way.
var errRefused = errors.New("the API refused the key")

// simulator sends generated calls to one Ringhook server.
type simulator struct {
	o        simOptions
	endpoint string
	client   *http.Client
	stats    simStats
	stderrMu sync.Mutex // sends report errors from many goroutines
	stderr   io.Writer
	abort    context.CancelCauseFunc
}

func newSimulator(o simOptions, stderr io.Writer) *simulator {
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: requests go to --url only
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &simulator{o: o, endpoint: o.URL + "/api/v1/events", stderr: stderr, client: &http.Client{
		Transport: tr,
		Timeout:   15 * time.Second,
		// Redirects are not followed: nothing is sent anywhere but --url.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Run is `ringhook simulate` with its arguments.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSimulateFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return newSimulator(o, stderr).run(ctx, stdout)
}

func (s *simulator) run(ctx context.Context, out io.Writer) error {
	o := s.o
	bound := []string{}
	if o.Duration > 0 {
		bound = append(bound, "for "+o.Duration.String())
	}
	if o.Calls > 0 {
		bound = append(bound, fmt.Sprintf("at most %d calls", o.Calls))
	}
	fmt.Fprintf(out, "simulate: %g calls/s %s to %s (seed %d, DIDs %s)\n",
		o.Rate, strings.Join(bound, ", "), s.endpoint, o.Seed, strings.Join(o.DIDs, " "))

	// sendCtx outlives a Ctrl-C by the grace period so calls in flight end
	// with their terminal events; abort (a refused key) stops it at once.
	sendCtx, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	s.abort = abort
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() {
		select {
		case <-sendCtx.Done():
			stopRun()
		case <-runCtx.Done():
		}
	}()

	start := time.Now()
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if o.Progress > 0 {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			t := time.NewTicker(o.Progress)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					fmt.Fprintln(out, s.stats.line(time.Since(start)))
				}
			}
		}()
	}

	gen, err := catalog.NewCallGenerator(rand.New(rand.NewPCG(o.Seed, o.Seed^0x5249_4e47_484f_4f4b)), o.DIDs)
	if err != nil {
		return err
	}
	slots := make(chan struct{}, o.Concurrency)
	var calls sync.WaitGroup
	var genErr error
	interval := time.Duration(float64(time.Second) / o.Rate)
	var deadline <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		deadline = t.C
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for i := 0; o.Calls == 0 || i < o.Calls; i++ {
		// Call i starts at start + i/rate; a slow server delays, never bunches.
		select {
		case <-runCtx.Done():
			break loop
		case <-deadline:
			break loop
		case <-timer.C:
		}
		select {
		case <-runCtx.Done():
			break loop
		case <-deadline:
			break loop
		case slots <- struct{}{}:
		}
		call, err := gen.Next(time.Now())
		if err != nil {
			<-slots
			genErr = err
			break
		}
		s.stats.callsStarted.Add(1)
		s.stats.byKind[call.Kind].Add(1)
		calls.Add(1)
		go func() {
			defer calls.Done()
			defer func() { <-slots }()
			s.sendCall(sendCtx, call)
		}()
		next := start.Add(time.Duration(i+1) * interval)
		timer.Reset(max(time.Until(next), 0))
	}

	// Calls that were due by now at --rate: more than were started means
	// the server (or --concurrency) held the run back.
	due := int64(o.Rate * time.Since(start).Seconds())
	if o.Calls > 0 {
		due = min(due, int64(o.Calls))
	}

	// Let the calls in flight finish (bounded), then report.
	finished := make(chan struct{})
	go func() { calls.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(o.Grace):
		s.stderrMu.Lock()
		fmt.Fprintf(s.stderr, "simulate: calls still in flight after %s; cancelling them\n", o.Grace)
		s.stderrMu.Unlock()
		abort(context.DeadlineExceeded)
		<-finished
	}
	close(progressDone)
	progressWG.Wait()
	elapsed := time.Since(start)
	s.summary(out, elapsed)
	if started := s.stats.callsStarted.Load(); genErr == nil && runCtx.Err() == nil && started < due*95/100 {
		fmt.Fprintf(out, "  behind   %d calls started of %d due at %g/s: the server answered too slowly for --rate with --concurrency %d\n",
			started, due, o.Rate, o.Concurrency)
	}

	switch cause := context.Cause(sendCtx); {
	case genErr != nil:
		return genErr
	case errors.Is(cause, errRefused):
		return cause
	}
	if n := s.stats.events.Load() - s.stats.ok2xx.Load(); n > 0 {
		return fmt.Errorf("simulate: %d of %d events were not accepted", n, s.stats.events.Load())
	}
	return nil
}

func (s *simulator) summary(out io.Writer, elapsed time.Duration) {
	st := &s.stats
	var kinds []string
	for k := range catalog.NumCallKinds {
		if n := st.byKind[k].Load(); n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	secs := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(out, "simulate: done in %.1fs: %d calls (%d complete): %s\n",
		elapsed.Seconds(), st.callsStarted.Load(), st.callsDone.Load(), strings.Join(kinds, ", "))
	redirects := ""
	if n := st.c3xx.Load(); n > 0 {
		redirects = fmt.Sprintf(", 3xx %d (not followed)", n)
	}
	fmt.Fprintf(out, "  events   %d sent (%.1f/s): 2xx %d (%d duplicates)%s, 4xx %d, 5xx %d, network errors %d, retries %d\n",
		st.events.Load(), float64(st.events.Load())/secs, st.ok2xx.Load(), st.duplicates.Load(), redirects,
		st.c4xx.Load(), st.c5xx.Load(), st.netErrs.Load(), st.retries.Load())
	fmt.Fprintf(out, "  queued   %d deliveries (%.1f/s) per the API responses\n", st.deliveries.Load(), float64(st.deliveries.Load())/secs)
}

// sendCall posts a call's events one after the other, in order: the next
// event is sent when the previous one was answered, as a PBX would.
func (s *simulator) sendCall(ctx context.Context, call catalog.Call) {
	complete := true
	for _, ev := range call.Events {
		if ctx.Err() != nil {
			complete = false
			break
		}
		if !s.sendEvent(ctx, ev) {
			complete = false
		}
	}
	if complete {
		s.stats.callsDone.Add(1)
	}
}

// sendEvent posts one event, retrying network errors, 429 and 5xx twice
// (ingest is idempotent on event_id), and reports whether it was accepted.
func (s *simulator) sendEvent(ctx context.Context, ev map[string]any) bool {
	body, err := json.Marshal(ev)
	if err != nil { // cannot happen for a normalized payload
		s.stats.events.Add(1)
		s.stats.c4xx.Add(1)
		s.showError(fmt.Sprintf("encode %v: %v", ev["event_id"], err))
		return false
	}
	defer s.stats.events.Add(1)
	const tries = 3
	for try := 1; ; try++ {
		status, reply, msg := s.post(ctx, body)
		switch {
		case status >= 200 && status < 300:
			s.stats.ok2xx.Add(1)
			s.stats.deliveries.Add(int64(reply.Data.Deliveries))
			if reply.Data.Duplicate {
				s.stats.duplicates.Add(1)
			}
			return true
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			s.stats.c4xx.Add(1)
			s.abort(fmt.Errorf("simulate: %w: %s", errRefused, msg))
			return false
		case try < tries && ctx.Err() == nil && (status == 0 || status == http.StatusTooManyRequests || status >= 500):
			s.stats.retries.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(try*try) * 100 * time.Millisecond):
			}
			continue
		case status == 0:
			s.stats.netErrs.Add(1)
		case status >= 500:
			s.stats.c5xx.Add(1)
		case status < 400: // a redirect: not followed
			s.stats.c3xx.Add(1)
		default:
			s.stats.c4xx.Add(1)
		}
		s.showError(fmt.Sprintf("%v %v: %s", ev["event"], ev["event_id"], msg))
		return false
	}
}

// post sends one request; status 0 means no HTTP response.
func (s *simulator) post(ctx context.Context, body []byte) (status int, reply ingestReply, msg string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, reply, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+s.o.Key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ringhook-simulate")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, reply, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := json.Unmarshal(b, &reply); err != nil {
			return res.StatusCode, reply, "unexpected response body: " + err.Error()
		}
		return res.StatusCode, reply, ""
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 500 {
		text = text[:500] + "…"
	}
	return res.StatusCode, reply, fmt.Sprintf("HTTP %d %s", res.StatusCode, text)
}

// showError prints the first few failures so a broken setup is obvious
// without flooding the terminal.
func (s *simulator) showError(msg string) {
	const shown = 5
	s.stderrMu.Lock()
	defer s.stderrMu.Unlock()
	switch n := s.stats.shownErrors.Add(1); {
	case n <= shown:
		fmt.Fprintln(s.stderr, "simulate:", msg)
	case n == shown+1:
		fmt.Fprintln(s.stderr, "simulate: (further errors are only counted)")
	}
}

// DefaultDIDs are the demo account's numbers (ringhook serve in development).
var DefaultDIDs = []string{"+918287842425", "+918287842426", "+14155550123"}

// parseDIDs reads a comma-separated list of the account's numbers.
func parseDIDs(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, ok := catalog.NormalizeE164(f)
		if !ok {
			return nil, fmt.Errorf("--dids: %q is not a phone number in E.164 form (+<country><number>)", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--dids: give at least one number")
	}
	return out, nil
}
