package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/sources"
)

// The events stream keeps every event as received (seven days by
// default). Reading it again serves the event detail, the replay of events
// through the rules in force, and the preview of a rules file.

var (
	// errNoSource: the stored event's source is not in the config.
	errNoSource = errors.New("the event's source is not configured")
	// errNoRule: a rule asked for is not in the config.
	errNoRule = errors.New("no such rule in the rules in force")
)

// normalizeStored normalizes a stored event message with cfg's source of
// that name and the envelope the ack path read, stamped with the time it
// was received.
func normalizeStored(cfg *Config, h nats.Header, body []byte) (event.Event, error) {
	src, ok := cfg.sources[h.Get(hdrSource)]
	if !ok {
		return event.Event{}, errNoSource
	}
	var headers map[string]string
	if v := h.Get(hdrHeaders); v != "" {
		if err := json.Unmarshal([]byte(v), &headers); err != nil {
			return event.Event{}, fmt.Errorf("stored headers: %w", err)
		}
	}
	env := sources.Envelope{ID: h.Get(hdrID), Event: h.Get(hdrEvent)}
	ev, err := src.Normalize(env, body, headers)
	if err != nil {
		return event.Event{}, err
	}
	received, _ := time.Parse(time.RFC3339Nano, h.Get(hdrReceived))
	stamp(&ev, received)
	return ev, nil
}

// storedMsg is one stored event as received.
type storedMsg struct {
	Seq      uint64
	Header   nats.Header
	Body     []byte
	Received time.Time
}

// scanBounds bound a read of the events stream.
type scanBounds struct {
	since time.Time     // received no earlier (zero: no bound)
	last  int           // at most this many events, newest first (0: queue.MaxScan)
	time  time.Duration // at most this long (0: no bound)
}

// ScanResult says how a read of the stored events ended.
type ScanResult struct {
	Scanned int  `json:"scanned"`
	Partial bool `json:"partial"` // stopped by a bound on count or time before the window's start
	TookMS  int  `json:"took_ms"`
}

// scanStored calls fn with the stored events within b, newest first.
func (r *Router) scanStored(ctx context.Context, b scanBounds, fn func(m *storedMsg)) (ScanResult, error) {
	start := time.Now()
	limit := b.last
	if limit <= 0 || limit > queue.MaxScan {
		limit = queue.MaxScan
	}
	var res ScanResult
	windowStart := false // the scan reached an event received before since
	next, err := r.q.Scan(ctx, queue.EventsStream, 0, func(raw *jetstream.RawStreamMsg) bool {
		m := storedMsg{Seq: raw.Sequence, Header: raw.Header, Body: raw.Data}
		m.Received, _ = time.Parse(time.RFC3339Nano, raw.Header.Get(hdrReceived))
		if !b.since.IsZero() && m.Received.Before(b.since) {
			windowStart = true // the stream is in the order received
			return false
		}
		if res.Scanned >= limit || (b.time > 0 && time.Since(start) > b.time) {
			return false
		}
		res.Scanned++
		fn(&m)
		return true
	})
	res.Partial = next != 0 && !windowStart
	res.TookMS = int(time.Since(start).Milliseconds())
	return res, err
}

// ReplayResult is what a replay of stored events did.
type ReplayResult struct {
	ScanResult
	Planned          int `json:"planned"`           // deliveries the rules in force make of the events
	AlreadyDelivered int `json:"already_delivered"` // of those, made already (the delivery log says so)
	Pending          int `json:"pending"`           // of those, waiting in the jobs stream or parked as dead letters
	Stored           int `json:"stored"`            // stored as jobs now
}

// ReplayEvents runs the stored events received since since through the
// rules in force (only rule, if given) and stores as jobs the deliveries
// that were neither made (as the delivery log shows) nor are waiting or
// parked: the recovery from a store that lost jobs, or from a rule that
// was wrong.
func (r *Router) ReplayEvents(ctx context.Context, since time.Time, rule string) (ReplayResult, error) {
	cfg := r.cur.Load()
	if rule != "" {
		if _, ok := cfg.rules[rule]; !ok {
			return ReplayResult{}, fmt.Errorf("%w: %q", errNoRule, rule)
		}
	}
	done, err := r.knownDeliveries(ctx, since)
	if err != nil {
		return ReplayResult{}, err
	}
	now := r.opts.Now()
	stamp := now.UTC().Format(time.RFC3339Nano)
	var res ReplayResult
	var jobs []queue.Msg
	res.ScanResult, err = r.scanStored(ctx, scanBounds{since: since}, func(m *storedMsg) {
		ev, err := normalizeStored(cfg, m.Header, m.Body)
		if err != nil {
			return
		}
		for _, d := range cfg.plan(&ev, now, r.mutes).deliveries {
			if rule != "" && d.job.Rule != rule {
				continue
			}
			res.Planned++
			switch done[d.job.ID] {
			case "delivered":
				res.AlreadyDelivered++
				continue
			case "pending":
				res.Pending++
				continue
			}
			// Its own message id: the dedup window may remember the job's
			// id for a message the store has lost.
			jm, err := jobMsg(d.job, jobState{base: d.job.ID + "/rerun/" + stamp})
			if err == nil {
				jobs = append(jobs, jm)
			}
		}
	})
	if err != nil {
		return res, err
	}
	if err := r.q.PublishAll(ctx, jobs); err != nil {
		return res, fmt.Errorf("store the replayed deliveries: %w", err)
	}
	res.Stored = len(jobs)
	r.log.Info("stored events replayed", "since", since, "rule", rule, "events", res.Scanned,
		"planned", res.Planned, "already_delivered", res.AlreadyDelivered, "pending", res.Pending, "stored", res.Stored)
	return res, nil
}

// knownDeliveries maps the ids of the jobs that were delivered since
// since, as the delivery log says, to "delivered", and those waiting in
// the jobs stream or parked as dead letters to "pending".
func (r *Router) knownDeliveries(ctx context.Context, since time.Time) (map[string]string, error) {
	known := map[string]string{}
	_, err := r.q.Scan(ctx, queue.LogStream, 0, func(m *jetstream.RawStreamMsg) bool {
		if !strings.HasPrefix(m.Subject, deliverySubject+".") {
			return true
		}
		var d DeliveryRecord
		if json.Unmarshal(m.Data, &d) != nil {
			return true
		}
		if d.At.Before(since) {
			return false
		}
		if d.Outcome == "delivered" {
			known[d.JobID] = "delivered"
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read the delivery log: %w", err)
	}
	for _, stream := range []string{queue.JobsStream, queue.DeadStream} {
		_, err := r.q.Scan(ctx, stream, 0, func(m *jetstream.RawStreamMsg) bool {
			var id string
			if stream == queue.JobsStream {
				j, err := decodeJobData(m.Data)
				id = j.ID
				if err != nil {
					return true
				}
			} else {
				var d DeadLetter
				if json.Unmarshal(m.Data, &d) != nil {
					return true
				}
				id = d.Job.ID
			}
			if known[id] == "" {
				known[id] = "pending"
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
	}
	return known, nil
}
