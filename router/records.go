package router

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
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
	ID       string      `json:"id"`
	Time     time.Time   `json:"time"`
	Received time.Time   `json:"received"`
	Rules    []string    `json:"rules"`
	Errors   []RuleError `json:"errors,omitempty"`
	Jobs     int         `json:"jobs"`
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

// recordBufSize is the room for a record on the stack: a delivery record
// and a typical match record fit, and a longer one grows onto the heap.
const recordBufSize = 1024

// recordEvent writes a match record without waiting for the store. A
// record that cannot be written is logged and dropped: the log is for
// operators, and must never hold up delivery. It is encoded without
// reflection unless it holds something only json.Marshal encodes (see
// appendJSON).
func (r *Router) recordEvent(subject string, rec *EventRecord) {
	var buf [recordBufSize]byte
	data, err := rec.appendJSON(buf[:0])
	if errors.Is(err, errUseMarshal) {
		cp := *rec // only this copy escapes, and only on this path
		data, err = json.Marshal(&cp)
	}
	// Publish copies data into the connection's buffer before it returns,
	// so buf may be on the stack.
	r.send(subject, data, err)
}

// recordDeliveryRecord writes a delivery record, encoded without
// reflection unless it holds something only json.Marshal encodes.
func (r *Router) recordDeliveryRecord(subject string, rec *DeliveryRecord) {
	var buf [recordBufSize]byte
	data, err := rec.appendJSON(buf[:0])
	if errors.Is(err, errUseMarshal) {
		cp := *rec
		data, err = json.Marshal(&cp)
	}
	r.send(subject, data, err)
}

// send publishes an encoded record, or logs why it could not be encoded or
// published.
func (r *Router) send(subject string, data []byte, err error) {
	if err == nil {
		err = r.q.Send(subject, data)
	}
	if err != nil {
		r.log.Warn("could not write to the delivery log", "subject", subject, "err", err)
	}
}

func (r *Router) recordDelivery(j *Job, outcome string, attempt int, latency time.Duration, errMsg string, next time.Duration) {
	r.recordDeliveryRecord(deliverySubject+"."+j.Kind, &DeliveryRecord{
		At: r.opts.Now().UTC(), JobID: j.ID, EventKey: j.Event.Key(), Source: j.Event.Source,
		Event: j.Event.Event, EventID: j.Event.ID, Rule: j.Rule, Action: j.Action + 1, Kind: j.Kind,
		Outcome: outcome, Attempt: attempt, LatencyMS: float64(latency.Microseconds()) / 1000,
		Error: errMsg, NextInMS: next.Milliseconds(),
	})
}

// errUseMarshal says that a record holds a value its appender leaves to
// json.Marshal: the record is to be encoded by json.Marshal instead, which
// also reports the error if the value cannot be encoded at all.
var errUseMarshal = errors.New("record left to json.Marshal")

// appendJSON appends rec exactly as json.Marshal encodes it. A record with
// Full set (only old records have it), or a time or number JSON cannot
// hold, is not appended: errUseMarshal says to use json.Marshal.
func (rec *EventRecord) appendJSON(dst []byte) ([]byte, error) {
	if rec.Full != nil {
		return dst, errUseMarshal
	}
	ok := true
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, rec.Seq, 10)
	dst, ok = appendJSONTimeField(dst, `,"at":`, rec.At, ok)
	dst = appendJSONStringField(dst, `,"key":`, rec.Key)
	dst = appendJSONStringField(dst, `,"source":`, rec.Source)
	dst = appendJSONStringField(dst, `,"vendor":`, rec.Vendor)
	dst = appendJSONStringField(dst, `,"event":`, rec.Event)
	dst = appendJSONStringField(dst, `,"id":`, rec.ID)
	dst, ok = appendJSONTimeField(dst, `,"time":`, rec.Time, ok)
	dst, ok = appendJSONTimeField(dst, `,"received":`, rec.Received, ok)
	dst = appendJSONStrings(append(dst, `,"rules":`...), rec.Rules)
	if len(rec.Errors) > 0 {
		dst = append(dst, `,"errors":[`...)
		for i := range rec.Errors {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONStringField(dst, `{"rule":`, rec.Errors[i].Rule)
			dst = appendJSONStringField(dst, `,"error":`, rec.Errors[i].Error)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = strconv.AppendInt(append(dst, `,"jobs":`...), int64(rec.Jobs), 10)
	if rec.EventSeq != 0 {
		dst = strconv.AppendUint(append(dst, `,"event_seq":`...), rec.EventSeq, 10)
	}
	if !ok {
		return dst, errUseMarshal
	}
	return append(dst, '}'), nil
}

// appendJSON appends rec exactly as json.Marshal encodes it. A record with
// a time or number JSON cannot hold is not appended: errUseMarshal says to
// use json.Marshal.
func (rec *DeliveryRecord) appendJSON(dst []byte) ([]byte, error) {
	ok := true
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, rec.Seq, 10)
	dst, ok = appendJSONTimeField(dst, `,"at":`, rec.At, ok)
	dst = appendJSONStringField(dst, `,"job_id":`, rec.JobID)
	dst = appendJSONStringField(dst, `,"event_key":`, rec.EventKey)
	dst = appendJSONStringField(dst, `,"source":`, rec.Source)
	dst = appendJSONStringField(dst, `,"event":`, rec.Event)
	dst = appendJSONStringField(dst, `,"event_id":`, rec.EventID)
	dst = appendJSONStringField(dst, `,"rule":`, rec.Rule)
	dst = strconv.AppendInt(append(dst, `,"action":`...), int64(rec.Action), 10)
	dst = appendJSONStringField(dst, `,"kind":`, rec.Kind)
	dst = appendJSONStringField(dst, `,"outcome":`, rec.Outcome)
	dst = strconv.AppendInt(append(dst, `,"attempt":`...), int64(rec.Attempt), 10)
	var fok bool
	dst, fok = appendJSONFloat(append(dst, `,"latency_ms":`...), rec.LatencyMS)
	if rec.Error != "" {
		dst = appendJSONStringField(dst, `,"error":`, rec.Error)
	}
	if rec.NextInMS != 0 {
		dst = strconv.AppendInt(append(dst, `,"next_attempt_in_ms":`...), rec.NextInMS, 10)
	}
	if !ok || !fok {
		return dst, errUseMarshal
	}
	return append(dst, '}'), nil
}

// appendJSONStringField appends a member's name (with its comma and colon,
// as key) and string value.
func appendJSONStringField(dst []byte, key, s string) []byte {
	return appendJSONString(append(dst, key...), s)
}

// appendJSONTimeField appends a member's name and time value; ok turns
// false, and stays so, if a time cannot be encoded (see appendJSONTime).
func appendJSONTimeField(dst []byte, key string, t time.Time, ok bool) ([]byte, bool) {
	dst, tok := appendJSONTime(append(dst, key...), t)
	return dst, ok && tok
}

// appendJSONStrings appends a []string as json.Marshal does: null when
// nil, [] when empty.
func appendJSONStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with as many fractional digits as needed). It reports false for a time
// RFC 3339 cannot hold (a year outside 0-9999, a zone offset of a day or
// more), for which json.Marshal returns an error.
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	b, err := t.AppendText(append(dst, '"'))
	if err != nil {
		return dst, false
	}
	return append(b, '"'), true
}

// appendJSONFloat appends f as encoding/json encodes a float64: like
// strconv's shortest 'f' format, but in 'e' format for magnitudes below
// 1e-6 or from 1e21 on, with a one-digit negative exponent not padded
// (1e-7, not 1e-07). It reports false for NaN and infinities, which JSON
// cannot hold.
func appendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}
