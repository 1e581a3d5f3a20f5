package router

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
