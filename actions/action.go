// Package actions delivers a matched event somewhere: a Slack message, an
// outbound HTTP request, an email. One sub-package per kind; this package
// holds what they share: the Action interface, templates, and the error
// classification that the retry loop reads.
package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/event"
)

// Action sends one event, or one firing of a grouped rule, to one receiver.
// Implementations are built at load (templates parsed, clients made) and
// safe for concurrent use. They do one attempt per Do call: retries,
// timeouts and dead letters wrap them.
//
// DoData and RenderData render the action's templates against the data
// given: EventData(ev) for one event, (*Group).Data() for a grouped rule's
// firing. Do and Render are DoData and RenderData of EventData(ev).
type Action interface {
	// Kind is slack, http or email.
	Kind() string
	// Do makes one delivery attempt for one event. A failure is an error;
	// use Permanent and RetryAfter to classify it.
	Do(ctx context.Context, ev *event.Event) error
	// Render returns what Do would send, for dry runs and dead letters,
	// without sending anything. Secrets in it are redacted by the caller.
	Render(ev *event.Event) (Rendered, error)
	// DoData is Do with the templates' data given: a grouped rule's firing
	// is delivered with DoData(ctx, group.Data()).
	DoData(ctx context.Context, data Data) error
	// RenderData is Render with the templates' data given.
	RenderData(data Data) (Rendered, error)
}

// Rendered is a human-readable rendering of one delivery.
type Rendered struct {
	Kind   string            `json:"kind"`
	Target string            `json:"target"` // channel, URL, or recipients
	Fields map[string]string `json:"fields"` // e.g. text, method, headers, subject, body
}

// PermanentError marks a failure that retrying cannot fix (a 4xx other than
// 408 and 429, a bad template value, a rejected recipient).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryAfterError carries the receiver's wish for the next attempt's time.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter marks err as retryable no sooner than after.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: after}
}

// Classify tells the retry loop what to do with an error from Do: whether
// to retry at all, and the least delay the receiver asked for (0: none).
func Classify(err error) (retry bool, after time.Duration) {
	if err == nil {
		return false, 0
	}
	var p *PermanentError
	if errors.As(err, &p) {
		return false, 0
	}
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return true, ra.After
	}
	return true, 0
}

// deliveryIDKey is the context key of a delivery's id.
type deliveryIDKey struct{}

// WithDeliveryID returns ctx carrying id, the stable identity of one
// delivery: the same (event, rule, action) has the same id on every attempt,
// retries and replays included (the router's job id). Actions that can pass
// it on do (the http action sends it as Idempotency-Key and webhook-id), so
// that a receiver can drop the duplicates at-least-once delivery produces.
func WithDeliveryID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, deliveryIDKey{}, id)
}

// DeliveryID returns the delivery id WithDeliveryID put in ctx, or "" when
// there is none (a caller that is not the router's delivery loop).
func DeliveryID(ctx context.Context) string {
	id, _ := ctx.Value(deliveryIDKey{}).(string)
	return id
}

// EscapeURLComponent is the Escaper of values inserted into a URL after its
// literal origin: it percent-encodes everything but RFC 3986's unreserved
// characters, so a value stays within one path segment or one query value
// whatever it contains.
func EscapeURLComponent(s string) string {
	return PercentEncode(s, func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	})
}

// PercentEncode writes every byte of s that keep refuses as %XX.
func PercentEncode(s string, keep func(byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
