// Package event defines the normalized event every source produces and every
// rule and action consumes. It depends on the standard library only.
package event

import (
	"time"
)

// Event is one verified webhook delivery, normalized across vendors.
type Event struct {
	// Source is the configured source name, the :source of /hooks/:source.
	Source string `json:"source"`
	// Vendor is the source's kind: productlift, sleekplan, leanbe, userback or a generic kind.
	Vendor string `json:"vendor"`
	// Event is the vendor's own event name, e.g. vote.created or feedback.create.
	Event string `json:"event"`
	// ID is the vendor's delivery id, or a hash of the verified bytes where it has none.
	ID string `json:"id"`
	// Time is when the vendor says the event happened; where it does not
	// say, the router sets it to Received.
	Time time.Time `json:"time"`
	// Received is when Switchyard accepted the request.
	Received time.Time `json:"received"`
	// Data is the vendor's event object (data, or Leanbe's payload).
	Data map[string]any `json:"data"`
	// Payload is the whole decoded body.
	Payload map[string]any `json:"payload"`
	// Headers holds the request headers with lower-cased names, secrets removed.
	Headers map[string]string `json:"headers"`
}

// Names lists the top-level names a condition or template can use. Keep in
// sync with Env.
var Names = []string{"source", "vendor", "event", "id", "time", "data", "payload", "headers"}

// Env returns the names a rule condition and an action template see.
func (e *Event) Env() map[string]any {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	payload := e.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	headers := make(map[string]any, len(e.Headers))
	for k, v := range e.Headers {
		headers[k] = v
	}
	return map[string]any{
		"source":  e.Source,
		"vendor":  e.Vendor,
		"event":   e.Event,
		"id":      e.ID,
		"time":    e.Time,
		"data":    data,
		"payload": payload,
		"headers": headers,
	}
}

// Key is the event's identity for deduplication: the same delivery from the
// same source always has the same key.
func (e *Event) Key() string { return e.Source + "/" + e.ID }
