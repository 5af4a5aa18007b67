package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
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

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, 32, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Phases != "ABCIWGO" || o.IdleWebhooks != 50000 || o.IdleFor != 10*time.Second || o.Events != 20000 || o.Rate != 200 || o.LatencyFor != 10*time.Second || o.Workers != 32 || o.Webhooks != 4 || o.CeilingFor != 5*time.Second ||
		o.IsoEvents != 1000 || o.BrokenTimeout != 10*time.Second || o.SlowAnswer != 5*time.Second || o.HugeMB != 100 {
		t.Errorf("defaults: %+v", o)
	}
	want := "--phases A,B,C,I,W,G,O --events 20000 --rate 200 --latency-for 10s --workers 32 --webhooks 4 --per-webhook 8 --batch 64 --poll 500ms --ingesters 8 --ceiling-for 5s --max-wait 10m0s" +
		" --iso-events 1000 --iso-max 2m0s --broken-timeout 10s --slow-answer 5s --huge-mb 100 --idle-webhooks 50000 --idle-for 10s --receiver-port 0 --broken-port 0 --pg-port 0" +
		" --http-events 20000 --http-clients 32 --http-batch-events 100000 --http-batch 500 --http-batch-clients 4 --http-webhooks 1"
	if got := o.effectiveFlags(); got != want {
		t.Errorf("effectiveFlags = %s\nwant %s", got, want)
	}
	o, err = parseFlags([]string{"--phases", "i,b", "--receiver-port", "18080", "--broken-port", "18081", "--pg-port", "15432"}, 32, io.Discard)
	if err != nil || o.Phases != "BI" || o.ReceiverPort != 18080 || o.BrokenPort != 18081 || o.PGPort != 15432 || !o.has('B') || o.has('A') {
		t.Errorf("parseFlags(phases, ports) = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"--events", "0"}, {"--rate", "-1"}, {"--workers", "0"}, {"--webhooks", "0"}, {"--latency-for", "1ms"}, {"extra"},
		{"--phases", ""}, {"--phases", "A,X"}, {"--receiver-port", "70000"}, {"--broken-port", "65533"}, {"--pg-port", "-1"},
		{"--broken-timeout", "1500ms"}, {"--broken-timeout", "0s"}, {"--huge-mb", "0"}, {"--iso-events", "0"}, {"--iso-max", "10ms"},
		{"--idle-webhooks", "99"}, {"--idle-for", "0s"}} {
		if _, err := parseFlags(bad, 32, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

// The receiver answers 204 and records arrivals per webhook-id only while
// recording.
func TestSink(t *testing.T) {
	s, err := startSink(0)
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

func TestParsePhases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A,B,C,I", "ABCI"}, {"i,a", "AI"}, {"B", "B"}, {"C C", "C"}, {"ICBA", "ABCI"}, {"w,b", "BW"},
	}
	for _, tc := range tests {
		if got, err := parsePhases(tc.in); err != nil || got != tc.want {
			t.Errorf("parsePhases(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ",", "D", "A,B,Z"} {
		if _, err := parsePhases(bad); err == nil {
			t.Errorf("parsePhases(%q) accepted", bad)
		}
	}
}

// Each broken receiver misbehaves as named, on loopback, and close ends
// the requests it holds.
func TestBrokenReceivers(t *testing.T) {
	b, err := startBroken(0, 50*time.Millisecond, 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	client := &http.Client{Timeout: 2 * time.Second}
	post := func(k brokenKind) (*http.Response, []byte, time.Duration, error) {
		start := time.Now()
		res, err := client.Post(b.urls[k], "application/json", strings.NewReader(`{}`))
		if err != nil {
			return nil, nil, time.Since(start), err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, body, time.Since(start), err
	}
	for k, u := range b.urls {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s receiver at %s, want loopback", brokenKind(k), u)
		}
	}
	if res, _, _, err := post(broken500); err != nil || res.StatusCode != http.StatusInternalServerError {
		t.Errorf("500 receiver: %v, %v", res, err)
	}
	if _, _, _, err := post(brokenReset); err == nil || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Errorf("reset receiver: error %v, want a reset connection", err)
	}
	if res, _, took, err := post(brokenSlow); err != nil || res.StatusCode != http.StatusNoContent || took < 50*time.Millisecond {
		t.Errorf("slow receiver: %v after %s, %v", res, took, err)
	}
	if res, body, _, err := post(brokenHuge); err != nil || res.StatusCode != http.StatusOK || len(body) != 3<<20 {
		t.Errorf("huge receiver: %v, %d bytes, %v", res, len(body), err)
	}
	hung := make(chan error, 1)
	go func() {
		_, _, _, err := post(brokenHang)
		hung <- err
	}()
	deadline := time.Now().Add(2 * time.Second)
	for b.hits[brokenHang].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition, bounded
	}
	select {
	case err := <-hung:
		t.Fatalf("hanging receiver answered: %v", err)
	default:
	}
	b.close()
	if err := <-hung; err == nil {
		t.Error("hanging receiver answered after close; want the connection dropped")
	}
	for k := range numBrokenKinds {
		if b.hits[k].Load() != 1 {
			t.Errorf("%s receiver counted %d requests, want 1", k, b.hits[k].Load())
		}
	}
}

// A whole run with small counts: every phase runs against the real
// dispatcher and database and the report carries each phase's figures.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and the dispatcher")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"--events", "200", "--webhooks", "2", "--rate", "100", "--latency-for", "300ms", "--ceiling-for", "200ms",
		"--iso-events", "100", "--iso-max", "20s", "--broken-timeout", "1s", "--slow-answer", "100ms", "--huge-mb", "1", "--workers", "16",
		"--idle-webhooks", "1000", "--idle-for", "1s"}
	err := Run(ctx, Env{DatabaseURL: os.Getenv("TEST_DATABASE_URL"), DefaultWorkers: 32}, args, &out, &errOut)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	rep := out.String()
	for _, want := range []string{
		"command     ringhook bench --events 200",
		"A ceiling", "B throughput  400 deliveries succeeded", "verified: attempts 400 = 200 events x 2 matching",
		"CPU per delivery: ringhook", "C latency     30 events", "CHECKPOINT taken before phase C",
		"I alone       healthy webhook: 100 deliveries succeeded", "I beside", "isolation ratio (beside / alone)",
		"hanging", "connection reset", "huge body",
		"W  idle webhooks: phase B with 10 webhooks, then beside 1000 idle enabled webhooks in 100 accounts",
		"beside 1000 idle webhooks", "claim, nothing due", "idle CPU over 1s",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if t.Failed() {
		t.Log(errOut.String())
	}
}

// --phases runs and reports only the phases asked for, and the ports given
// are the ones opened.
func TestRunPhasesSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL")
	}
	ln, err := listen(0) // find a free port, then give it back for the receiver
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	args := []string{"--phases", "A", "--ceiling-for", "100ms", "--workers", "2", "--receiver-port", strconv.Itoa(port)}
	if err := Run(ctx, Env{DatabaseURL: os.Getenv("TEST_DATABASE_URL"), DefaultWorkers: 32}, args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	rep := out.String()
	if !strings.Contains(rep, "A ceiling") || !strings.Contains(rep, fmt.Sprintf("receiver    http://127.0.0.1:%d ", port)) {
		t.Errorf("report lacks phase A or the receiver on port %d:\n%s", port, rep)
	}
	for _, absent := range []string{"B throughput", "C latency", "I alone", "isolation ratio", "W  idle webhooks"} {
		if strings.Contains(rep, absent) {
			t.Errorf("--phases A reported %q:\n%s", absent, rep)
		}
	}
}

// Phase G sends events through the real server, one per request and in
// batches, and reports both rates with the CPU per event.
func TestRunPhaseG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and the dispatcher")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"--phases", "G", "--http-events", "60", "--http-clients", "4", "--http-batch-events", "250", "--http-batch", "100", "--http-batch-clients", "2", "--workers", "4"}
	if err := Run(ctx, Env{DatabaseURL: os.Getenv("TEST_DATABASE_URL"), DefaultWorkers: 32}, args, &out, &errOut); err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	rep := out.String()
	for _, want := range []string{
		"--http-events 60 --http-clients 4 --http-batch-events 250 --http-batch 100 --http-batch-clients 2 --http-webhooks 1",
		"G http single        4 clients, 60 events in 60 requests", "G http batch of 100  2 clients, 250 events in 3 requests",
		"CPU per event: ringhook process",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(rep, "B throughput") {
		t.Errorf("--phases G reported phase B:\n%s", rep)
	}
}
