package router

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/actions/slack"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// Config is a rules file with everything built from it: sources, compiled
// rules, actions with their templates and clients, and a redactor for its
// secrets. It is immutable once built; Reload swaps a whole new one in.
type Config struct {
	File     *rules.File
	sources  map[string]source
	rules    map[string]*rule
	redactor *secret.Redactor
}

type source struct {
	sources.Source
	maxBody int64
}

type rule struct {
	*rules.Rule
	actions []*action
}

// action is a built action with the policy that wraps it.
type action struct {
	actions.Action
	rule   string
	index  int
	policy RetryPolicy
	// pace names the receiver whose turns and pauses the action shares
	// (a Slack channel, or the action itself); interval is the least time
	// between two of its deliveries (0: not paced).
	pace     string
	interval time.Duration
}

// RetryPolicy is how often and how patiently one action is retried.
type RetryPolicy struct {
	Attempts int           // attempts in all, the first included
	Initial  time.Duration // delay before the second attempt
	Max      time.Duration // longest delay between attempts
	Timeout  time.Duration // one attempt's time limit
}

// MaxAttemptTimeout bounds an attempt's timeout. (The queue sends
// heartbeats while an attempt runs, so this is a sanity limit on how long
// one attempt may hold a worker, not a constraint of the queue.)
const MaxAttemptTimeout = 45 * time.Second

// Delay is the wait before attempt n+1 after attempt n (n >= 1) failed:
// exponential from Initial, capped at Max, with "equal jitter" (a random
// point in the upper half) so that many failed deliveries do not return in
// step; never less than the receiver's Retry-After (itself capped).
func (p RetryPolicy) Delay(n int, retryAfter time.Duration, rnd func() float64) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	d = d/2 + time.Duration(rnd()*float64(d/2))
	return max(d, min(retryAfter, actions.MaxRetryAfter))
}

// BuildOptions carries what building a Config needs besides the file.
type BuildOptions struct {
	// HTTPClient is used by http actions; nil: each action's default.
	HTTPClient *http.Client
	// Now is the clock for signed-timestamp tolerances; nil: time.Now.
	Now func() time.Time
}

// Load reads, validates and builds a rules file exactly as serve does; it
// is what `switchyard check` runs. getenv nil reads the environment.
func Load(path string, getenv func(string) (string, bool), o BuildOptions) (*Config, error) {
	f, err := rules.Load(path, getenv)
	if err != nil {
		return nil, err
	}
	return Build(f, o)
}

// Build makes every source and action of a loaded file. Every error is
// reported, each with the position of the entry it concerns.
func Build(f *rules.File, o BuildOptions) (*Config, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Config{
		File:     f,
		sources:  make(map[string]source, len(f.Sources)),
		rules:    make(map[string]*rule, len(f.Rules)),
		redactor: secret.NewRedactor(f.Secrets),
	}
	var errs []error
	fail := func(pos rules.Pos, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", pos, c.redactor.Redact(fmt.Sprintf(format, args...))))
	}
	// The store is opened once, by serve, with the file's queue: section;
	// what it would refuse is an error of the file, here as in check.
	if err := QueueOptions(f.Queue).Check(); err != nil {
		fail(f.Queue.DedupWindowPos, "%v", err)
	}
	for _, s := range f.Sources {
		if err := rules.CheckSourceName(s.Name); err != nil {
			fail(s.Pos, "%v", err)
			continue
		}
		src, err := sources.New(SourceConfig(s), o.Now)
		if err != nil {
			fail(s.Pos, "source %q: %v", s.Name, err)
			continue
		}
		maxBody := s.MaxBody
		if maxBody <= 0 {
			maxBody = rules.DefaultMaxBody
		}
		c.sources[s.Name] = source{Source: src, maxBody: maxBody}
	}
	ts := actions.NewTemplates() // one copy of the template functions for the whole file
	for _, r := range f.Rules {
		br := &rule{Rule: r}
		for i, a := range r.Actions {
			act, err := buildAction(f, a, o, ts)
			if bes := slack.BlockErrors(err); len(bes) > 0 && a.Slack != nil {
				// Each mistake in blocks: at its value, in file order.
				pos := func(be *slack.BlockError) rules.Pos {
					if p, ok := a.Slack.BlockPos(be.Pointer); ok {
						return p
					}
					return a.Pos
				}
				slices.SortStableFunc(bes, func(x, y *slack.BlockError) int {
					px, py := pos(x), pos(y)
					return cmp.Or(cmp.Compare(px.Line, py.Line), cmp.Compare(px.Col, py.Col))
				})
				for _, be := range bes {
					fail(pos(be), "rule %q action #%d (%s): %v", r.Name, i+1, a.Kind, be)
				}
				continue
			}
			if err != nil {
				fail(a.Pos, "rule %q action #%d (%s): %v", r.Name, i+1, a.Kind, err)
				continue
			}
			p := actionKinds[a.Kind].policy
			if a.Retry != nil {
				if a.Retry.Attempts > 0 {
					p.Attempts = a.Retry.Attempts
				}
				if a.Retry.Initial > 0 {
					p.Initial = a.Retry.Initial
				}
				if a.Retry.Max > 0 {
					p.Max = a.Retry.Max
				}
			}
			if p.Max < p.Initial {
				p.Max = p.Initial
			}
			if a.Timeout > 0 {
				p.Timeout = a.Timeout
			}
			if p.Timeout > MaxAttemptTimeout {
				fail(a.Pos, "rule %q action #%d: timeout %s is over the limit of %s", r.Name, i+1, p.Timeout, MaxAttemptTimeout)
				continue
			}
			pace, interval := actionKinds[a.Kind].pace(r.Name, i, a)
			br.actions = append(br.actions, &action{Action: act, rule: r.Name, index: i, policy: p, pace: pace, interval: interval})
		}
		c.rules[r.Name] = br
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// SourceConfig is the sources.Config of a rules file's source: what Build
// makes its Source of, and what signs requests it accepts (sign, bench).
func SourceConfig(s rules.SourceSpec) sources.Config {
	cfg := sources.Config{Name: s.Name, Vendor: s.Vendor, Key: s.Key, Secret: s.Secret, Tolerance: s.Tolerance}
	if s.Signature != nil {
		cfg.Signature = sources.Signature{Header: s.Signature.Header, Algorithm: s.Signature.Algorithm, Encoding: s.Signature.Encoding, Prefix: s.Signature.Prefix}
	}
	return cfg
}

// QueueOptions are the queue.Options a rules file's queue: section sets:
// what serve opens the store with (adding where it is), and what Build
// checks.
func QueueOptions(q rules.QueueSpec) queue.Options {
	return queue.Options{
		SyncAlways: q.Sync == "always", SyncInterval: q.SyncInterval,
		Replicas: q.Replicas, DedupWindow: q.DedupWindow,
	}
}

// action finds a job's action in this config. A job made under an older
// config may name a rule or action that no longer exists.
func (c *Config) action(ruleName string, index int, kind string) (*action, error) {
	r, ok := c.rules[ruleName]
	if !ok {
		return nil, fmt.Errorf("rule %q is no longer in the rules file", ruleName)
	}
	if index < 0 || index >= len(r.actions) {
		return nil, fmt.Errorf("rule %q has no action %d any more", ruleName, index+1)
	}
	a := r.actions[index]
	if a.Kind() != kind {
		return nil, fmt.Errorf("rule %q action %d is now a %s action, not %s", ruleName, index+1, a.Kind(), kind)
	}
	return a, nil
}

// Redact removes this config's secrets from s.
func (c *Config) Redact(s string) string { return c.redactor.Redact(s) }

// jitter is the random source of retry delays.
func jitter() float64 { return rand.Float64() }
