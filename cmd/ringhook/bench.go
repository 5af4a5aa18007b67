package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
	"github.com/ringhook/ringhook/web/dispatch"
)

const benchUsage = `usage: ringhook bench [--events 20000] [--rate 200] [--latency-for 10s] [--workers W] [--webhooks 4]
                      [--per-webhook N] [--batch N] [--poll 500ms] [--ingesters 8] [--ceiling-for 5s] [--max-wait 10m]
                      [--cpuprofile FILE] [--trace-sql]`

// The targets the report compares against; missing them is not an error.
const (
	targetThroughput = 5000                  // deliveries/s sustained
	targetP99        = 50 * time.Millisecond // event-to-delivery at targetRate
	targetRate       = 200                   // events/s
)

// benchOptions are the bench flags.
type benchOptions struct {
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
	CPUProfile string
	TraceSQL   bool
}

func parseBenchFlags(args []string, defaultWorkers int, stderr io.Writer) (benchOptions, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, benchUsage); fs.PrintDefaults() }
	var o benchOptions
	fs.IntVar(&o.Events, "events", 20000, "phase B: events ingested before the dispatcher starts")
	fs.Float64Var(&o.Rate, "rate", targetRate, "phase C: events ingested per second")
	fs.DurationVar(&o.LatencyFor, "latency-for", 10*time.Second, "phase C: how long to ingest at --rate")
	fs.IntVar(&o.Workers, "workers", defaultWorkers, "dispatcher workers and phase A connections (the default comes from RINGHOOK_WORKERS)")
	fs.IntVar(&o.Webhooks, "webhooks", 4, "webhooks, each subscribed to every event (deliveries = events x webhooks)")
	fs.IntVar(&o.PerWebhook, "per-webhook", dispatch.DefaultPerWebhook, "dispatcher cap on requests in flight per webhook")
	fs.IntVar(&o.Batch, "batch", dispatch.DefaultBatch, "dispatcher claim batch size")
	fs.DurationVar(&o.Poll, "poll", dispatch.DefaultPoll, "dispatcher poll interval (claims at least this often)")
	fs.IntVar(&o.Ingesters, "ingesters", 8, "phase B: goroutines calling Dispatcher.Ingest")
	fs.DurationVar(&o.CeilingFor, "ceiling-for", 5*time.Second, "phase A: how long to measure the raw HTTP ceiling")
	fs.DurationVar(&o.MaxWait, "max-wait", 10*time.Minute, "bound on phase B: ingest taking longer is an error; delivery is cut off and the partial run reported")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of phase B's delivery run to this file (go tool pprof)")
	fs.BoolVar(&o.TraceSQL, "trace-sql", false, "time every SQL statement of phase B's delivery run and report the top ones (adds overhead)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("bench: unexpected argument %q\n%s", fs.Arg(0), benchUsage)
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
	}
	return o, nil
}

// effectiveFlags spells out every setting, defaults included.
func (o benchOptions) effectiveFlags() string {
	s := fmt.Sprintf("--events %d --rate %g --latency-for %s --workers %d --webhooks %d --per-webhook %d --batch %d --poll %s --ingesters %d --ceiling-for %s --max-wait %s",
		o.Events, o.Rate, o.LatencyFor, o.Workers, o.Webhooks, o.PerWebhook, o.Batch, o.Poll, o.Ingesters, o.CeilingFor, o.MaxWait)
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

func commandLine(args []string) string {
	parts := []string{"ringhook", "bench"}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// ---- the report ----

type benchReport struct {
	Command, Effective, GoVersion, CPUModel string
	GOMAXPROCS, NumCPU                      int
	Database, Receiver                      string
	CommitP50, CommitP99                    time.Duration // single-row UPDATE, autocommit

	// A
	CeilingConns    int
	CeilingRequests int64
	CeilingElapsed  time.Duration

	// B
	IngestEvents, IngestDeliveries int64
	IngestElapsed                  time.Duration
	Delivered                      int64
	DeliverElapsed                 time.Duration
	SteadyRate                     float64
	Wanted                         int64 // deliveries queued in phase B
	RecordBatches                  int64 // Store.Record transactions while delivering
	Incomplete                     bool  // --max-wait ended phase B early
	Attempts, Succeeded, Received  int64
	DistinctAttempted              int64
	ReceiverDuplicates             int64
	GoCPU, PgCPU                   float64 // cores busy on average during delivery; PgCPU < 0 when unknown
	MachineCPU                     float64 // all processes (< 0 when unknown): shows a busy shared machine
	Profile                        string
	SQL                            []sqlStat // --trace-sql, by total time

	// C
	LatencyEvents, LatencyDeliveries int64
	LatencyIngestFor                 time.Duration
	Latency                          []time.Duration // sorted, one per delivery
	IngestCall                       []time.Duration // sorted, one per event
	PacingLagMax                     time.Duration
	LatencyMissing                   int64
}

func (r *benchReport) throughput() float64 {
	return perSec(r.Delivered, r.DeliverElapsed)
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func (r *benchReport) write(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("Ringhook dispatcher benchmark")
	p("  command     %s", r.Command)
	p("  effective   %s", r.Effective)
	p("  go          %s %s/%s, GOMAXPROCS %d, %d logical CPUs", r.GoVersion, runtime.GOOS, runtime.GOARCH, r.GOMAXPROCS, r.NumCPU)
	p("  cpu         %s", r.CPUModel)
	p("  database    %s", r.Database)
	p("  receiver    %s", r.Receiver)
	p("  commit      single-row UPDATE, autocommit (WAL flush): p50 %s  p99 %s", ms(r.CommitP50), ms(r.CommitP99))
	p("")
	ceiling := perSec(r.CeilingRequests, r.CeilingElapsed)
	p("  A ceiling     raw net/http, %d keep-alive conns, 1 KiB POST, %.1fs: %d requests   %8.0f req/s",
		r.CeilingConns, r.CeilingElapsed.Seconds(), r.CeilingRequests, ceiling)
	p("  B ingest      %d events -> %d deliveries via Dispatcher.Ingest in %.1fs   %8.0f events/s (%.0f deliveries/s queued)",
		r.IngestEvents, r.IngestDeliveries, r.IngestElapsed.Seconds(), perSec(r.IngestEvents, r.IngestElapsed), perSec(r.IngestDeliveries, r.IngestElapsed))
	tp := r.throughput()
	if r.Incomplete {
		p("  B throughput  INCOMPLETE: %d of %d deliveries succeeded within --max-wait (%.1fs)   %8.0f deliveries/s   target >= %d: %s",
			r.Delivered, r.Wanted, r.DeliverElapsed.Seconds(), tp, targetThroughput, verdict(tp >= targetThroughput))
		if r.SteadyRate > 0 {
			p("                steady state (from 10%% of deliveries on)   %8.0f deliveries/s", r.SteadyRate)
		}
		p("                verified (the part done): attempts %d; deliveries succeeded %d; delivery ids with a 2xx attempt %d; receiver got %d (%d duplicates)",
			r.Attempts, r.Succeeded, r.DistinctAttempted, r.Received, r.ReceiverDuplicates)
	} else {
		p("  B throughput  %d deliveries succeeded in %.1fs   %8.0f deliveries/s   target >= %d: %s",
			r.Delivered, r.DeliverElapsed.Seconds(), tp, targetThroughput, verdict(tp >= targetThroughput))
		p("                steady state (10%%..90%% of deliveries)   %8.0f deliveries/s", r.SteadyRate)
		p("                verified: attempts %d = %d events x %d matching; deliveries succeeded %d; delivery ids with a 2xx attempt %d; receiver got %d (%d duplicates)",
			r.Attempts, r.IngestEvents, r.matching(), r.Succeeded, r.DistinctAttempted, r.Received, r.ReceiverDuplicates)
	}
	pg := "n/a (external server)"
	if r.PgCPU >= 0 {
		pg = fmt.Sprintf("%.2f", r.PgCPU)
	}
	other := ""
	if r.MachineCPU >= 0 {
		other = fmt.Sprintf("; whole machine %.2f busy", r.MachineCPU)
		if r.PgCPU >= 0 {
			other += fmt.Sprintf(" (other processes %.2f)", max(r.MachineCPU-r.GoCPU-r.PgCPU, 0))
		}
	}
	p("                CPU while delivering (cores): ringhook %.2f (receiver included), postgres %s, of %d%s", r.GoCPU, pg, r.NumCPU, other)
	if r.RecordBatches > 0 {
		p("                recorder: %d Record transactions, %.1f attempts each (%.1f/s)",
			r.RecordBatches, float64(r.Delivered)/float64(r.RecordBatches), perSec(r.RecordBatches, r.DeliverElapsed))
	}
	if ceiling > 0 {
		p("                throughput/ceiling %.3f", tp/ceiling)
	}
	if r.Profile != "" {
		p("                CPU profile: %s (go tool pprof -top %s)", r.Profile, r.Profile)
	}
	for i, st := range r.SQL {
		if i == 0 {
			p("                SQL while delivering (--trace-sql; client-side incl. round trip; summed over concurrent callers, so shares can pass 100%%):")
		}
		if i == 10 {
			break
		}
		p("                  %6.1f%% of wall  %7d calls  avg %7.3f ms  %8d rows  %s", 100*st.Total.Seconds()/r.DeliverElapsed.Seconds(),
			st.Calls, float64(st.Total)/float64(time.Millisecond)/float64(max(st.Calls, 1)), st.Rows, st.Label)
	}
	p50, p90, p99, pmax := percentile(r.Latency, 50), percentile(r.Latency, 90), percentile(r.Latency, 99), percentile(r.Latency, 100)
	p("  C latency     %d events over %.1fs (%.0f/s) -> %d deliveries: p50 %s  p90 %s  p99 %s  max %s   target p99 < %s at %d events/s: %s",
		r.LatencyEvents, r.LatencyIngestFor.Seconds(), perSec(r.LatencyEvents, r.LatencyIngestFor), int64(len(r.Latency)),
		ms(p50), ms(p90), ms(p99), ms(pmax), ms(targetP99), targetRate, verdict(len(r.Latency) > 0 && p99 < targetP99))
	p("                Ingest call p50 %s  p99 %s; pacing lag max %s; deliveries not seen %d",
		ms(percentile(r.IngestCall, 50)), ms(percentile(r.IngestCall, 99)), ms(r.PacingLagMax), r.LatencyMissing)
}

func (r *benchReport) matching() int64 {
	if r.IngestEvents == 0 {
		return 0
	}
	return r.IngestDeliveries / r.IngestEvents
}

// ---- machine facts ----

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo io.Reader) string {
	sc := bufio.NewScanner(cpuinfo)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readCPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown (" + runtime.GOARCH + ")"
	}
	defer f.Close()
	return cpuModel(f)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTicks = 100

// parseProcStat returns the parent pid and user+system CPU time from the
// contents of /proc/<pid>/stat.
func parseProcStat(s string) (ppid int, cpu time.Duration, ok bool) {
	i := strings.LastIndexByte(s, ')') // the command name may contain spaces
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return ppid, time.Duration(ut+st) * time.Second / clockTicks, true
}

// postgresCPU sums the CPU time of the private server's postmaster (pid in
// dataDir/postmaster.pid) and its children; ok is false when unknown.
func postgresCPU(dataDir string) (time.Duration, bool) {
	if dataDir == "" {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var total time.Duration
	found := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		ppid, cpu, ok := parseProcStat(string(b))
		if ok && (pid == master || ppid == master) {
			total += cpu
			found = found || pid == master
		}
	}
	return total, found
}

// machineBusy parses the aggregate "cpu" line of /proc/stat into busy and
// total CPU time (idle and iowait are not busy).
func machineBusy(stat string) (busy, total time.Duration, ok bool) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	var sum, idle int64
	for i, v := range f[1:] {
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		sum += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	tick := time.Second / clockTicks
	return time.Duration(sum-idle) * tick, time.Duration(sum) * tick, true
}

func readMachineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	busy, _, ok := machineBusy(string(b))
	return busy, ok
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ---- database ----

// benchDB is the throwaway database the bench runs on.
type benchDB struct {
	URL     string
	Desc    string
	DataDir string // the private server's, for CPU accounting
	close   func()
}

// withDatabase points a PostgreSQL URL or keyword/value string at database name.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	return strings.TrimSpace(connString) + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'", nil
}

func dropBenchDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func openBenchDB(ctx context.Context, databaseURL string, logf func(string, ...any)) (*benchDB, error) {
	var b [4]byte
	_, _ = crand.Read(b[:])
	name := "ringhook_bench_" + hex.EncodeToString(b[:])
	if databaseURL != "" {
		cfg, err := pgconn.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		dbURL, err := withDatabase(databaseURL, name)
		if err != nil {
			return nil, err
		}
		if err := devdb.EnsureDatabase(ctx, databaseURL, name); err != nil {
			return nil, fmt.Errorf("create the bench database on DATABASE_URL (the role needs CREATEDB): %w", err)
		}
		return &benchDB{URL: dbURL, Desc: fmt.Sprintf("DATABASE_URL (%s@%s:%d), database %s", cfg.User, cfg.Host, cfg.Port, name),
			close: func() {
				if err := dropBenchDatabase(databaseURL, name); err != nil {
					logf("bench: %v", err)
				}
			}}, nil
	}
	dir, err := os.MkdirTemp("", "ringhook-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir for PostgreSQL: %w", err)
	}
	logf("bench: DATABASE_URL is unset: starting a private PostgreSQL in %s (durable, like production)", dir)
	srv, err := devdb.Start(ctx, devdb.Options{DataDir: dir, Fast: false, Logf: logf})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start private PostgreSQL: %w", err)
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			logf("bench: stop PostgreSQL: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			logf("bench: remove %s: %v", dir, err)
		}
	}
	admin := srv.URL("postgres")
	if err := devdb.EnsureDatabase(ctx, admin, name); err != nil {
		stop()
		return nil, err
	}
	return &benchDB{URL: srv.URL(name), Desc: fmt.Sprintf("private PostgreSQL (models/devdb, Fast=false) in %s, database %s", dir, name), DataDir: dir,
		close: func() {
			if err := dropBenchDatabase(admin, name); err != nil {
				logf("bench: %v", err)
			}
			stop()
		}}, nil
}

// ---- the receiver ----

type arrival struct {
	id string
	at time.Time
}

// sink is the fast local receiver: 204 for everything, counting requests
// and, while recording, the arrival time per webhook-id.
type sink struct {
	srv       *http.Server
	base      string
	total     atomic.Int64
	recording atomic.Bool
	mu        sync.Mutex
	arrivals  []arrival
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	s := &sink{base: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	now := time.Now()
	if s.recording.Load() {
		if id := r.Header.Get("webhook-id"); id != "" {
			s.mu.Lock()
			s.arrivals = append(s.arrivals, arrival{id: id + " " + r.URL.Path, at: now})
			s.mu.Unlock()
		}
	}
	s.total.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// record starts (or stops) recording arrivals, clearing earlier ones.
func (s *sink) record(on bool) {
	s.mu.Lock()
	s.arrivals = nil
	s.mu.Unlock()
	s.recording.Store(on)
}

func (s *sink) taken() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.arrivals)
}

func (s *sink) seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}

func (s *sink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// ---- phases ----

// benchEventTypes are what the simulator's calls consist of; every bench
// webhook subscribes to all of them, so each event matches every webhook.
var benchEventTypes = []string{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.answered",
	"call.queue_answered", "call.click_to_call.answered", "call.hangup", "call.missed", "call.ended"}

// benchEvents returns n events from whole simulated calls (the last call cut short).
func benchEvents(gen *callGenerator, n int) ([]map[string]any, error) {
	out := make([]map[string]any, 0, n)
	for len(out) < n {
		c, err := gen.next(time.Now())
		if err != nil {
			return nil, err
		}
		out = append(out, c.Events[:min(len(c.Events), n-len(out))]...)
	}
	return out, nil
}

type benchRun struct {
	o      benchOptions
	store  *models.Store
	acc    *models.Account
	sink   *sink
	log    *slog.Logger
	stderr io.Writer
	pgDir  string
	gen    *callGenerator
	tracer *sqlTracer // --trace-sql
	r      benchReport
}

func (b *benchRun) progress(format string, a ...any) { fmt.Fprintf(b.stderr, format+"\n", a...) }

// ceiling is phase A: a plain client against the receiver.
func (b *benchRun) ceiling(ctx context.Context) error {
	conns := b.o.Workers
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	body := bytes.Repeat([]byte("x"), 1024)
	target := b.sink.base + "/ceiling"
	var n atomic.Int64
	var firstErr error
	var errOnce sync.Once
	deadline := time.Now().Add(b.o.CeilingFor)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	b.r.CeilingConns, b.r.CeilingRequests, b.r.CeilingElapsed = conns, n.Load(), time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstErr != nil {
		return fmt.Errorf("phase A: %w", firstErr)
	}
	b.progress("bench: A ceiling: %.0f req/s", perSec(b.r.CeilingRequests, b.r.CeilingElapsed))
	return nil
}

// recorded counts what a dispatcher recorded, through Config.OnRecord.
type recorded struct {
	succeeded, other atomic.Int64
	batches          atomic.Int64 // Record transactions
}

func (b *benchRun) dispatcher(rec *recorded) (*dispatch.Dispatcher, error) {
	return dispatch.New(b.store, dispatch.Config{
		Workers: b.o.Workers, PerWebhook: b.o.PerWebhook, Batch: b.o.Batch, Poll: b.o.Poll,
		AllowPrivate: "true", LoopbackOnly: true, Log: b.log,
		OnRecord: func(outs []models.Outcome) {
			rec.batches.Add(1)
			for _, o := range outs {
				if o.Status == models.StatusSucceeded {
					rec.succeeded.Add(1)
				} else {
					rec.other.Add(1)
				}
			}
		},
	})
}

func stopDispatcher(d *dispatch.Dispatcher, log func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		log("bench: stop dispatcher: %v", err)
	}
}

// throughput is phase B.
func (b *benchRun) throughput(ctx context.Context) error {
	events, err := benchEvents(b.gen, b.o.Events)
	if err != nil {
		return err
	}
	var rec recorded
	d, err := b.dispatcher(&rec)
	if err != nil {
		return err
	}

	// Pre-ingest from a few goroutines, each taking chunks of events.
	b.progress("bench: B: ingesting %d events from %d goroutines", len(events), b.o.Ingesters)
	ictx, cancel := context.WithTimeout(ctx, b.o.MaxWait)
	defer cancel()
	const chunk = 100
	chunks := make(chan []map[string]any, len(events)/chunk+1)
	for i := 0; i < len(events); i += chunk {
		chunks <- events[i:min(i+chunk, len(events))]
	}
	close(chunks)
	var queued atomic.Int64
	var ingestErr error
	var errOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range b.o.Ingesters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				for _, ev := range c {
					res, err := d.Ingest(ictx, b.acc.ID, ev)
					if err != nil {
						errOnce.Do(func() { ingestErr = err; cancel() })
						return
					}
					queued.Add(int64(res.Deliveries))
				}
			}
		}()
	}
	wg.Wait()
	b.r.IngestElapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if ingestErr != nil {
		return fmt.Errorf("phase B ingest: %w", ingestErr)
	}
	b.r.IngestEvents, b.r.IngestDeliveries = int64(len(events)), queued.Load()
	want := b.r.IngestDeliveries
	if want != b.r.IngestEvents*int64(b.o.Webhooks) {
		return fmt.Errorf("phase B: %d events matched %d deliveries, want %d x %d webhooks", len(events), want, len(events), b.o.Webhooks)
	}
	b.progress("bench: B: ingested in %.1fs (%.0f events/s); starting the dispatcher for %d deliveries",
		b.r.IngestElapsed.Seconds(), perSec(b.r.IngestEvents, b.r.IngestElapsed), want)

	// Deliver everything and time it.
	if b.o.CPUProfile != "" {
		f, err := os.Create(b.o.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
		b.r.Profile = b.o.CPUProfile
	}
	receivedBefore := b.sink.total.Load()
	goCPU0 := selfCPU()
	pgCPU0, pgOK := postgresCPU(b.pgDir)
	machine0, machineOK := readMachineBusy()
	if b.tracer != nil {
		b.tracer.on.Store(true)
	}
	start = time.Now()
	d.Start(ctx)
	defer stopDispatcher(d, b.progress)
	var t10, t90 time.Time
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(b.o.MaxWait)
	defer limit.Stop()
	lastShown := start
wait:
	for {
		done := rec.succeeded.Load()
		now := time.Now()
		if t10.IsZero() && done*10 >= want {
			t10 = now
		}
		if t90.IsZero() && done*10 >= want*9 {
			t90 = now
		}
		if done >= want {
			break
		}
		if now.Sub(lastShown) >= 2*time.Second {
			lastShown = now
			b.progress("bench: B: %d/%d delivered (%.0f/s so far), %d not succeeded", done, want, perSec(done, now.Sub(start)), rec.other.Load())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-limit.C:
			// A measurement bound, not a failure: report what was done.
			b.r.Incomplete = true
			b.progress("bench: B: --max-wait %s reached with %d of %d deliveries done; reporting the partial run", b.o.MaxWait, done, want)
			break wait
		case <-tick.C:
		}
	}
	end := time.Now()
	b.r.DeliverElapsed = end.Sub(start)
	b.r.Delivered = rec.succeeded.Load()
	b.r.Wanted = want
	b.r.RecordBatches = rec.batches.Load()
	cpuWall := b.r.DeliverElapsed.Seconds()
	b.r.GoCPU = (selfCPU() - goCPU0).Seconds() / cpuWall
	b.r.PgCPU = -1
	if pgCPU1, ok := postgresCPU(b.pgDir); ok && pgOK {
		b.r.PgCPU = (pgCPU1 - pgCPU0).Seconds() / cpuWall
	}
	b.r.MachineCPU = -1
	if machine1, ok := readMachineBusy(); ok && machineOK {
		b.r.MachineCPU = (machine1 - machine0).Seconds() / cpuWall
	}
	switch {
	case t90.After(t10):
		b.r.SteadyRate = float64(want*8/10) / t90.Sub(t10).Seconds()
	case !t10.IsZero() && end.After(t10):
		b.r.SteadyRate = float64(b.r.Delivered-want/10) / end.Sub(t10).Seconds()
	}
	if b.o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if b.tracer != nil {
		b.tracer.on.Store(false)
		b.r.SQL = b.tracer.top()
	}
	stopDispatcher(d, b.progress) // records whatever is in flight
	if b.r.Incomplete && b.r.Delivered == 0 {
		return fmt.Errorf("phase B: no delivery succeeded within --max-wait %s", b.o.MaxWait)
	}

	// Verify from the database: a durable attempt row for every delivery.
	db := b.store.DB().WithContext(ctx)
	if err := db.Raw("SELECT count(*) FROM attempts WHERE account_id = ?", b.acc.ID).Scan(&b.r.Attempts).Error; err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := db.Raw("SELECT count(DISTINCT delivery_id) FROM attempts WHERE account_id = ? AND response_status BETWEEN 200 AND 299", b.acc.ID).Scan(&b.r.DistinctAttempted).Error; err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := db.Raw("SELECT count(*) FROM deliveries WHERE account_id = ? AND status = 'succeeded'", b.acc.ID).Scan(&b.r.Succeeded).Error; err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	b.r.Received = b.sink.total.Load() - receivedBefore
	b.r.ReceiverDuplicates = max(b.r.Received-b.r.Attempts, 0)
	expect := want
	if b.r.Incomplete {
		expect = b.r.Succeeded // consistency of the part that was done
	}
	if b.r.Attempts != expect || b.r.Succeeded != expect || b.r.DistinctAttempted != expect || b.r.Received < expect {
		return fmt.Errorf("phase B verification failed: attempts %d, deliveries with a 2xx attempt %d, succeeded %d, received %d; want %d each",
			b.r.Attempts, b.r.DistinctAttempted, b.r.Succeeded, b.r.Received, expect)
	}
	b.progress("bench: B: %d deliveries in %.1fs (%.0f/s), verified", want, b.r.DeliverElapsed.Seconds(), b.r.throughput())
	return nil
}

// latency is phase C: a fresh queue, the dispatcher running, events
// ingested at a fixed rate; latency = receiver arrival - Ingest call.
func (b *benchRun) latency(ctx context.Context) error {
	if err := b.store.DB().WithContext(ctx).Exec("TRUNCATE attempts, deliveries, events").Error; err != nil {
		return fmt.Errorf("phase C: empty the queue: %w", err)
	}
	n := max(int(math.Round(b.o.Rate*b.o.LatencyFor.Seconds())), 1)
	events, err := benchEvents(b.gen, n)
	if err != nil {
		return err
	}
	ids := make(map[string]int, n)
	for i, ev := range events {
		ids[ev["event_id"].(string)] = i
	}
	var rec recorded
	d, err := b.dispatcher(&rec)
	if err != nil {
		return err
	}
	b.sink.record(true)
	defer b.sink.record(false)
	d.Start(ctx)
	defer stopDispatcher(d, b.progress)
	time.Sleep(200 * time.Millisecond) // LISTEN connection up, workers idle

	b.progress("bench: C: ingesting %d events at %g/s", n, b.o.Rate)
	called := make([]time.Time, n)
	took := make([]time.Duration, n)
	jobs := make(chan int, n)
	var queued atomic.Int64
	var ingestErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	// Enough callers that a slow commit never holds up the schedule.
	for range max(16, b.o.Ingesters) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				called[i] = time.Now()
				res, err := d.Ingest(ctx, b.acc.ID, events[i])
				took[i] = time.Since(called[i])
				if err != nil {
					errOnce.Do(func() { ingestErr = err })
					continue
				}
				queued.Add(int64(res.Deliveries))
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / b.o.Rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	b.r.LatencyIngestFor = time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if ingestErr != nil {
		return fmt.Errorf("phase C ingest: %w", ingestErr)
	}
	for i := range n {
		b.r.PacingLagMax = max(b.r.PacingLagMax, called[i].Sub(start.Add(time.Duration(i)*interval)))
	}
	want := queued.Load()
	b.r.LatencyEvents, b.r.LatencyDeliveries = int64(n), want

	// Wait (bounded) for every delivery to arrive and be recorded.
	deadline := time.Now().Add(30*time.Second + b.o.LatencyFor)
	for (int64(b.sink.seen()) < want || rec.succeeded.Load()+rec.other.Load() < want) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	seen := map[string]bool{}
	for _, a := range b.sink.taken() {
		if seen[a.id] {
			continue // a redelivery: the first arrival counts
		}
		seen[a.id] = true
		evID, _, _ := strings.Cut(a.id, " ")
		i, ok := ids[evID]
		if !ok {
			continue
		}
		b.r.Latency = append(b.r.Latency, a.at.Sub(called[i]))
	}
	slices.Sort(b.r.Latency)
	slices.Sort(took)
	b.r.IngestCall = took
	b.r.LatencyMissing = max(want-int64(len(b.r.Latency)), 0)
	b.progress("bench: C: p99 %s over %d deliveries", ms(percentile(b.r.Latency, 99)), len(b.r.Latency))
	return nil
}

// ---- diagnostics ----

// sqlStat aggregates the statements that share a label.
type sqlStat struct {
	Label       string
	Calls, Rows int64
	Total       time.Duration
}

// sqlTracer is a gorm logger that times statements while on (--trace-sql).
type sqlTracer struct {
	logger.Interface
	on    atomic.Bool
	mu    sync.Mutex
	stats map[string]*sqlStat
}

func newSQLTracer() *sqlTracer {
	return &sqlTracer{Interface: logger.Discard, stats: map[string]*sqlStat{}}
}

// sqlLabel is the start of a statement with white space collapsed: enough
// to tell Ringhook's statements apart without their arguments.
func sqlLabel(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if len(s) > 64 {
		n := 64
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

func (t *sqlTracer) Trace(_ context.Context, begin time.Time, fc func() (string, int64), _ error) {
	if !t.on.Load() {
		return
	}
	el := time.Since(begin)
	sql, rows := fc()
	label := sqlLabel(sql)
	t.mu.Lock()
	st := t.stats[label]
	if st == nil {
		st = &sqlStat{Label: label}
		t.stats[label] = st
	}
	st.Calls++
	st.Rows += max(rows, 0)
	st.Total += el
	t.mu.Unlock()
}

// top returns the statements by total time, longest first.
func (t *sqlTracer) top() []sqlStat {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]sqlStat, 0, len(t.stats))
	for _, st := range t.stats {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b sqlStat) int { return cmp.Compare(b.Total, a.Total) })
	return out
}

// commitProbe times single-row autocommit updates: the WAL flush every
// claim, record and ingest transaction waits for.
func commitProbe(ctx context.Context, db *gorm.DB) (p50, p99 time.Duration, err error) {
	db = db.WithContext(ctx)
	if err := db.Exec("CREATE TABLE bench_probe (id int PRIMARY KEY, n int NOT NULL)").Error; err != nil {
		return 0, 0, fmt.Errorf("commit probe: %w", err)
	}
	defer db.Exec("DROP TABLE bench_probe")
	if err := db.Exec("INSERT INTO bench_probe VALUES (1, 0)").Error; err != nil {
		return 0, 0, fmt.Errorf("commit probe: %w", err)
	}
	took := make([]time.Duration, 200)
	for i := range took {
		start := time.Now()
		if err := db.Exec("UPDATE bench_probe SET n = n + 1 WHERE id = 1").Error; err != nil {
			return 0, 0, fmt.Errorf("commit probe: %w", err)
		}
		took[i] = time.Since(start)
	}
	slices.Sort(took)
	return percentile(took, 50), percentile(took, 99), nil
}

// ---- the command ----

// runBench is `ringhook bench` (what `make bench` runs).
func runBench(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseBenchFlags(args, cfg.Workers, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	b := &benchRun{o: o, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	b.r = benchReport{Command: commandLine(args), Effective: o.effectiveFlags(), GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPUModel: readCPUModel()}
	if os.Getenv("MAKELEVEL") != "" {
		b.r.Command += "   (via make bench)"
	}

	setupCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	bdb, err := openBenchDB(setupCtx, cfg.DatabaseURL, b.progress)
	if err != nil {
		return err
	}
	defer func() {
		bdb.close()
		b.progress("bench: database dropped")
	}()
	b.pgDir = bdb.DataDir
	db, err := models.Open(setupCtx, bdb.URL)
	if err != nil {
		return err
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	}()
	if _, err := models.Migrate(setupCtx, db); err != nil {
		return err
	}
	if b.r.CommitP50, b.r.CommitP99, err = commitProbe(setupCtx, db); err != nil {
		return err
	}
	if o.TraceSQL {
		b.tracer = newSQLTracer()
		db.Logger = b.tracer
	}
	var settings struct{ Version, Fsync, SyncCommit, FullPageWrites string }
	if err := db.WithContext(setupCtx).Raw(`SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
		current_setting('synchronous_commit') AS sync_commit, current_setting('full_page_writes') AS full_page_writes`).Scan(&settings).Error; err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	b.r.Database = fmt.Sprintf("%s; PostgreSQL %s, fsync=%s synchronous_commit=%s full_page_writes=%s; dropped at the end",
		bdb.Desc, settings.Version, settings.Fsync, settings.SyncCommit, settings.FullPageWrites)
	b.store = models.NewStore(db, nil)
	if b.acc, err = b.store.CreateAccount(setupCtx, "Bench", "UTC"); err != nil {
		return err
	}
	if b.sink, err = startSink(); err != nil {
		return err
	}
	defer b.sink.close()
	for i := 1; i <= o.Webhooks; i++ {
		in := models.NewWebhookInput("Asia/Kolkata")
		in.Name, in.URL, in.EventTypes = fmt.Sprintf("bench %d", i), fmt.Sprintf("%s/hook/%d", b.sink.base, i), benchEventTypes
		in.Headers = []models.Header{{Name: "X-Bench", Value: strconv.Itoa(i)}}
		in.CustomData = []models.KV{{Key: "crm_id", Value: fmt.Sprintf("A-%d", i)}}
		if _, err := b.store.CreateWebhook(setupCtx, b.acc.ID, models.Actor{Label: "bench"}, in); err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
	}
	b.r.Receiver = fmt.Sprintf("%s/hook/{1..%d} (net/http, 204 No Content); %d webhooks POST JSON, each subscribed to every simulated call event",
		b.sink.base, o.Webhooks, o.Webhooks)
	var seed [8]byte
	_, _ = crand.Read(seed[:])
	b.gen = newCallGenerator(binary.LittleEndian.Uint64(seed[:])|1, defaultDIDs)

	if err := b.ceiling(ctx); err != nil {
		return err
	}
	if err := b.throughput(ctx); err != nil {
		return err
	}
	if err := b.latency(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	b.r.write(stdout)
	return nil
}
