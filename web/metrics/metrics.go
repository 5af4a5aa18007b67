// Package metrics is Ringhook's Prometheus face: a registry of its own (no
// global state) holding the dispatcher's counters and histograms (fed
// through the dispatcher's Observer interface, which *Metrics implements),
// queue depth read from the database on each scrape, the database pool's
// statistics and the Go runtime's, and the HTTP handler that serves them,
// optionally behind a bearer token. docs/operations.md lists every metric
// and the alerts worth setting on them.
//
// No metric carries a per-webhook or per-account label: their number is
// unbounded, and a time series per webhook would make the metrics cost
// grow with the customer base. Per-webhook figures live in the console.
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// QueueSource reads the queue's depth (models.Store does).
type QueueSource interface {
	QueueStats(ctx context.Context, now time.Time, staleAfter, timeout time.Duration) (models.QueueStats, error)
}

// Options are the collaborators and labels of a Metrics.
type Options struct {
	Version string // ringhook_build_info{version}
	Role    string // ringhook_build_info{role}: all, web or dispatcher
	Workers int    // ringhook_workers: this process's configured senders (0 in a web process)
	// DB, when set, is reported as go_sql_* with db_name="ringhook".
	DB *sql.DB
	// Queue, when set, is read on every scrape for the ringhook_queue_*
	// gauges. It is a figure for the whole database, the same from every
	// process; a web process may leave it out.
	Queue QueueSource
	// QueueTimeout bounds the queue query (a statement timeout); zero: 1s.
	QueueTimeout time.Duration
	// StaleAfter is when a dispatcher stops counting as live (the
	// dispatcher's own StaleAfter); zero: 5s.
	StaleAfter time.Duration
	Log        *slog.Logger
	Now        func() time.Time
}

// Metrics holds every Ringhook metric of one process.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	attempts        *prometheus.CounterVec
	attemptSeconds  *prometheus.HistogramVec
	claimSeconds    prometheus.Histogram
	claimed         prometheus.Counter
	claimErrors     prometheus.Counter
	recordSeconds   prometheus.Histogram
	recordBatch     prometheus.Histogram
	recordErrors    prometheus.Counter
	ingestEvents    *prometheus.CounterVec
	ingestDelivered prometheus.Counter
	inFlight        prometheus.Gauge
	autoDisabled    *prometheus.CounterVec
}

// Label values of ringhook_delivery_attempts_total{outcome}: the state the
// attempt left its delivery in.
const (
	OutcomeSucceeded = "succeeded" // delivered (final)
	OutcomeRetry     = "retry"     // failed, another attempt is scheduled
	OutcomeFailed    = "failed"    // failed, no attempt left (final)
)

// Label values of ringhook_webhooks_auto_disabled_total{reason}.
const (
	DisabledGone     = "gone"     // the receiver answered 410 Gone
	DisabledFailures = "failures" // the consecutive-failure rule
)

// Buckets, in seconds: attempts run up to the longest webhook timeout
// (60 s); claims and records are single statements.
var (
	attemptBuckets   = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	statementBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	batchBuckets     = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
)

// New builds the registry and registers every collector.
func New(o Options) *Metrics {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 5 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: o.Log,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringhook_delivery_attempts_total",
			Help: "Attempts recorded, by trigger (auto, manual, test), outcome (succeeded, retry, failed: the state the delivery was left in) and error kind (none when it succeeded)."},
			[]string{"trigger", "outcome", "error_kind"}),
		attemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ringhook_attempt_duration_seconds",
			Help: "Time from the start of an attempt to the end of the response body (or the error), by outcome.", Buckets: attemptBuckets},
			[]string{"outcome"}),
		claimSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ringhook_claim_duration_seconds",
			Help: "Duration of one claim statement (leasing due deliveries), empty claims included.", Buckets: statementBuckets}),
		claimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ringhook_claimed_deliveries_total",
			Help: "Deliveries leased by this process's claimer."}),
		claimErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ringhook_claim_errors_total",
			Help: "Claim statements that failed."}),
		recordSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ringhook_record_duration_seconds",
			Help: "Duration of one successful write of outcomes (attempts and next states).", Buckets: statementBuckets}),
		recordBatch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ringhook_record_batch_size",
			Help: "Outcomes per successful write.", Buckets: batchBuckets}),
		recordErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ringhook_record_errors_total",
			Help: "Writes of outcomes the database refused (the batch is kept and written again)."}),
		ingestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringhook_ingest_events_total",
			Help: "Producer events taken in, by result: accepted, duplicate (event id seen before), invalid (refused with field errors), error."},
			[]string{"result"}),
		ingestDelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "ringhook_ingest_deliveries_total",
			Help: "Deliveries created by accepted events (one per matching webhook)."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ringhook_inflight_requests",
			Help: "Requests this process is sending right now (automatic, manual and test)."}),
		autoDisabled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ringhook_webhooks_auto_disabled_total",
			Help: "Webhooks disabled automatically, by reason: gone (410) or failures (the consecutive-failure rule)."},
			[]string{"reason"}),
	}
	// Series that alerts compare against exist from the start, at zero.
	for _, kind := range []models.ErrorKind{models.ErrKindTimeout, models.ErrKindDNS, models.ErrKindConnect, models.ErrKindTLS,
		models.ErrKindHTTPStatus, models.ErrKindBlocked, models.ErrKindRender, models.ErrKindInternal} {
		m.attempts.WithLabelValues(string(models.TriggerAuto), OutcomeRetry, string(kind))
		m.attempts.WithLabelValues(string(models.TriggerAuto), OutcomeFailed, string(kind))
	}
	m.attempts.WithLabelValues(string(models.TriggerAuto), OutcomeSucceeded, "none")
	for _, r := range []string{"accepted", "duplicate", "invalid", "error"} {
		m.ingestEvents.WithLabelValues(r)
	}
	m.autoDisabled.WithLabelValues(DisabledGone)
	m.autoDisabled.WithLabelValues(DisabledFailures)

	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ringhook_build_info",
		Help: "Always 1; the labels say which version runs in which role."}, []string{"version", "role"})
	build.WithLabelValues(o.Version, o.Role).Set(1)
	workers := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ringhook_workers",
		Help: "Senders configured in this process (RINGHOOK_WORKERS; 0 where the dispatcher does not run)."})
	workers.Set(float64(o.Workers))

	m.reg.MustRegister(m.attempts, m.attemptSeconds, m.claimSeconds, m.claimed, m.claimErrors, m.recordSeconds, m.recordBatch,
		m.recordErrors, m.ingestEvents, m.ingestDelivered, m.inFlight, m.autoDisabled, build, workers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.DB != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(o.DB, "ringhook"))
	}
	if o.Queue != nil {
		m.reg.MustRegister(newQueueCollector(o))
	}
	return m
}

// Registry is where the metrics live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Claimed implements dispatch.Observer.
func (m *Metrics) Claimed(n int, took time.Duration, err error) {
	m.claimSeconds.Observe(took.Seconds())
	if err != nil {
		m.claimErrors.Inc()
		return
	}
	m.claimed.Add(float64(n))
}

// Recorded implements dispatch.Observer: attempts count once, when their
// write succeeded.
func (m *Metrics) Recorded(outs []models.Outcome, disabled []string, took time.Duration, err error) {
	if err != nil {
		m.recordErrors.Inc()
		return
	}
	m.recordSeconds.Observe(took.Seconds())
	m.recordBatch.Observe(float64(len(outs)))
	gone := map[string]bool{}
	for i := range outs {
		o := &outs[i]
		outcome := outcomeOf(o.Status)
		kind := string(o.Attempt.ErrorKind)
		if kind == "" {
			kind = "none"
		}
		m.attempts.WithLabelValues(string(o.Attempt.Trigger), outcome, kind).Inc()
		m.attemptSeconds.WithLabelValues(outcome).Observe(float64(o.Attempt.DurationMS) / 1000)
		if o.DisableReason != "" {
			gone[o.Attempt.WebhookID] = true
		}
	}
	for _, id := range disabled {
		reason := DisabledFailures
		if gone[id] {
			reason = DisabledGone
		}
		m.autoDisabled.WithLabelValues(reason).Inc()
	}
}

func outcomeOf(s models.DeliveryStatus) string {
	switch s {
	case models.StatusSucceeded:
		return OutcomeSucceeded
	case models.StatusPending:
		return OutcomeRetry
	default:
		return OutcomeFailed
	}
}

// Ingested implements dispatch.Observer.
func (m *Metrics) Ingested(res models.IngestResult, err error) {
	switch {
	case errors.Is(err, fault.ErrInvalid):
		m.ingestEvents.WithLabelValues("invalid").Inc()
	case err != nil:
		m.ingestEvents.WithLabelValues("error").Inc()
	case res.Duplicate:
		m.ingestEvents.WithLabelValues("duplicate").Inc()
	default:
		m.ingestEvents.WithLabelValues("accepted").Inc()
		m.ingestDelivered.Add(float64(res.Deliveries))
	}
}

// InFlight implements dispatch.Observer.
func (m *Metrics) InFlight(delta int) { m.inFlight.Add(float64(delta)) }

// Handler serves the metrics in the Prometheus exposition formats. With
// a token, a request must carry "Authorization: Bearer <token>" or it is
// answered 401. A collector that fails is logged and left out; the rest
// is still served.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: errorLog{m.log}, Registry: m.reg})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Compare digests: constant time whatever the lengths.
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ringhook metrics"`)
			http.Error(w, "metrics need the header Authorization: Bearer <RINGHOOK_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// errorLog sends promhttp's errors to slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Error("serve metrics", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}
