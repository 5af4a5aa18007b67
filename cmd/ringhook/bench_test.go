package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", ds(7), 50, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p0 is the min", ds(3, 4), 0, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(p%g) = %s, want %s", tc.p, got, tc.want)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantPPID int
		wantCPU  time.Duration
		ok       bool
	}{
		{"postgres backend", "4242 (postgres: ringhook db 127.0.0.1(5) idle) S 4200 4200 4200 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 1 0 100 0 0",
			4200, 3 * time.Second, true},
		{"too short", "1 (init) S 0 1", 0, 0, false},
		{"garbage", "no parens here", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ppid, cpu, ok := parseProcStat(tc.in)
			if ppid != tc.wantPPID || cpu != tc.wantCPU || ok != tc.ok {
				t.Errorf("parseProcStat = %d, %s, %v; want %d, %s, %v", ppid, cpu, ok, tc.wantPPID, tc.wantCPU, tc.ok)
			}
		})
	}
}

func TestMachineBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total, ok := machineBusy("cpu  100 5 45 800 50 0 0 0 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if !ok || busy != 1500*time.Millisecond || total != 10*time.Second {
		t.Errorf("machineBusy = %s, %s, %v; want 1.5s, 10s, true", busy, total, ok)
	}
	if _, _, ok := machineBusy("intr 1 2 3"); ok {
		t.Error("machineBusy accepted a line that is not the cpu line")
	}
}

func TestSQLLabel(t *testing.T) {
	got := sqlLabel("WITH busy AS (\n\t\tSELECT key AS webhook_id,   value::int AS n FROM jsonb_each_text($1) ) SELECT * FROM deliveries WHERE id = 1")
	want := "WITH busy AS ( SELECT key AS webhook_id, value::int AS n FROM js…"
	if got != want {
		t.Errorf("sqlLabel = %q\nwant %q", got, want)
	}
	if got := sqlLabel("SELECT 1"); got != "SELECT 1" {
		t.Errorf("sqlLabel(short) = %q", got)
	}
}

func TestCPUModel(t *testing.T) {
	in := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags\t\t: fpu\n"
	if got := cpuModel(strings.NewReader(in)); got != "AMD EPYC 7B13 64-Core Processor" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(strings.NewReader("processor: 0\n")); got != "unknown" {
		t.Errorf("cpuModel without a model name = %q", got)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "ringhook bench"},
		{[]string{"--events", "500", "--cpuprofile", "/tmp/cpu.out"}, "ringhook bench --events 500 --cpuprofile /tmp/cpu.out"},
		{[]string{"--cpuprofile", "my profile's.out"}, `ringhook bench --cpuprofile 'my profile'\''s.out'`},
		{[]string{""}, "ringhook bench ''"},
	}
	for _, tc := range tests {
		if got := commandLine(tc.args); got != tc.want {
			t.Errorf("commandLine(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@db:5432/app?sslmode=disable", "postgres://u:p@db:5432/ringhook_bench_1?sslmode=disable"},
		{"postgresql://u@db/app?dbname=app", "postgresql://u@db/ringhook_bench_1"},
		{"host=db user=u dbname=app", "host=db user=u dbname=app dbname='ringhook_bench_1'"},
	}
	for _, tc := range tests {
		got, err := withDatabase(tc.in, "ringhook_bench_1")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseBenchFlags(t *testing.T) {
	o, err := parseBenchFlags(nil, 32, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Events != 20000 || o.Rate != 200 || o.LatencyFor != 10*time.Second || o.Workers != 32 || o.Webhooks != 4 || o.CeilingFor != 5*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	want := "--events 20000 --rate 200 --latency-for 10s --workers 32 --webhooks 4 --per-webhook 8 --batch 64 --poll 500ms --ingesters 8 --ceiling-for 5s --max-wait 10m0s"
	if got := o.effectiveFlags(); got != want {
		t.Errorf("effectiveFlags = %s\nwant %s", got, want)
	}
	for _, bad := range [][]string{{"--events", "0"}, {"--rate", "-1"}, {"--workers", "0"}, {"--webhooks", "0"}, {"--latency-for", "1ms"}, {"extra"}} {
		if _, err := parseBenchFlags(bad, 32, io.Discard); err == nil {
			t.Errorf("parseBenchFlags(%q) accepted", bad)
		}
	}
}

// The receiver answers 204 and records arrivals per webhook-id only while
// recording.
func TestSink(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	post := func(id string) {
		req, _ := http.NewRequest(http.MethodPost, s.base+"/hook/1", strings.NewReader("{}"))
		if id != "" {
			req.Header["webhook-id"] = []string{id} // as the dispatcher sends it
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("status %d", res.StatusCode)
		}
	}
	post("evt_before")
	s.record(true)
	post("evt_a")
	post("")
	if got := s.taken(); len(got) != 1 || got[0].id != "evt_a /hook/1" || got[0].at.IsZero() {
		t.Errorf("arrivals = %+v", got)
	}
	if s.total.Load() != 3 {
		t.Errorf("total = %d, want 3", s.total.Load())
	}
}

func TestBenchEvents(t *testing.T) {
	evs, err := benchEvents(newCallGenerator(3, defaultDIDs), 101)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 101 {
		t.Fatalf("%d events", len(evs))
	}
	types := map[string]bool{}
	for _, typ := range benchEventTypes {
		types[typ] = true
	}
	for _, ev := range evs {
		if !types[ev["event"].(string)] {
			t.Errorf("event type %v is not in benchEventTypes, so the bench webhooks would not match it", ev["event"])
		}
	}
}
