package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
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

// Headers of a job message, so that a delivery can claim its receiver's
// slot (or be put off) before the job is decoded. The job's id is its
// Nats-Msg-Id; the kind is the subject's last token.
const (
	hdrRule      = "Switchyard-Rule"
	hdrAction    = "Switchyard-Action"     // 0-based index in the rule's actions
	hdrTried     = "Switchyard-Tried"      // attempts made before the job was stored
	hdrNotBefore = "Switchyard-Not-Before" // RFC 3339: when the next attempt is due
)

// storedJob is a Job as the jobs stream holds it: the event's data, when it
// is a member of the payload (or the payload itself), is not stored twice.
type storedJob struct {
	Job
	// DataIn names the payload member that is the event's data ("": the
	// whole payload); nil when the data is stored as is.
	DataIn *string `json:"data_in,omitempty"`
}

// encodeJob encodes j as a storedJob.
func encodeJob(j *Job) ([]byte, error) {
	sj := storedJob{Job: *j}
	if in, ok := dataMember(&j.Event); ok {
		sj.DataIn, sj.Event.Data = &in, nil
	}
	return json.Marshal(sj)
}

// decodeJobData decodes a storedJob.
func decodeJobData(data []byte) (Job, error) {
	var sj storedJob
	if err := json.Unmarshal(data, &sj); err != nil {
		return Job{}, err
	}
	if sj.DataIn != nil {
		if *sj.DataIn == "" {
			sj.Event.Data = sj.Event.Payload
		} else if m, ok := sj.Event.Payload[*sj.DataIn].(map[string]any); ok {
			sj.Event.Data = m
		} else {
			return Job{}, fmt.Errorf("the event's data should be the payload's %q, which is not an object", *sj.DataIn)
		}
	}
	return sj.Job, nil
}

// dataMember finds which of the payload's members the event's data is
// (the same map, not an equal one), or the payload itself ("").
func dataMember(ev *event.Event) (string, bool) {
	if ev.Data == nil || ev.Payload == nil {
		return "", false
	}
	data := reflect.ValueOf(ev.Data).UnsafePointer()
	if reflect.ValueOf(ev.Payload).UnsafePointer() == data {
		return "", true
	}
	for k, v := range ev.Payload {
		if m, ok := v.(map[string]any); ok && k != "" && m != nil && reflect.ValueOf(m).UnsafePointer() == data {
			return k, true
		}
	}
	return "", false
}

// jobMsg is the stored form of a job under id (its dedup id), tried times
// already, its next attempt due at notBefore (zero: at once).
func jobMsg(j *Job, id string, tried int, notBefore time.Time) (queue.Msg, error) {
	data, err := encodeJob(j)
	if err != nil {
		return queue.Msg{}, fmt.Errorf("encode job: %w", err)
	}
	h := nats.Header{hdrRule: {j.Rule}, hdrAction: {strconv.Itoa(j.Action)}}
	if tried > 0 {
		h.Set(hdrTried, strconv.Itoa(tried))
	}
	if !notBefore.IsZero() {
		h.Set(hdrNotBefore, notBefore.UTC().Format(time.RFC3339Nano))
	}
	return queue.Msg{Subject: queue.JobsSubject + "." + j.Kind, ID: id, Data: data, Header: h}, nil
}

// match turns one stored event into one delivery per matching (rule,
// action). A delivery whose receiver has been quick and has a free slot is
// attempted at once, by the matcher itself: no job is stored for it unless
// that attempt fails. The others become jobs for the delivery workers. The
// event is acknowledged only once each of its deliveries is made, or stored
// as a job, or parked as a dead letter.
func (r *Router) match(ctx context.Context, m jetstream.Msg) {
	cfg := r.cur.Load()
	h := m.Headers()
	name := h.Get(hdrSource)
	log := lazyLog{r.log, []any{"source", name, "event", h.Get(hdrEvent), "id", h.Get(hdrID)}}
	src, ok := cfg.sources[name]
	if !ok {
		// The source was removed by a reload after the event was stored.
		// The event stays in the events stream; there is nothing to match.
		log.Warn("stored event's source is no longer configured; not matched")
		r.ack(m, log)
		return
	}
	headers, err := decodeStoredHeaders(h.Get(hdrHeaders))
	if err != nil {
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
		Time: ev.Time, Received: ev.Received, Rules: ruleNames(matched),
	}
	// An event delivered to the matcher again (its acknowledgement was lost
	// to a crash or a failover) may have had its deliveries made already:
	// this time they all become jobs, which their ids deduplicate, so that
	// each is made at most once more however often the event comes back.
	firstTime := true
	if md, err := m.Metadata(); err == nil {
		rec.EventSeq = md.Sequence.Stream
		firstTime = md.NumDelivered <= 1
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
	var jobs []queue.Msg
	queueJob := func(j *Job, tried int, notBefore time.Time) {
		jm, err := jobMsg(j, j.ID, tried, notBefore)
		if err != nil {
			log.Error("cannot encode job", "rule", j.Rule, "err", err)
			return
		}
		jobs = append(jobs, jm)
	}
	var inline []inlined
	for _, rl := range matched {
		r.metrics.matches.WithLabelValues(rl.Name).Inc()
		r.counts(rl.Name).matches.Add(1)
		for i, a := range rl.Actions {
			rec.Jobs++
			j := &Job{ID: jobID(&ev, rl.Name, i), Event: ev, Rule: rl.Name, Action: i, Kind: a.Kind, Matched: now}
			act, err := cfg.action(rl.Name, i, a.Kind)
			if err != nil { // not in a config built from this file
				queueJob(j, 0, time.Time{})
				continue
			}
			rc := r.receiver(a.Kind, rl.Name, i)
			if !firstTime || !r.claimInline(rc) {
				queueJob(j, 0, time.Time{})
				continue
			}
			inline = append(inline, inlined{job: j, act: act, rc: rc})
		}
	}
	// The match record goes first, so that the log holds an event's
	// deliveries after it (an event matched again after a failure to store
	// its jobs has a second record).
	rec.At = now.UTC()
	r.recordEvent(matchSubject+"."+ev.Source, &rec)
	// The event's other deliveries are stored first, so that an attempt
	// made here that hangs holds none of them up.
	if len(jobs) > 0 {
		if err := r.q.PublishAll(ctx, jobs); err != nil {
			for _, d := range inline {
				r.releaseInline(d.rc, 0)
			}
			log.Error("cannot store jobs; will match the event again", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		jobs = jobs[:0]
	}
	r.attemptAll(ctx, cfg, inline, log)
	for _, d := range inline {
		switch {
		case d.out.retry:
			queueJob(d.job, 1, r.opts.Now().Add(d.out.delay))
		case d.out.dead != nil:
			if err := r.storeDead(ctx, d.out.dead); err != nil {
				log.Error("could not store dead letter; keeping the delivery as a job", "rule", d.job.Rule, "err", err)
				queueJob(d.job, 1, time.Time{})
			}
		}
	}
	if len(jobs) > 0 { // the deliveries whose attempt here failed
		if err := r.q.PublishAll(ctx, jobs); err != nil {
			// Matched again, the event's jobs are deduplicated and the
			// deliveries made here are made once more, as jobs.
			log.Error("cannot store jobs; will match the event again", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
	}
	log.Info("event matched", "rules", rec.Rules, "jobs", rec.Jobs)
	r.ack(m, log)
}

// inlined is a delivery the matcher makes itself, holding its slots.
type inlined struct {
	job *Job
	act *action
	rc  *receiver
	out outcome
}

// attemptAll makes the first attempt at each of an event's inlined
// deliveries, side by side, so that a receiver that turns slow does not
// hold up the event's other deliveries, and releases their slots.
func (r *Router) attemptAll(ctx context.Context, cfg *Config, inline []inlined, log lazyLog) {
	try := func(d *inlined) {
		d.out = r.attempt(ctx, cfg, d.act, d.job, 1, log.with("rule", d.job.Rule, "action", d.job.Kind, "attempt", 1))
		r.releaseInline(d.rc, d.out.took)
	}
	if len(inline) == 1 {
		try(&inline[0])
		return
	}
	var wg sync.WaitGroup
	for i := range inline {
		wg.Go(func() { try(&inline[i]) })
	}
	wg.Wait()
}

func ruleNames(rs []*rules.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// deliver makes one attempt at one stored job and decides what comes next:
// done, another attempt later, or a dead letter.
func (r *Router) deliver(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		r.log.Error("job without metadata", "err", err)
		return // redelivered after AckWait
	}
	seq := md.Sequence.Stream
	// Which receiver the job is for is in its headers (a job stored by an
	// older version has none: it is decoded first).
	var j *Job
	h := m.Headers()
	rule, kind := h.Get(hdrRule), strings.TrimPrefix(m.Subject(), queue.JobsSubject+".")
	index, err := strconv.Atoi(h.Get(hdrAction))
	if rule == "" || err != nil {
		if j = r.decodeJob(ctx, m, md); j == nil {
			return
		}
		rule, index, kind = j.Rule, j.Action, j.Kind
	}
	// Deliveries put off, because their receiver already had its share of
	// workers or their next attempt was not due, do not count as attempts.
	// r.deferrals counts the first kind; the second is told by the job's
	// Not-Before header and NumDelivered, below.
	busy := r.deferred(seq)
	n := busy
	if nb, err := time.Parse(time.RFC3339Nano, h.Get(hdrNotBefore)); err == nil {
		if wait := nb.Sub(r.opts.Now()); wait > 0 {
			_ = m.NakWithDelay(wait)
			return
		}
		// A job stored with its next attempt due later was put off once
		// when first delivered, on whichever replica, so that delivery was
		// no attempt. (Were it first delivered late enough not to be put
		// off, this allows one attempt more than the policy, never fewer.)
		if md.NumDelivered > 1 {
			n++
		}
	}
	tried, _ := strconv.Atoi(h.Get(hdrTried))
	attempt := tried + int(md.NumDelivered) - n
	cfg := r.cur.Load()
	act, actErr := cfg.action(rule, index, kind)
	if actErr == nil {
		rc := r.receiver(kind, rule, index)
		if !rc.acquire() {
			// This receiver already holds its share of the kind's workers:
			// put the job off briefly so that other receivers keep theirs.
			r.deferAgain(seq, busy+1)
			r.metrics.deferrals.WithLabelValues(kind).Inc()
			_ = m.NakWithDelay(deferDelay/2 + time.Duration(jitter()*float64(deferDelay)))
			return
		}
		if j == nil {
			if j = r.decodeJob(ctx, m, md); j == nil {
				rc.release(0)
				return
			}
		}
		log := lazyLog{r.log, []any{"source", j.Event.Source, "event", j.Event.Event, "id", j.Event.ID,
			"rule", j.Rule, "action", j.Kind, "attempt", attempt}}
		out := r.attempt(ctx, cfg, act, j, attempt, log)
		rc.release(out.took)
		switch {
		case out.retry:
			if err := m.NakWithDelay(out.delay); err != nil {
				log.Error("could not schedule the retry; the queue redelivers after its ack wait", "err", err)
			}
		case out.dead != nil:
			r.forget(seq)
			r.bury(ctx, m, out.dead)
		default:
			r.forget(seq)
			r.ack(m, log)
		}
		return
	}
	if j == nil {
		if j = r.decodeJob(ctx, m, md); j == nil {
			return
		}
	}
	r.log.Error("delivery is a dead letter", "source", j.Event.Source, "event", j.Event.Event, "id", j.Event.ID,
		"rule", j.Rule, "action", j.Kind, "attempt", attempt, "err", actErr)
	r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
	r.recordDelivery(j, "dead", attempt, 0, actErr.Error(), 0)
	r.forget(seq)
	r.bury(ctx, m, &DeadLetter{Job: *j, Attempts: attempt, Error: actErr.Error(), At: r.opts.Now()})
}

// outcome is what one attempt ended with: delivered (the zero value but
// took), another attempt after delay, or a dead letter.
type outcome struct {
	took  time.Duration
	retry bool
	delay time.Duration
	dead  *DeadLetter
}

// attempt makes attempt number n at j, logs and records how it went, and
// says what comes next.
func (r *Router) attempt(ctx context.Context, cfg *Config, act *action, j *Job, n int, log lazyLog) outcome {
	p := act.policy
	actx, cancel := context.WithTimeout(ctx, p.Timeout)
	start := r.opts.Now()
	err := act.Do(actx, &j.Event)
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
	if retry && n < p.Attempts {
		delay := p.Delay(n, after, jitter)
		r.metrics.deliveries.WithLabelValues(j.Kind, "retrying").Inc()
		log.Warn("delivery failed; will retry", "err", msg, "in", delay, "latency", took)
		r.recordDelivery(j, "retrying", n, took, msg, delay)
		return outcome{took: took, retry: true, delay: delay}
	}
	r.metrics.deliveries.WithLabelValues(j.Kind, "dead").Inc()
	log.Error("delivery failed; parked as a dead letter", "err", msg, "permanent", !retry, "latency", took)
	r.recordDelivery(j, "dead", n, took, msg, 0)
	d := &DeadLetter{Job: *j, Attempts: n, Error: msg, At: r.opts.Now()}
	if rd, rerr := act.Render(&j.Event); rerr == nil {
		rd = redactRendered(cfg, rd)
		d.Rendered = &rd
	}
	return outcome{took: took, dead: d}
}

// decodeJob decodes a job message; one that cannot be decoded is parked as
// a dead letter, and nil returned.
func (r *Router) decodeJob(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata) *Job {
	j, err := decodeJobData(m.Data())
	if err != nil {
		r.log.Error("unreadable job parked as a dead letter", "err", err)
		r.forget(md.Sequence.Stream)
		r.bury(ctx, m, &DeadLetter{Job: Job{ID: fmt.Sprintf("unreadable-%d", md.Sequence.Stream)}, Attempts: int(md.NumDelivered), Error: "unreadable job: " + err.Error(), At: r.opts.Now()})
		return nil
	}
	return &j
}

// deferral is what r.deferrals keeps about a job: how many of its
// deliveries were put off here, and when a delivery of it last came here
// (Unix nanoseconds of r.opts.Now).
type deferral struct {
	n    int
	seen int64
}

// deferred is how many deliveries of the job at seq were put off here. It
// notes that the job was seen now, so that its count outlives the sweep for
// as long as its deliveries keep coming here.
func (r *Router) deferred(seq uint64) int {
	v, ok := r.deferrals.Load(seq)
	if !ok {
		return 0
	}
	d := v.(deferral)
	// Lost to a sweep in between, the count is kept for this delivery.
	r.deferrals.CompareAndSwap(seq, v, deferral{n: d.n, seen: r.opts.Now().UnixNano()})
	return d.n
}

// deferAgain notes that n deliveries of the job at seq were put off here.
func (r *Router) deferAgain(seq uint64, n int) {
	r.deferrals.Store(seq, deferral{n: n, seen: r.opts.Now().UnixNano()})
}

// forget drops what was kept about a job that is done with.
func (r *Router) forget(seq uint64) { r.deferrals.Delete(seq) }

// deferralTTL is how long r.deferrals keeps a job no delivery of which has
// come here: twice the longest a job can wait between two deliveries (a
// retry delay, the longest allowed under any config loaded; then an
// attempt's time limit; then, should the outcome be lost, the jobs
// consumer's AckWait), while deferDelay is under a second. A job that
// another replica finished, or that the stream no longer holds, leaves an
// entry behind only that long. One that another replica kept on retrying
// all that time, were it to come back here, would count the deliveries put
// off here as attempts, as it already counts those put off elsewhere.
func (r *Router) deferralTTL() time.Duration {
	longest := max(time.Duration(r.longestDelay.Load()), MaxRetryAfter) // at least MaxRetryAfter, as swap keeps it
	return 2 * (longest + MaxAttemptTimeout + jobsAckWait)
}

// sweepDeferrals drops the entries of r.deferrals not seen for
// deferralTTL before now.
func (r *Router) sweepDeferrals(now time.Time) {
	cutoff := now.Add(-r.deferralTTL()).UnixNano()
	r.deferrals.Range(func(k, v any) bool {
		if v.(deferral).seen < cutoff {
			r.deferrals.CompareAndDelete(k, v) // unless seen meanwhile
		}
		return true
	})
}

// sweepDeferralsEvery sweeps r.deferrals at each tick of every until ctx
// is done.
func (r *Router) sweepDeferralsEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.sweepDeferrals(r.opts.Now())
		}
	}
}

// deferDelay is about how long a delivery waits when its receiver already
// has its share of workers.
const deferDelay = 500 * time.Millisecond

// maxClaimWait is how long a delivery waits for its receiver's slot before
// it is put off, when the receiver's attempts take no longer than that on
// average: a quick receiver frees a slot long before, so its deliveries
// queue for microseconds instead of being put off for half a second.
const maxClaimWait = 50 * time.Millisecond

// maxQuickAvg is the longest average attempt of a receiver that may use
// more than its share of workers (up to three quarters of them).
const maxQuickAvg = 50 * time.Millisecond

// maxInlineAvg is the longest average attempt of a receiver whose
// deliveries the matcher makes itself, without storing a job first.
const maxInlineAvg = 25 * time.Millisecond

// receiver bounds the attempts under way at one action's receiver. One
// that is slow (its attempts average over maxQuickAvg, or none has ended
// yet) may hold a quarter of its kind's workers (at least one), so it never
// delays the others much; a quick one may hold three quarters, since it
// hands them back at once, and a quarter always remains for the others.
// As many deliveries as a quarter of the workers may wait up to
// maxClaimWait for a slot of a quick receiver. The matcher's own attempts
// count too.
type receiver struct {
	share, most int64
	running     atomic.Int64
	waiting     atomic.Int64
	avg         atomic.Int64  // moving average of an attempt's time, ns; 0: none ended yet
	freed       chan struct{} // a slot was released
}

func (r *Router) receiver(kind, rule string, index int) *receiver {
	key := kind + "/" + rule + "/" + strconv.Itoa(index)
	if v, ok := r.inflight.Load(key); ok {
		return v.(*receiver)
	}
	n := r.workers(kind)
	share := max(1, n/4)
	// freed holds a signal per possible waiter, so that two slots freed at
	// once wake two of them.
	rc := &receiver{share: int64(share), most: int64(max(share, n*3/4)), freed: make(chan struct{}, share)}
	v, _ := r.inflight.LoadOrStore(key, rc)
	return v.(*receiver)
}

// quick says whether the receiver's attempts have averaged at most d.
func (rc *receiver) quick(d time.Duration) bool {
	avg := time.Duration(rc.avg.Load())
	return avg > 0 && avg <= d
}

// try claims a slot if one is free.
func (rc *receiver) try() bool {
	limit := rc.share
	if rc.quick(maxQuickAvg) {
		limit = rc.most
	}
	for {
		n := rc.running.Load()
		if n >= limit {
			return false
		}
		if rc.running.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// acquire claims a slot, waiting up to maxClaimWait for one when the
// receiver is quick and not too many are waiting already.
func (rc *receiver) acquire() bool {
	if rc.try() {
		return true
	}
	if !rc.quick(maxClaimWait) {
		return false
	}
	if rc.waiting.Add(1) > rc.share {
		rc.waiting.Add(-1)
		return false
	}
	defer rc.waiting.Add(-1)
	t := time.NewTimer(maxClaimWait)
	defer t.Stop()
	for {
		select {
		case <-rc.freed:
			if rc.try() {
				return true
			}
		case <-t.C:
			return false
		}
	}
}

// release frees the slot of an attempt that took took (0: none was made).
func (rc *receiver) release(took time.Duration) {
	if took > 0 {
		if old := rc.avg.Load(); old == 0 {
			rc.avg.Store(int64(took)) // the first attempt is all there is to go by
		} else {
			rc.avg.Store(old + (int64(took)-old)/8)
		}
	}
	rc.running.Add(-1)
	select {
	case rc.freed <- struct{}{}:
	default:
	}
}

// claimInline claims a slot of rc for an attempt by the matcher, and one
// of the matcher's inline slots: only for a receiver not known to be slow
// (over maxInlineAvg), and by at most half of the matcher's workers at
// once, so that a receiver that turns slow holds up matching for no one.
// While the slots are busy it waits up to maxClaimWait for them: the event
// is stored already, and waiting here slows the matcher down to what the
// receivers take (storing a job instead costs more work exactly when there
// is least to spare).
func (r *Router) claimInline(rc *receiver) bool {
	if avg := time.Duration(rc.avg.Load()); avg > maxInlineAvg {
		return false
	}
	select {
	case r.inline <- struct{}{}:
	default:
		t := time.NewTimer(maxClaimWait)
		defer t.Stop()
		select {
		case r.inline <- struct{}{}:
		case <-t.C:
			return false
		}
	}
	if !rc.acquire() {
		<-r.inline
		return false
	}
	return true
}

func (r *Router) releaseInline(rc *receiver, took time.Duration) {
	rc.release(took)
	<-r.inline
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

// lazyLog logs with a set of attributes built into a line only when one is
// written: slog.Logger.With would format them for every event, logged or
// not.
type lazyLog struct {
	l     *slog.Logger
	attrs []any
}

// log writes one line with g's attributes and args. It hands the line to
// the logger's handler itself, with no caller's program counter: the
// handlers serve sets up report no source, and slog.Logger would walk the
// stack for one on every line, two lines per event.
func (g lazyLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	h := g.l.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	rec := slog.NewRecord(time.Now(), level, msg, 0)
	rec.Add(g.attrs...)
	rec.Add(args...)
	_ = h.Handle(ctx, rec)
}

// with returns g with more attributes.
func (g lazyLog) with(args ...any) lazyLog {
	return lazyLog{g.l, append(g.attrs[:len(g.attrs):len(g.attrs)], args...)}
}

func (g lazyLog) Info(msg string, args ...any)  { g.log(slog.LevelInfo, msg, args) }
func (g lazyLog) Warn(msg string, args ...any)  { g.log(slog.LevelWarn, msg, args) }
func (g lazyLog) Error(msg string, args ...any) { g.log(slog.LevelError, msg, args) }
