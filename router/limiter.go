package router

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// The limiter's tuning. A receiver is one rule's action: the URL, Slack
// channel or mailbox it sends to.
const (
	// maxQuickAvg is the longest average attempt of a receiver that may
	// use more than its share of workers (up to three quarters of them).
	maxQuickAvg = 50 * time.Millisecond
	// maxClaimWait is how long a delivery waits for a slot of a receiver
	// whose attempts average no longer than that: a quick receiver frees a
	// slot long before, so its deliveries queue for microseconds instead
	// of being put off.
	maxClaimWait = 50 * time.Millisecond
	// maxInlineAvg is the longest average attempt of a receiver whose
	// deliveries the matcher makes itself, without storing a job first.
	maxInlineAvg = 25 * time.Millisecond
)

// limiter decides who may send now. Each receiver may hold a share of its
// kind's delivery workers, so that a hanging receiver never holds up the
// others; and the matcher may make at most a set number of deliveries
// itself at once, so that a receiver that turns slow holds up matching for
// no one. It keeps no state about any delivery, only about receivers: what
// a delivery has been through is carried in its stored message.
type limiter struct {
	workers   func(kind string) int
	receivers sync.Map      // kind/rule/index -> *receiver
	paces     sync.Map      // a receiver's pace key -> *pace
	inline    chan struct{} // a token per delivery the matcher is making
}

func newLimiter(workers func(kind string) int, inline int) *limiter {
	return &limiter{workers: workers, inline: make(chan struct{}, max(1, inline))}
}

// receiver returns the slots of one rule's action.
func (l *limiter) receiver(kind, rule string, index int) *receiver {
	key := kind + "/" + rule + "/" + strconv.Itoa(index)
	if v, ok := l.receivers.Load(key); ok {
		return v.(*receiver)
	}
	v, _ := l.receivers.LoadOrStore(key, newReceiver(l.workers(kind)))
	return v.(*receiver)
}

// claimInline claims a slot of rc for an attempt by the matcher, and one
// of the matcher's inline slots: only for a receiver not known to be slow
// (over maxInlineAvg). While the inline slots are busy it waits up to
// maxClaimWait: the event is stored already, and waiting here slows the
// matcher down to what the receivers take (storing a job instead costs
// more work exactly when there is least to spare).
func (l *limiter) claimInline(rc *receiver) bool {
	if rc.average() > maxInlineAvg {
		return false
	}
	select {
	case l.inline <- struct{}{}:
	default:
		t := time.NewTimer(maxClaimWait)
		defer t.Stop()
		select {
		case l.inline <- struct{}{}:
		case <-t.C:
			return false
		}
	}
	if !rc.acquire() {
		<-l.inline
		return false
	}
	return true
}

// releaseInline gives back what claimInline claimed, once the attempt
// took took (0: none was made).
func (l *limiter) releaseInline(rc *receiver, took time.Duration) {
	rc.release(took)
	<-l.inline
}

// receiver bounds the attempts under way at one receiver. One that is slow
// (its attempts average over maxQuickAvg, or none has ended yet) may hold
// a quarter of its kind's workers (at least one); a quick one may hold
// three quarters, since it hands them back at once, and a quarter always
// remains for the others. As many deliveries as a quarter of the workers
// may wait up to maxClaimWait for a slot of a quick receiver.
type receiver struct {
	share, most int64
	running     atomic.Int64
	waiting     atomic.Int64
	avg         atomic.Int64  // moving average of an attempt's time, ns; 0: none ended yet
	freed       chan struct{} // a slot was released
}

func newReceiver(workers int) *receiver {
	share := max(1, workers/4)
	// freed holds a signal per possible waiter, so that two slots freed at
	// once wake two of them.
	return &receiver{share: int64(share), most: int64(max(share, workers*3/4)), freed: make(chan struct{}, share)}
}

// average is the moving average of the receiver's attempts (0: none ended).
func (rc *receiver) average() time.Duration { return time.Duration(rc.avg.Load()) }

// quick says whether the receiver's attempts have averaged at most d.
func (rc *receiver) quick(d time.Duration) bool {
	avg := rc.average()
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

// pace gives the deliveries to one receiver their turns, at most one every
// interval (a Slack channel: one a second), and holds them all while the
// receiver asked for a pause (a Retry-After). A replica paces what it
// delivers: with N replicas, a receiver gets at most N turns an interval.
type pace struct {
	mu       sync.Mutex
	interval time.Duration
	turns    *rate.Limiter // nil: not paced, only paused
	busy     bool          // a delivery to the receiver is under way
	next     time.Time     // the next delivery may not start before
	paused   time.Time     // no delivery before then
}

// pace returns the pace of the receiver named key, one turn every
// interval (0: none).
func (l *limiter) pace(key string, interval time.Duration) *pace {
	if v, ok := l.paces.Load(key); ok {
		return v.(*pace)
	}
	p := &pace{interval: interval}
	if interval > 0 {
		p.turns = rate.NewLimiter(rate.Every(interval), 1)
	}
	v, _ := l.paces.LoadOrStore(key, p)
	return v.(*pace)
}

// turn takes the receiver's next turn at or after now and says when it is:
// now, if the delivery may go at once.
func (p *pace) turn(now time.Time) time.Time {
	if p == nil || p.turns == nil {
		return now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Add(p.turns.ReserveN(now, 1).DelayFrom(now))
}

// start notes that a delivery to the receiver starts at now, unless one
// is under way or the last ended less than an interval before: then it
// says how long to wait. Turns spread the deliveries out; start and done
// hold them an interval apart as the receiver sees them, whatever each
// took to arrive.
func (p *pace) start(now time.Time) time.Duration {
	if !p.paced() {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy {
		return p.interval
	}
	if now.Before(p.next) {
		return p.next.Sub(now)
	}
	p.busy = true
	return 0
}

// done notes that the delivery start let go has ended at now (or was not
// made after all).
func (p *pace) done(now time.Time) {
	if !p.paced() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = false
	p.next = now.Add(p.interval)
}

// pausedUntil is when the receiver's pause ends, if it is paused at now.
func (p *pace) pausedUntil(now time.Time) (time.Time, bool) {
	if p == nil {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused, now.Before(p.paused)
}

// pause holds every delivery to the receiver until until.
func (p *pace) pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.paused) {
		p.paused = until
	}
}

// paced says whether the receiver's deliveries take turns.
func (p *pace) paced() bool { return p != nil && p.turns != nil }
