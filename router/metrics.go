package router

import (
	"context"
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
	latency    *prometheus.HistogramVec
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	configHash *prometheus.GaugeVec
	pending    *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_events_received_total",
			Help: "Webhook requests by source and outcome (accepted, duplicate, unauthorized, malformed, too_large, unsupported_media_type, store_failed, unknown_source).",
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
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_queue_messages",
			Help: "Messages held by each stream (jobs: deliveries pending; dead: dead letters).",
		}, []string{"stream"}),
	}
	reg.MustRegister(m.received, m.matches, m.evalErrors, m.deliveries, m.latency,
		m.reloadOK, m.reloadTime, m.configHash, m.pending,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) setConfig(c *Config) {
	m.configHash.Reset()
	m.configHash.WithLabelValues(c.File.Hash).Set(1)
}

// pollQueue refreshes the stream gauges until ctx is done.
func (m *metrics) pollQueue(ctx context.Context, q *queue.Queue) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		for _, s := range []string{queue.EventsStream, queue.JobsStream, queue.DeadStream} {
			if info, err := q.StreamInfo(ctx, s); err == nil {
				m.pending.WithLabelValues(s).Set(float64(info.State.Msgs))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
