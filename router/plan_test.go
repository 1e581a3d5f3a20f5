package router

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

// planConfig builds a Config from rulesYAML, as a reload would, without a
// queue: planning needs none.
func planConfig(t *testing.T, rulesYAML string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, func(k string) (string, bool) {
		return map[string]string{"PL_SECRET": testSecret, "TOKEN": "s3cret-token"}[k], k == "PL_SECRET" || k == "TOKEN"
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPlan(t *testing.T) {
	cfg := planConfig(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    actions:
      - http: { url: "https://crm.example.com/votes", json: { t: "{{ .data.post.title }}" } }
      - http: { url: "https://other.example.com/votes" }
  - name: big-posts
    when: data.post.votes > 10 && headers["x-token"] != "${TOKEN}"
    actions:
      - http: { url: "https://crm.example.com/big" }
  - name: comments
    when: event == "comment.created"
    actions:
      - http: { url: "https://crm.example.com/comments" }
`)
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		ev        event.Event
		wantRules []string
		wantJobs  []string
		wantErrs  []string
	}{
		{
			name:      "one rule, two actions",
			ev:        event.Event{Source: "productlift", Event: "vote.created", ID: "v1", Data: map[string]any{"post": map[string]any{"votes": 3.0}}},
			wantRules: []string{"votes"},
			wantJobs:  []string{"productlift/v1/votes/0", "productlift/v1/votes/1"},
		},
		{
			name:      "two rules",
			ev:        event.Event{Source: "productlift", Event: "vote.created", ID: "v2", Data: map[string]any{"post": map[string]any{"votes": 30.0}}},
			wantRules: []string{"votes", "big-posts"},
			wantJobs:  []string{"productlift/v2/votes/0", "productlift/v2/votes/1", "productlift/v2/big-posts/0"},
		},
		{
			name:     "a condition that fails is no match, with its error redacted",
			ev:       event.Event{Source: "productlift", Event: "post.created", ID: "p1", Data: map[string]any{"post": "not an object"}},
			wantErrs: []string{"big-posts"},
		},
		{
			name: "nothing matches",
			ev:   event.Event{Source: "productlift", Event: "post.created", ID: "p2", Data: map[string]any{"post": map[string]any{"votes": 1.0}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := cfg.plan(&tc.ev, now, nil)
			if len(p.record.Rules)+len(tc.wantRules) > 0 && !slices.Equal(p.record.Rules, tc.wantRules) {
				t.Errorf("rules %v, want %v", p.record.Rules, tc.wantRules)
			}
			var jobs []string
			for _, d := range p.deliveries {
				jobs = append(jobs, d.job.ID)
				if d.act == nil || d.act.Kind() != d.job.Kind || !d.job.Matched.Equal(now) {
					t.Errorf("delivery %s: action %v, kind %s, matched %s", d.job.ID, d.act, d.job.Kind, d.job.Matched)
				}
			}
			if !slices.Equal(jobs, tc.wantJobs) {
				t.Errorf("deliveries %v, want %v", jobs, tc.wantJobs)
			}
			if p.record.Jobs != len(tc.wantJobs) {
				t.Errorf("record counts %d jobs, want %d", p.record.Jobs, len(tc.wantJobs))
			}
			var errs []string
			for _, e := range p.record.Errors {
				errs = append(errs, e.Rule)
				if strings.Contains(e.Error, "s3cret-token") {
					t.Errorf("the evaluation error shows a secret: %s", e.Error)
				}
			}
			if !slices.Equal(errs, tc.wantErrs) {
				t.Errorf("evaluation errors for %v, want %v", errs, tc.wantErrs)
			}
		})
	}
}

// A grouped rule's firing joins a group instead of making deliveries, and
// throttled deliveries list the windows they must claim: the rule's, then
// their action's.
func TestPlanGroupsAndThrottles(t *testing.T) {
	cfg := planConfig(t, `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: digest
    when: event == "vote.created"
    group: { by: "{{ .data.post.id }}", wait: 1m, interval: 1h }
    actions:
      - http: { url: "https://crm.example.com/digest", json: { n: "{{ .count }}" } }
  - name: votes
    when: event == "vote.created"
    throttle: { key: "{{ .data.post.id }}", per: 1h }
    actions:
      - http: { url: "https://crm.example.com/a" }
      - http: { url: "https://crm.example.com/b" }
        throttle: { per: 10m }
`)
	ev := event.Event{Source: "productlift", Event: "vote.created", ID: "v1", Data: map[string]any{"post": map[string]any{"id": 7.0}}}
	p := cfg.plan(&ev, time.Now(), nil)
	if len(p.groups) != 1 || p.groups[0].rule.Name != "digest" || p.groups[0].key != "7" {
		t.Fatalf("groups %+v, want digest's group 7", p.groups)
	}
	if len(p.deliveries) != 2 {
		t.Fatalf("%d deliveries, want votes' two", len(p.deliveries))
	}
	a, b := p.deliveries[0], p.deliveries[1]
	if len(a.throttles) != 1 || len(b.throttles) != 2 || a.throttles[0] != b.throttles[0] {
		t.Fatalf("throttles %v and %v: want the rule's shared, then b's own", a.throttles, b.throttles)
	}
	if r, own := b.throttles[0], b.throttles[1]; r.per != time.Hour || r.action != -1 || own.per != 10*time.Minute || own.action != 1 || r.key == own.key || r.event != "productlift/v1" {
		t.Fatalf("rule throttle %+v, action throttle %+v", r, own)
	}
	other := event.Event{Source: "productlift", Event: "vote.created", ID: "v2", Data: map[string]any{"post": map[string]any{"id": 8.0}}}
	if q := cfg.plan(&other, time.Now(), nil); q.deliveries[0].throttles[0].key == a.throttles[0].key || q.deliveries[1].throttles[1].key != b.throttles[1].key {
		t.Fatal("the rule's window should depend on the key, the action's (no key) should not")
	}
}
