package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// harness is a Router on an embedded queue in a temp dir, with its public
// and admin handlers served over real HTTP and its pipeline running.
type harness struct {
	r      *Router
	public string
	admin  string
	rules  string
}

const testSecret = "pl-test-secret"

// newRouter writes rulesYAML to a temporary rules file and makes a router
// of it on an embedded queue in a temporary data directory, the queue
// closed when the test ends. PL_SECRET is testSecret.
func newRouter(t *testing.T, rulesYAML string, opts ...func(*Options)) (*Router, string) {
	t.Helper()
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(context.Background(), queue.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	o := Options{RulesPath: rulesPath, Queue: q, Getenv: func(k string) (string, bool) {
		if k == "PL_SECRET" {
			return testSecret, true
		}
		return "", false
	}}
	for _, f := range opts {
		f(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r, rulesPath
}

func start(t *testing.T, rulesYAML string, opts ...func(*Options)) *harness {
	t.Helper()
	r, rulesPath := newRouter(t, rulesYAML, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	pub := httptest.NewServer(r.PublicHandler())
	adm := httptest.NewServer(r.AdminHandler())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() {
		pub.Close()
		adm.Close()
		cancel()
		<-done
	})
	return &harness{r: r, public: pub.URL, admin: adm.URL, rules: rulesPath}
}

// send posts a signed ProductLift vote with the given id and post title.
func (h *harness) send(t *testing.T, id, title string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"creation_time":"2022-06-01T18:17:37Z","event":"vote.created","data":{"post":{"id":99,"title":%q},"vote":{"voter":{"name":"Ann"}}}}`, id, title)
	s, err := sources.Sign(sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(testSecret)}, []byte(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.public+"/hooks/productlift", bytes.NewReader(s.Body))
	req.Header = s.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
}

// api calls the admin API and decodes the JSON answer into out.
func (h *harness) api(t *testing.T, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, h.admin+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sink is an HTTP receiver that answers from a script, then 204.
type sink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []func(w http.ResponseWriter)
	hits   []time.Time
	ok     atomic.Int64
}

func newSink(t *testing.T, script ...func(w http.ResponseWriter)) *sink {
	s := &sink{script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.hits = append(s.hits, time.Now())
		var next func(http.ResponseWriter)
		if len(s.script) > 0 {
			next, s.script = s.script[0], s.script[1:]
		}
		s.mu.Unlock()
		if next != nil {
			next(w)
			return
		}
		s.ok.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func (s *sink) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.hits...)
}

func rulesFor(sinkURL, retry string) string {
	return `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    actions:
      - http:
          url: ` + sinkURL + `/votes
          json: { title: "{{ .data.post.title }}" }
        retry: ` + retry + `
`
}

func TestServerErrorsAreRetriedUntilOneDelivery(t *testing.T) {
	s := newSink(t, status(500), status(502), status(503))
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 5, initial: 50ms, max: 200ms }"))
	h.send(t, "e1", "Title")
	eventually(t, "a successful delivery", func() bool { return s.ok.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // time enough for a stray extra attempt
	if got := len(s.times()); got != 4 || s.ok.Load() != 1 {
		t.Fatalf("sink saw %d requests, %d successful; want 4 and 1", got, s.ok.Load())
	}
	var d struct{ Deliveries []DeliveryRecord }
	eventually(t, "four delivery records", func() bool {
		h.api(t, "GET", "/api/deliveries?rule=votes", &d)
		return len(d.Deliveries) == 4
	})
	outcomes := []string{}
	for _, r := range d.Deliveries { // newest first
		outcomes = append(outcomes, fmt.Sprintf("%s#%d", r.Outcome, r.Attempt))
	}
	if got := strings.Join(outcomes, " "); got != "delivered#4 retrying#3 retrying#2 retrying#1" {
		t.Fatalf("delivery log = %s", got)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s := newSink(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 3, initial: 10ms, max: 20ms }"))
	h.send(t, "e1", "Title")
	eventually(t, "the retried delivery", func() bool { return s.ok.Load() == 1 })
	ts := s.times()
	if gap := ts[1].Sub(ts[0]); gap < 2*time.Second {
		t.Fatalf("retried after %s; the receiver asked for 2s", gap)
	}
}

func TestDeadLetterListReplayDrop(t *testing.T) {
	var fixed atomic.Bool
	s := newSink(t)
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "bad vote payload")
			return
		}
		s.ok.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 5, initial: 10ms }"))
	h.send(t, "e1", "First")
	h.send(t, "e2", "Second")

	var list struct {
		DeadLetters []DeadLetterRecord `json:"dead_letters"`
	}
	eventually(t, "two dead letters", func() bool {
		h.api(t, "GET", "/api/dead-letters?rule=votes&kind=http", &list)
		return len(list.DeadLetters) == 2
	})
	d := list.DeadLetters[0]
	title := d.Job.Event.Data["post"].(map[string]any)["title"].(string)
	if d.Attempts != 1 || !strings.Contains(d.Error, "400") || d.Rendered == nil || !strings.Contains(d.Rendered.Fields["body"], `"title":"`+title+`"`) {
		t.Fatalf("a permanent 400 should be dead after one attempt with the error and the rendered request: %+v", d)
	}
	if code := h.api(t, "GET", "/api/dead-letters?rule=other", &list); code != 200 || len(list.DeadLetters) != 0 {
		t.Fatalf("filter by another rule: %d %+v", code, list)
	}

	fixed.Store(true)
	var res struct {
		Replayed []uint64
		Dropped  []uint64
	}
	if code := h.api(t, "POST", fmt.Sprintf("/api/dead-letters/%d/replay", d.Seq), &res); code != 200 || len(res.Replayed) != 1 {
		t.Fatalf("replay: %d %+v", code, res)
	}
	eventually(t, "the replayed delivery", func() bool { return s.ok.Load() == 1 })
	if code := h.api(t, "GET", fmt.Sprintf("/api/dead-letters/%d", d.Seq), nil); code != 404 {
		t.Fatalf("a replayed dead letter is gone; got %d", code)
	}
	if code := h.api(t, "DELETE", "/api/dead-letters", nil); code != 400 {
		t.Fatalf("a bulk drop with no filter must be refused; got %d", code)
	}
	if code := h.api(t, "DELETE", "/api/dead-letters?rule=votes", &res); code != 200 || len(res.Dropped) != 1 {
		t.Fatalf("drop: %d %+v", code, res)
	}
	h.api(t, "GET", "/api/dead-letters", &list)
	if len(list.DeadLetters) != 0 {
		t.Fatalf("dead letters left: %+v", list.DeadLetters)
	}
}

func TestEventsAPIShowsMatchesAndDeliveries(t *testing.T) {
	s := newSink(t)
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 2 }"))
	h.send(t, "e1", "<b>hostile</b>")
	var list struct{ Events []EventRecord }
	eventually(t, "the event record", func() bool {
		h.api(t, "GET", "/api/events?rule=votes", &list)
		return len(list.Events) == 1
	})
	ev := list.Events[0]
	if ev.Key != "productlift/e1" || ev.Event != "vote.created" || strings.Join(ev.Rules, ",") != "votes" || ev.Jobs != 1 {
		t.Fatalf("event record = %+v", ev)
	}
	eventually(t, "the delivery", func() bool { return s.ok.Load() == 1 })
	var detail struct {
		Record     EventRecord
		Event      map[string]any
		Deliveries []DeliveryRecord
	}
	eventually(t, "the delivery in the event's detail", func() bool {
		h.api(t, "GET", fmt.Sprintf("/api/events/%d", ev.Seq), &detail)
		return len(detail.Deliveries) == 1
	})
	if detail.Deliveries[0].Outcome != "delivered" || detail.Event["event"] != "vote.created" {
		t.Fatalf("detail = %+v", detail)
	}
	if code := h.api(t, "GET", "/api/events?source=sleekplan", &list); code != 200 || len(list.Events) != 0 {
		t.Fatalf("filter by source: %+v", list)
	}
}

func TestAdminToken(t *testing.T) {
	h := start(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"), func(o *Options) { o.AdminToken = "t0ken-canary" })
	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"probe open", "/healthz", "", 200},
		{"api without token", "/api/rules", "", 401},
		{"api with a wrong token", "/api/rules", "Bearer nope", 401},
		{"api with the token", "/api/rules", "Bearer t0ken-canary", 200},
		{"metrics need it too", "/metrics", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.admin+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.want)
			}
			if strings.Contains(string(body), "t0ken-canary") {
				t.Fatal("the token is echoed")
			}
		})
	}
}

func TestReloadKeepsRulesOnError(t *testing.T) {
	h := start(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"))
	before := h.r.Config()
	if err := os.WriteFile(h.rules, []byte("rules:\n  - name: x\n    when: event ==\n    actions: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := h.r.Reload()
	if err == nil || !strings.Contains(err.Error(), h.rules+":3:") {
		t.Fatalf("Reload() = %v, want an error positioned in %s", err, h.rules)
	}
	if h.r.Config() != before {
		t.Fatal("a bad file replaced the running config")
	}
	var rules struct {
		LastReload ReloadStatus `json:"last_reload"`
		Rules      []struct{ Name string }
	}
	h.api(t, "GET", "/api/rules", &rules)
	if rules.LastReload.OK || len(rules.Rules) != 1 || rules.Rules[0].Name != "votes" {
		t.Fatalf("/api/rules after a failed reload = %+v", rules)
	}
}

func TestRetryPolicyDelay(t *testing.T) {
	p := RetryPolicy{Attempts: 10, Initial: time.Second, Max: 8 * time.Second}
	for _, tc := range []struct {
		name       string
		n          int
		retryAfter time.Duration
		rnd        float64
		want       time.Duration
	}{
		{"first retry, lowest jitter", 1, 0, 0, 500 * time.Millisecond},
		{"first retry, highest jitter", 1, 0, 1, time.Second},
		{"doubles", 3, 0, 1, 4 * time.Second},
		{"capped at max", 9, 0, 1, 8 * time.Second},
		{"Retry-After wins when longer", 1, 30 * time.Second, 0, 30 * time.Second},
		{"Retry-After is capped", 1, time.Hour, 0, actions.MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Delay(tc.n, tc.retryAfter, func() float64 { return tc.rnd }); got != tc.want {
				t.Fatalf("Delay = %s, want %s", got, tc.want)
			}
		})
	}
}

// hangingReceiver is an HTTP receiver that answers nothing until release
// is called (at the latest when the test ends), counting its requests.
func hangingReceiver(t *testing.T) (srv *httptest.Server, hits *atomic.Int64, release func()) {
	hits = new(atomic.Int64)
	done := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-done:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(release) // runs first: the server's Close waits for its requests
	return srv, hits, release
}

// A receiver that hangs holds at most its share of the workers: the other
// receivers' deliveries go through meanwhile, and the put-off deliveries
// are not counted as attempts.
func TestSlowReceiverDoesNotDelayOthers(t *testing.T) {
	slow, slowHits, release := hangingReceiver(t)
	fast := newSink(t)
	h := start(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: slow
    actions:
      - http: { url: "`+slow.URL+`/x", body: "x" }
        timeout: 40s
        retry: { attempts: 2 }
  - name: fast
    actions:
      - http: { url: "`+fast.srv.URL+`/x", body: "x" }
`, func(o *Options) { o.Workers = map[string]int{"http": 4} })
	const n = 6
	for i := range n {
		h.send(t, fmt.Sprintf("e%d", i), "t")
	}
	eventually(t, "every fast delivery while the slow receiver hangs", func() bool { return fast.ok.Load() == n })
	if got := slowHits.Load(); got != 1 {
		t.Fatalf("the hanging receiver got %d concurrent requests; its share of 4 workers is 1", got)
	}
	release()
	var d struct{ Deliveries []DeliveryRecord }
	eventually(t, "every slow delivery", func() bool {
		h.api(t, "GET", "/api/deliveries?rule=slow&outcome=delivered", &d)
		return len(d.Deliveries) == n
	})
	for _, rec := range d.Deliveries {
		if rec.Attempt != 1 {
			t.Fatalf("a delivery put off while its receiver was busy counted as attempt %d, want 1", rec.Attempt)
		}
	}
}

func TestMetrics(t *testing.T) {
	s := newSink(t)
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 2 }"))
	h.send(t, "m1", "t")
	h.send(t, "m1", "t") // a duplicate
	resp, err := http.Post(h.public+"/hooks/productlift", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, "the delivery", func() bool { return s.ok.Load() == 1 })
	var text string
	eventually(t, "the delivery in the metrics", func() bool {
		resp, err := http.Get(h.admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		return strings.Contains(text, `switchyard_deliveries_total{kind="http",outcome="delivered"} 1`)
	})
	for _, want := range []string{
		`switchyard_events_received_total{outcome="accepted",source="productlift"} 1`,
		`switchyard_events_received_total{outcome="duplicate",source="productlift"} 1`,
		`switchyard_events_received_total{outcome="unauthorized",source="productlift"} 1`,
		`switchyard_rule_matches_total{rule="votes"} 1`,
		`switchyard_config_last_reload_successful 1`,
		`switchyard_config_hash{sha256="`,
		`switchyard_build_info{`,
		`switchyard_delivery_duration_seconds_count{kind="http"} 1`,
		`switchyard_queue_messages{stream="SWITCHYARD_EVENTS"}`,
		`switchyard_queue_oldest_message_age_seconds{stream="SWITCHYARD_JOBS"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "m1") {
		t.Error("an event id appears in the metrics")
	}
}

// A quick receiver's delivery is made by the matcher itself, with no job
// stored; once a receiver's attempts take longer than maxInlineAvg, its
// deliveries go through the jobs stream and the delivery workers.
func TestQuickReceiversAreDeliveredWithoutAJob(t *testing.T) {
	var delay atomic.Int64
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	h := start(t, rulesFor(recv.URL, "{ attempts: 2 }"))
	jobsStored := func() uint64 {
		info, err := h.r.q.StreamInfo(context.Background(), queue.JobsStream)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	h.send(t, "e1", "quick")
	eventually(t, "the quick delivery", func() bool { return hits.Load() == 1 })
	if n := jobsStored(); n != 0 {
		t.Fatalf("a quick receiver's delivery stored %d jobs, want 0", n)
	}
	// The matcher goes by a moving average of the receiver's attempts: a
	// few slow ones and it stops making them itself.
	delay.Store(int64(4 * maxInlineAvg))
	sent := 1
	for jobsStored() == 0 {
		if sent == 10 {
			t.Fatalf("a receiver that takes %s per attempt still got its deliveries from the matcher after %d slow ones", 4*maxInlineAvg, sent-1)
		}
		sent++
		h.send(t, fmt.Sprintf("e%d", sent), "slow")
		eventually(t, "the slow delivery", func() bool { return hits.Load() == int64(sent) })
	}
	var d struct{ Deliveries []DeliveryRecord }
	eventually(t, "every delivery record", func() bool {
		h.api(t, "GET", "/api/deliveries?rule=votes&outcome=delivered", &d)
		return len(d.Deliveries) == sent
	})
	for _, rec := range d.Deliveries {
		if rec.Attempt != 1 {
			t.Fatalf("delivery %s: attempt %d, want 1", rec.JobID, rec.Attempt)
		}
	}
}

// A receiver known to be quick may use up to three quarters of its kind's
// workers at once, never all of them; one not yet known, only its share.
func TestQuickReceiverMayUseMoreThanItsShare(t *testing.T) {
	var running, most atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(maxInlineAvg + 5*time.Millisecond) // quick (well under maxQuickAvg), but too slow for the matcher to make its deliveries
		running.Add(-1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	h := start(t, rulesFor(recv.URL, "{ attempts: 2 }"), func(o *Options) { o.Workers = map[string]int{"http": 4} })
	h.send(t, "first", "t")
	var d struct{ Deliveries []DeliveryRecord }
	delivered := func(n int) func() bool {
		return func() bool {
			h.api(t, "GET", "/api/deliveries?rule=votes&outcome=delivered", &d)
			return len(d.Deliveries) == n
		}
	}
	eventually(t, "the first delivery", delivered(1))
	const n = 12
	for i := range n {
		h.send(t, fmt.Sprintf("e%d", i), "t")
	}
	eventually(t, "every delivery", delivered(n+1))
	if got := most.Load(); got < 2 || got > 3 {
		t.Fatalf("a quick receiver had at most %d attempts at once; want 2 or 3 of 4 workers", got)
	}
}

// An event the matcher gets again (its acknowledgement was lost) may have
// had its deliveries made already: they become jobs, deduplicated by their
// ids, instead of being made again at once by the matcher each time.
func TestRedeliveredEventIsDeliveredThroughJobs(t *testing.T) {
	s := newSink(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rulesFor(s.srv.URL, "{ attempts: 2 }")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := queue.Open(ctx, queue.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	r, err := New(Options{RulesPath: rulesPath, Queue: q, Getenv: func(k string) (string, bool) { return testSecret, k == "PL_SECRET" }})
	if err != nil {
		t.Fatal(err)
	}
	pub := httptest.NewServer(r.PublicHandler())
	defer pub.Close()
	h := &harness{r: r, public: pub.URL}
	h.send(t, "again", "t")

	// Someone took the event as the matcher and never acknowledged it.
	stream, err := q.Stream(ctx, queue.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "matcher", FilterSubject: queue.EventsSubject + ".>", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 15 * time.Second, MaxDeliver: -1, MaxAckPending: 20000, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.Nak(); err != nil {
			t.Fatal(err)
		}
	}

	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "the delivery", func() bool { return s.ok.Load() == 1 })
	info, err := q.StreamInfo(ctx, queue.JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 1 {
		t.Fatalf("the redelivered event's delivery stored %d jobs, want 1", info.State.LastSeq)
	}
}

// The matcher makes at most half its workers' worth of deliveries itself:
// with 4 workers and a receiver that hangs, two events' deliveries are
// attempted by the matcher and the other events' become jobs.
func TestMatcherMakesAtMostHalfItsWorkersDeliveries(t *testing.T) {
	recv, _, release := hangingReceiver(t)
	h := start(t, rulesFor(recv.URL, "{ attempts: 2 }"), func(o *Options) { o.MatchWorkers = 4 })
	const n = 6
	for i := range n {
		h.send(t, fmt.Sprintf("e%d", i), "t")
	}
	jobs := func() uint64 {
		info, err := h.r.q.StreamInfo(context.Background(), queue.JobsStream)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	eventually(t, "the events the matcher could not take on stored as jobs", func() bool { return jobs() >= n-2 })
	time.Sleep(200 * time.Millisecond) // time enough for a stray extra job
	if got := jobs(); got != n-2 {
		t.Fatalf("%d jobs stored, want %d: the matcher should hold 2 deliveries (half its 4 workers)", got, n-2)
	}
	release()
	var d struct{ Deliveries []DeliveryRecord }
	eventually(t, "every delivery", func() bool {
		h.api(t, "GET", "/api/deliveries?rule=votes&outcome=delivered", &d)
		return len(d.Deliveries) == n
	})
}

// A vendor that sends no time of its own (GitHub) has the time its event
// was received, so the README's `time > now() - duration("1h")` holds for
// it as for every vendor.
func TestEventWithoutATimeHasItsReceivedTime(t *testing.T) {
	s := newSink(t)
	h := start(t, `
sources:
  gh: { vendor: github, secret: "${PL_SECRET}" }
rules:
  - name: recent
    when: time > now() - duration("1h")
    actions:
      - http: { url: "`+s.srv.URL+`/recent" }
`)
	body := []byte(`{"action":"opened","issue":{"title":"Dark mode"}}`)
	signed, err := sources.Sign(sources.Config{Name: "gh", Vendor: "github", Secret: secret.Secret(testSecret)}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.public+"/hooks/gh", bytes.NewReader(signed.Body))
	req.Header = signed.Header
	req.Header.Set("X-GitHub-Event", "issues")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	eventually(t, "the delivery of rule recent", func() bool { return s.ok.Load() == 1 })
	var list struct{ Events []EventRecord }
	h.api(t, "GET", "/api/events?source=gh", &list)
	if len(list.Events) != 1 || !list.Events[0].Time.Equal(list.Events[0].Received) || list.Events[0].Time.IsZero() {
		t.Fatalf("event record %+v: want its time to be when it was received", list.Events)
	}
}

// TestRunStoppedWhileStarting: a stop asked for before Run has set up its
// watches and consumers (a SIGTERM just after serve starts) is a clean
// stop, not an error that makes serve exit 1.
func TestRunStoppedWhileStarting(t *testing.T) {
	r, _ := newRouter(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run with its context cancelled before it started = %v, want nil", err)
	}
}
