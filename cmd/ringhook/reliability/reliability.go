// Package reliability is `ringhook reliability` (what `make reliability`
// runs): it measures how delivery survives failures, on loopback only, and
// prints one table with the command that made it. Scenarios, each bounded
// in time:
//
//	kill      kill -9 of a real `ringhook serve` child mid-dispatch, then a new
//	          child: lost, duplicates, time until the first stranded delivery
//	          (leased by the dead child) reaches the receiver
//	pg        a PostgreSQL restart and a stop of --pg-down mid-run under a
//	          steady ingest: lost, duplicates, the /readyz gap
//	multi     --processes children on one database: lost, duplicates, share of work
//	iso       the benchmark's isolation phase (bench.Isolation): a healthy
//	          webhook's throughput beside five broken receivers / alone
//	hostile   hostile requests to every console and API route of a child: 5xx count
//
// The children are the ringhook binary itself (or --binary), each on its own
// loopback port, on databases of a private PostgreSQL the harness starts
// and stops (models/devdb), never the machine's shared server. Receivers are
// loopback HTTP servers in the harness that count every delivery by
// webhook-id (the event id) and webhook: "lost" is an accepted delivery that
// never arrived within the bounded wait, a "duplicate" a second arrival of
// the same one.
package reliability

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ringhook/ringhook/cmd/ringhook/bench"
)

const usage = `usage: ringhook reliability [--scenarios kill,pg,multi,iso,hostile] [--events 1000] [--processes 3] [--pg-down 10s]
                            [--rate 100] [--resume-max 120s] [--settle-max 3m] [--iso-events 1000] [--short] [--binary PATH] [--keep]`

// allScenarios are the scenario names, in the order they run.
var allScenarios = []string{"kill", "pg", "multi", "iso", "hostile"}

// Env is what the harness takes from its caller.
type Env struct {
	// Binary is the ringhook executable run as the children (main passes
	// its own); --binary overrides it.
	Binary string
}

// options are the harness flags.
type options struct {
	Scenarios  []string
	Events     int           // kill and multi: events ingested
	Processes  int           // multi: children on one database
	PGDown     time.Duration // pg: how long the server stays stopped in the second run
	Rate       float64       // pg: events/s ingested through the outage
	ResumeMax  time.Duration // kill: bound on the wait for the first stranded delivery
	SettleMax  time.Duration // bound on every wait for all deliveries to arrive
	IsoEvents  int
	Short      bool // CI's form: small counts for the isolation phase
	Binary     string
	Keep       bool // keep the work directory (child logs, PostgreSQL log)
	ReceiverMS int  // kill: how long the receiver takes per delivery, so work is in flight when the child dies
}

func (o options) has(s string) bool { return slices.Contains(o.Scenarios, s) }

func parseFlags(args []string, env Env, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("reliability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	var o options
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "scenarios to run: kill, pg, multi, iso, hostile")
	fs.IntVar(&o.Events, "events", 1000, "kill and multi: events ingested through the API (each matches every webhook)")
	fs.IntVar(&o.Processes, "processes", 3, "multi: ringhook serve children on one database")
	fs.DurationVar(&o.PGDown, "pg-down", 10*time.Second, "pg: how long PostgreSQL stays stopped in the stop run (the restart run starts it at once)")
	fs.Float64Var(&o.Rate, "rate", 100, "pg: events per second ingested before, through and after the outage")
	fs.DurationVar(&o.ResumeMax, "resume-max", 120*time.Second, "kill: bound on the wait for the first stranded delivery after the kill")
	fs.DurationVar(&o.SettleMax, "settle-max", 3*time.Minute, "bound on each wait for every accepted delivery to arrive; what is missing then is lost")
	fs.IntVar(&o.IsoEvents, "iso-events", 1000, "iso: events per isolation run (bench --iso-events)")
	fs.IntVar(&o.ReceiverMS, "receiver-ms", 100, "kill: milliseconds the receiver takes per delivery (keeps deliveries in flight at the kill)")
	fs.BoolVar(&o.Short, "short", false, "CI's short form: kill overlaps multi, iso and hostile; only the stop run of pg; the isolation phase with small broken receivers (1s timeout, 100ms slow answer, 1 MB body)")
	fs.StringVar(&o.Binary, "binary", env.Binary, "the ringhook executable to run as children (default: this one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory with the children's and PostgreSQL's logs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("reliability: unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return o, fmt.Errorf("reliability: --scenarios: unknown scenario %q (choose from %s)", s, strings.Join(allScenarios, ", "))
		}
		if !slices.Contains(o.Scenarios, s) {
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	slices.SortFunc(o.Scenarios, func(a, b string) int { return slices.Index(allScenarios, a) - slices.Index(allScenarios, b) })
	switch {
	case len(o.Scenarios) == 0:
		return o, errors.New("reliability: --scenarios: give at least one")
	case o.Events < 10 || o.Events > 1_000_000:
		return o, errors.New("reliability: --events must be between 10 and 1000000")
	case o.Processes < 2 || o.Processes > 16:
		return o, errors.New("reliability: --processes must be between 2 and 16")
	case o.PGDown < 0 || o.PGDown > 10*time.Minute:
		return o, errors.New("reliability: --pg-down must be between 0 and 10m")
	case !(o.Rate >= 1) || o.Rate > 10_000:
		return o, errors.New("reliability: --rate must be between 1 and 10000 events per second")
	case o.ResumeMax < time.Second || o.SettleMax < time.Second:
		return o, errors.New("reliability: --resume-max and --settle-max must be at least 1s")
	case o.IsoEvents < 1 || o.IsoEvents > 1_000_000:
		return o, errors.New("reliability: --iso-events must be between 1 and 1000000")
	case o.ReceiverMS < 0 || o.ReceiverMS > 10_000:
		return o, errors.New("reliability: --receiver-ms must be between 0 and 10000")
	}
	if (o.has("kill") || o.has("pg") || o.has("multi") || o.has("hostile")) && o.Binary == "" {
		return o, errors.New("reliability: --binary: no ringhook executable to run as children")
	}
	return o, nil
}

// row is one line of the table.
type row struct {
	Scenario   string
	Events     int64 // accepted events (hostile: requests sent)
	Deliveries int64 // accepted deliveries (events x matching webhooks)
	Lost, Dups int64 // -1: not applicable
	Figure     string
	Failed     bool // the scenario missed its target (lost, 5xx, ratio)
}

// Result is what a run measured, for the table and for tests.
type Result struct {
	Command string
	Rows    []row
	// Offenders are the first hostile requests that got a 5xx.
	Offenders []string
}

// Run is `ringhook reliability` with its arguments.
func Run(ctx context.Context, env Env, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cmd := commandLine(args)
	if os.Getenv("MAKELEVEL") != "" {
		cmd += "   (via make reliability)"
	}
	res, err := measure(ctx, o, cmd, stderr)
	if res != nil {
		fmt.Fprintln(stdout)
		res.write(stdout)
	}
	if err != nil {
		return err
	}
	var missed []string
	for _, r := range res.Rows {
		if r.Failed {
			missed = append(missed, r.Scenario)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("reliability: target missed in: %s", strings.Join(missed, ", "))
	}
	return nil
}

// measure runs the scenarios o asks for. The result holds the rows of the
// scenarios that finished, also when a later one fails.
func measure(ctx context.Context, o options, cmd string, stderr io.Writer) (*Result, error) {
	h, err := newHarness(ctx, o, stderr)
	if err != nil {
		return nil, err
	}
	defer h.close()
	res := &Result{Command: cmd}
	byName := map[string][]row{}
	var offenders []string
	one := func(s string) error {
		var rs []row
		var err error
		switch s {
		case "kill":
			rs, err = h.kill(ctx)
		case "pg":
			rs, err = h.pgOutage(ctx)
		case "multi":
			rs, err = h.multi(ctx)
		case "iso":
			rs, err = h.isolation(ctx)
		case "hostile":
			var r row
			r, offenders, err = h.hostile(ctx)
			rs = []row{r}
		}
		h.mu.Lock()
		byName[s] = rs
		h.mu.Unlock()
		if err != nil {
			return fmt.Errorf("reliability: %s: %w", s, err)
		}
		return nil
	}
	collect := func() {
		for _, s := range o.Scenarios {
			res.Rows = append(res.Rows, byName[s]...)
		}
		res.Offenders = offenders
	}
	// The short form overlaps kill's wait for its stranded deliveries (it
	// mostly waits for a lease to run out) with multi, iso and hostile;
	// pg stops the shared server, so it runs alone afterwards.
	overlap := o.Short && o.has("kill")
	killDone := make(chan error, 1)
	if overlap {
		go func() { killDone <- one("kill") }()
	}
	order := o.Scenarios
	if overlap {
		order = slices.DeleteFunc(slices.Clone(order), func(s string) bool { return s == "kill" || s == "pg" })
		if o.has("pg") {
			order = append(order, "pg")
		}
	}
	var firstErr error
	for _, s := range order {
		if overlap && s == "pg" {
			firstErr = <-killDone
			overlap = false
			if firstErr != nil {
				break
			}
		}
		if firstErr = one(s); firstErr != nil {
			break
		}
	}
	if overlap {
		if err := <-killDone; firstErr == nil {
			firstErr = err
		}
	}
	collect()
	return res, firstErr
}

func dash(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func (r *Result) write(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("Ringhook reliability (loopback; private PostgreSQL; children are `ringhook serve` processes)")
	p("  command  %s", r.Command)
	p("")
	p("  %-26s %8s %10s %6s %6s  %s", "scenario", "events", "deliveries", "lost", "dups", "figure")
	for _, x := range r.Rows {
		mark := ""
		if x.Failed {
			mark = "   << target missed"
		}
		p("  %-26s %8s %10s %6s %6s  %s%s", x.Scenario, dash(x.Events), dash(x.Deliveries), dash(x.Lost), dash(x.Dups), x.Figure, mark)
	}
	if len(r.Offenders) > 0 {
		p("")
		p("  hostile requests answered 5xx (first %d):", len(r.Offenders))
		for _, s := range r.Offenders {
			p("    %s", s)
		}
	}
}

func commandLine(args []string) string { return bench.CommandLine("reliability", args) }
