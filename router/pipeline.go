package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
)

// Job is one delivery to make: an event, and the rule and action (by
// position) it matched. Its id dedups the job when an event is matched
// twice (after a crash, or by two replicas).
type Job struct {
	ID      string      `json:"id"`
	Event   event.Event `json:"event"`
	Rule    string      `json:"rule"`
	Action  int         `json:"action"` // 0-based index in the rule's actions
	Kind    string      `json:"kind"`
	Matched time.Time   `json:"matched"`
}

// DeadLetter is a delivery that failed permanently or ran out of attempts.
type DeadLetter struct {
	Job      Job               `json:"job"`
	Attempts int               `json:"attempts"`
	Error    string            `json:"error"`
	Rendered *actions.Rendered `json:"rendered,omitempty"`
	At       time.Time         `json:"at"`
}

func jobID(ev *event.Event, rule string, action int) string {
	return ev.Key() + "/" + rule + "/" + strconv.Itoa(action)
}

// match turns one stored event into one job per matching (rule, action).
func (r *Router) match(ctx context.Context, m jetstream.Msg) {
	cfg := r.cur.Load()
	h := m.Headers()
	name := h.Get(hdrSource)
	log := r.log.With("source", name, "event", h.Get(hdrEvent), "id", h.Get(hdrID))
	src, ok := cfg.sources[name]
	if !ok {
		// The source was removed by a reload after the event was stored.
		// The event stays in the events stream; there is nothing to match.
		log.Warn("stored event's source is no longer configured; not matched")
		r.ack(m, log)
		return
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(h.Get(hdrHeaders)), &headers); err != nil {
		log.Error("stored event has unreadable headers; matching without them", "err", err)
	}
	ev, err := src.Normalize(m.Data(), headers)
	if err != nil {
		log.Error("stored event cannot be normalized; not matched", "err", cfg.Redact(err.Error()))
		r.ack(m, log)
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(hdrReceived)); err == nil {
		ev.Received = t
	}
	matched, evalErrs := cfg.File.Set.Match(&ev)
	rec := EventRecord{
		Key: ev.Key(), Source: ev.Source, Vendor: ev.Vendor, Event: ev.Event, ID: ev.ID,
		Time: ev.Time, Received: ev.Received, Rules: ruleNames(matched), Full: &ev,
	}
	for _, e := range evalErrs {
		r.metrics.evalErrors.WithLabelValues(e.Rule.Name).Inc()
		r.counts(e.Rule.Name).errors.Add(1)
		msg := cfg.Redact(e.Err.Error())
		rec.Errors = append(rec.Errors, RuleError{Rule: e.Rule.Name, Error: msg})
		if _, logged := r.evalLogged.LoadOrStore(e.Rule.Name, true); !logged {
			log.Warn("condition failed at run time; counted as no match (logged once per rule until the next reload)",
				"rule", e.Rule.Name, "err", msg)
		}
	}
	now := r.opts.Now()
	for _, rl := range matched {
		r.metrics.matches.WithLabelValues(rl.Name).Inc()
		r.counts(rl.Name).matches.Add(1)
		for i, a := range rl.Actions {
			j := Job{ID: jobID(&ev, rl.Name, i), Event: ev, Rule: rl.Name, Action: i, Kind: a.Kind, Matched: now}
			data, err := json.Marshal(j)
			if err != nil {
				log.Error("cannot encode job", "rule", rl.Name, "err", err)
				continue
			}
			if _, err := r.q.Publish(ctx, queue.JobsSubject+"."+a.Kind, j.ID, nil, data); err != nil {
				// Jobs already published are deduplicated on the retry.
				log.Error("cannot store job; will match the event again", "rule", rl.Name, "err", err)
				_ = m.NakWithDelay(time.Second)
				return
			}
			rec.Jobs++
		}
	}
	rec.At = now.UTC()
	r.record(ctx, matchSubject+"."+ev.Source, rec)
	log.Info("event matched", "rules", rec.Rules, "jobs", rec.Jobs)
	r.ack(m, log)
}

func ruleNames(rs []*rules.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// deliver makes one attempt at one job and decides what comes next:
// done, another attempt later, or a dead letter.
func (r *Router) deliver(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		r.log.Error("job without metadata", "err", err)
		return // redelivered after AckWait
	}
	var j Job
	if err := json.Unmarshal(m.Data(), &j); err != nil {
		r.log.Error("unreadable job parked as a dead letter", "err", err)
		r.bury(ctx, m, DeadLetter{Job: Job{ID: fmt.Sprintf("unreadable-%d", md.Sequence.Stream)}, Attempts: int(md.NumDelivered), Error: "unreadable job: " + err.Error(), At: r.opts.Now()})
		return
	}
	// Deliveries put off because their receiver already had its share of
	// workers do not count as attempts.
	deferred, _ := r.deferrals.Load(j.ID)
	n, _ := deferred.(int)
	attempt := int(md.NumDelivered) - n
	cfg := r.cur.Load()
	log := r.log.With("source", j.Event.Source, "event", j.Event.Event, "id", j.Event.ID, "rule", j.Rule, "action", j.Kind, "attempt", attempt)
	act, err := cfg.action(j.Rule, j.Action, j.Kind)
	if err != nil {
		log.Error("delivery is a dead letter", "err", err)
		r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
		r.recordDelivery(ctx, &j, "dead", attempt, 0, err.Error(), 0)
		r.bury(ctx, m, DeadLetter{Job: j, Attempts: attempt, Error: err.Error(), At: r.opts.Now()})
		return
	}
	p := act.policy
	release, ok := r.claim(j.Kind, j.Rule, j.Action)
	if !ok {
		// This receiver already holds its share of the kind's workers: put
		// the job off briefly so that other receivers keep theirs.
		r.deferrals.Store(j.ID, n+1)
		_ = m.NakWithDelay(deferDelay/2 + time.Duration(jitter()*float64(deferDelay)))
		return
	}
	defer release()
	actx, cancel := context.WithTimeout(ctx, p.Timeout)
	start := r.opts.Now()
	err = act.Do(actx, &j.Event)
	cancel()
	took := r.opts.Now().Sub(start)
	r.metrics.latency.WithLabelValues(j.Kind).Observe(took.Seconds())
	if err == nil {
		r.metrics.deliveries.WithLabelValues(j.Kind, "delivered").Inc()
		log.Info("delivered", "latency", took)
		r.recordDelivery(ctx, &j, "delivered", attempt, took, "", 0)
		r.deferrals.Delete(j.ID)
		r.ack(m, log)
		return
	}
	msg := cfg.Redact(err.Error())
	retry, after := actions.Classify(err)
	if errors.Is(err, context.DeadlineExceeded) {
		retry = true
	}
	if retry && attempt < p.Attempts {
		delay := p.Delay(attempt, after, jitter)
		r.metrics.deliveries.WithLabelValues(j.Kind, "retrying").Inc()
		log.Warn("delivery failed; will retry", "err", msg, "in", delay, "latency", took)
		r.recordDelivery(ctx, &j, "retrying", attempt, took, msg, delay)
		if err := m.NakWithDelay(delay); err != nil {
			log.Error("could not schedule the retry; the queue redelivers after its ack wait", "err", err)
		}
		return
	}
	r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
	log.Error("delivery failed; parked as a dead letter", "err", msg, "permanent", !retry, "latency", took)
	r.recordDelivery(ctx, &j, "dead", attempt, took, msg, 0)
	r.deferrals.Delete(j.ID)
	d := DeadLetter{Job: j, Attempts: attempt, Error: msg, At: r.opts.Now()}
	if rd, rerr := act.Render(&j.Event); rerr == nil {
		rd = redactRendered(cfg, rd)
		d.Rendered = &rd
	}
	r.bury(ctx, m, d)
}

// deferDelay is about how long a delivery waits when its receiver already
// has its share of workers.
const deferDelay = 500 * time.Millisecond

// claim reserves one of a receiver's share of its kind's workers: a quarter
// of them (at least one) per action, so a slow or failing receiver can tie
// up at most that share and never delays the others.
func (r *Router) claim(kind, rule string, index int) (release func(), ok bool) {
	key := kind + "/" + rule + "/" + strconv.Itoa(index)
	v, _ := r.inflight.LoadOrStore(key, new(atomic.Int64))
	c := v.(*atomic.Int64)
	if c.Add(1) > int64(max(1, r.workers(kind)/4)) {
		c.Add(-1)
		return nil, false
	}
	return func() { c.Add(-1) }, true
}

// bury stores a dead letter, then acknowledges the job. If the dead letter
// cannot be stored the job stays, to be tried again.
func (r *Router) bury(ctx context.Context, m jetstream.Msg, d DeadLetter) {
	data, err := json.Marshal(d)
	if err == nil {
		kind := d.Job.Kind
		if kind == "" {
			kind = "unknown"
		}
		_, err = r.q.Publish(ctx, queue.DeadSubject+"."+kind, d.Job.ID+"/dead/"+d.At.Format(time.RFC3339Nano), nats.Header{}, data)
	}
	if err != nil {
		r.log.Error("could not store dead letter; keeping the job", "job", d.Job.ID, "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	r.ack(m, r.log)
}

func (r *Router) ack(m jetstream.Msg, log interface{ Error(string, ...any) }) {
	if err := m.Ack(); err != nil {
		log.Error("ack failed; the message will be redelivered", "err", err)
	}
}

func redactRendered(cfg *Config, rd actions.Rendered) actions.Rendered {
	out := actions.Rendered{Kind: rd.Kind, Target: cfg.Redact(rd.Target), Fields: make(map[string]string, len(rd.Fields))}
	for k, v := range rd.Fields {
		out.Fields[k] = cfg.Redact(v)
	}
	return out
}
