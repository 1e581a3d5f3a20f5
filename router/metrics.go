package router

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchyard/switchyard/queue"
)

// metrics are Switchyard's Prometheus metrics. Labels carry only bounded
// values: source and rule names from the rules file, action kinds and
// outcomes; never event ids or feedback text.
type metrics struct {
	received   *prometheus.CounterVec
	matches    *prometheus.CounterVec
	evalErrors *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	deferrals  *prometheus.CounterVec
	held       *prometheus.CounterVec
	paced      *prometheus.CounterVec
	// groupFirings counts the firings of grouped rules.
	groupFirings *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
	configHash   *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry, q *queue.Queue, now func() time.Time) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_events_received_total",
			Help: "Webhook requests by source and outcome (accepted, duplicate, unauthorized, malformed, too_large, stalled, unsupported_media_type, store_full, store_failed, unknown_source).",
		}, []string{"source", "outcome"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_rule_matches_total",
			Help: "Events matched, by rule.",
		}, []string{"rule"}),
		evalErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_rule_evaluation_errors_total",
			Help: "Conditions that failed at run time (counted as no match), by rule.",
		}, []string{"rule"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_deliveries_total",
			Help: "Delivery attempts by action kind and outcome (delivered, retrying, dead).",
		}, []string{"kind", "outcome"}),
		deferrals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_deliveries_deferred_total",
			Help: "Deliveries put off (not attempted, not counted as attempts) because their receiver already had its share of the kind's workers.",
		}, []string{"kind"}),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_rule_firings_held_total",
			Help: "Matched rules whose firing was held back, by rule and how (muted, throttled, grouped: the event waits for its group's firing).",
		}, []string{"rule", "how"}),
		paced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_deliveries_paced_total",
			Help: "Deliveries given a later turn by their receiver's pace (not attempts), by rule.",
		}, []string{"rule"}),
		groupFirings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_group_firings_total",
			Help: "Firings of grouped rules (one digest each, delivered by each of the rule's actions), by rule.",
		}, []string{"rule"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_delivery_duration_seconds",
			Help:    "Time of one delivery attempt, by action kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"kind"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_config_last_reload_successful",
			Help: "Whether the last rules reload succeeded (1) or failed and the previous rules are still in force (0).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchyard_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful rules load.",
		}),
		configHash: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_config_hash",
			Help: "Hash of the rules file in force, as a label; the value is always 1.",
		}, []string{"sha256"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchyard_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "revision", "goversion"})
	v, rev := BuildVersion()
	build.WithLabelValues(v, rev, runtime.Version()).Set(1)
	reg.MustRegister(build, m.received, m.matches, m.evalErrors, m.deliveries, m.deferrals, m.held, m.paced, m.groupFirings, m.latency,
		m.reloadOK, m.reloadTime, m.configHash, newQueueCollector(q, now),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) setConfig(c *Config) {
	m.configHash.Reset()
	m.configHash.WithLabelValues(c.File.Hash).Set(1)
}

// queueCollector reports the streams' state as of each scrape, so that a
// scrape never shows a stream missing or out of date.
type queueCollector struct {
	q        *queue.Queue
	now      func() time.Time
	pending  *prometheus.Desc
	oldest   *prometheus.Desc
	lost     *prometheus.Desc
	writable *prometheus.Desc
}

func newQueueCollector(q *queue.Queue, now func() time.Time) *queueCollector {
	return &queueCollector{q: q, now: now,
		pending: prometheus.NewDesc("switchyard_queue_messages",
			"Messages held by each stream (jobs: deliveries pending; dead: dead letters).", []string{"stream"}, nil),
		oldest: prometheus.NewDesc("switchyard_queue_oldest_message_age_seconds",
			"Age of the oldest message each stream holds (jobs: the longest-waiting delivery); 0 when empty.", []string{"stream"}, nil),
		lost: prometheus.NewDesc("switchyard_store_lost_messages",
			"Messages the store lost while this process was stopped (a damaged file), by stream, as found at start; replay stored events to recover deliveries.", []string{"stream"}, nil),
		writable: prometheus.NewDesc("switchyard_store_writable",
			"Whether the store takes writes (0 while its disk is full: requests are answered 503).", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.oldest
	ch <- c.lost
	ch <- c.writable
}

// Collect asks the store for each stream's state. A stream the store does
// not answer for within a few seconds is left out of this scrape.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for stream, n := range c.q.Lost() {
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.GaugeValue, float64(n), stream)
	}
	writable := 1.0
	if c.q.Writable() != nil {
		writable = 0
	}
	ch <- prometheus.MustNewConstMetric(c.writable, prometheus.GaugeValue, writable)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, s := range []string{queue.EventsStream, queue.JobsStream, queue.DeadStream} {
		info, err := c.q.StreamInfo(ctx, s)
		if err != nil {
			continue
		}
		age := 0.0
		if info.State.Msgs > 0 && !info.State.FirstTime.IsZero() {
			age = c.now().Sub(info.State.FirstTime).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.State.Msgs), s)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, s)
	}
}

// BuildVersion reads the module version and VCS revision the binary was
// built with.
func BuildVersion() (version, revision string) {
	version = "(devel)"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, ""
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return version, revision
}
