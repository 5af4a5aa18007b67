package bench

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
)

// report is everything the run measured; write prints it.
type report struct {
	Phases                                  string
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
	Checkpoint                       string // how the CHECKPOINT before phase C went

	// I
	IsoAlone, IsoBeside isoResult

	// W
	Idle idleResult
	// G
	HTTP []httpRun
	// O: ordering by call off, then on
	Order [2]orderRun
}

// isoResult is one run of phase I: the healthy webhook's deliveries.
type isoResult struct {
	Wanted, Delivered int64
	Elapsed           time.Duration
	Incomplete        bool // --iso-max ended the run
	Broken            []brokenStat
	// CPU used during the run: this process (the dispatcher and the
	// loopback receivers, broken ones included) and the private
	// PostgreSQL (PGCPU < 0: unknown); Load is /proc/loadavg at the start.
	GoCPU, PGCPU time.Duration
	Load         string
}

// cpuPerDelivery is the CPU milliseconds spent per healthy delivery.
func (r isoResult) cpuPerDelivery() (goMS, pgMS float64) {
	if r.Delivered == 0 {
		return 0, -1
	}
	goMS = float64(r.GoCPU.Microseconds()) / 1000 / float64(r.Delivered)
	pgMS = -1
	if r.PGCPU >= 0 {
		pgMS = float64(r.PGCPU.Microseconds()) / 1000 / float64(r.Delivered)
	}
	return goMS, pgMS
}

func (r isoResult) rate() float64 { return perSec(r.Delivered, r.Elapsed) }

// brokenStat is what one broken receiver got and what was recorded of it.
type brokenStat struct {
	Kind              brokenKind
	Hits              int64 // requests that reached the receiver
	Recorded, Retries int64 // attempts recorded; of them, rescheduled
}

// cpuMS is the CPU milliseconds per delivery of cores busy over wall.
func cpuMS(cores float64, wall time.Duration, n int64) float64 {
	if n <= 0 || cores < 0 {
		return -1
	}
	return cores * wall.Seconds() * 1000 / float64(n)
}

func msOrNA(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f ms", v)
}

func (r *report) throughput() float64 {
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

func (r *report) write(w io.Writer) {
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
	if strings.Contains(r.Phases, "A") {
		r.writeA(p)
	}
	if strings.Contains(r.Phases, "B") {
		r.writeB(p, ceiling)
	}
	if strings.Contains(r.Phases, "C") {
		r.writeC(p)
	}
	if strings.Contains(r.Phases, "I") {
		r.writeI(p)
	}
	if strings.Contains(r.Phases, "W") {
		r.writeW(p)
	}
	if strings.Contains(r.Phases, "G") {
		r.writeG(p)
	}
	if strings.Contains(r.Phases, "O") {
		r.writeO(p)
	}
}

func (r *report) writeA(p func(string, ...any)) {
	p("  A ceiling     raw net/http, %d keep-alive conns, 1 KiB POST, %.1fs: %d requests   %8.0f req/s",
		r.CeilingConns, r.CeilingElapsed.Seconds(), r.CeilingRequests, perSec(r.CeilingRequests, r.CeilingElapsed))
}

func (r *report) writeB(p func(string, ...any), ceiling float64) {
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
	goMS, pgMS := cpuMS(r.GoCPU, r.DeliverElapsed, r.Delivered), cpuMS(r.PgCPU, r.DeliverElapsed, r.Delivered)
	total := "n/a"
	if goMS >= 0 && pgMS >= 0 {
		total = msOrNA(goMS + pgMS)
	}
	p("                CPU per delivery: ringhook %s + postgres %s = %s   (steadier than deliveries/s on a shared machine)", msOrNA(goMS), msOrNA(pgMS), total)
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
}

func (r *report) writeC(p func(string, ...any)) {
	p50, p90, p99, pmax := percentile(r.Latency, 50), percentile(r.Latency, 90), percentile(r.Latency, 99), percentile(r.Latency, 100)
	p("  C latency     %d events over %.1fs (%.0f/s) -> %d deliveries: p50 %s  p90 %s  p99 %s  max %s   target p99 < %s at %d events/s: %s",
		r.LatencyEvents, r.LatencyIngestFor.Seconds(), perSec(r.LatencyEvents, r.LatencyIngestFor), int64(len(r.Latency)),
		ms(p50), ms(p90), ms(p99), ms(pmax), ms(targetP99), targetRate, verdict(len(r.Latency) > 0 && p99 < targetP99))
	p("                Ingest call p50 %s  p99 %s; pacing lag max %s; deliveries not seen %d",
		ms(percentile(r.IngestCall, 50)), ms(percentile(r.IngestCall, 99)), ms(r.PacingLagMax), r.LatencyMissing)
	p("                CHECKPOINT %s", r.Checkpoint)
}

func (r *report) writeI(p func(string, ...any)) {
	line := func(label string, x isoResult) {
		note := ""
		if x.Incomplete {
			note = fmt.Sprintf("   INCOMPLETE: %d of %d within --iso-max", x.Delivered, x.Wanted)
		}
		p("  I %-11s healthy webhook: %d deliveries succeeded in %.1fs   %8.0f deliveries/s%s", label, x.Delivered, x.Elapsed.Seconds(), x.rate(), note)
		goMS, pgMS := x.cpuPerDelivery()
		pg := "unknown"
		if pgMS >= 0 {
			pg = fmt.Sprintf("%.2f ms", pgMS)
		}
		p("                CPU per healthy delivery: bench process (dispatcher and receivers) %.2f ms, PostgreSQL %s; load average at start %s", goMS, pg, x.Load)
	}
	line("alone", r.IsoAlone)
	line("beside", r.IsoBeside)
	var parts []string
	for _, b := range r.IsoBeside.Broken {
		parts = append(parts, fmt.Sprintf("%s %d requests / %d attempts recorded (%d to retry)", b.Kind, b.Hits, b.Recorded, b.Retries))
	}
	p("                broken receivers (loopback): %s", strings.Join(parts, "; "))
	ratio := r.isolationRatio()
	p("                isolation ratio (beside / alone) %.2f   target >= %.1f: %s", ratio, targetIsolation, verdict(ratio >= targetIsolation))
}

// isolationRatio is the healthy webhook's throughput beside the broken
// receivers over its throughput alone (0 when alone measured nothing).
func (r *report) isolationRatio() float64 {
	if a := r.IsoAlone.rate(); a > 0 {
		return r.IsoBeside.rate() / a
	}
	return 0
}

func (r *report) matching() int64 {
	if r.IngestEvents == 0 {
		return 0
	}
	return r.IngestDeliveries / r.IngestEvents
}
