package router

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeJobMsg is a job message as a delivery worker gets it, without a
// server: it records how it was acknowledged.
type fakeJobMsg struct {
	jetstream.Msg // nil: a method not faked here panics
	msg           queue.Msg
	md            jetstream.MsgMetadata
	naks          []time.Duration
	acked         bool
}

func (m *fakeJobMsg) Metadata() (*jetstream.MsgMetadata, error) { md := m.md; return &md, nil }
func (m *fakeJobMsg) Headers() nats.Header                      { return m.msg.Header }
func (m *fakeJobMsg) Subject() string                           { return m.msg.Subject }
func (m *fakeJobMsg) Data() []byte                              { return m.msg.Data }
func (m *fakeJobMsg) Ack() error                                { m.acked = true; return nil }
func (m *fakeJobMsg) NakWithDelay(d time.Duration) error {
	m.naks = append(m.naks, d)
	return nil
}

// routerAt is a Router on an embedded queue with the rules rulesYAML and
// the clock c, its pipeline not running: the test calls its handlers.
func routerAt(t *testing.T, rulesYAML string, c *fakeClock, opts ...func(*Options)) *Router {
	t.Helper()
	r, _ := newRouter(t, rulesYAML, append([]func(*Options){func(o *Options) { o.Now = c.Now }}, opts...)...)
	return r
}

// voteJob is the stored job at seq of the first action of rule votes, as a
// delivery worker gets it (NumDelivered is for the test to set).
func voteJob(t *testing.T, seq uint64, tried int, notBefore time.Time) *fakeJobMsg {
	t.Helper()
	ev := event.Event{Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "e1",
		Data: map[string]any{"post": map[string]any{"title": "T"}}}
	j := &Job{ID: jobID(&ev, "votes", 0), Event: ev, Rule: "votes", Kind: "http"}
	m, err := jobMsg(j, j.ID, tried, notBefore)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeJobMsg{msg: m, md: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: seq}}}
}

// busy gives the receiver of rule votes' first action its share of the
// workers, so that its deliveries are put off; the function returned frees
// them.
func busy(r *Router) (free func()) {
	rc := r.receiver("http", "votes", 0)
	rc.running.Add(rc.share)
	return func() { rc.running.Add(-rc.share) }
}

func (r *Router) deferralCount(seq uint64) (int, bool) {
	v, ok := r.deferrals.Load(seq)
	if !ok {
		return 0, false
	}
	return v.(deferral).n, true
}

// The deferral count of a job no delivery of which comes here any more (it
// was finished by another replica) is swept out once deferralTTL has passed;
// that of a job whose deliveries still come here is kept, however old.
func TestDeferralsOfJobsGoneElsewhereAreSwept(t *testing.T) {
	c := newFakeClock()
	r := routerAt(t, rulesFor("http://127.0.0.1:9", "{ attempts: 5 }"), c)
	ttl := r.deferralTTL()
	free := busy(r)
	defer free()
	elsewhere, here := voteJob(t, 1, 0, time.Time{}), voteJob(t, 2, 0, time.Time{})
	for _, m := range []*fakeJobMsg{elsewhere, here} {
		m.md.NumDelivered = 1
		r.deliver(context.Background(), m)
		if len(m.naks) != 1 {
			t.Fatalf("job %d: naks %v, want it put off", m.md.Sequence.Stream, m.naks)
		}
	}
	// Job 2 keeps coming back here (its receiver stays busy), job 1 never
	// does; the sweep runs every interval.
	for elapsed := time.Duration(0); elapsed <= 2*ttl; elapsed += deferralSweepInterval {
		c.Advance(deferralSweepInterval)
		here.md.NumDelivered++
		r.deliver(context.Background(), here)
		r.sweepDeferrals(c.Now())
		_, kept := r.deferralCount(1)
		if gone := elapsed+deferralSweepInterval > ttl; kept == gone {
			t.Fatalf("%s after job 1 was last seen (ttl %s): its count kept %v", elapsed+deferralSweepInterval, ttl, kept)
		}
		if n, ok := r.deferralCount(2); !ok || n != int(here.md.NumDelivered) {
			t.Fatalf("job 2 put off %d times: count %d, kept %v", here.md.NumDelivered, n, ok)
		}
	}
	// Once job 2 stops coming here too, its count goes in its turn.
	c.Advance(ttl + time.Nanosecond)
	r.sweepDeferrals(c.Now())
	if _, ok := r.deferralCount(2); ok {
		t.Fatal("job 2's count kept a ttl after its last delivery here")
	}
}

func TestSweepDeferrals(t *testing.T) {
	c := newFakeClock()
	r := routerAt(t, rulesFor("http://127.0.0.1:9", "{ attempts: 5 }"), c)
	ttl := r.deferralTTL()
	for _, tc := range []struct {
		name    string
		seenAgo time.Duration // since the job was last put off or seen
		kept    bool
	}{
		{"just now", 0, true},
		{"a sweep interval ago", deferralSweepInterval, true},
		{"a ttl ago", ttl, true},
		{"just over a ttl ago", ttl + time.Nanosecond, false},
		{"a day ago", 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.deferAgain(1, 3)
			c.Advance(tc.seenAgo)
			r.sweepDeferrals(c.Now())
			if n, ok := r.deferralCount(1); ok != tc.kept || ok && n != 3 {
				t.Fatalf("count %d, kept %v; want kept %v", n, ok, tc.kept)
			}
			r.forget(1)
		})
	}
	t.Run("seen again", func(t *testing.T) {
		r.deferAgain(1, 3)
		c.Advance(ttl)
		if n := r.deferred(1); n != 3 {
			t.Fatalf("deferred = %d, want 3", n)
		}
		c.Advance(ttl)
		r.sweepDeferrals(c.Now())
		if _, ok := r.deferralCount(1); !ok {
			t.Fatal("a count seen a ttl ago was swept")
		}
		r.forget(1)
	})
}

// The ttl outlasts the longest wait between two deliveries of a job under
// any config loaded, the one in force or an older one.
func TestDeferralTTLOutlastsTheLongestRetryDelay(t *testing.T) {
	c := newFakeClock()
	r := routerAt(t, rulesFor("http://127.0.0.1:9", "{ attempts: 5 }"), c)
	if got, want := r.deferralTTL(), 2*(30*time.Minute+MaxAttemptTimeout+jobsAckWait); got != want {
		t.Errorf("default policy: ttl %s, want %s", got, want)
	}
	for _, tc := range []struct {
		retry string
		want  time.Duration
	}{
		{"{ attempts: 5, initial: 1s, max: 5h }", 2 * (5*time.Hour + MaxAttemptTimeout + jobsAckWait)},
		{"{ attempts: 5, initial: 1s, max: 1s }", 2 * (5*time.Hour + MaxAttemptTimeout + jobsAckWait)}, // the 5h jobs may still wait
	} {
		if err := os.WriteFile(r.opts.RulesPath, []byte(rulesFor("http://127.0.0.1:9", tc.retry)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := r.deferralTTL(); got != tc.want {
			t.Errorf("retry %s: ttl %s, want %s", tc.retry, got, tc.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// attempts are the attempt numbers of the JSON log lines with message msg.
func (b *lockedBuffer) attempts(t *testing.T, msg string) []int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int
	for _, line := range bytes.Split(bytes.TrimSpace(b.b.Bytes()), []byte("\n")) {
		var l struct {
			Msg     string
			Attempt int
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if l.Msg == msg {
			out = append(out, l.Attempt)
		}
	}
	return out
}

// A job stored after a failed attempt, with its next attempt due later, is
// put off once for that (its first delivery, on whichever replica) and
// then once for each time its receiver was busy here: its next attempt is
// its second, however often it was put off.
func TestDeliveriesPutOffAreNotAttempts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tried       int // attempts made before the job was stored
		busy        int // deliveries put off here for a busy receiver
		wantAttempt int
	}{
		{"new job, never busy", 0, 0, 1},
		{"new job, busy twice", 0, 2, 1},
		{"retried job, never busy", 1, 0, 2},
		{"retried job, busy once", 1, 1, 2},
		{"retried job, busy three times", 1, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock()
			sink := newSink(t)
			var logs lockedBuffer
			r := routerAt(t, rulesFor(sink.srv.URL, "{ attempts: 5 }"), c, func(o *Options) {
				o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			})
			var notBefore time.Time
			if tc.tried > 0 {
				notBefore = c.Now().Add(-time.Second) // due: its first delivery was put off
			}
			m := voteJob(t, 1, tc.tried, notBefore)
			m.md.NumDelivered = 1
			if tc.tried > 0 {
				m.md.NumDelivered = 2
			}
			free := busy(r)
			for range tc.busy {
				r.deliver(context.Background(), m)
				m.md.NumDelivered++
			}
			free()
			r.deliver(context.Background(), m)
			if !m.acked || len(m.naks) != tc.busy {
				t.Fatalf("acked %v, naks %v; want acked after %d put off", m.acked, m.naks, tc.busy)
			}
			if got := logs.attempts(t, "delivered"); len(got) != 1 || got[0] != tc.wantAttempt {
				t.Fatalf("delivered as attempts %v, want [%d]", got, tc.wantAttempt)
			}
			if _, ok := r.deferralCount(1); ok {
				t.Error("the count of a job delivered here is kept")
			}
		})
	}
}
