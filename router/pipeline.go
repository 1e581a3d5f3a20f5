package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/queue"
)

// The delivery path reads as stages: plan (Config.plan: an event and the
// rules become deliveries), limit (the limiter: who may send now), attempt
// (an action's Do under a timeout) and decide (done, retry later, dead
// letter). What a delivery has been through travels in its stored message,
// never in one replica's memory.

const (
	// busyDelay is how long a delivery is first put off when its receiver
	// holds its share of workers; each time again it doubles, up to
	// maxBusyDelay, so that many deliveries waiting for a slow receiver
	// cost next to nothing while they wait.
	busyDelay    = 500 * time.Millisecond
	maxBusyDelay = 30 * time.Second
	// maxJobDeliveries bounds how often a job's message is delivered
	// without an outcome: a process that dies during its attempt each
	// time, or a receiver that holds its share of workers for hours (with
	// busyDelay's backoff, about eight). The job then becomes a dead
	// letter, to be replayed once the cause is found.
	maxJobDeliveries = 1000
)

// match plans one stored event and carries the plan out. A delivery whose
// receiver has been quick and has a free slot is attempted at once, by the
// matcher itself: no job is stored for it unless that attempt fails. The
// others become jobs for the delivery workers. The event is acknowledged
// only once each of its deliveries is made, or stored as a job, or parked
// as a dead letter.
func (r *Router) match(ctx context.Context, m jetstream.Msg) {
	cfg := r.cur.Load()
	h := m.Headers()
	log := r.log.With("source", h.Get(hdrSource), "event", h.Get(hdrEvent), "id", h.Get(hdrID))
	ev, err := normalizeStored(cfg, h, m.Data())
	switch {
	case errors.Is(err, errNoSource):
		// The source was removed by a reload after the event was stored.
		// The event stays in the events stream; there is nothing to match.
		log.Warn("stored event's source is no longer configured; not matched")
		r.ack(m, log)
		return
	case err != nil:
		log.Error("stored event cannot be normalized; not matched", "err", cfg.Redact(err.Error()))
		r.ack(m, log)
		return
	}
	now := r.opts.Now()
	p := cfg.plan(&ev, now, r.mutes)
	// An event delivered to the matcher again (its acknowledgement was lost
	// to a crash or a failover) may have had its deliveries made already:
	// this time they all become jobs, which their ids deduplicate, so that
	// each is made at most once more however often the event comes back.
	firstTime := true
	if md, err := m.Metadata(); err == nil {
		p.record.EventSeq = md.Sequence.Stream
		firstTime = md.NumDelivered <= 1
	}
	// The throttles are claimed and the group members stored before the
	// event is acknowledged: matched again, it finds its own windows and
	// its members stored once.
	err = r.throttle(ctx, &p)
	if err == nil {
		err = r.joinGroups(ctx, &p, &ev, now)
	}
	if err != nil {
		log.Error("cannot claim throttles or store group members; will match the event again", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	r.count(&p, log)

	var jobs []queue.Msg
	store := func(j *Job, st jobState) {
		jm, err := jobMsg(j, st)
		if err != nil {
			log.Error("cannot encode job", "rule", j.Rule, "err", err)
			return
		}
		jobs = append(jobs, jm)
	}
	var inline []inlined
	for _, d := range p.deliveries {
		st := jobState{base: d.job.ID}
		pc := r.limit.pace(d.act.pace, d.act.interval)
		if until, paused := pc.pausedUntil(now); paused {
			st.notBefore = until
			store(d.job, st)
			continue
		}
		if pc.paced() {
			// The delivery takes its receiver's next turn; a later one it
			// waits for in the jobs stream.
			st.paced = true
			if turn := pc.turn(now); turn.After(now) {
				st.notBefore = turn
				r.metrics.paced.WithLabelValues(d.job.Rule).Inc()
				store(d.job, st)
				continue
			}
		}
		rc := r.limit.receiver(d.job.Kind, d.job.Rule, d.job.Action)
		if firstTime && r.limit.claimInline(rc) {
			if pc.start(now) == 0 {
				inline = append(inline, inlined{delivery: d, rc: rc, pace: pc})
				continue
			}
			r.limit.releaseInline(rc, 0)
		}
		store(d.job, st)
	}
	// The match record goes first, so that the log holds an event's
	// deliveries after it (an event matched again after a failure to store
	// its jobs has a second record).
	r.send(matchSubject+"."+ev.Source, &p.record)
	// The event's other deliveries are stored first, so that an attempt
	// made here that hangs holds none of them up.
	if !r.storeJobs(ctx, m, jobs, log) {
		for _, d := range inline {
			r.limit.releaseInline(d.rc, 0)
			d.pace.done(r.opts.Now())
		}
		return
	}
	jobs = jobs[:0]
	r.attemptAll(ctx, cfg, inline, log)
	for _, d := range inline {
		switch {
		case d.out.retry:
			store(d.job, jobState{base: d.job.ID, tried: 1, notBefore: r.opts.Now().Add(d.out.delay)})
		case d.out.dead != nil:
			if err := r.storeDead(ctx, d.out.dead); err != nil {
				log.Error("could not store dead letter; keeping the delivery as a job", "rule", d.job.Rule, "err", err)
				store(d.job, jobState{base: d.job.ID, tried: 1})
			}
		}
	}
	// Matched again after a failure here, the event's jobs are
	// deduplicated and the deliveries made here are made once more, as
	// jobs.
	if !r.storeJobs(ctx, m, jobs, log) {
		return
	}
	log.Info("event matched", "rules", p.record.Rules, "jobs", p.record.Jobs)
	r.ack(m, log)
}

// count updates the metrics and counts of a plan, and logs each rule's
// first evaluation error under the config in force.
func (r *Router) count(p *plan, log *slog.Logger) {
	for i, e := range p.errs {
		r.metrics.evalErrors.WithLabelValues(e.Rule.Name).Inc()
		r.counts(e.Rule.Name).errors.Add(1)
		if _, logged := r.evalLogged.LoadOrStore(e.Rule.Name, true); !logged {
			log.Warn("condition failed at run time; counted as no match (logged once per rule until the next reload)",
				"rule", e.Rule.Name, "err", p.record.Errors[i].Error)
		}
	}
	for _, rl := range p.matched {
		r.metrics.matches.WithLabelValues(rl.Name).Inc()
		r.counts(rl.Name).matches.Add(1)
	}
	for _, h := range p.record.Held {
		r.metrics.held.WithLabelValues(h.Rule, h.How).Inc()
	}
}

// storeJobs stores an event's jobs; if they cannot be stored, the event is
// matched again a second later, and storeJobs says false.
func (r *Router) storeJobs(ctx context.Context, m jetstream.Msg, jobs []queue.Msg, log *slog.Logger) bool {
	if len(jobs) == 0 {
		return true
	}
	if err := r.q.PublishAll(ctx, jobs); err != nil {
		log.Error("cannot store jobs; will match the event again", "err", err)
		_ = m.NakWithDelay(time.Second)
		return false
	}
	return true
}

// inlined is a delivery the matcher makes itself, holding its slots.
type inlined struct {
	delivery
	rc   *receiver
	pace *pace
	out  outcome
}

// attemptAll makes the first attempt at each of an event's inlined
// deliveries, side by side, so that a receiver that turns slow does not
// hold up the event's other deliveries, and releases their slots.
func (r *Router) attemptAll(ctx context.Context, cfg *Config, inline []inlined, log *slog.Logger) {
	try := func(d *inlined) {
		d.out = r.attempt(ctx, cfg, d.act, d.job, 1, log.With("rule", d.job.Rule, "action", d.job.Kind, "attempt", 1))
		d.pace.done(r.opts.Now())
		r.limit.releaseInline(d.rc, d.out.took)
		r.pauseIfAsked(d.act, d.out)
	}
	if len(inline) == 1 {
		// The usual case is made on the matcher's goroutine, whose stack
		// has grown already: on a new goroutine, rendering the templates
		// grew a fresh stack for every event (5 us of 75 per event in the
		// bench's profile).
		try(&inline[0])
		return
	}
	var wg sync.WaitGroup
	for i := range inline {
		wg.Go(func() { try(&inline[i]) })
	}
	wg.Wait()
}

// deliver makes one attempt at one stored job, when it is due and its
// receiver has a slot, and decides what comes next: done, another attempt
// later (the job stored again, its attempts counted in it), or a dead
// letter. A delivery put off is no attempt.
func (r *Router) deliver(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		r.log.Error("job without metadata", "err", err)
		return // redelivered after AckWait
	}
	j, err := decodeJobData(m.Data())
	if err != nil {
		r.log.Error("unreadable job parked as a dead letter", "err", err)
		r.bury(ctx, m, &DeadLetter{Job: Job{ID: fmt.Sprintf("unreadable-%d", md.Sequence.Stream)},
			Attempts: 0, Error: "unreadable job: " + err.Error(), At: r.opts.Now()})
		return
	}
	st := jobStateOf(m.Headers(), &j)
	if wait := st.notBefore.Sub(r.opts.Now()); wait > 0 {
		_ = m.NakWithDelay(wait)
		return
	}
	attempt := st.tried + 1
	log := r.log.With("source", j.Event.Source, "event", j.Event.Event, "id", j.Event.ID,
		"rule", j.Rule, "action", j.Kind, "attempt", attempt)
	if md.NumDelivered > maxJobDeliveries {
		r.giveUp(ctx, m, &j, st.tried, fmt.Sprintf("delivered %d times without an outcome (a process dying during the attempt, or a receiver busy for hours); %d attempts made", md.NumDelivered-1, st.tried), log)
		return
	}
	cfg := r.cur.Load()
	act, err := cfg.action(j.Rule, j.Action, j.Kind)
	if err != nil {
		r.giveUp(ctx, m, &j, st.tried, err.Error(), log)
		return
	}
	now := r.opts.Now()
	pc := r.limit.pace(act.pace, act.interval)
	if until, paused := pc.pausedUntil(now); paused {
		// The receiver asked for a pause (a Retry-After): no attempt.
		_ = m.NakWithDelay(until.Sub(now))
		return
	}
	if pc.paced() && !st.paced {
		if turn := pc.turn(now); turn.After(now) {
			// Its receiver's next turn is later: the delivery waits for it
			// in the jobs stream, as no attempt.
			r.metrics.paced.WithLabelValues(j.Rule).Inc()
			r.storeAgain(ctx, m, &j, jobState{base: st.base, tried: st.tried, notBefore: turn, paced: true}, turn.Sub(now), log)
			return
		}
	}
	rc := r.limit.receiver(j.Kind, j.Rule, j.Action)
	if !rc.acquire() {
		// This receiver already holds its share of the kind's workers.
		r.metrics.deferrals.WithLabelValues(j.Kind).Inc()
		wait := RetryPolicy{Initial: busyDelay, Max: maxBusyDelay}.Delay(int(md.NumDelivered), 0, jitter)
		_ = m.NakWithDelay(wait)
		return
	}
	if wait := pc.start(now); wait > 0 {
		// A delivery to the receiver is under way, or the last ended less
		// than an interval ago (this one came early, or the last late, to
		// its turn).
		rc.release(0)
		_ = m.NakWithDelay(wait)
		return
	}
	out := r.attempt(ctx, cfg, act, &j, attempt, log)
	pc.done(r.opts.Now())
	rc.release(out.took)
	r.pauseIfAsked(act, out)
	switch {
	case out.retry:
		r.storeAgain(ctx, m, &j, jobState{base: st.base, tried: attempt, notBefore: r.opts.Now().Add(out.delay)}, out.delay, log)
	case out.dead != nil:
		r.bury(ctx, m, out.dead)
	default:
		r.ack(m, log)
	}
}

// storeAgain stores job j in state st in place of message m, which it
// acknowledges; if the new message cannot be stored, m is delivered again
// after wait.
func (r *Router) storeAgain(ctx context.Context, m jetstream.Msg, j *Job, st jobState, wait time.Duration, log *slog.Logger) {
	jm, err := jobMsg(j, st)
	if err == nil {
		_, err = r.q.Publish(ctx, jm.Subject, jm.ID, jm.Header, jm.Data)
	}
	if err != nil {
		log.Error("could not store the job again; it will be delivered again", "err", err)
		_ = m.NakWithDelay(wait)
		return
	}
	r.ack(m, log)
}

// pauseIfAsked pauses the receiver of act when an attempt's answer asked
// to come back later (a Retry-After, Slack's rate limit): every delivery
// to it waits, not only the one that was told.
func (r *Router) pauseIfAsked(act *action, out outcome) {
	if out.pause > 0 {
		r.limit.pace(act.pace, act.interval).pause(r.opts.Now().Add(out.pause))
	}
}

// giveUp parks a job that will not be attempted again as a dead letter.
func (r *Router) giveUp(ctx context.Context, m jetstream.Msg, j *Job, tried int, why string, log *slog.Logger) {
	log.Error("delivery is a dead letter", "err", why)
	r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
	r.recordDelivery(j, "dead", tried, 0, why, 0)
	r.bury(ctx, m, &DeadLetter{Job: *j, Attempts: tried, Error: why, At: r.opts.Now()})
}

// outcome is what one attempt ended with: delivered (the zero value but
// took), another attempt after delay, or a dead letter.
type outcome struct {
	took  time.Duration
	retry bool
	delay time.Duration
	pause time.Duration // the receiver asked for a pause this long
	dead  *DeadLetter
}

// attempt makes attempt number n at j, logs and records how it went, and
// says what comes next.
func (r *Router) attempt(ctx context.Context, cfg *Config, act *action, j *Job, n int, log *slog.Logger) outcome {
	p := act.policy
	actx, cancel := context.WithTimeout(actions.WithDeliveryID(ctx, j.ID), p.Timeout)
	start := r.opts.Now()
	err := j.do(actx, act)
	cancel()
	took := r.opts.Now().Sub(start)
	r.metrics.latency.WithLabelValues(j.Kind).Observe(took.Seconds())
	if err == nil {
		r.metrics.deliveries.WithLabelValues(j.Kind, "delivered").Inc()
		log.Info("delivered", "latency", took)
		r.recordDelivery(j, "delivered", n, took, "", 0)
		return outcome{took: took}
	}
	msg := cfg.Redact(err.Error())
	retry, after := actions.Classify(err)
	if errors.Is(err, context.DeadlineExceeded) {
		retry = true
	}
	pause := min(after, actions.MaxRetryAfter)
	if retry && n < p.Attempts {
		delay := p.Delay(n, after, jitter)
		r.metrics.deliveries.WithLabelValues(j.Kind, "retrying").Inc()
		log.Warn("delivery failed; will retry", "err", msg, "in", delay, "latency", took)
		r.recordDelivery(j, "retrying", n, took, msg, delay)
		return outcome{took: took, retry: true, delay: delay, pause: pause}
	}
	r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
	log.Error("delivery failed; parked as a dead letter", "err", msg, "permanent", !retry, "latency", took)
	r.recordDelivery(j, "dead", n, took, msg, 0)
	d := &DeadLetter{Job: *j, Attempts: n, Error: msg, At: r.opts.Now()}
	if rd, rerr := j.render(act); rerr == nil {
		rd = redactRendered(cfg, rd)
		d.Rendered = &rd
	}
	return outcome{took: took, dead: d, pause: pause}
}

// storeDead stores a dead letter.
func (r *Router) storeDead(ctx context.Context, d *DeadLetter) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	kind := d.Job.Kind
	if kind == "" {
		kind = "unknown"
	}
	_, err = r.q.Publish(ctx, queue.DeadSubject+"."+kind, d.Job.ID+"/dead/"+d.At.Format(time.RFC3339Nano), nil, data)
	return err
}

// bury stores a dead letter, then acknowledges the job. If the dead letter
// cannot be stored the job stays, to be tried again.
func (r *Router) bury(ctx context.Context, m jetstream.Msg, d *DeadLetter) {
	if err := r.storeDead(ctx, d); err != nil {
		r.log.Error("could not store dead letter; keeping the job", "job", d.Job.ID, "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	r.ack(m, r.log)
}

func (r *Router) ack(m jetstream.Msg, log *slog.Logger) {
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
