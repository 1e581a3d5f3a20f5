package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
)

// A grouped rule's firing makes no delivery when its event is matched: the
// event becomes a member of its group. Members are stored in the groups
// stream, one subject per group, before the event is acknowledged; each
// group's timing (when it is due, the firing under way) is a key of a
// bucket. Every replica runs the same scheduler: it finds the groups that
// are due and fires each once, claiming the firing by compare-and-set; a
// firing makes one job per action of the rule, under ids of the firing, so
// that a firing done again (by a replica that took over from one that
// died) is stored once.

const (
	// groupTick is how often the scheduler looks for groups that are due:
	// a group fires at most this late.
	groupTick = 250 * time.Millisecond
	// groupLease is how long a firing may be under way before another
	// replica takes it over (its replica is taken for dead) and does it
	// again, under the same id.
	groupLease = 30 * time.Second
)

// groupState is a group's timing, as the bucket holds it.
type groupState struct {
	Rule    string `json:"rule"`
	Key     string `json:"key"`
	Subject string `json:"subject"` // of its members in the groups stream
	// Since is when the oldest member waiting for the next firing joined;
	// zero when none has joined since the last firing.
	Since time.Time `json:"since,omitzero"`
	// Due is when the group fires next.
	Due time.Time `json:"due"`
	// Fired counts the group's firings.
	Fired int `json:"fired"`
	// Firing is the id of the firing under way ("": none), claimed at
	// FiringAt; it covers the members up to the stream sequence Covers.
	Firing   string    `json:"firing,omitempty"`
	FiringAt time.Time `json:"firing_at,omitzero"`
	Covers   uint64    `json:"covers,omitempty"`
}

// GroupFiring is a job's group payload: the firing of a grouped rule it
// delivers.
type GroupFiring struct {
	Key    string        `json:"key"`
	Count  int           `json:"count"`
	Events []event.Event `json:"events"`
	Last   *event.Event  `json:"last,omitempty"`
	Firing string        `json:"firing"`
}

// data is what the rule's actions render for the firing.
func (g *GroupFiring) data(rule string) actions.Data {
	return (&actions.Group{Rule: rule, Key: g.Key, Count: g.Count, Events: g.Events, Last: g.Last}).Data()
}

// groups are the pending groups as this replica last saw them.
type groups struct {
	bucket jetstream.KeyValue
	mu     sync.Mutex
	byKey  map[string]groupEntry
	// unfired remembers the groups whose rule is no longer grouped in the
	// rules in force, logged once each.
	unfired sync.Map
}

type groupEntry struct {
	st  groupState
	rev uint64
}

func openGroups(ctx context.Context, q *queue.Queue) (*groups, error) {
	kv, err := q.KeyValue(ctx, queue.GroupsBucket, "Pending groups of grouped rules: when each fires next")
	if err != nil {
		return nil, err
	}
	return &groups{bucket: kv, byKey: map[string]groupEntry{}}, nil
}

// openNoise opens the state grouping and throttling share with the other
// replicas.
func (r *Router) openNoise(ctx context.Context) error {
	ts, err := openThrottles(ctx, r.q)
	if err != nil {
		return err
	}
	gs, err := openGroups(ctx, r.q)
	if err != nil {
		return err
	}
	r.throttles, r.groups = ts, gs
	r.opts.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchyard_groups_pending",
		Help: "Groups of grouped rules waiting for their next firing, as this replica sees them.",
	}, func() float64 {
		gs.mu.Lock()
		defer gs.mu.Unlock()
		return float64(len(gs.byKey))
	}))
	return nil
}

// groupID is the group of rule and key: its key in the bucket and the last
// tokens of its members' subject.
func groupID(rule, key string) string { return token(rule) + "." + token(key) }

// firstDue is when a new group of g, started at now, fires first.
func firstDue(g *rules.GroupSpec, now time.Time) time.Time {
	if g.Cron != nil {
		return g.Cron.Next(now.In(g.Location))
	}
	return now.Add(g.Wait)
}

// nextDue is when a group of g that fired at now fires next.
func nextDue(g *rules.GroupSpec, now time.Time) time.Time {
	if g.Cron != nil {
		return g.Cron.Next(now.In(g.Location))
	}
	return now.Add(g.Interval)
}

// joinGroups makes ev a member of the groups p lists: each member is
// stored (once, however often ev is matched) and its group's timing
// started if it had none. The record lists each as held, until its group
// is due.
func (r *Router) joinGroups(ctx context.Context, p *plan, ev *event.Event, now time.Time) error {
	for _, m := range p.groups {
		id := groupID(m.rule.Name, m.key)
		subject := queue.GroupsSubject + "." + id
		data, err := encodeJob(&Job{ID: ev.Key() + "/" + m.rule.Name + "/group", Event: *ev, Rule: m.rule.Name, Action: -1, Matched: now})
		if err != nil {
			return fmt.Errorf("encode group member: %w", err)
		}
		if _, err := r.q.Publish(ctx, subject, ev.Key()+"/"+m.rule.Name+"/group", nil, data); err != nil {
			return fmt.Errorf("store group member: %w", err)
		}
		st, err := r.groups.join(ctx, id, groupState{Rule: m.rule.Name, Key: m.key, Subject: subject, Since: now, Due: firstDue(m.rule.Group, now)}, now)
		if err != nil {
			return err
		}
		due := st.Due
		if st.Firing != "" {
			// A firing under way: the member is in it or, at the latest,
			// in the next, which that firing sets.
			due = nextDue(m.rule.Group, st.FiringAt)
		}
		p.record.Held = append(p.record.Held, Held{Rule: m.rule.Name, How: "grouped", By: m.rule.Name, Until: due.UTC(),
			Reason: fmt.Sprintf("grouped by %s (key %q) until its firing at %s", m.rule.Name, m.key, due.UTC().Format(time.RFC3339))})
	}
	return nil
}

// join starts the timing of group id as fresh says, or, when the group has
// one, notes a member in it by a compare-and-set of its state: a group
// ended (its key deleted) by a replica at the same moment is started
// again, so that no member is left without a firing.
func (gs *groups) join(ctx context.Context, id string, fresh groupState, now time.Time) (groupState, error) {
	for {
		e, err := gs.bucket.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			data, _ := json.Marshal(fresh)
			_, err := gs.bucket.Create(ctx, id, data)
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
			if err != nil {
				return groupState{}, fmt.Errorf("start group: %w", err)
			}
			return fresh, nil
		}
		if err != nil {
			return groupState{}, fmt.Errorf("read group: %w", err)
		}
		var st groupState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return groupState{}, fmt.Errorf("group %s: %w", id, err)
		}
		if st.Since.IsZero() {
			st.Since = now
		}
		data, _ := json.Marshal(st)
		_, err = gs.bucket.Update(ctx, id, data, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return groupState{}, fmt.Errorf("note group member: %w", err)
		}
		return st, nil
	}
}

// watch reads the groups stored so far; follow keeps gs up to date with
// the bucket until ctx is done.
func (gs *groups) watch(ctx context.Context, log *slog.Logger) (follow func(), err error) {
	apply := func(e jetstream.KeyValueEntry) {
		gs.mu.Lock()
		defer gs.mu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			delete(gs.byKey, e.Key())
			return
		}
		var st groupState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			log.Warn("unreadable group state ignored", "group", e.Key(), "err", err)
			return
		}
		if cur, ok := gs.byKey[e.Key()]; ok && cur.rev > e.Revision() {
			return
		}
		gs.byKey[e.Key()] = groupEntry{st: st, rev: e.Revision()}
	}
	return watchBucket(ctx, gs.bucket, apply)
}

// snapshot is the pending groups, soonest due first.
func (gs *groups) snapshot() []groupEntryKey {
	gs.mu.Lock()
	out := make([]groupEntryKey, 0, len(gs.byKey))
	for k, e := range gs.byKey {
		out = append(out, groupEntryKey{id: k, groupEntry: e})
	}
	gs.mu.Unlock()
	slices.SortFunc(out, func(a, b groupEntryKey) int { return a.st.Due.Compare(b.st.Due) })
	return out
}

type groupEntryKey struct {
	id string
	groupEntry
}

// runGroups fires the groups that are due, every groupTick, until ctx is
// done. Every replica runs it; each firing is claimed by one.
func (r *Router) runGroups(ctx context.Context) {
	t := time.NewTicker(groupTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.fireDue(ctx)
		}
	}
}

// fireDue fires each group that is due now, or whose firing was claimed
// by a replica that has not finished it within groupLease.
func (r *Router) fireDue(ctx context.Context) {
	now := r.opts.Now()
	cfg := r.cur.Load()
	for _, e := range r.groups.snapshot() {
		if ctx.Err() != nil {
			return
		}
		st := e.st
		if st.Firing == "" && now.Before(st.Due) || st.Firing != "" && now.Sub(st.FiringAt) < groupLease {
			continue
		}
		rl, ok := cfg.rules[st.Rule]
		if !ok || rl.Group == nil {
			if _, logged := r.groups.unfired.LoadOrStore(e.id, true); !logged {
				r.log.Warn("a pending group's rule is no longer a grouped rule; its events wait until it is again", "rule", st.Rule, "key", st.Key)
			}
			continue
		}
		log := r.log.With("rule", st.Rule, "group", st.Key)
		if err := r.fire(ctx, rl, e.id, st, e.rev, now, log); err != nil {
			log.Error("group firing failed; it will be tried again", "err", err)
		}
	}
}

// fire claims the firing of group id (its state st at revision rev) at
// now, and carries it out: the members up to the last one stored become
// one job per action of the rule, the members are removed, and the next
// firing is set. A group with no member ends.
func (r *Router) fire(ctx context.Context, rl *rule, id string, st groupState, rev uint64, now time.Time, log *slog.Logger) error {
	s, err := r.q.Stream(ctx, queue.GroupsStream)
	if err != nil {
		return err
	}
	if st.Firing == "" {
		last, err := s.GetLastMsgForSubject(ctx, st.Subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			// Nothing joined since the last firing: the group ends. A
			// member joining now changes the state first, and the delete
			// fails.
			// (An error is a change meanwhile: seen again next tick.)
			_ = r.groups.bucket.Delete(ctx, id, jetstream.LastRevision(rev))
			return nil
		}
		if err != nil {
			return fmt.Errorf("last member: %w", err)
		}
		st.Firing, st.Covers = newFiringID(), last.Sequence
	} else {
		log.Warn("taking over a group firing not finished in time", "firing", st.Firing, "claimed", st.FiringAt)
	}
	st.FiringAt = now
	data, _ := json.Marshal(st)
	if _, err := r.groups.bucket.Update(ctx, id, data, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			return nil // another replica claimed it
		}
		return fmt.Errorf("claim firing: %w", err)
	}

	g, err := r.members(ctx, s, st, rl.Group.Max, r.q.MaxPayload())
	if err != nil {
		return err
	}
	if g.Count > 0 {
		jobs := make([]queue.Msg, 0, len(rl.actions))
		for i, a := range rl.actions {
			j := &Job{ID: "group/" + id + "/" + st.Firing + "/" + fmt.Sprint(i), Event: g.Events[0], Rule: rl.Name,
				Action: i, Kind: a.Kind(), Matched: now, Group: g}
			jm, err := jobMsg(j, jobState{base: j.ID})
			if err != nil {
				return err
			}
			jobs = append(jobs, jm)
		}
		if err := r.q.PublishAll(ctx, jobs); err != nil {
			return fmt.Errorf("store the firing's jobs: %w", err)
		}
		r.metrics.groupFirings.WithLabelValues(rl.Name).Inc()
		log.Info("group fired", "firing", st.Firing, "count", g.Count, "kept", len(g.Events), "jobs", len(jobs))
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(st.Subject), jetstream.WithPurgeSequence(st.Covers+1)); err != nil {
		return fmt.Errorf("remove fired members: %w", err)
	}
	return r.groups.fired(ctx, id, st.Firing, nextDue(rl.Group, now))
}

// members reads the members of the group in state st that its firing
// covers: the oldest kept, every one counted, and the last. The firing's
// job is one message, which the store refuses past limit, its largest (a
// refused firing would be tried again on every tick, and never made). So
// the first is always kept, the others while they number at most max and,
// with the last, take at most half of limit as stored; a last that would
// take the job past limit is left out (the digest's .last is then its last
// event kept).
func (r *Router) members(ctx context.Context, s jetstream.Stream, st groupState, max, limit int) (*GroupFiring, error) {
	g := &GroupFiring{Key: st.Key, Firing: st.Firing}
	size := limit / 2
	var (
		lastSeq uint64
		kept    []int // the stored size of each kept event
		total   int   // their sum
	)
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(st.Subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read member: %w", err)
		}
		if m.Sequence > st.Covers {
			break
		}
		g.Count++
		if g.Count == 1 || len(g.Events) < max && len(g.Events) == g.Count-1 && total+len(m.Data) <= size {
			j, err := decodeJobData(m.Data)
			if err != nil {
				return nil, fmt.Errorf("member %d: %w", m.Sequence, err)
			}
			g.Events = append(g.Events, j.Event)
			kept, total = append(kept, len(m.Data)), total+len(m.Data)
		}
		lastSeq, seq = m.Sequence, m.Sequence+1
	}
	if g.Count > len(g.Events) {
		m, err := s.GetMsg(ctx, lastSeq)
		if err != nil {
			return nil, fmt.Errorf("read last member: %w", err)
		}
		j, err := decodeJobData(m.Data)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", m.Sequence, err)
		}
		// Room for the last: the newest kept events make way for it.
		for len(kept) > 1 && total+len(m.Data) > size {
			total -= kept[len(kept)-1]
			kept, g.Events = kept[:len(kept)-1], g.Events[:len(g.Events)-1]
		}
		if total+len(m.Data) <= limit-jobRoom {
			g.Last = &j.Event
		}
	}
	return g, nil
}

// jobRoom is what a firing's job takes besides its events, at most: its
// id, rule, key and the stored message's headers.
const jobRoom = 16 << 10

// fired records that firing of group id is done, and when the group is
// due next.
func (gs *groups) fired(ctx context.Context, id, firing string, due time.Time) error {
	for {
		e, err := gs.bucket.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("read group: %w", err)
		}
		var st groupState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return fmt.Errorf("group %s: %w", id, err)
		}
		if st.Firing != firing {
			return nil // done by another replica that took it over
		}
		st.Firing, st.FiringAt, st.Due, st.Since = "", time.Time{}, due, time.Time{}
		st.Fired++
		data, _ := json.Marshal(st)
		_, err = gs.bucket.Update(ctx, id, data, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("record firing: %w", err)
		}
		return nil
	}
}

func newFiringID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
