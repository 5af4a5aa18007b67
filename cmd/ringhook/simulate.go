package main

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
	dids := fs.String("dids", strings.Join(defaultDIDs, ","), "the account's numbers (DIDs), comma-separated E.164")
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
	byKind                  [numCallKinds]atomic.Int64
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

// simulate is `ringhook simulate`.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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

	gen := newCallGenerator(o.Seed, o.DIDs)
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
		call, err := gen.next(time.Now())
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
	for k := range numCallKinds {
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
func (s *simulator) sendCall(ctx context.Context, call simCall) {
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

// ---- call lifecycle generator (pure; see simulate_test.go) ----

// callKind is one of the call lifecycles the simulator produces.
type callKind int

const (
	inboundAnswered callKind = iota
	inboundMissed
	outboundAnswered
	outboundMissed
	clickToCall
	numCallKinds
)

var callKindNames = [numCallKinds]string{"inbound answered", "inbound missed", "outbound answered", "outbound missed", "click-to-call"}

func (k callKind) String() string {
	if k < 0 || k >= numCallKinds {
		return fmt.Sprintf("callKind(%d)", int(k))
	}
	return callKindNames[k]
}

// callKindWeights is the traffic mix, in percent.
var callKindWeights = [numCallKinds]int{40, 20, 20, 10, 10}

// simCall is one generated call: its events in the order a PBX emits them,
// each already in canonical form (catalog.Normalize passed).
type simCall struct {
	Kind   callKind
	ID     string
	Events []map[string]any
}

// callFieldNames are the fields every call event carries; the generator
// sets all of them from the call's state so nothing from catalog.Sample's
// unrelated random call leaks into an event.
var callFieldNames = catalog.CallFields()

// simExtension is an agent's extension; ids are stable for a whole run.
type simExtension struct{ ID, Number, Name string }

var simExtensions = []simExtension{
	{"ext_5a1e0101", "101", "Kapil"},
	{"ext_5a1e0102", "102", "Asha"},
	{"ext_5a1e0103", "103", "Ravi"},
	{"ext_5a1e0104", "104", "Meera"},
	{"ext_5a1e0105", "105", "Sam"},
}

// The IVR menu of the simulated account: option 1 and 2 go to a queue,
// option 3 rings extensions directly.
const (
	simIVRID   = "ivr_3e9a0001"
	simIVRName = "Main menu"
)

type ivrOption struct {
	Digit, Label, QueueID, QueueName string
}

var simIVROptions = []ivrOption{
	{"1", "Sales", "queue_5a1e5001", "Sales queue"},
	{"2", "Support", "queue_5a1e5002", "Support queue"},
	{"3", "Billing", "", ""},
}

var simCustomerNames = []string{"Priya Sharma", "Rahul Verma", "Maria Garcia", "John Smith", "Aisha Khan", "Test Man"}

// companyName is the caller-ID name shown on outbound calls.
const companyName = "Acme Support"

// callGenerator produces realistic, internally consistent call lifecycles.
// It is deterministic for a seed and a sequence of now values, and not safe
// for concurrent use.
type callGenerator struct {
	rnd  *rand.Rand
	dids []string
}

// defaultDIDs are the demo account's numbers (ringhook serve in development).
var defaultDIDs = []string{"+918287842425", "+918287842426", "+14155550123"}

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

func newCallGenerator(seed uint64, dids []string) *callGenerator {
	return &callGenerator{rnd: rand.New(rand.NewPCG(seed, seed^0x5249_4e47_484f_4f4b)), dids: dids}
}

// rndReader adapts the generator's source to io.Reader for NewEventID.
type rndReader struct{ r *rand.Rand }

func (rr rndReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rr.r.Uint32())
	}
	return len(p), nil
}

func (g *callGenerator) between(lo, hi int) int { return lo + g.rnd.IntN(hi-lo+1) }

func (g *callGenerator) secs(lo, hi int) time.Duration {
	return time.Duration(g.between(lo, hi)) * time.Second
}

func (g *callGenerator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

func (g *callGenerator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rnd.IntN(10))
	}
	return string(b)
}

func (g *callGenerator) kind() callKind {
	n := g.rnd.IntN(100)
	for k, w := range callKindWeights {
		if n < w {
			return callKind(k)
		}
		n -= w
	}
	return inboundAnswered
}

// customerFor returns an external number in the DID's country, from ranges
// reserved for fiction or documentation where the country has them.
func (g *callGenerator) customerFor(did string) string {
	switch {
	case strings.HasPrefix(did, "+91"):
		return "+91" + []string{"9", "8", "7"}[g.rnd.IntN(3)] + g.digits(9)
	case strings.HasPrefix(did, "+44"):
		return "+447700900" + g.digits(3)
	case strings.HasPrefix(did, "+1"):
		return "+1" + []string{"212", "646", "312", "617"}[g.rnd.IntN(4)] + "55501" + g.digits(2)
	default: // same country code length is unknown; keep it North American fiction
		return "+1415555" + "01" + g.digits(2)
	}
}

// simState is the evolving state of one call while its events are built.
type simState struct {
	g       *callGenerator
	id      string
	legA    string         // the customer's leg
	legB    string         // the extension's leg
	fields  map[string]any // the call fields, as of the next event
	dialed  []simExtension // extensions rung for the call
	agent   simExtension   // the extension that answers or places the call
	pending []pendingEvent
	events  []map[string]any
}

// next generates one complete call whose last event happens at now: every
// timestamp is at or before now and the events come in PBX order.
func (g *callGenerator) next(now time.Time) (simCall, error) {
	now = now.UTC().Truncate(time.Millisecond)
	kind := g.kind()
	did := g.dids[g.rnd.IntN(len(g.dids))]
	customer := g.customerFor(did)
	var custName any
	if g.rnd.IntN(4) > 0 {
		custName = simCustomerNames[g.rnd.IntN(len(simCustomerNames))]
	}
	perm := g.rnd.Perm(len(simExtensions))
	exts := make([]simExtension, len(perm))
	for i, p := range perm {
		exts[i] = simExtensions[p]
	}

	s := &simState{g: g, legA: "leg_" + g.hex(13), legB: "leg_" + g.hex(13), agent: exts[0]}
	s.fields = make(map[string]any, len(callFieldNames))
	for _, f := range callFieldNames {
		s.fields[f] = nil
	}
	f := s.fields
	f["did_number"], f["customer_number"] = did, customer
	switch kind {
	case inboundAnswered, inboundMissed:
		f["direction"], f["call_type"] = "inbound", "inbound"
		f["from_number"], f["from_name"], f["to_number"], f["to_name"] = customer, custName, did, nil
	default:
		f["direction"], f["call_type"] = "outbound", "outbound"
		if kind == clickToCall {
			f["call_type"] = "click_to_call"
			f["reference_id"] = "ref_" + g.hex(10)
		}
		f["from_number"], f["from_name"], f["to_number"], f["to_name"] = did, companyName, customer, custName
		s.setExtension(s.agent) // the extension that places the call
	}

	// The timeline is built forwards from a provisional start and shifted
	// so that the last event happens at now.
	var err error
	switch kind {
	case inboundAnswered:
		err = s.inboundAnswered(exts)
	case inboundMissed:
		err = s.inboundMissed(exts)
	case outboundAnswered:
		err = s.outboundAnswered()
	case outboundMissed:
		err = s.outboundMissed()
	case clickToCall:
		err = s.clickToCall()
	}
	if err != nil {
		return simCall{}, err
	}
	if err := s.finish(now); err != nil {
		return simCall{}, err
	}
	return simCall{Kind: kind, ID: s.id, Events: s.events}, nil
}

func (s *simState) setExtension(e simExtension) {
	s.fields["extension_id"], s.fields["extension_number"], s.fields["extension_name"] = e.ID, e.Number, e.Name
}

func extensionList(exts []simExtension, results ...string) []any {
	out := make([]any, 0, len(exts))
	for i, e := range exts {
		m := map[string]any{"id": e.ID, "number": e.Number, "name": e.Name}
		if i < len(results) && results[i] != "" {
			m["result"] = results[i]
		}
		out = append(out, m)
	}
	return out
}

// pending is an event before the timeline is anchored: its type, offset
// from the call start, leg, and the call fields and extras as of it.
type pendingEvent struct {
	typ    string
	at     time.Duration
	leg    string
	fields map[string]any
	extra  map[string]any
	times  map[string]time.Duration // started/answered/ended offsets to format
}

// emit records an event at offset at from the call start. times are the
// call's time fields as offsets (started_at is always 0).
func (s *simState) emit(typ string, at time.Duration, leg string, times map[string]time.Duration, extra map[string]any) {
	fields := make(map[string]any, len(s.fields))
	for k, v := range s.fields {
		fields[k] = v
	}
	tcopy := map[string]time.Duration{"started_at": 0}
	for k, v := range times {
		tcopy[k] = v
	}
	s.pending = append(s.pending, pendingEvent{typ: typ, at: at, leg: leg, fields: fields, extra: extra, times: tcopy})
}

// terminal emits call.hangup or call.missed followed by call.ended, both at
// the end of the call, with the same terminal fields.
func (s *simState) terminal(end time.Duration, times map[string]time.Duration, extra map[string]any) {
	typ := "call.missed"
	if s.fields["call_status"] == "answered" {
		typ = "call.hangup"
	}
	times["ended_at"] = end
	extra["duration_seconds"] = int64(end / time.Second)
	s.emit(typ, end, s.legA, times, extra)
	s.emit("call.ended", end, s.legA, times, extra)
}

func (s *simState) recording() any {
	if s.g.rnd.IntN(10) < 7 {
		return "" // filled in finish, once the call id is known
	}
	return nil
}

func (s *simState) inboundAnswered(exts []simExtension) error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "did"})
	t := g.secs(1, 2) // the IVR picks up
	var queue *ivrOption
	viaIVR := g.rnd.IntN(10) < 7
	if viaIVR {
		f["call_status"] = "in_progress"
		f["ivr_id"], f["ivr_name"] = simIVRID, simIVRName
		s.emit("call.ivr_answered", t, s.legA, nil, nil)
		t += g.secs(3, 12)
		opt := simIVROptions[g.rnd.IntN(len(simIVROptions))]
		s.emit("call.dtmf", t, s.legA, nil, map[string]any{"digits": opt.Digit, "menu_level": int64(1), "option_label": opt.Label})
		if opt.QueueID != "" {
			queue = &opt
			f["queue_id"], f["queue_name"] = opt.QueueID, opt.QueueName
		}
	}
	queued := t
	var wait time.Duration
	if queue != nil {
		wait = g.secs(5, 120) // waiting for a free agent, then one is rung
	}
	ring := g.secs(2, 12)
	dialAt := queued + wait
	f["call_status"] = "ringing"
	if viaIVR {
		f["call_status"] = "in_progress" // the IVR already answered the caller
	}
	strategy, dialed := "sequential", exts[:1]
	if queue == nil {
		strategy, dialed = "simultaneous", exts[:2+g.rnd.IntN(2)]
	}
	s.dialed = dialed
	s.emit("call.dialed", dialAt, s.legB, nil, map[string]any{"dialed_extensions": extensionList(dialed), "ring_strategy": strategy})

	answered := dialAt + ring
	f["call_status"] = "in_progress"
	s.setExtension(s.agent)
	times := map[string]time.Duration{"answered_at": answered}
	if queue != nil {
		s.emit("call.queue_answered", answered, s.legB, times,
			map[string]any{"ring_seconds": int64(ring / time.Second), "wait_seconds": int64((wait + ring) / time.Second)})
	} else {
		s.emit("call.answered", answered, s.legB, times, map[string]any{"ring_seconds": int64(ring / time.Second)})
	}

	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	results := make([]string, len(dialed))
	for i := range results {
		results[i] = "no_answer"
	}
	results[0] = "answered"
	s.terminal(answered+talk, times, s.answeredExtra(talk, ring, extensionList(dialed, results...), extensionList(dialed[1:])))
	return nil
}

// missedOutcome picks why a call was not answered and how long it rang.
func (s *simState) missedOutcome(inbound bool) (reason string, ring time.Duration) {
	g := s.g
	reasons := []string{"no_answer", "no_answer", "busy", "caller_abandoned"}
	if !inbound {
		reasons = []string{"no_answer", "no_answer", "busy"}
	}
	reason = reasons[g.rnd.IntN(len(reasons))]
	switch reason {
	case "no_answer":
		ring = g.secs(20, 40)
	case "busy":
		ring = g.secs(0, 2)
	default:
		ring = g.secs(3, 20)
	}
	return reason, ring
}

var (
	missedCause  = map[string]string{"no_answer": "NO_ANSWER", "busy": "USER_BUSY", "caller_abandoned": "ORIGINATOR_CANCEL"}
	missedSIP    = map[string]int64{"no_answer": 480, "busy": 486, "caller_abandoned": 487}
	missedBy     = map[string]string{"no_answer": "system", "busy": "callee", "caller_abandoned": "caller"}
	missedResult = map[string]string{"no_answer": "no_answer", "busy": "busy", "caller_abandoned": "no_answer"}
)

func (s *simState) missedExtra(reason string, ring time.Duration, dialed []simExtension) map[string]any {
	results := make([]string, len(dialed))
	for i := range results {
		results[i] = missedResult[reason]
	}
	return map[string]any{
		"talk_seconds": int64(0), "ring_seconds": int64(ring / time.Second),
		"hangup_cause": missedCause[reason], "hangup_sip_code": missedSIP[reason], "hangup_by": missedBy[reason],
		"dialed_extensions": extensionList(dialed, results...), "missed_extensions": extensionList(dialed),
		"recording_url": nil,
	}
}

func (s *simState) inboundMissed(exts []simExtension) error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "did"})
	dialAt := g.secs(1, 2)
	dialed := exts[:2+g.rnd.IntN(2)]
	s.dialed = dialed
	s.emit("call.dialed", dialAt, s.legB, nil, map[string]any{"dialed_extensions": extensionList(dialed), "ring_strategy": "simultaneous"})
	reason, ring := s.missedOutcome(true)
	f["call_status"], f["missed_reason"] = "missed", reason
	s.terminal(dialAt+ring, map[string]time.Duration{}, s.missedExtra(reason, ring, dialed))
	return nil
}

func (s *simState) outboundAnswered() error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "extension"})
	ring := g.secs(3, 20)
	times := map[string]time.Duration{"answered_at": ring}
	f["call_status"] = "in_progress"
	s.emit("call.answered", ring, s.legB, times, map[string]any{"ring_seconds": int64(ring / time.Second)})
	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	s.terminal(ring+talk, times, s.answeredExtra(talk, ring, extensionList([]simExtension{s.agent}, "answered"), []any{}))
	return nil
}

// answeredExtra is the terminal event's extra fields for an answered call.
func (s *simState) answeredExtra(talk, ring time.Duration, dialed, missed []any) map[string]any {
	return map[string]any{
		"talk_seconds": int64(talk / time.Second), "ring_seconds": int64(ring / time.Second),
		"hangup_cause": "NORMAL_CLEARING", "hangup_sip_code": int64(200), "hangup_by": []string{"caller", "callee"}[s.g.rnd.IntN(2)],
		"dialed_extensions": dialed, "missed_extensions": missed,
		"recording_url": s.recording(),
	}
}

func (s *simState) outboundMissed() error {
	f := s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "extension"})
	reason, ring := s.missedOutcome(false)
	f["call_status"], f["missed_reason"] = "missed", reason
	// The extension placed the call; nobody was rung on the PBX side.
	s.terminal(ring, map[string]time.Duration{}, s.missedExtra(reason, ring, nil))
	return nil
}

func (s *simState) clickToCall() error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "api"})
	extRing, custRing := g.secs(2, 6), g.secs(3, 20)
	answered := extRing + custRing
	times := map[string]time.Duration{"answered_at": answered}
	f["call_status"] = "in_progress"
	s.emit("call.click_to_call.answered", answered, s.legA, times, map[string]any{"customer_ring_seconds": int64(custRing / time.Second)})
	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	s.terminal(answered+talk, times, s.answeredExtra(talk, answered, extensionList([]simExtension{s.agent}, "answered"), []any{}))
	return nil
}

// finish anchors the timeline so the last event is at now, then builds
// every payload from catalog.Sample of its type, overwrites the call's own
// fields, numbers the events and normalizes them.
func (s *simState) finish(now time.Time) error {
	last := s.pending[len(s.pending)-1].at
	start := now.Add(-last)
	s.id = "call_" + strings.TrimPrefix(catalog.NewEventID(start, rndReader{s.g.rnd}), "evt_")
	for i, p := range s.pending {
		at := start.Add(p.at)
		m := catalog.Sample(p.typ, at, s.g.rnd)
		if m == nil {
			return fmt.Errorf("simulate: unknown event type %q", p.typ)
		}
		m["event_id"] = catalog.NewEventID(at, rndReader{s.g.rnd})
		m["occurred_at"] = at.Format(catalog.TimeLayout)
		for k, v := range p.fields {
			m[k] = v
		}
		for k, v := range p.extra {
			m[k] = v
		}
		for k, off := range p.times {
			m[k] = start.Add(off).Format(catalog.TimeLayout)
		}
		if v, ok := m["recording_url"]; ok && v == "" {
			m["recording_url"] = "https://files.ringhook.example/recordings/" + s.id + ".mp3"
		}
		m["call_id"] = s.id
		m["leg_id"] = p.leg
		m["sequence"] = int64(i + 1)
		norm, err := catalog.Normalize(m)
		if err != nil {
			return fmt.Errorf("simulate: generated %s (sequence %d of %s) is invalid: %w", p.typ, i+1, s.id, err)
		}
		s.events = append(s.events, norm)
	}
	return nil
}
