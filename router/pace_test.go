package router

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// slackPosts records the chat.postMessage calls a slacktest server gets.
type slackPosts struct {
	mu    sync.Mutex
	posts map[string][]time.Time // by channel
}

func (s *slackPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	s.posts[r.FormValue("channel")] = append(s.posts[r.FormValue("channel")], time.Now())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.2"}`))
}

func (s *slackPosts) in(channel string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts[channel])
}

// Posts to one Slack channel go out at most one a second, none lost, and
// a quiet channel is not held up by a busy one.
func TestSlackPostsArePacedPerChannel(t *testing.T) {
	rec := &slackPosts{posts: map[string][]time.Time{}}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) { c.Handle("/chat.postMessage", rec.ServeHTTP) })
	srv.Start()
	t.Cleanup(srv.Stop)
	h := start(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
slack: { token: xoxb-test, api_url: "`+srv.GetAPIURL()+`" }
rules:
  - name: busy
    when: data.post.title == "busy"
    actions:
      - slack: { channel: "#busy", text: "vote on {{ .data.post.title }}" }
  - name: also-busy
    when: data.post.title == "busy"
    actions:
      - slack: { channel: "#busy", text: "again {{ .data.post.title }}" }
  - name: quiet
    when: data.post.title == "quiet"
    actions:
      - slack: { channel: "#quiet", text: "{{ .data.post.title }}" }
`)
	for i := range 3 {
		h.send(t, "busy-"+string(rune('a'+i)), "busy")
	}
	sentQuiet := time.Now()
	h.send(t, "quiet-1", "quiet")
	eventually(t, "every post", func() bool { return len(rec.in("#busy")) == 6 && len(rec.in("#quiet")) == 1 })

	busy := rec.in("#busy")
	for i := 1; i < len(busy); i++ {
		// The pace starts a delivery an interval after the last one ended,
		// so the server sees them at least that far apart.
		if gap := busy[i].Sub(busy[i-1]); gap < time.Second {
			t.Errorf("posts %d and %d to #busy %s apart, want at least 1s", i, i+1, gap)
		}
	}
	if wait := rec.in("#quiet")[0].Sub(sentQuiet); wait > 900*time.Millisecond {
		t.Errorf("the post to #quiet waited %s behind #busy's", wait)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(rec.in("#busy")); n != 6 {
		t.Fatalf("%d posts to #busy, want 6: none lost, none twice", n)
	}
}

// A receiver that answers 429 with Retry-After pauses every delivery to
// it, not only the one that was told; none counts as an attempt.
func TestRetryAfterPausesTheReceiver(t *testing.T) {
	s := newSink(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 3, initial: 100ms }"))
	h.send(t, "p1", "first")
	eventually(t, "the 429", func() bool { return len(s.times()) == 1 })
	told := s.times()[0]
	h.send(t, "p2", "second")
	h.send(t, "p3", "third")
	eventually(t, "the three deliveries", func() bool { return s.ok.Load() == 3 })
	hits := s.times()
	if len(hits) != 4 {
		t.Fatalf("%d requests, want 4: the 429 and three deliveries", len(hits))
	}
	for _, at := range hits[1:] {
		if at.Sub(told) < 2*time.Second-50*time.Millisecond {
			t.Errorf("a request %s after the 429 asked for 2s", at.Sub(told))
		}
	}
	var d struct{ Deliveries []DeliveryRecord }
	h.api(t, "GET", "/api/deliveries?outcome=delivered", &d)
	for _, rec := range d.Deliveries {
		want := 1 // the paused deliveries' first attempt
		if rec.EventKey == "productlift/p1" {
			want = 2 // after the 429
		}
		if rec.Attempt != want {
			t.Errorf("%s delivered at attempt %d, want %d", rec.EventKey, rec.Attempt, want)
		}
	}
}

// An http action with rate: takes turns at that rate.
func TestHTTPActionRate(t *testing.T) {
	s := newSink(t)
	h := start(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    actions:
      - http: { url: "`+s.srv.URL+`/votes" }
        rate: 4/s
`)
	for _, id := range []string{"r1", "r2", "r3"} {
		h.send(t, id, "t")
	}
	eventually(t, "three deliveries", func() bool { return s.ok.Load() == 3 })
	hits := s.times()
	for i := 1; i < len(hits); i++ {
		if gap := hits[i].Sub(hits[i-1]); gap < 250*time.Millisecond {
			t.Errorf("deliveries %d and %d %s apart, want at least 250ms (4/s)", i, i+1, gap)
		}
	}
}
