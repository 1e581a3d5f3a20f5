package router

import (
	"testing"
	"time"
)

// claim claims slots of rc until one is refused, and says how many it got.
func claim(rc *receiver) int {
	n := 0
	for rc.try() {
		n++
	}
	return n
}

func TestReceiverShares(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		avg     time.Duration // of the attempts made so far; 0: none yet
		want    int
	}{
		{"no attempt ended yet: a quarter", 64, 0, 16},
		{"slow: a quarter", 64, 200 * time.Millisecond, 16},
		{"quick: three quarters", 64, 10 * time.Millisecond, 48},
		{"one worker: slow still gets it", 1, 0, 1},
		{"two workers, quick", 2, time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(tc.workers)
			rc.avg.Store(int64(tc.avg))
			if got := claim(rc); got != tc.want {
				t.Fatalf("claimed %d slots of %d workers, want %d", got, tc.workers, tc.want)
			}
		})
	}
}

// A slot released by a quick receiver's attempt goes to a delivery waiting
// for it; a slow receiver's deliveries are put off at once instead.
func TestAcquireWaitsOnlyForAQuickReceiver(t *testing.T) {
	quick := newReceiver(8)
	quick.avg.Store(int64(time.Millisecond))
	claim(quick)
	go func() {
		time.Sleep(5 * time.Millisecond)
		quick.release(time.Millisecond)
	}()
	if !quick.acquire() {
		t.Error("a quick receiver's delivery did not get the slot released while it waited")
	}

	slow := newReceiver(8)
	slow.avg.Store(int64(time.Second))
	claim(slow)
	start := time.Now()
	if slow.acquire() {
		t.Fatal("a slow receiver's delivery got a slot beyond its share")
	}
	if waited := time.Since(start); waited >= maxClaimWait {
		t.Errorf("waited %s for a slow receiver's slot; want no wait", waited)
	}
}

// The matcher makes deliveries itself only to receivers not known to be
// slow, and no more at once than its inline slots.
func TestInlineDeliveriesAreBounded(t *testing.T) {
	l := newLimiter(func(string) int { return 64 }, 2)
	a, b := l.receiver("http", "a", 0), l.receiver("http", "b", 0)
	if l.receiver("http", "a", 0) != a {
		t.Fatal("the same action got two receivers")
	}
	if !l.claimInline(a) || !l.claimInline(b) {
		t.Fatal("the first two inline deliveries were refused")
	}
	if l.claimInline(a) {
		t.Fatal("a third inline delivery was allowed with two inline slots")
	}
	l.releaseInline(a, time.Millisecond)
	if !l.claimInline(b) {
		t.Fatal("an inline slot released was not reused")
	}
	l.releaseInline(b, 0)
	l.releaseInline(b, 0)

	slow := l.receiver("http", "slow", 0)
	slow.avg.Store(int64(maxInlineAvg + time.Millisecond))
	if l.claimInline(slow) {
		t.Fatal("the matcher claimed a delivery to a slow receiver")
	}
}
