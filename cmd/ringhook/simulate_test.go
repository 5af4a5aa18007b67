package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

var testNow = time.Date(2026, 4, 9, 7, 24, 53, 123_000_000, time.UTC)

// kindPatterns are the event type sequences each lifecycle may produce.
var kindPatterns = map[callKind][][]string{
	inboundAnswered: {
		{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.queue_answered", "call.hangup", "call.ended"},
		{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.answered", "call.hangup", "call.ended"},
		{"call.received", "call.dialed", "call.answered", "call.hangup", "call.ended"},
	},
	inboundMissed:    {{"call.received", "call.dialed", "call.missed", "call.ended"}},
	outboundAnswered: {{"call.received", "call.answered", "call.hangup", "call.ended"}},
	outboundMissed:   {{"call.received", "call.missed", "call.ended"}},
	clickToCall:      {{"call.received", "call.click_to_call.answered", "call.hangup", "call.ended"}},
}

func eventTypes(c simCall) []string {
	out := make([]string, len(c.Events))
	for i, ev := range c.Events {
		out[i] = ev["event"].(string)
	}
	return out
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("time field is %T %v, want a string", v, v)
	}
	tm, err := time.Parse(catalog.TimeLayout, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm
}

// checkCall asserts every rule a generated call must follow.
func checkCall(t *testing.T, c simCall, dids []string, now time.Time) {
	t.Helper()
	types := eventTypes(c)
	if !slices.ContainsFunc(kindPatterns[c.Kind], func(p []string) bool { return slices.Equal(p, types) }) {
		t.Fatalf("%s call %s: events %v match no lifecycle of that kind", c.Kind, c.ID, types)
	}

	// Terminal rule: call.ended last, exactly one of hangup/missed right before it.
	var ended, hangup, missed int
	for _, typ := range types {
		switch typ {
		case "call.ended":
			ended++
		case "call.hangup":
			hangup++
		case "call.missed":
			missed++
		}
	}
	if ended != 1 || hangup+missed != 1 || types[len(types)-1] != "call.ended" {
		t.Fatalf("call %s: terminal events %v: want call.ended last plus exactly one of call.hangup/call.missed", c.ID, types)
	}

	first := c.Events[0]
	var prev time.Time
	for i, ev := range c.Events {
		typ := types[i]
		// Each event is canonical: it passes Normalize unchanged.
		norm, err := catalog.Normalize(ev)
		if err != nil {
			t.Fatalf("call %s event %d (%s) fails Normalize: %v", c.ID, i+1, typ, err)
		}
		if !reflect.DeepEqual(norm, ev) {
			t.Fatalf("call %s event %d (%s) is not canonical:\n got %v\nwant %v", c.ID, i+1, typ, ev, norm)
		}
		if ev["call_id"] != c.ID || !strings.HasPrefix(c.ID, "call_") {
			t.Errorf("event %d call_id %v, want %s", i+1, ev["call_id"], c.ID)
		}
		if ev["sequence"] != int64(i+1) {
			t.Errorf("call %s event %d (%s): sequence %v, want %d", c.ID, i+1, typ, ev["sequence"], i+1)
		}
		at := parseTime(t, ev["occurred_at"])
		if at.Before(prev) || at.After(now) {
			t.Errorf("call %s event %d (%s): occurred_at %s not in order (previous %s) or after now %s", c.ID, i+1, typ, at, prev, now)
		}
		prev = at
		for _, f := range []string{"started_at", "direction", "call_type", "from_number", "to_number", "did_number", "customer_number"} {
			if ev[f] != first[f] {
				t.Errorf("call %s event %d (%s): %s = %v, first event had %v", c.ID, i+1, typ, f, ev[f], first[f])
			}
		}
		if started := parseTime(t, ev["started_at"]); started.After(at) {
			t.Errorf("call %s event %d: started_at %s after occurred_at %s", c.ID, i+1, started, at)
		}
		if ev["answered_at"] != nil {
			if a := parseTime(t, ev["answered_at"]); a.After(at) {
				t.Errorf("call %s event %d (%s): answered_at %s after occurred_at %s", c.ID, i+1, typ, a, at)
			}
		}
		if u, ok := ev["recording_url"].(string); ok && !strings.Contains(u, c.ID) {
			t.Errorf("call %s: recording_url %q is another call's", c.ID, u)
		}
		if id, ok := ev["extension_id"].(string); ok && !slices.ContainsFunc(simExtensions, func(e simExtension) bool { return e.ID == id }) {
			t.Errorf("call %s: extension_id %q is not one of the account's extensions", c.ID, id)
		}
	}
	if !slices.Contains(dids, first["did_number"].(string)) {
		t.Errorf("call %s: did_number %v is not one of %v", c.ID, first["did_number"], dids)
	}

	last := c.Events[len(c.Events)-1]
	term := c.Events[len(c.Events)-2]
	for _, f := range []string{"occurred_at", "ended_at", "call_status", "missed_reason", "duration_seconds", "talk_seconds", "hangup_cause", "recording_url"} {
		if !reflect.DeepEqual(last[f], term[f]) {
			t.Errorf("call %s: %s differs between %s (%v) and call.ended (%v)", c.ID, f, term["event"], term[f], last[f])
		}
	}
	if last["ended_at"] != last["occurred_at"] {
		t.Errorf("call %s: ended_at %v != occurred_at %v", c.ID, last["ended_at"], last["occurred_at"])
	}
	wantDir, wantType := "inbound", "inbound"
	switch c.Kind {
	case outboundAnswered, outboundMissed:
		wantDir, wantType = "outbound", "outbound"
	case clickToCall:
		wantDir, wantType = "outbound", "click_to_call"
	}
	if first["direction"] != wantDir || first["call_type"] != wantType {
		t.Errorf("%s call: direction %v call_type %v, want %s %s", c.Kind, first["direction"], first["call_type"], wantDir, wantType)
	}
	switch c.Kind {
	case inboundMissed, outboundMissed:
		if term["event"] != "call.missed" || term["call_status"] != "missed" || term["talk_seconds"] != int64(0) {
			t.Errorf("%s call ends with %v status %v talk %v", c.Kind, term["event"], term["call_status"], term["talk_seconds"])
		}
		if r := term["missed_reason"]; r != "no_answer" && r != "busy" && r != "caller_abandoned" {
			t.Errorf("missed_reason %v", r)
		}
		if term["answered_at"] != nil {
			t.Errorf("a missed call has answered_at %v", term["answered_at"])
		}
	default:
		if term["event"] != "call.hangup" || term["call_status"] != "answered" || term["answered_at"] == nil || term["missed_reason"] != nil {
			t.Errorf("%s call ends with %v status %v answered_at %v missed_reason %v", c.Kind, term["event"], term["call_status"], term["answered_at"], term["missed_reason"])
		}
		talk := parseTime(t, term["ended_at"]).Sub(parseTime(t, term["answered_at"]))
		if term["talk_seconds"] != int64(talk/time.Second) {
			t.Errorf("talk_seconds %v, answered_at..ended_at is %s", term["talk_seconds"], talk)
		}
	}
	if c.Kind == clickToCall && first["reference_id"] == nil {
		t.Error("click-to-call without reference_id")
	}
	dur := parseTime(t, term["ended_at"]).Sub(parseTime(t, term["started_at"]))
	if term["duration_seconds"] != int64(dur/time.Second) {
		t.Errorf("duration_seconds %v, started_at..ended_at is %s", term["duration_seconds"], dur)
	}
}

func TestCallGenerator(t *testing.T) {
	tests := []struct {
		name string
		seed uint64
		dids []string
	}{
		{"default numbers", 1, defaultDIDs},
		{"another seed", 0xdeadbeef, defaultDIDs},
		{"one UK number", 42, []string{"+442079460123"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newCallGenerator(tc.seed, tc.dids)
			kinds := map[callKind]int{}
			eventIDs := map[string]bool{}
			callIDs := map[string]bool{}
			for i := range 400 {
				now := testNow.Add(time.Duration(i) * 137 * time.Millisecond)
				c, err := g.next(now)
				if err != nil {
					t.Fatal(err)
				}
				checkCall(t, c, tc.dids, now.Truncate(time.Millisecond))
				kinds[c.Kind]++
				if callIDs[c.ID] {
					t.Fatalf("call id %s generated twice", c.ID)
				}
				callIDs[c.ID] = true
				for _, ev := range c.Events {
					id := ev["event_id"].(string)
					if eventIDs[id] {
						t.Fatalf("event id %s generated twice", id)
					}
					eventIDs[id] = true
				}
			}
			for k := range numCallKinds {
				if kinds[k] == 0 {
					t.Errorf("no %s call in 400", k)
				}
			}
		})
	}
}

func TestCallGeneratorDeterministic(t *testing.T) {
	a, b := newCallGenerator(7, defaultDIDs), newCallGenerator(7, defaultDIDs)
	for range 20 {
		ca, err1 := a.next(testNow)
		cb, err2 := b.next(testNow)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !reflect.DeepEqual(ca, cb) {
			t.Fatalf("same seed, different calls:\n%v\n%v", ca, cb)
		}
	}
	c, _ := newCallGenerator(8, defaultDIDs).next(testNow)
	d, _ := newCallGenerator(7, defaultDIDs).next(testNow)
	if c.ID == d.ID {
		t.Error("different seeds gave the same call id")
	}
}

// The generator sets every call field itself; the list must be the
// catalog's, or a value from Sample's unrelated call would leak through.
func TestCallFieldNamesMatchCatalog(t *testing.T) {
	want := slices.DeleteFunc(catalog.Fields("call.ivr_answered"), func(f string) bool { return f == "occurred_at" })
	got := slices.Sorted(slices.Values(callFieldNames))
	if !slices.Equal(got, want) {
		t.Errorf("callFieldNames = %v\nwant %v", got, want)
	}
}

func TestParseDIDs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"+918287842425,+14155550123", []string{"+918287842425", "+14155550123"}, false},
		{" +91 82878 42425 , 0014155550123,", []string{"+918287842425", "+14155550123"}, false},
		{"", nil, true},
		{"+91828,abc", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDIDs(tc.in)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("parseDIDs(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseSimulateFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o simOptions)
		wantErr string
	}{
		{"defaults", []string{"--key", "sk_test_x"}, func(t *testing.T, o simOptions) {
			if o.URL != "http://127.0.0.1:8080" || o.Rate != 5 || o.Duration != 30*time.Second || o.Calls != 0 || o.Seed == 0 ||
				!slices.Equal(o.DIDs, defaultDIDs) {
				t.Errorf("defaults: %+v", o)
			}
		}, ""},
		{"calls alone lift the time limit", []string{"--key", "sk_test_x", "--calls", "10"}, func(t *testing.T, o simOptions) {
			if o.Calls != 10 || o.Duration != 0 {
				t.Errorf("calls %d duration %s", o.Calls, o.Duration)
			}
		}, ""},
		{"calls and duration", []string{"--key", "sk_test_x", "--calls", "10", "--duration", "2s", "--seed", "9", "--url", "http://localhost:9/x/"},
			func(t *testing.T, o simOptions) {
				if o.Calls != 10 || o.Duration != 2*time.Second || o.Seed != 9 || o.URL != "http://localhost:9/x" {
					t.Errorf("%+v", o)
				}
			}, ""},
		{"no key", nil, nil, "--key is required"},
		{"not a key", []string{"--key", "hunter2"}, nil, "starting with sk_"},
		{"bad url", []string{"--key", "sk_x", "--url", "ftp://x"}, nil, "--url"},
		{"url with query", []string{"--key", "sk_x", "--url", "http://x/?a=1"}, nil, "--url"},
		{"zero rate", []string{"--key", "sk_x", "--rate", "0"}, nil, "--rate"},
		{"unbounded", []string{"--key", "sk_x", "--duration", "0"}, nil, "so the run ends"},
		{"bad did", []string{"--key", "sk_x", "--dids", "12"}, nil, "--dids"},
		{"stray argument", []string{"--key", "sk_x", "now"}, nil, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RINGHOOK_API_KEY", "")
			o, err := parseSimulateFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

// fakeAPI stands in for POST /api/v1/events: it checks what the real
// handler checks, validates with catalog.Normalize and keeps per-call state.
type fakeAPI struct {
	t      *testing.T
	key    string
	status func(n int64) int // status for the n-th request (1-based); nil: 202

	requests atomic.Int64
	mu       sync.Mutex
	accepted int
	problems []string
	calls    map[string][]map[string]any
}

func (f *fakeAPI) problem(format string, a ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/v1/events":
		f.problem("%s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	case r.Header.Get("Authorization") != "Bearer "+f.key:
		f.problem("Authorization %q", r.Header.Get("Authorization"))
	case r.Header.Get("Content-Type") != "application/json":
		f.problem("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if f.status != nil {
		if s := f.status(n); s != http.StatusAccepted {
			w.WriteHeader(s)
			fmt.Fprintf(w, `{"error":{"code":"x","message":"status %d"}}`, s)
			return
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		f.problem("decode: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	norm, err := catalog.Normalize(ev)
	if err != nil {
		f.problem("invalid event: %v", err)
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	f.mu.Lock()
	f.accepted++
	id := norm["call_id"].(string)
	f.calls[id] = append(f.calls[id], norm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"data":{"event_id":%q,"deliveries":2,"duplicate":false}}`, norm["event_id"])
}

func newFakeAPI(t *testing.T, key string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, key: key, calls: map[string][]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func runSim(t *testing.T, ctx context.Context, args ...string) (*simulator, string, error) {
	t.Helper()
	o, err := parseSimulateFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.Progress = 50 * time.Millisecond
	var out, errOut bytes.Buffer
	s := newSimulator(o, &errOut)
	err = s.run(ctx, &out)
	return s, out.String() + errOut.String(), err
}

func TestSimulateEndToEnd(t *testing.T) {
	const key = "sk_test_0123456789abcdef"
	api, srv := newFakeAPI(t, key)
	s, out, err := runSim(t, context.Background(), "--url", srv.URL, "--key", key, "--calls", "30", "--rate", "300", "--seed", "11", "--concurrency", "8")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	if len(api.problems) > 0 {
		t.Fatalf("the API saw problems: %v", api.problems)
	}
	st := &s.stats
	sent := int64(api.accepted)
	if st.callsStarted.Load() != 30 || st.callsDone.Load() != 30 || len(api.calls) != 30 {
		t.Errorf("calls started %d done %d, API saw %d; want 30", st.callsStarted.Load(), st.callsDone.Load(), len(api.calls))
	}
	if st.events.Load() != sent || st.ok2xx.Load() != sent || api.requests.Load() != sent {
		t.Errorf("events %d, 2xx %d, requests %d; API accepted %d", st.events.Load(), st.ok2xx.Load(), api.requests.Load(), sent)
	}
	if st.deliveries.Load() != 2*sent || st.c4xx.Load()+st.c5xx.Load()+st.netErrs.Load() != 0 {
		t.Errorf("deliveries %d (want %d), failures %d", st.deliveries.Load(), 2*sent, st.c4xx.Load()+st.c5xx.Load()+st.netErrs.Load())
	}
	// Events of one call arrive in order, ending with the terminal pair.
	for id, evs := range api.calls {
		for i, ev := range evs {
			if ev["sequence"] != int64(i+1) {
				t.Errorf("call %s: event %d arrived with sequence %v", id, i+1, ev["sequence"])
			}
		}
		n := len(evs)
		if evs[n-1]["event"] != "call.ended" || (evs[n-2]["event"] != "call.hangup" && evs[n-2]["event"] != "call.missed") {
			t.Errorf("call %s ends with %v, %v", id, evs[n-2]["event"], evs[n-1]["event"])
		}
	}
	for _, want := range []string{fmt.Sprintf("events   %d sent", sent), fmt.Sprintf("queued   %d deliveries", 2*sent), "30 calls (30 complete)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateRetriesAndFailures(t *testing.T) {
	const key = "sk_test_retry"
	api, srv := newFakeAPI(t, key)
	// Requests 1 and 2 fail with 503 (retried), request 5 is a 422.
	api.status = func(n int64) int {
		switch n {
		case 1, 2:
			return http.StatusServiceUnavailable
		case 5:
			return http.StatusUnprocessableEntity
		}
		return http.StatusAccepted
	}
	s, out, err := runSim(t, context.Background(), "--url", srv.URL, "--key", key, "--calls", "3", "--rate", "100", "--concurrency", "1")
	if err == nil || !strings.Contains(err.Error(), "1 of") {
		t.Fatalf("err = %v, want one event not accepted\n%s", err, out)
	}
	st := &s.stats
	if st.retries.Load() != 2 || st.c4xx.Load() != 1 || st.ok2xx.Load() != st.events.Load()-1 || st.callsDone.Load() != 2 {
		t.Errorf("retries %d 4xx %d 2xx %d events %d calls done %d", st.retries.Load(), st.c4xx.Load(), st.ok2xx.Load(), st.events.Load(), st.callsDone.Load())
	}
	if !strings.Contains(out, "HTTP 422") {
		t.Errorf("the 422 was not shown:\n%s", out)
	}
}

func TestSimulateRefusedKeyStops(t *testing.T) {
	api, srv := newFakeAPI(t, "sk_test_right")
	api.status = func(int64) int { return http.StatusUnauthorized }
	start := time.Now()
	s, out, err := runSim(t, context.Background(), "--url", srv.URL, "--key", "sk_test_wrong", "--duration", "20s", "--rate", "50", "--concurrency", "1")
	if !errors.Is(err, errRefused) {
		t.Fatalf("err = %v, want errRefused\n%s", err, out)
	}
	if time.Since(start) > 5*time.Second || s.stats.events.Load() > 3 {
		t.Errorf("kept going after a 401: %s, %d events", time.Since(start), s.stats.events.Load())
	}
}

func TestSimulateRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v1/events", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	s, _, err := runSim(t, context.Background(), "--url", srv.URL, "--key", "sk_test_x", "--calls", "1")
	if err == nil || elsewhere.Load() != 0 || s.stats.c3xx.Load() == 0 {
		t.Errorf("err %v, requests elsewhere %d, 3xx %d", err, elsewhere.Load(), s.stats.c3xx.Load())
	}
}

func TestSimulateStopsOnCancel(t *testing.T) {
	api, srv := newFakeAPI(t, "sk_test_c")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	s, out, err := runSim(t, ctx, "--url", srv.URL, "--key", "sk_test_c", "--duration", "30s", "--rate", "20")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s after cancel", el)
	}
	// Calls in flight were finished, so every call kept the terminal rule.
	if st := &s.stats; st.callsStarted.Load() == 0 || st.callsDone.Load() != st.callsStarted.Load() || len(api.calls) != int(st.callsStarted.Load()) {
		t.Errorf("calls started %d, done %d, API saw %d", st.callsStarted.Load(), st.callsDone.Load(), len(api.calls))
	}
	if !strings.Contains(out, "] calls ") {
		t.Errorf("no progress line:\n%s", out)
	}
}
