package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
)

// A mute (Alertmanager's silence) holds back a rule's firings for a
// while: all of them, or those whose event its condition holds for. The
// mutes live in a bucket of the store that every replica watches, and the
// store removes each when it ends.

// Mute is one mute.
type Mute struct {
	ID      string    `json:"id"`
	Rule    string    `json:"rule"`
	When    string    `json:"when,omitempty"` // a condition, as a rule's when; empty: every firing
	Comment string    `json:"comment"`
	Created time.Time `json:"created"`
	Ends    time.Time `json:"ends"`
}

// MaxMute is the longest a mute may last: a mute forgotten for months is
// an outage no one sees.
const MaxMute = 30 * 24 * time.Hour

var (
	errNoMute  = errors.New("no such mute")
	errBadMute = errors.New("invalid mute")
)

// Held is a rule's firing held back: muted, or throttled.
type Held struct {
	Rule   string    `json:"rule"`
	How    string    `json:"how"` // muted, throttled
	By     string    `json:"by"`  // the mute's id, or the throttle's rule
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// mutes is the mutes in force as this replica last saw them, their
// conditions compiled.
type mutes struct {
	mu     sync.RWMutex
	byID   map[string]*activeMute
	bucket jetstream.KeyValue
}

type activeMute struct {
	Mute
	cond *rules.Condition // nil: every firing
}

func openMutes(ctx context.Context, q *queue.Queue) (*mutes, error) {
	kv, err := q.KeyValue(ctx, queue.MutesBucket, "Mutes in force: each holds back a rule's firings until it ends")
	if err != nil {
		return nil, err
	}
	return &mutes{byID: map[string]*activeMute{}, bucket: kv}, nil
}

// mutedBy is the mute in force at now that holds back rule's firing for
// ev, if any.
func (ms *mutes) mutedBy(rule string, ev *event.Event, now time.Time) *Mute {
	if ms == nil {
		return nil
	}
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	for _, m := range ms.byID {
		if m.Rule != rule || !now.Before(m.Ends) {
			continue
		}
		if m.cond != nil {
			if ok, _ := m.cond.Holds(ev); !ok {
				continue
			}
		}
		return &m.Mute
	}
	return nil
}

// list is the mutes in force at now, the soonest to end first.
func (ms *mutes) list(now time.Time) []Mute {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	out := []Mute{}
	for _, m := range ms.byID {
		if now.Before(m.Ends) {
			out = append(out, m.Mute)
		}
	}
	slices.SortFunc(out, func(a, b Mute) int { return a.Ends.Compare(b.Ends) })
	return out
}

// set notes a mute read from the bucket (nil data: removed).
func (ms *mutes) set(id string, data []byte) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if data == nil {
		delete(ms.byID, id)
		return nil
	}
	var m Mute
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("mute %s: %w", id, err)
	}
	am := &activeMute{Mute: m}
	if m.When != "" {
		c, err := rules.CompileCondition(m.When)
		if err != nil {
			return fmt.Errorf("mute %s: when: %w", id, err)
		}
		am.cond = c
	}
	ms.byID[id] = am
	return nil
}

// watch reads the mutes stored so far; follow keeps ms up to date with the
// bucket until ctx is done.
func (ms *mutes) watch(ctx context.Context, log interface{ Warn(string, ...any) }) (follow func(), err error) {
	return watchBucket(ctx, ms.bucket, func(e jetstream.KeyValueEntry) {
		var data []byte
		if e.Operation() == jetstream.KeyValuePut {
			data = e.Value()
		}
		if err := ms.set(e.Key(), data); err != nil {
			log.Warn("unreadable mute ignored", "err", err)
		}
	})
}

// AddMute stores a mute of rule for d from now, with a comment and,
// optionally, a condition its firings' events must meet to be muted.
func (r *Router) AddMute(ctx context.Context, rule, when, comment string, d time.Duration) (Mute, error) {
	if _, ok := r.cur.Load().rules[rule]; !ok {
		return Mute{}, fmt.Errorf("%w: no rule %q in the rules in force", errBadMute, rule)
	}
	if d <= 0 || d > MaxMute {
		return Mute{}, fmt.Errorf("%w: a mute lasts more than nothing and at most %s, not %s", errBadMute, MaxMute, d)
	}
	if strings.TrimSpace(comment) == "" {
		return Mute{}, fmt.Errorf("%w: say why in a comment", errBadMute)
	}
	if when != "" {
		if _, err := rules.CompileCondition(when); err != nil {
			return Mute{}, fmt.Errorf("%w: when: %w", errBadMute, err)
		}
	}
	now := r.opts.Now().UTC()
	m := Mute{ID: newMuteID(), Rule: rule, When: when, Comment: comment, Created: now, Ends: now.Add(d)}
	data, err := json.Marshal(m)
	if err != nil {
		return Mute{}, err
	}
	if _, err := r.mutes.bucket.Create(ctx, m.ID, data, jetstream.KeyTTL(d)); err != nil {
		return Mute{}, fmt.Errorf("store mute: %w", err)
	}
	if err := r.mutes.set(m.ID, data); err != nil { // here at once; the others when their watch sees it
		return Mute{}, err
	}
	r.log.Info("mute added", "mute", m.ID, "rule", rule, "when", when, "until", m.Ends, "comment", comment)
	return m, nil
}

// ExpireMute ends a mute now.
func (r *Router) ExpireMute(ctx context.Context, id string) error {
	if _, err := r.mutes.bucket.Get(ctx, id); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: %s", errNoMute, id)
	} else if err != nil {
		return err
	}
	if err := r.mutes.bucket.Purge(ctx, id); err != nil {
		return fmt.Errorf("expire mute: %w", err)
	}
	_ = r.mutes.set(id, nil)
	r.log.Info("mute expired", "mute", id)
	return nil
}

// Mutes lists the mutes in force.
func (r *Router) Mutes() []Mute { return r.mutes.list(r.opts.Now()) }

func newMuteID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
