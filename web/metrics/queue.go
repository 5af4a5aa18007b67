package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// queueCollector reads the queue's depth from the database on every
// scrape: one index-backed statement under a statement timeout (see
// models.Store.QueueStats). When it fails, ringhook_queue_query_ok is 0
// and the other queue gauges are left out rather than reported stale.
type queueCollector struct {
	src        QueueSource
	timeout    time.Duration
	staleAfter time.Duration
	now        func() time.Time
	log        logger

	ok, due, oldest, sending, live, unpartitioned *prometheus.Desc
}

// logger is the part of slog.Logger the collector uses.
type logger interface {
	Warn(msg string, args ...any)
}

func newQueueCollector(o Options) *queueCollector {
	return &queueCollector{src: o.Queue, timeout: o.QueueTimeout, staleAfter: o.StaleAfter, now: o.Now, log: o.Log,
		ok: prometheus.NewDesc("ringhook_queue_query_ok",
			"1 when this scrape could read the queue from the database, 0 when the query failed or timed out.", nil, nil),
		due: prometheus.NewDesc("ringhook_queue_due_deliveries",
			"Deliveries of enabled webhooks due now and not yet claimed, across all processes.", nil, nil),
		oldest: prometheus.NewDesc("ringhook_queue_oldest_due_age_seconds",
			"How long the longest-waiting due delivery has been due (0 when none is).", nil, nil),
		sending: prometheus.NewDesc("ringhook_queue_sending_deliveries",
			"Deliveries leased to a sender right now, across all processes.", nil, nil),
		live: prometheus.NewDesc("ringhook_dispatchers_live",
			"Dispatcher processes whose heartbeat is recent.", nil, nil),
		unpartitioned: prometheus.NewDesc("ringhook_history_unpartitioned_rows",
			"History rows waiting in the default partitions because their week had no partition when they were written (up to 1,000 per table); should be 0.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ok, c.due, c.oldest, c.sending, c.live, c.unpartitioned} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	// The statement timeout bounds the query; the context bounds the
	// wait for a pool connection too.
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout)
	defer cancel()
	now := c.now()
	st, err := c.src.QueueStats(ctx, now, c.staleAfter, c.timeout)
	if err != nil {
		c.log.Warn("metrics: queue depth unavailable for this scrape", "err", err)
		ch <- prometheus.MustNewConstMetric(c.ok, prometheus.GaugeValue, 0)
		return
	}
	age := 0.0
	if st.OldestDue != nil {
		age = max(now.Sub(*st.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.ok, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(st.Due))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.sending, prometheus.GaugeValue, float64(st.Sending))
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, float64(st.Dispatchers))
	ch <- prometheus.MustNewConstMetric(c.unpartitioned, prometheus.GaugeValue, float64(st.Unpartitioned))
}
