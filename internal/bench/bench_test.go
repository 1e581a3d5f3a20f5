package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sources"
)

// tiny is a run of about a second per vendor: correctness, not speed.
func tiny() Config {
	return Config{
		Rules: 20, ReloadRules: 50, Connections: 4, Duration: 250 * time.Millisecond,
		MatchDuration: 20 * time.Millisecond, DrainTimeout: 2 * time.Minute,
	}
}

// checkRun asserts what must hold whatever the machine's speed: every
// request answered 2xx, the reload succeeded without failing a request,
// and every acknowledged event reached the sink.
func checkRun(t *testing.T, res *Result) {
	t.Helper()
	for name, p := range map[string]Phase{"baseline": res.Baseline, "store alone": res.StoreAlone, "ingest alone": res.IngestAlone, "ingest": res.Ingest, "half rate": res.HalfRate, "reload": res.Reload} {
		if p.OK == 0 || p.Non2xx != 0 || p.Errors != 0 {
			t.Errorf("%s: %d ok, %d non-2xx, %d errors (statuses %v, last error %q)", name, p.OK, p.Non2xx, p.Errors, p.Statuses, p.LastErr)
		}
	}
	if res.ReloadErr != "" || res.ReloadFailed != 0 {
		t.Errorf("reload: error %q, %d failed requests", res.ReloadErr, res.ReloadFailed)
	}
	if res.Acked == 0 || res.Undelivered != 0 {
		t.Errorf("%d of %d acknowledged events never reached the sink", res.Undelivered, res.Acked)
	}
	if res.E2E.N == 0 {
		t.Error("no end-to-end time measured at half rate")
	}
}

func TestRunDeliversEveryAcknowledgedEvent(t *testing.T) {
	for _, vendor := range []string{"productlift", "leanbe"} { // an id sent, an id hashed
		t.Run(vendor, func(t *testing.T) {
			c := tiny()
			c.Vendor = vendor
			res, err := Run(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			checkRun(t, res)
			if res.Rules != 21 || res.IdleRulesLoaded != 51 {
				t.Errorf("rules loaded %d then %d, want 21 then 51", res.Rules, res.IdleRulesLoaded)
			}
			if res.MatchRate[0] <= 0 || res.MatchRate[1] <= 0 {
				t.Errorf("match rates %v", res.MatchRate)
			}
			var out strings.Builder
			res.Print(&out)
			for _, want := range []string{"bare net/http", "store alone (read body, store, 202)", "switchyard ingest alone", "of the store alone's requests/s", "delivery: a backlog", "end to end", "reload of 51 rules", "matching", "all ", "peak RSS"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// A user's rules file: its http actions reach the sink whatever host they
// name, so the harness never sends to a real receiver.
func TestRunWithUsersRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	rulesYAML := `sources:
  feedback: { vendor: sleekplan, key: "${BENCH_TEST_KEY:-k3y}" }
rules:
  - name: crm
    when: event == "item.create" && data.status == "open"
    actions:
      - http: { url: "https://crm.invalid/api/items", json: { ref: "{{ .id }}" } }
`
	if err := os.WriteFile(path, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	c := tiny()
	c.RulesPath = path
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, res)
	if res.Source != "feedback" || res.Vendor != "sleekplan" || res.Rules != 1 {
		t.Errorf("ran source %s (%s) with %d rules", res.Source, res.Vendor, res.Rules)
	}
}

func TestRunRefusesActionsThatLeaveTheMachine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	rulesYAML := `sources:
  pl: { vendor: productlift, secret: s3cret }
slack: { token: xoxb-not-a-token }
rules:
  - name: to-slack
    when: event == "vote.created"
    actions: [ { slack: { channel: "#feedback", text: "vote" } } ]
`
	if err := os.WriteFile(path, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	c := tiny()
	c.RulesPath = path
	_, err := Run(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), `rule "to-slack" has a slack action`) {
		t.Fatalf("err = %v, want a refusal of the slack action", err)
	}
}

// Every vendor's load events verify, pass the envelope, get distinct ids
// that Normalize agrees on, and the sink finds those ids in what the
// generated rule posts.
func TestSignedPayloadsAreAccepted(t *testing.T) {
	srcs := benchSources("t1")
	for _, cfg := range srcs {
		t.Run(cfg.Vendor, func(t *testing.T) {
			sg, err := newSigner(cfg, "t1")
			if err != nil {
				t.Fatal(err)
			}
			src, err := sources.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for n := range 3 {
				req, err := sg.sign(1, n, time.Now(), nil)
				if err != nil {
					t.Fatal(err)
				}
				hr := httptest.NewRequest(http.MethodPost, sg.path, bytes.NewReader(req.body))
				for line := range strings.Lines(string(req.header)) {
					k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
					hr.Header.Add(k, v)
				}
				if err := src.Verify(hr, req.body); err != nil {
					t.Fatalf("verify: %v", err)
				}
				env, err := src.Envelope(hr.Header, req.body)
				if err != nil {
					t.Fatalf("envelope: %v", err)
				}
				if _, err := src.Normalize(env, req.body, sources.Headers(hr.Header)); err != nil {
					t.Fatalf("normalize: %v", err)
				}
				if env.Event != payloads[cfg.Vendor].event || seen[env.ID] {
					t.Fatalf("event %q id %q, seen before %v", env.Event, env.ID, seen[env.ID])
				}
				seen[env.ID] = true
				sk := &sink{token: "swb-t1-"}
				if got := sk.ids(nil, []byte(`{"id":"`+env.ID+`","event":"`+env.Event+`"}`)); len(got) != 1 || got[0] != env.ID {
					t.Errorf("sink found %q in the posted id %q", got, env.ID)
				}
			}
		})
	}
}

func TestHistQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		samples func(add func(time.Duration))
		q       float64
		want    time.Duration
	}{
		{"one sample", func(add func(time.Duration)) { add(3 * time.Millisecond) }, 0.99, 3 * time.Millisecond},
		{"uniform 1..1000µs p50", func(add func(time.Duration)) {
			for i := 1; i <= 1000; i++ {
				add(time.Duration(i) * time.Microsecond)
			}
		}, 0.5, 500 * time.Microsecond},
		{"uniform 1..1000µs p99", func(add func(time.Duration)) {
			for i := 1; i <= 1000; i++ {
				add(time.Duration(i) * time.Microsecond)
			}
		}, 0.99, 990 * time.Microsecond},
		{"small values exact", func(add func(time.Duration)) {
			for i := range 10 {
				add(time.Duration(i))
			}
		}, 0.5, 4},
		{"outlier is the max", func(add func(time.Duration)) {
			for range 99 {
				add(time.Millisecond)
			}
			add(time.Second)
		}, 1, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist
			tt.samples(h.add)
			got := h.quantile(tt.q)
			if diff := float64(got-tt.want) / float64(tt.want); diff > 0.02 || diff < -0.02 {
				t.Errorf("quantile(%v) = %v, want %v within 2%%", tt.q, got, tt.want)
			}
		})
	}
	t.Run("buckets are contiguous and increasing", func(t *testing.T) {
		for _, d := range []time.Duration{0, 1, 63, 64, 65, 127, 128, 129, 255, 256, 1 << 20, 1<<40 + 12345} {
			i := bucketOf(d)
			if lowerBound(i) > d || lowerBound(i+1) <= d {
				t.Errorf("%d is in bucket %d = [%d, %d)", d, i, lowerBound(i), lowerBound(i+1))
			}
		}
	})
}

func TestSinkFindsIDs(t *testing.T) {
	s := &sink{token: "swb-ab12-"}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"json body", `{"id":"swb-ab12-3-1f","event":"vote.created"}`, []string{"swb-ab12-3-1f"}},
		{"url", "/sink?ref=swb-ab12-0-0&x=1", []string{"swb-ab12-0-0"}},
		{"hashed id", `{"ref":"0123456789abcdef0123456789abcdef"}`, []string{"0123456789abcdef0123456789abcdef"}},
		{"other run's token", `{"id":"swb-ffff-3-1f"}`, nil},
		{"33 hex digits", `{"ref":"0123456789abcdef0123456789abcdef0"}`, nil},
		{"token alone", `swb-ab12-`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.ids(nil, []byte(tt.in))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ids(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The load generator reads the router's answers without a JSON decoder
// when it can, and with one when it must.
func TestAnswerID(t *testing.T) {
	for _, tc := range []struct {
		body, want string
		ok         bool
	}{
		{`{"id":"productlift/abc-1","duplicate":false}` + "\n", "productlift/abc-1", true},
		{`{"id":"a\"b","duplicate":true}`, `a"b`, true}, // escaped: decoded
		{`{"id":"a\\b"}`, `a\b`, true},
		{`{"duplicate":false,"id":"x"}`, "x", true}, // another order: decoded
		{`{"id":""}`, "", false},
		{`{"error":"unauthorized"}`, "", false},
		{`not json`, "", false},
		{``, "", false},
	} {
		got, ok := answerID([]byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("answerID(%q) = %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}
