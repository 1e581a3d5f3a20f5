package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchyard/switchyard/queue"
)

// bodies is an HTTP receiver that keeps the JSON bodies it is sent.
type bodies struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
}

func newBodies(t *testing.T) *bodies {
	t.Helper()
	b := &bodies{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &m); err != nil {
			t.Errorf("receiver got %q: %v", data, err)
		}
		b.mu.Lock()
		b.got = append(b.got, m)
		b.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bodies) all() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string]any(nil), b.got...)
}

func (b *bodies) count() int { return len(b.all()) }

// quiet checks that b gets no more than n bodies within a few scheduler
// ticks.
func (b *bodies) quiet(t *testing.T, n int, why string) {
	t.Helper()
	time.Sleep(4 * groupTick)
	if got := b.count(); got != n {
		t.Fatalf("%s: the receiver got %d bodies, want %d: %v", why, got, n, b.all())
	}
}

// groupedRules is a grouped rule posting each firing to url, with group
// given as YAML.
func groupedRules(url, group string) string {
	return `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    group: ` + group + `
    actions:
      - http:
          url: ` + url + `/digest
          json: { count: "{{ .count }}", key: "{{ .key }}", rule: "{{ .rule }}", first: "{{ .first.id }}", last: "{{ .last.id }}", ids: "{{ range .events }}{{ .id }} {{ end }}" }
`
}

// sendJoined sends an event and waits until it has joined its group (its
// match record says so), so that events join in the order sent.
func (h *harness) sendJoined(t *testing.T, id string) EventRecord {
	t.Helper()
	h.send(t, id, "T "+id)
	rec := h.eventRecord(t, id)
	if len(rec.Held) != 1 || rec.Held[0].How != "grouped" || rec.Jobs != 0 {
		t.Fatalf("event %s: record %+v, want it grouped with no job", id, rec)
	}
	return rec
}

func TestGroupWaitIntervalMax(t *testing.T) {
	b := newBodies(t)
	clock := newFakeClock()
	t0 := clock.Now()
	h := start(t, groupedRules(b.srv.URL, "{ by: '{{ .data.post.id }}', wait: 30s, interval: 1h, max: 2 }"),
		func(o *Options) { o.Now = clock.Now })

	// The first event starts the group: it fires wait later with every
	// event collected by then, at most max kept, all counted.
	rec := h.sendJoined(t, "a1")
	if want := t0.Add(30 * time.Second); !rec.Held[0].Until.Equal(want) || !strings.Contains(rec.Held[0].Reason, `grouped by votes (key "99")`) {
		t.Fatalf("held %+v, want until %s", rec.Held[0], want)
	}
	h.sendJoined(t, "a2")
	h.sendJoined(t, "a3")
	var groups struct{ Groups []PendingGroup }
	if h.api(t, "GET", "/api/groups", &groups); len(groups.Groups) != 1 || groups.Groups[0].Count != 3 ||
		groups.Groups[0].Key != "99" || !groups.Groups[0].Due.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("pending groups %+v, want one of 3 events due at %s", groups.Groups, t0.Add(30*time.Second))
	}
	clock.Advance(29 * time.Second)
	b.quiet(t, 0, "before wait")
	clock.Advance(2 * time.Second)
	eventually(t, "the first firing", func() bool { return b.count() == 1 })
	got := b.all()[0]
	want := map[string]any{"count": "3", "key": "99", "rule": "votes", "first": "a1", "last": "a3", "ids": "a1 a2 "}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("firing's %s = %v, want %v (body %v)", k, got[k], v, got)
		}
	}

	// Events after a firing fire together an interval after it.
	fired := clock.Now()
	rec = h.sendJoined(t, "a4")
	if want := fired.Add(time.Hour); !rec.Held[0].Until.Equal(want) {
		t.Fatalf("after a firing, held until %s, want %s", rec.Held[0].Until, want)
	}
	h.sendJoined(t, "a5")
	clock.Advance(30 * time.Minute)
	b.quiet(t, 1, "within the interval")
	clock.Advance(31 * time.Minute)
	eventually(t, "the second firing", func() bool { return b.count() == 2 })
	if got := b.all()[1]; got["count"] != "2" || got["ids"] != "a4 a5 " {
		t.Fatalf("second firing %v, want a4 and a5", got)
	}

	// A group that collects nothing for an interval ends; the next event
	// starts a new one, which waits wait again.
	clock.Advance(61 * time.Minute)
	eventually(t, "the idle group to end", func() bool {
		groups.Groups = nil
		h.api(t, "GET", "/api/groups", &groups)
		return len(groups.Groups) == 0
	})
	b.quiet(t, 2, "an idle group's end")
	rec = h.sendJoined(t, "a6")
	if want := clock.Now().Add(30 * time.Second); !rec.Held[0].Until.Equal(want) {
		t.Fatalf("a new group's first event held until %s, want %s", rec.Held[0].Until, want)
	}
	clock.Advance(31 * time.Second)
	eventually(t, "the new group's firing", func() bool { return b.count() == 3 })
	if got := b.all()[2]; got["count"] != "1" || got["ids"] != "a6 " {
		t.Fatalf("new group's firing %v", got)
	}

	metrics := h.metrics(t)
	for _, m := range []string{
		`switchyard_rule_firings_held_total{how="grouped",rule="votes"} 6`,
		`switchyard_group_firings_total{rule="votes"} 3`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

func TestGroupScheduleAcrossDST(t *testing.T) {
	b := newBodies(t)
	clock := newFakeClock()
	// Saturday 30 March 2024, 10:00 UTC; Berlin moves from CET (+1) to
	// CEST (+2) in the night: 09:00 Berlin is 08:00 UTC on Saturday and
	// 07:00 UTC on Sunday.
	clock.Advance(time.Date(2024, 3, 30, 10, 0, 0, 0, time.UTC).Sub(clock.Now()))
	h := start(t, groupedRules(b.srv.URL, "{ schedule: '0 9 * * *', timezone: Europe/Berlin }"),
		func(o *Options) { o.Now = clock.Now })

	sunday := time.Date(2024, 3, 31, 7, 0, 0, 0, time.UTC)
	if rec := h.sendJoined(t, "s1"); !rec.Held[0].Until.Equal(sunday) {
		t.Fatalf("held until %s, want %s (09:00 CEST)", rec.Held[0].Until, sunday)
	}
	h.sendJoined(t, "s2")
	clock.Advance(sunday.Add(-time.Second).Sub(clock.Now()))
	b.quiet(t, 0, "a second before 09:00 Berlin")
	clock.Advance(2 * time.Second)
	eventually(t, "the digest at 09:00 Berlin", func() bool { return b.count() == 1 })
	if got := b.all()[0]; got["count"] != "2" || got["ids"] != "s1 s2 " {
		t.Fatalf("digest %v", got)
	}
	monday := time.Date(2024, 4, 1, 7, 0, 0, 0, time.UTC)
	if rec := h.sendJoined(t, "s3"); !rec.Held[0].Until.Equal(monday) {
		t.Fatalf("after the digest, held until %s, want %s", rec.Held[0].Until, monday)
	}
	clock.Advance(monday.Add(time.Second).Sub(clock.Now()))
	eventually(t, "Monday's digest", func() bool { return b.count() == 2 })
	if got := b.all()[1]; got["count"] != "1" || got["ids"] != "s3 " {
		t.Fatalf("Monday's digest %v", got)
	}
}

func TestThrottle(t *testing.T) {
	b := newBodies(t)
	h := start(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    throttle: { key: "{{ .data.post.id }}", per: 2s }
    actions:
      - http: { url: "`+b.srv.URL+`/votes", json: { id: "{{ .id }}" } }
`)
	h.send(t, "t1", "T")
	eventually(t, "the first delivery", func() bool { return b.count() == 1 })
	h.send(t, "t2", "T")
	rec := h.eventRecord(t, "t2")
	if len(rec.Held) != 1 || rec.Held[0].How != "throttled" || rec.Held[0].By != "votes" || rec.Jobs != 0 ||
		!strings.HasPrefix(rec.Held[0].Reason, "throttled by votes until ") || rec.Held[0].Until.Before(time.Now()) {
		t.Fatalf("second event's record %+v: want it throttled by votes, no job", rec)
	}
	b.quiet(t, 1, "a throttled firing")
	time.Sleep(time.Until(rec.Held[0].Until) + 100*time.Millisecond)
	h.send(t, "t3", "T")
	eventually(t, "a delivery once the window ended", func() bool { return b.count() == 2 })
	if got := b.all()[1]["id"]; got != "t3" {
		t.Fatalf("delivered %v, want t3", got)
	}
	if m := h.metrics(t); !strings.Contains(m, `switchyard_rule_firings_held_total{how="throttled",rule="votes"} 1`) {
		t.Error("the throttled firing is not counted")
	}
}

func (h *harness) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestGroupFiresOnceAcrossReplicas(t *testing.T) {
	b := newBodies(t)
	clock := newFakeClock()
	h := start(t, groupedRules(b.srv.URL, "{ by: '{{ .data.post.id }}', wait: 30s, interval: 1h }"),
		func(o *Options) { o.Now = clock.Now })
	// A second replica on the same store: both match events and both run
	// the scheduler.
	other, err := New(Options{RulesPath: h.rules, Queue: h.r.q, Getenv: h.r.opts.Getenv, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = other.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	for window, ids := range [][]string{{"r1", "r2", "r3", "r4", "r5"}, {"r6", "r7", "r8"}} {
		for _, id := range ids {
			h.send(t, id, "T")
		}
		for _, id := range ids {
			h.eventRecord(t, id)
		}
		clock.Advance(time.Hour + time.Second)
		eventually(t, "a firing", func() bool { return b.count() == window+1 })
		b.quiet(t, window+1, "two replicas' schedulers")
		got := b.all()[window]
		if got["count"] != fmt.Sprint(len(ids)) {
			t.Fatalf("window %d fired %v, want all %d events", window+1, got, len(ids))
		}
		for _, id := range ids {
			if !strings.Contains(got["ids"].(string), id+" ") {
				t.Errorf("window %d's digest lacks %s: %v", window+1, id, got)
			}
		}
	}
}

// A replica that claimed a firing and died after storing its jobs: once
// the lease runs out another does it again, under the same id, and the
// receiver gets one digest.
func TestGroupFiringTakenOverAfterLease(t *testing.T) {
	b := newBodies(t)
	clock := newFakeClock()
	h := start(t, groupedRules(b.srv.URL, "{ wait: 10s, interval: 1h }"), func(o *Options) { o.Now = clock.Now })
	h.sendJoined(t, "x1")
	h.sendJoined(t, "x2")

	// What the dead replica did: claim the firing, store its jobs.
	ctx := context.Background()
	id := groupID("votes", "")
	st, s, rev := pendingGroup(t, h, id)
	st.Firing, st.FiringAt = "deadbeef", clock.Now()
	data, _ := json.Marshal(st)
	if _, err := h.r.groups.bucket.Update(ctx, id, data, rev); err != nil {
		t.Fatal(err)
	}
	g, err := h.r.members(ctx, s, st, 100, h.r.q.MaxPayload())
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{ID: "group/" + id + "/deadbeef/0", Event: g.Events[0], Rule: "votes", Kind: "http", Matched: clock.Now(), Group: g}
	jm, err := jobMsg(j, jobState{base: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.q.PublishAll(ctx, []queue.Msg{jm}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dead replica's digest", func() bool { return b.count() == 1 })

	clock.Advance(11 * time.Second) // due, but the firing's lease holds
	b.quiet(t, 1, "within the lease")
	var groups struct{ Groups []PendingGroup }
	if h.api(t, "GET", "/api/groups", &groups); len(groups.Groups) != 1 || groups.Groups[0].Firing != "deadbeef" {
		t.Fatalf("pending %+v, want the firing under way", groups.Groups)
	}
	clock.Advance(groupLease)
	eventually(t, "the firing taken over and finished", func() bool {
		groups.Groups = nil
		h.api(t, "GET", "/api/groups", &groups)
		return len(groups.Groups) == 1 && groups.Groups[0].Firing == "" && groups.Groups[0].Count == 0
	})
	b.quiet(t, 1, "a firing done again")
	if got := b.all()[0]; got["count"] != "2" || got["ids"] != "x1 x2 " {
		t.Fatalf("digest %v", got)
	}
}

// pendingGroup is group id's state, at revision rev of its key, covering
// every member stored so far, and the groups stream.
func pendingGroup(t *testing.T, h *harness, id string) (st groupState, s jetstream.Stream, rev uint64) {
	t.Helper()
	ctx := context.Background()
	e, err := h.r.groups.bucket.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		t.Fatal(err)
	}
	if s, err = h.r.q.Stream(ctx, queue.GroupsStream); err != nil {
		t.Fatal(err)
	}
	last, err := s.GetLastMsgForSubject(ctx, st.Subject)
	if err != nil {
		t.Fatal(err)
	}
	st.Covers = last.Sequence
	return st, s, e.Revision()
}

// TestGroupMembersWithinLimit: which members a firing keeps for a given
// max and largest message: the first always, the oldest that fit in half
// the message with the last, the last only when the whole job fits.
func TestGroupMembersWithinLimit(t *testing.T) {
	clock := newFakeClock()
	h := start(t, groupedRules("http://127.0.0.1:9", "{ wait: 1h, interval: 1h }"), func(o *Options) { o.Now = clock.Now })
	title := strings.Repeat("x", 20<<10) // members of about 60 KB: more than jobRoom
	for _, id := range []string{"x1", "x2", "x3"} {
		h.send(t, id, title)
		h.eventRecord(t, id)
	}
	st, s, _ := pendingGroup(t, h, groupID("votes", ""))
	m, err := s.GetMsg(context.Background(), st.Covers)
	if err != nil {
		t.Fatal(err)
	}
	member := len(m.Data)
	tests := []struct {
		name       string
		max, limit int
		want       string // the ids kept, then the last's after "|"
	}{
		{"all fit", 10, 1 << 30, "x1 x2 x3 |"},
		{"max 1", 1, 1 << 30, "x1 |x3"},
		{"two fit in half, the second makes way for the last", 10, 2 * (2*member + 100), "x1 |x3"},
		{"the first alone, no room for the last", 10, 1, "x1 |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := h.r.members(context.Background(), s, st, tt.max, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, e := range g.Events {
				got.WriteString(e.ID + " ")
			}
			got.WriteString("|")
			if g.Last != nil {
				got.WriteString(g.Last.ID)
			}
			if got.String() != tt.want || g.Count != 3 {
				t.Errorf("kept %q of %d, want %q of 3", got.String(), g.Count, tt.want)
			}
		})
	}
}

// TestGroupFiringFitsOneMessage: a firing whose events together are
// larger than the store's largest message still fires, with the first
// events that fit and the last, and its count exact. (Its job is one
// message: refused, the firing would be tried on every tick and never
// made.)
func TestGroupFiringFitsOneMessage(t *testing.T) {
	b := newBodies(t)
	clock := newFakeClock()
	h := start(t, groupedRules(b.srv.URL, "{ wait: 30s, interval: 1h, max: 10 }"), func(o *Options) { o.Now = clock.Now })
	// An event stored holds its title three times (data, subject, payload):
	// four of them are more than one message holds.
	big := strings.Repeat("x", h.r.q.MaxPayload()/12)
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		h.send(t, id, big)
		if rec := h.eventRecord(t, id); len(rec.Held) != 1 || rec.Held[0].How != "grouped" {
			t.Fatalf("event %s: record %+v, want it grouped", id, rec)
		}
	}
	clock.Advance(31 * time.Second)
	eventually(t, "the firing", func() bool { return b.count() == 1 })
	got := b.all()[0]
	if got["count"] != "4" || got["first"] != "a1" || got["last"] != "a4" {
		t.Errorf("firing %v, want count 4, first a1, last a4", got)
	}
	if ids, _ := got["ids"].(string); !strings.HasPrefix(ids, "a1 ") || ids == "a1 a2 a3 a4 " {
		t.Errorf("firing lists %q, want the first events that fit, not all four", ids)
	}
}
