package router

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
)

// The log stream keeps what happened to each event for a retention window:
// one match record per event, one delivery record per attempt. The admin
// API and the dashboard read it; every replica writes to it.
const (
	matchSubject    = queue.LogSubject + ".match"    // .<source>
	deliverySubject = queue.LogSubject + ".delivery" // .<kind>
)

// EventRecord is written once an event has been matched.
type EventRecord struct {
	Seq      uint64      `json:"seq"`
	At       time.Time   `json:"at"`
	Key      string      `json:"key"`
	Source   string      `json:"source"`
	Vendor   string      `json:"vendor"`
	Event    string      `json:"event"`
	Topic    string      `json:"topic,omitempty"`
	ID       string      `json:"id"`
	Time     time.Time   `json:"time"`
	Received time.Time   `json:"received"`
	Rules    []string    `json:"rules"`
	Errors   []RuleError `json:"errors,omitempty"`
	// Held are the matched rules whose firing was held back.
	Held []Held `json:"held,omitempty"`
	Jobs int    `json:"jobs"`
	// EventSeq is the event's message in the events stream, from which
	// the event's detail is normalized again when asked for.
	EventSeq uint64 `json:"event_seq,omitempty"`
	// Full is the normalized event, in records written by versions before
	// EventSeq; not listed.
	Full *event.Event `json:"normalized,omitempty"`
}

// RuleError is a condition that failed at run time for an event.
type RuleError struct {
	Rule  string `json:"rule"`
	Error string `json:"error"`
}

// DeliveryRecord is one delivery attempt's outcome.
type DeliveryRecord struct {
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	JobID     string    `json:"job_id"`
	EventKey  string    `json:"event_key"`
	Source    string    `json:"source"`
	Event     string    `json:"event"`
	EventID   string    `json:"event_id"`
	Rule      string    `json:"rule"`
	Action    int       `json:"action"` // 1-based
	Kind      string    `json:"kind"`
	Outcome   string    `json:"outcome"` // delivered, retrying, dead
	Attempt   int       `json:"attempt"`
	LatencyMS float64   `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
	NextInMS  int64     `json:"next_attempt_in_ms,omitempty"`
}

// send writes a record to the log without waiting for the store. A record
// that cannot be written is logged and dropped: the log is for operators,
// and must never hold up delivery.
func (r *Router) send(subject string, rec any) {
	data, err := json.Marshal(rec)
	if err == nil {
		err = r.q.Send(subject, data)
	}
	switch {
	case errors.Is(err, queue.ErrStoreFull):
		r.log.Debug("delivery log record dropped: the store is full", "subject", subject)
	case err != nil:
		r.log.Warn("could not write to the delivery log", "subject", subject, "err", err)
	}
}

func (r *Router) recordDelivery(j *Job, outcome string, attempt int, latency time.Duration, errMsg string, next time.Duration) {
	r.send(deliverySubject+"."+j.Kind, &DeliveryRecord{
		At: r.opts.Now().UTC(), JobID: j.ID, EventKey: j.Event.Key(), Source: j.Event.Source,
		Event: j.Event.Event, EventID: j.Event.ID, Rule: j.Rule, Action: j.Action + 1, Kind: j.Kind,
		Outcome: outcome, Attempt: attempt, LatencyMS: float64(latency.Microseconds()) / 1000,
		Error: errMsg, NextInMS: next.Milliseconds(),
	})
}
