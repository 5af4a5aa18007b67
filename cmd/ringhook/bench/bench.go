// Package bench is `ringhook bench` (what `make bench` runs): it measures
// the dispatcher on this machine against loopback receivers and prints the
// figures with the command that made them. Phases:
//
//	A  the raw net/http ceiling of the receiver on this machine
//	B  sustained throughput: events pre-ingested, then delivered as fast as possible
//	C  event-to-delivery latency at a fixed ingest rate
//	I  isolation: a healthy webhook alone, then beside five broken receivers
//	W  idle webhooks: B with 10 webhooks, then beside --idle-webhooks idle ones; idle CPU
//	G  ingest over HTTP (API key, validation, the real server) with the dispatcher running: one event per request, then batches
//	O  call order: the same call events delivered with ordering by call off, then on (throughput ratio)
//
// It runs on a throwaway database (devdb.NewScratch: on DATABASE_URL's
// server, or on a private durable PostgreSQL) and touches the data only
// through the Store, like the server does; its own handle only reads for
// verification and runs the commit probe, CHECKPOINT and (phase W) VACUUM.
package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
)

const usage = `usage: ringhook bench [--phases A,B,C,I,W,G,O] [--events 20000] [--rate 200] [--latency-for 10s] [--workers W] [--webhooks 4]
                      [--per-webhook N] [--batch N] [--poll 500ms] [--ingesters 8] [--ceiling-for 5s] [--max-wait 10m]
                      [--iso-events 1000] [--iso-max 2m] [--broken-timeout 10s] [--slow-answer 5s] [--huge-mb 100]
                      [--idle-webhooks 50000] [--idle-for 10s] [--receiver-port 0] [--broken-port 0] [--pg-port 0] [--cpuprofile FILE] [--trace-sql]
                      [--http-events 20000] [--http-clients 32] [--http-batch-events 100000] [--http-batch 500] [--http-batch-clients 4] [--http-webhooks 1]`

// The targets the report compares against; missing them is not an error.
const (
	targetThroughput = 5000                  // deliveries/s sustained
	targetP99        = 50 * time.Millisecond // event-to-delivery at targetRate
	targetRate       = 200                   // events/s
	targetIsolation  = 0.9                   // healthy throughput beside broken receivers / alone
	targetIdleRatio  = 0.9                   // phase W: throughput beside idle webhooks / without
	targetIdleCPU    = 0.01                  // phase W: cores busy with nothing to do
)

// allPhases are the phase letters, in the order they run.
const allPhases = "ABCIWGO"

// Env is what the benchmark takes from the environment.
type Env struct {
	DatabaseURL    string // "" = a private PostgreSQL
	DefaultWorkers int    // --workers default (RINGHOOK_WORKERS)
}

// options are the bench flags.
type options struct {
	Phases     string        // letters of allPhases, in run order
	Events     int           // phase B: events pre-ingested
	Rate       float64       // phase C: events/s
	LatencyFor time.Duration // phase C: how long to ingest
	Workers    int
	Webhooks   int
	PerWebhook int
	Batch      int
	Poll       time.Duration // dispatcher claim poll interval
	Ingesters  int           // phase B: ingest goroutines
	CeilingFor time.Duration // phase A
	MaxWait    time.Duration // bound on each of phase B's ingest and delivery

	IsoEvents     int           // phase I: events per run (one healthy delivery each)
	IsoMax        time.Duration // phase I: bound on each run
	BrokenTimeout time.Duration // phase I: the broken webhooks' timeout setting
	SlowAnswer    time.Duration // phase I: how long the slow receiver takes
	HugeMB        int           // phase I: body size of the huge-body receiver

	IdleWebhooks int           // phase W: idle enabled webhooks added
	IdleFor      time.Duration // phase W: how long idle CPU is measured

	ReceiverPort int // healthy receiver (0: any free port)
	BrokenPort   int // first of the five broken receivers' ports (0: any free ones)
	PGPort       int // the private PostgreSQL (0: any free port; unused with DATABASE_URL)

	HTTPEvents       int // phase G: events sent one per request
	HTTPClients      int // phase G: clients sending one event per request
	HTTPBatchEvents  int // phase G: events sent in batches
	HTTPBatch        int // phase G: events per batch request
	HTTPBatchClients int // phase G: clients sending batches
	HTTPWebhooks     int // phase G: webhooks, each subscribed to every event

	CPUProfile string
	TraceSQL   bool
}

func (o options) has(phase byte) bool { return strings.IndexByte(o.Phases, phase) >= 0 }

// parsePhases reads "A,B,C,I" (any subset, any case, commas optional).
func parsePhases(s string) (string, error) {
	var out []byte
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ',' || r == ' ':
		case strings.ContainsRune(allPhases, r):
			if !slices.Contains(out, byte(r)) {
				out = append(out, byte(r))
			}
		default:
			return "", fmt.Errorf("bench: --phases: unknown phase %q (choose from A, B, C, I, W, G, O)", r)
		}
	}
	if len(out) == 0 {
		return "", errors.New("bench: --phases: give at least one of A, B, C, I, W, G, O")
	}
	slices.SortFunc(out, func(a, b byte) int { return strings.IndexByte(allPhases, a) - strings.IndexByte(allPhases, b) })
	return string(out), nil
}

func portOK(p int) bool { return p >= 0 && p <= 65535 }

func parseFlags(args []string, defaultWorkers int, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	var o options
	phases := fs.String("phases", "A,B,C,I,W,G,O", "phases to run: A ceiling, B throughput, C latency, I isolation, W idle webhooks, G HTTP ingest, O call order on vs off (e.g. --phases B for a quick run)")
	fs.IntVar(&o.Events, "events", 20000, "phase B: events ingested before the dispatcher starts")
	fs.Float64Var(&o.Rate, "rate", targetRate, "phase C: events ingested per second")
	fs.DurationVar(&o.LatencyFor, "latency-for", 10*time.Second, "phase C: how long to ingest at --rate")
	fs.IntVar(&o.Workers, "workers", defaultWorkers, "dispatcher workers and phase A connections (the default comes from RINGHOOK_WORKERS)")
	fs.IntVar(&o.Webhooks, "webhooks", 4, "phases B and C: webhooks, each subscribed to every event (deliveries = events x webhooks)")
	fs.IntVar(&o.PerWebhook, "per-webhook", dispatch.DefaultPerWebhook, "dispatcher cap on requests in flight per webhook")
	fs.IntVar(&o.Batch, "batch", dispatch.DefaultBatch, "dispatcher claim batch size")
	fs.DurationVar(&o.Poll, "poll", dispatch.DefaultPoll, "dispatcher poll interval (claims at least this often)")
	fs.IntVar(&o.Ingesters, "ingesters", 8, "phases B and I: goroutines calling Dispatcher.Ingest")
	fs.DurationVar(&o.CeilingFor, "ceiling-for", 5*time.Second, "phase A: how long to measure the raw HTTP ceiling")
	fs.DurationVar(&o.MaxWait, "max-wait", 10*time.Minute, "bound on phase B: ingest taking longer is an error; delivery is cut off and the partial run reported")
	fs.IntVar(&o.IsoEvents, "iso-events", 1000, "phase I: events per run; the healthy webhook gets one delivery per event")
	fs.DurationVar(&o.IsoMax, "iso-max", 2*time.Minute, "phase I: bound on each run; the healthy webhook's partial count is reported")
	fs.DurationVar(&o.BrokenTimeout, "broken-timeout", 10*time.Second, "phase I: timeout setting of the broken webhooks (whole seconds, 1s..60s; 10s is the product default)")
	fs.DurationVar(&o.SlowAnswer, "slow-answer", 5*time.Second, "phase I: how long the slow receiver takes to answer")
	fs.IntVar(&o.HugeMB, "huge-mb", 100, "phase I: megabytes in each answer of the huge-body receiver")
	fs.IntVar(&o.IdleWebhooks, "idle-webhooks", 50000, "phase W: idle enabled webhooks added (spread over 100 accounts) before phase B runs again")
	fs.DurationVar(&o.IdleFor, "idle-for", 10*time.Second, "phase W: how long the idle dispatcher's CPU is measured")
	fs.IntVar(&o.ReceiverPort, "receiver-port", 0, "port of the healthy receiver on 127.0.0.1 (0: any free port)")
	fs.IntVar(&o.BrokenPort, "broken-port", 0, "phase I: first of five consecutive ports of the broken receivers on 127.0.0.1 (0: any free ports)")
	fs.IntVar(&o.PGPort, "pg-port", 0, "port of the private PostgreSQL when DATABASE_URL is unset (0: any free port)")
	fs.IntVar(&o.HTTPEvents, "http-events", 20000, "phase G: events sent one per request to POST /api/v1/events")
	fs.IntVar(&o.HTTPClients, "http-clients", 32, "phase G: concurrent clients sending one event per request")
	fs.IntVar(&o.HTTPBatchEvents, "http-batch-events", 100000, "phase G: events sent in batches to POST /api/v1/events/batch")
	fs.IntVar(&o.HTTPBatch, "http-batch", models.MaxIngestBatch, "phase G: events per batch request")
	fs.IntVar(&o.HTTPBatchClients, "http-batch-clients", 4, "phase G: concurrent clients sending batches")
	fs.IntVar(&o.HTTPWebhooks, "http-webhooks", 1, "phase G: webhooks, each subscribed to every event (the dispatcher delivers to them during the run)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of phase B's delivery run (of phase G when B does not run, of phase I's run beside the broken receivers when neither does, of phase W's idle window when none does) to this file (go tool pprof)")
	fs.BoolVar(&o.TraceSQL, "trace-sql", false, "time every SQL statement of phase B's delivery run and report the top ones (adds overhead)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench: unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	var err error
	if o.Phases, err = parsePhases(*phases); err != nil {
		return o, err
	}
	switch {
	case o.Events < 1 || o.Events > 5_000_000:
		return o, errors.New("bench: --events must be between 1 and 5000000")
	case !(o.Rate > 0) || o.Rate > 100_000:
		return o, errors.New("bench: --rate must be between 0 and 100000 events per second")
	case o.LatencyFor < 100*time.Millisecond || o.LatencyFor > time.Hour:
		return o, errors.New("bench: --latency-for must be between 100ms and 1h")
	case o.Workers < 1 || o.Workers > 4096:
		return o, errors.New("bench: --workers must be between 1 and 4096")
	case o.Webhooks < 1 || o.Webhooks > 1000:
		return o, errors.New("bench: --webhooks must be between 1 and 1000")
	case o.PerWebhook < 1 || o.Batch < 1 || o.Ingesters < 1 || o.Poll <= 0:
		return o, errors.New("bench: --per-webhook, --batch, --poll and --ingesters must be positive")
	case o.CeilingFor < 100*time.Millisecond || o.CeilingFor > 10*time.Minute:
		return o, errors.New("bench: --ceiling-for must be between 100ms and 10m")
	case o.MaxWait < time.Second:
		return o, errors.New("bench: --max-wait must be at least 1s")
	case o.IsoEvents < 1 || o.IsoEvents > 1_000_000:
		return o, errors.New("bench: --iso-events must be between 1 and 1000000")
	case o.IsoMax < time.Second || o.IsoMax > time.Hour:
		return o, errors.New("bench: --iso-max must be between 1s and 1h")
	case o.BrokenTimeout < time.Second || o.BrokenTimeout > 60*time.Second || o.BrokenTimeout%time.Second != 0:
		return o, errors.New("bench: --broken-timeout must be whole seconds between 1s and 60s (a webhook's timeout setting)")
	case o.SlowAnswer < 0 || o.SlowAnswer > time.Minute:
		return o, errors.New("bench: --slow-answer must be between 0 and 1m")
	case o.IdleWebhooks < idleAccounts || o.IdleWebhooks > 1_000_000:
		return o, errors.New("bench: --idle-webhooks must be between 100 and 1000000")
	case o.IdleFor < time.Second || o.IdleFor > 10*time.Minute:
		return o, errors.New("bench: --idle-for must be between 1s and 10m")
	case o.HugeMB < 1 || o.HugeMB > 1024:
		return o, errors.New("bench: --huge-mb must be between 1 and 1024")
	case o.HTTPEvents < 1 || o.HTTPEvents > 5_000_000 || o.HTTPBatchEvents < 1 || o.HTTPBatchEvents > 5_000_000:
		return o, errors.New("bench: --http-events and --http-batch-events must be between 1 and 5000000")
	case o.HTTPClients < 1 || o.HTTPClients > 1024 || o.HTTPBatchClients < 1 || o.HTTPBatchClients > 1024:
		return o, errors.New("bench: --http-clients and --http-batch-clients must be between 1 and 1024")
	case o.HTTPBatch < 2 || o.HTTPBatch > models.MaxIngestBatch:
		return o, fmt.Errorf("bench: --http-batch must be between 2 and %d", models.MaxIngestBatch)
	case o.HTTPWebhooks < 1 || o.HTTPWebhooks > 1000:
		return o, errors.New("bench: --http-webhooks must be between 1 and 1000")
	case !portOK(o.ReceiverPort) || !portOK(o.PGPort) || !portOK(o.BrokenPort) || o.BrokenPort > 65535-int(numBrokenKinds)+1:
		return o, errors.New("bench: --receiver-port, --broken-port (and the four after it) and --pg-port must be ports 0..65535 (0: any free one)")
	}
	return o, nil
}

// effectiveFlags spells out every setting, defaults included.
func (o options) effectiveFlags() string {
	s := fmt.Sprintf("--phases %s --events %d --rate %g --latency-for %s --workers %d --webhooks %d --per-webhook %d --batch %d --poll %s --ingesters %d --ceiling-for %s --max-wait %s",
		strings.Join(strings.Split(o.Phases, ""), ","), o.Events, o.Rate, o.LatencyFor, o.Workers, o.Webhooks, o.PerWebhook, o.Batch, o.Poll, o.Ingesters, o.CeilingFor, o.MaxWait)
	s += fmt.Sprintf(" --iso-events %d --iso-max %s --broken-timeout %s --slow-answer %s --huge-mb %d --idle-webhooks %d --idle-for %s --receiver-port %d --broken-port %d --pg-port %d",
		o.IsoEvents, o.IsoMax, o.BrokenTimeout, o.SlowAnswer, o.HugeMB, o.IdleWebhooks, o.IdleFor, o.ReceiverPort, o.BrokenPort, o.PGPort)
	if o.has('G') {
		s += fmt.Sprintf(" --http-events %d --http-clients %d --http-batch-events %d --http-batch %d --http-batch-clients %d --http-webhooks %d",
			o.HTTPEvents, o.HTTPClients, o.HTTPBatchEvents, o.HTTPBatch, o.HTTPBatchClients, o.HTTPWebhooks)
	}
	if o.CPUProfile != "" {
		s += " --cpuprofile " + shellQuote(o.CPUProfile)
	}
	if o.TraceSQL {
		s += " --trace-sql"
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func commandLine(args []string) string { return CommandLine("bench", args) }

// CommandLine is the shell command `ringhook <sub> <args…>` that a report
// prints so its figures can be reproduced.
func CommandLine(sub string, args []string) string {
	parts := []string{"ringhook", sub}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}
