package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
)

// A throttle (a rule's or an action's throttle:) lets one firing per key
// through per window. Its windows are keys of a bucket every replica
// shares, each created by the firing that opens it and removed by the
// store when the window ends; a firing that finds its key taken is held
// back, recorded and counted, never retried.

// throttle is one window a delivery must claim: the plan lists them, the
// dispatcher claims them.
type throttle struct {
	rule   string
	action int // 0-based; -1: the rule's own throttle
	key    string
	per    time.Duration
	event  string // the event's key, stored as the window's value
}

// throttleOf is the throttle spec t of rule (action -1: the rule's own)
// asks ev's firing to claim; nil when there is none. A key template that
// fails on ev puts the firing in the window of the empty key, and the
// error on the event's record.
func (c *Config) throttleOf(p *plan, ev *event.Event, rule string, action int, t *rules.ThrottleSpec) *throttle {
	if t == nil {
		return nil
	}
	k, err := t.KeyOf(ev)
	if err != nil {
		p.record.Errors = append(p.record.Errors, RuleError{Rule: rule, Error: c.Redact("throttle key: " + err.Error())})
	}
	key := token(rule)
	if action >= 0 {
		key += "." + strconv.Itoa(action)
	}
	return &throttle{rule: rule, action: action, key: key + "." + token(k), per: t.Per, event: ev.Key()}
}

// token is a digest of s that fits a key or a subject of the store
// whatever s holds (rule names and rendered keys are free text).
func token(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// throttles are the windows in force, shared by every replica.
type throttles struct {
	bucket jetstream.KeyValue
}

func openThrottles(ctx context.Context, q *queue.Queue) (*throttles, error) {
	kv, err := q.KeyValue(ctx, queue.ThrottlesBucket, "Throttle windows: a firing per key per window; each removed when its window ends")
	if err != nil {
		return nil, err
	}
	return &throttles{bucket: kv}, nil
}

// claim opens t's window for its event, or says how the firing is held
// back (nil: it goes ahead). An event matched again (after a crash, or
// by a second replica) finds the window it opened itself and goes ahead
// again: claiming is idempotent per event.
func (ts *throttles) claim(ctx context.Context, t *throttle) (*Held, error) {
	// The store keeps a key for whole seconds.
	ttl := (t.per + time.Second - 1).Truncate(time.Second)
	_, err := ts.bucket.Create(ctx, t.key, []byte(t.event), jetstream.KeyTTL(ttl))
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("claim throttle window: %w", err)
	}
	e, err := ts.bucket.Get(ctx, t.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// The window ended in between: claim the next one.
		return ts.claim(ctx, t)
	}
	if err != nil {
		return nil, fmt.Errorf("read throttle window: %w", err)
	}
	if string(e.Value()) == t.event {
		return nil, nil
	}
	until := e.Created().Add(ttl)
	by := t.rule
	if t.action >= 0 {
		by = fmt.Sprintf("%s action #%d", t.rule, t.action+1)
	}
	return &Held{Rule: t.rule, How: "throttled", By: t.rule, Until: until.UTC(),
		Reason: fmt.Sprintf("throttled by %s until %s", by, until.UTC().Format("15:04:05 MST"))}, nil
}

// throttle claims the windows of p's deliveries and leaves out those held
// back, which the record then lists. A window that cannot be claimed (the
// store does not answer) fails the whole: the event is matched again.
func (r *Router) throttle(ctx context.Context, p *plan) error {
	held := map[*throttle]*Held{}
	kept := p.deliveries[:0]
	for _, d := range p.deliveries {
		var h *Held
		for _, t := range d.throttles {
			got, seen := held[t]
			if !seen {
				var err error
				if got, err = r.throttles.claim(ctx, t); err != nil {
					return err
				}
				held[t] = got
				if got != nil {
					p.record.Held = append(p.record.Held, *got)
				}
			}
			if got != nil {
				h = got
				break
			}
		}
		if h == nil {
			kept = append(kept, d)
		}
	}
	p.deliveries = kept
	p.record.Jobs = len(kept)
	return nil
}
