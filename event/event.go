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
	// Topic is the vendor-neutral name of what happened, one of Topics(),
	// or empty where the vendor's event has no counterpart.
	Topic string `json:"topic"`
	// Subject is what the event is about, in the same words for every
	// vendor; a field the vendor does not send is empty.
	Subject Subject `json:"subject"`
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

// Subject is the feedback item (post, idea, issue, ...) an event is about,
// or for user topics the user, read from the vendor's payload. Its JSON
// names are the names conditions and templates use after "subject.".
type Subject struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Status      string `json:"status"`
	Author      Author `json:"author"`
	// Votes is the item's vote count (upvotes), 0 where the vendor does
	// not say.
	Votes float64 `json:"votes"`
}

// Author is who wrote the subject (for user topics, the user).
type Author struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Map is the subject as conditions and templates see it: the JSON names,
// author as a nested map, votes a float64 like every JSON number.
func (s Subject) Map() map[string]any {
	return map[string]any{
		"title":       s.Title,
		"description": s.Description,
		"url":         s.URL,
		"status":      s.Status,
		"author": map[string]any{
			"name":  s.Author.Name,
			"email": s.Author.Email,
		},
		"votes": s.Votes,
	}
}

// Topics returns the vendor-neutral topics an event may carry (besides
// empty): what happened, whichever tool it happened in.
func Topics() []string {
	return []string{
		"feedback.created", "feedback.updated", "feedback.deleted",
		"status.changed",
		"vote.created", "vote.deleted",
		"comment.created", "comment.updated", "comment.deleted",
		"subscription.created", "subscription.deleted",
		"user.created", "user.updated", "user.deleted",
		"changelog.published", "changelog.updated", "changelog.deleted",
	}
}

// Names lists the top-level names a condition or template can use. Keep in
// sync with Env.
var Names = []string{"source", "vendor", "event", "topic", "subject", "id", "time", "data", "payload", "headers"}

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
		"topic":   e.Topic,
		"subject": e.Subject.Map(),
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
