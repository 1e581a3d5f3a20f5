package router

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
)

// These tests call a delivery worker's handler directly, on a router whose
// queue is a real embedded one, with the job message as the worker gets it.

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

// jobDelivery is a job message as a delivery worker gets it from the
// server: it records how the worker acknowledged it.
type jobDelivery struct {
	jetstream.Msg // nil: a method not needed here panics
	msg           queue.Msg
	md            jetstream.MsgMetadata
	naks          []time.Duration
	acked         bool
}

func (m *jobDelivery) Metadata() (*jetstream.MsgMetadata, error) { md := m.md; return &md, nil }
func (m *jobDelivery) Headers() nats.Header                      { return m.msg.Header }
func (m *jobDelivery) Subject() string                           { return m.msg.Subject }
func (m *jobDelivery) Data() []byte                              { return m.msg.Data }
func (m *jobDelivery) Ack() error                                { m.acked = true; return nil }
func (m *jobDelivery) NakWithDelay(d time.Duration) error {
	m.naks = append(m.naks, d)
	return nil
}

// routerAt is a Router on an embedded queue with the rules rulesYAML, the
// clock c and a JSON log in logs, its pipeline not running.
func routerAt(t *testing.T, rulesYAML string, c *fakeClock, logs *lockedBuffer) *Router {
	t.Helper()
	r, _ := newRouter(t, rulesYAML, func(o *Options) {
		o.Now = c.Now
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	return r
}

// voteJob is the job of rule votes' first action, tried times already
// and due at notBefore, as first delivered.
func voteJob(t *testing.T, tried int, notBefore time.Time) *jobDelivery {
	t.Helper()
	ev := event.Event{Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "e1",
		Data: map[string]any{"post": map[string]any{"title": "T"}}}
	j := &Job{ID: jobID(&ev, "votes", 0), Event: ev, Rule: "votes", Kind: "http"}
	m, err := jobMsg(j, jobState{base: j.ID, tried: tried, notBefore: notBefore})
	if err != nil {
		t.Fatal(err)
	}
	return &jobDelivery{msg: m, md: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: 1}, NumDelivered: 1}}
}

// storedJobs are the messages the jobs stream holds, oldest first.
func storedJobs(t *testing.T, r *Router) []*jetstream.RawStreamMsg {
	t.Helper()
	var out []*jetstream.RawStreamMsg
	if _, err := r.q.Scan(context.Background(), queue.JobsStream, 0, func(m *jetstream.RawStreamMsg) bool {
		out = append(out, m)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(out)
	return out
}

// asDelivered is a stored job message as a worker gets it.
func asDelivered(m *jetstream.RawStreamMsg) *jobDelivery {
	return &jobDelivery{msg: queue.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data},
		md: jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.Sequence}, NumDelivered: 1}}
}

// A receiver holding its share of workers puts deliveries off, each time
// for longer, and none of them counts as an attempt.
func TestDeliveriesPutOffAreNotAttempts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tried int // attempts made before
		busy  int // deliveries put off for a busy receiver
	}{
		{"new job, never busy", 0, 0},
		{"new job, busy eight times", 0, 8},
		{"retried job, busy three times", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock()
			sink := newSink(t)
			var logs lockedBuffer
			r := routerAt(t, rulesFor(sink.srv.URL, "{ attempts: 5 }"), c, &logs)
			m := voteJob(t, tc.tried, time.Time{})
			rc := r.limit.receiver("http", "votes", 0)
			rc.running.Add(rc.share) // the receiver holds its share
			for range tc.busy {
				r.deliver(context.Background(), m)
				m.md.NumDelivered++
			}
			rc.running.Add(-rc.share)
			r.deliver(context.Background(), m)
			if !m.acked || len(m.naks) != tc.busy {
				t.Fatalf("acked %v, naks %v; want acked after %d put off", m.acked, m.naks, tc.busy)
			}
			for i, d := range m.naks {
				want := min(busyDelay<<i, maxBusyDelay)
				if d < want/2 || d > want {
					t.Errorf("put off #%d for %s, want %s-%s", i+1, d, want/2, want)
				}
			}
			if got := logs.attempts(t, "delivered"); len(got) != 1 || got[0] != tc.tried+1 {
				t.Fatalf("delivered as attempts %v, want [%d]", got, tc.tried+1)
			}
		})
	}
}

// A failed attempt stores the job again, its attempt counted and its next
// attempt's time in it, and the job comes back then as the next attempt,
// on whichever replica. Made twice (its process died before the ack), an
// attempt's retry is stored once.
func TestRetriesAreCountedInTheJob(t *testing.T) {
	c := newFakeClock()
	sink := newSink(t, status(http.StatusInternalServerError), status(http.StatusInternalServerError), status(http.StatusBadGateway))
	var logs lockedBuffer
	r := routerAt(t, rulesFor(sink.srv.URL, "{ attempts: 5, initial: 10s, max: 1m }"), c, &logs)

	first := voteJob(t, 0, time.Time{})
	r.deliver(context.Background(), first)
	first.acked = false
	r.deliver(context.Background(), first) // made again, as after a crash before the ack
	if !first.acked || len(first.naks) != 0 {
		t.Fatalf("acked %v, naks %v: the failed attempt's job should be acknowledged once its retry is stored", first.acked, first.naks)
	}
	stored := storedJobs(t, r)
	if len(stored) != 1 {
		t.Fatalf("the jobs stream holds %d messages, want the one retry", len(stored))
	}
	retry := stored[0]
	// The second run of attempt 1 is attempt 1 again: its retry is
	// attempt 2, under the same message id, so it is stored once.
	if got := retry.Header.Get(hdrTried); got != "1" {
		t.Errorf("retry's %s %q, want 1", hdrTried, got)
	}
	if got, want := retry.Header.Get(jetstream.MsgIDHeader), first.msg.ID+"/attempt/2"; got != want {
		t.Errorf("retry's message id %q, want %q", got, want)
	}
	notBefore, err := time.Parse(time.RFC3339Nano, retry.Header.Get(hdrNotBefore))
	if err != nil {
		t.Fatal(err)
	}
	if wait := notBefore.Sub(c.Now()); wait < 5*time.Second || wait > 10*time.Second {
		t.Fatalf("next attempt due in %s, want 5s-10s (initial 10s with jitter)", wait)
	}

	second := asDelivered(retry)
	r.deliver(context.Background(), second)
	if second.acked || len(second.naks) != 1 || second.naks[0] != notBefore.Sub(c.Now()) {
		t.Fatalf("delivered before it was due: acked %v, naks %v", second.acked, second.naks)
	}
	c.Advance(notBefore.Sub(c.Now()))
	second.md.NumDelivered++
	r.deliver(context.Background(), second)
	if !second.acked {
		t.Fatal("the due retry was not acknowledged")
	}
	if got := logs.attempts(t, "delivery failed; will retry"); len(got) != 3 || got[0] != 1 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("failed attempts logged as %v, want [1 1 2]", got)
	}
	stored = storedJobs(t, r)
	if len(stored) != 2 || stored[1].Header.Get(hdrTried) != "2" {
		t.Fatalf("after attempt 2 the stream holds %d jobs; want its retry, tried 2", len(stored))
	}
}

// A job that keeps coming back without an outcome (its process dies during
// each attempt) is parked as a dead letter once delivered maxJobDeliveries
// times, instead of looping for ever.
func TestCrashLoopEndsInADeadLetter(t *testing.T) {
	c := newFakeClock()
	sink := newSink(t)
	var logs lockedBuffer
	r := routerAt(t, rulesFor(sink.srv.URL, "{ attempts: 5 }"), c, &logs)
	m := voteJob(t, 1, time.Time{})
	m.md.NumDelivered = maxJobDeliveries + 1
	r.deliver(context.Background(), m)
	if !m.acked {
		t.Fatal("the job was not acknowledged")
	}
	if n := len(sink.times()); n != 0 {
		t.Fatalf("the receiver got %d requests, want none", n)
	}
	var dead []*jetstream.RawStreamMsg
	if _, err := r.q.Scan(context.Background(), queue.DeadStream, 0, func(m *jetstream.RawStreamMsg) bool {
		dead = append(dead, m)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	var d DeadLetter
	if err := json.Unmarshal(dead[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 1 || !bytes.Contains([]byte(d.Error), []byte("delivered "+strconv.Itoa(maxJobDeliveries)+" times")) {
		t.Fatalf("dead letter: %d attempts, %q", d.Attempts, d.Error)
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
	var out []int
	for _, l := range b.lines(t, msg) {
		n, _ := l["attempt"].(float64)
		out = append(out, int(n))
	}
	return out
}

// Every attempt at a delivery carries its stable id, so a receiver can drop
// the duplicates at-least-once delivery can produce.
func TestAttemptsCarryTheDeliveryID(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key")+" "+r.Header.Get("webhook-id"))
		if len(keys) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h := start(t, rulesFor(srv.URL, "{ attempts: 3, initial: 100ms }"))
	h.send(t, "k1", "Dark mode")
	eventually(t, "the retried delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(keys) == 2
	})
	want := "productlift/k1/votes/0 productlift/k1/votes/0"
	if keys[0] != want || keys[1] != want {
		t.Fatalf("Idempotency-Key and webhook-id of the two attempts: %q; want %q for both", keys, want)
	}
}
