package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

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
				!slices.Equal(o.DIDs, DefaultDIDs) {
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
