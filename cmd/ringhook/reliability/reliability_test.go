package reliability

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildRinghook builds the ringhook binary the children run.
func buildRinghook(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the children: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ringhook")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/ringhook/ringhook/cmd/ringhook")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The short form CI runs: every scenario with small counts against real
// `ringhook serve` children and a private PostgreSQL. What the product
// promises today is asserted (nothing accepted is lost; no hostile input
// gets a 5xx; the children survive); the timings and the isolation ratio
// are reported, not asserted, since they depend on the machine.
func TestShortForm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and ringhook processes")
	}
	bin := buildRinghook(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"--short", "--events", "200", "--pg-down", "3s", "--rate", "50", "--iso-events", "100",
		"--resume-max", "100s", "--settle-max", "2m", "--receiver-ms", "50"}
	o, err := parseFlags(args, Env{Binary: bin}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := measure(ctx, o, commandLine(args), &progress)
	var table bytes.Buffer
	if res != nil {
		res.write(&table)
	}
	t.Logf("\n%s", table.String())
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, progress.String())
	}
	want := map[string]func(row) bool{
		"kill -9 mid-dispatch": func(r row) bool { return strings.Contains(r.Figure, "after kill -9") },
		"pg stop 3s": func(r row) bool {
			return strings.Contains(r.Figure, "readyz 503") && strings.Contains(r.Figure, "200 ")
		},
		"3 processes, one database": func(r row) bool { return strings.Contains(r.Figure, "multi-1") },
		"broken-receiver isolation": func(r row) bool { return strings.Contains(r.Figure, "isolation ratio") && r.Events == 100 },
		"hostile-input sweep":       func(r row) bool { return strings.HasPrefix(r.Figure, "0 answers 5xx") && r.Events > 500 },
	}
	for _, r := range res.Rows {
		check, ok := want[r.Scenario]
		if !ok {
			t.Errorf("unexpected row %q", r.Scenario)
			continue
		}
		delete(want, r.Scenario)
		if !check(r) {
			t.Errorf("%s: figure %q", r.Scenario, r.Figure)
		}
		if r.Deliveries >= 0 && (r.Lost != 0 || r.Deliveries < 2*r.Events || r.Events == 0) {
			t.Errorf("%s: %d events, %d deliveries, %d lost: want every accepted delivery to arrive", r.Scenario, r.Events, r.Deliveries, r.Lost)
		}
		if strings.Contains(r.Figure, "EXITED") || strings.Contains(r.Figure, "never accepted") {
			t.Errorf("%s: %s", r.Scenario, r.Figure)
		}
	}
	for s := range want {
		t.Errorf("no row for %q", s)
	}
	if len(res.Offenders) > 0 {
		t.Errorf("hostile requests answered 5xx: %v", res.Offenders)
	}
	if t.Failed() {
		t.Log(progress.String())
	}
}

// Flags are checked before anything starts.
func TestParseFlags(t *testing.T) {
	cases := []struct {
		args []string
		err  string
	}{
		{[]string{"--scenarios", "kill,nope"}, `unknown scenario "nope"`},
		{[]string{"--scenarios", ","}, "at least one"},
		{[]string{"--events", "1"}, "--events"},
		{[]string{"--processes", "1"}, "--processes"},
		{[]string{"--rate", "0"}, "--rate"},
		{[]string{"--pg-down", "-1s"}, "--pg-down"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, err := parseFlags(c.args, Env{Binary: "/bin/true"}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want one containing %q", err, c.err)
			}
		})
	}
	o, err := parseFlags([]string{"--scenarios", "hostile,kill"}, Env{Binary: "/bin/true"}, io.Discard)
	if err != nil || strings.Join(o.Scenarios, ",") != "kill,hostile" {
		t.Errorf("scenarios %v (%v), want kill,hostile in run order", o.Scenarios, err)
	}
	if _, err := parseFlags([]string{"--scenarios", "kill"}, Env{}, io.Discard); err == nil || !strings.Contains(err.Error(), "--binary") {
		t.Errorf("no binary: %v, want an error naming --binary", err)
	}
	if _, err := parseFlags([]string{"--scenarios", "iso"}, Env{}, io.Discard); err != nil {
		t.Errorf("iso needs no binary: %v", err)
	}
}

// readiness reads the /readyz samples around an outage.
func TestReadiness(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	stop, up := at(1000), at(5000)
	cases := []struct {
		name    string
		samples []readySample
		want    string
	}{
		{"down and back", []readySample{{at(900), 200}, {at(1200), 503}, {at(4900), 0}, {at(5300), 503}, {at(5600), 200}},
			"readyz 503 0.2s after the stop, 200 0.6s after the start"},
		{"never down", []readySample{{at(900), 200}, {at(1100), 200}, {at(5100), 200}},
			"readyz never left 200, 200 0.1s after the start"},
		{"not back", []readySample{{at(1100), 503}, {at(5100), 503}},
			"readyz 503 0.1s after the stop, not ready again within 30s of the start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := readiness(c.samples, stop, up); got != c.want {
				t.Errorf("readiness = %q, want %q", got, c.want)
			}
		})
	}
}

// The receiver's tally: a key never seen is lost, every arrival after a
// key's first is a duplicate.
func TestTally(t *testing.T) {
	r := &receiver{count: map[string]int{"e1 /a": 1, "e2 /a": 3, "stray /a": 2}}
	lost, dups := r.tally(map[string]bool{"e1 /a": true, "e2 /a": true, "e3 /a": true})
	if lost != 1 || dups != 3 {
		t.Errorf("tally = %d lost, %d dups; want 1 and 3", lost, dups)
	}
}
