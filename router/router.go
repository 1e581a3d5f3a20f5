// Package router is Switchyard's engine: the public webhook listener, the
// matcher that turns stored events into delivery jobs, the delivery workers,
// reload, and the admin API.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
	"github.com/switchyard/switchyard/secret"
)

// Options configures a Router.
type Options struct {
	// RulesPath is the rules file, read at New and at every Reload.
	RulesPath string
	// Rules, when set, is RulesPath already loaded (by a caller that needed
	// it first): New builds it instead of reading the file again.
	Rules *rules.File
	// Getenv expands ${VAR}; nil reads the environment.
	Getenv func(string) (string, bool)
	Queue  *queue.Queue
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// HTTPClient is used by http actions; nil: their default.
	HTTPClient *http.Client
	// Workers is the number of concurrent deliveries per action kind; zero
	// kinds get DefaultWorkers.
	Workers map[string]int
	// MatchWorkers is the number of events matched concurrently (default
	// 64). Up to half of them may be making a delivery to a quick receiver
	// themselves.
	MatchWorkers int
	// Registry receives the metrics; nil: a new registry.
	Registry *prometheus.Registry
	// AdminToken, when set, is required as a bearer token on the admin
	// listener (all but /healthz, /readyz and the dashboard's static files).
	AdminToken secret.Secret
}

// Router holds the current config and runs the pipeline.
type Router struct {
	opts    Options
	log     *slog.Logger
	q       *queue.Queue
	cur     atomic.Pointer[Config]
	reload  sync.Mutex // one reload at a time
	metrics *metrics
	// ruleCounts counts matches and evaluation errors per rule name since
	// the process started, for the admin API.
	ruleCounts sync.Map // string -> *ruleCount
	// lastReload is the outcome of the last load, for the admin API.
	lastReload atomic.Pointer[ReloadStatus]
	loadedAt   atomic.Value // time.Time the config in force was loaded
	// limit decides which deliveries may be attempted now.
	limit *limiter
	// mutes are the mutes in force, shared by every replica.
	mutes *mutes
	// throttles and groups are the throttle windows and pending groups,
	// shared by every replica (groups.go, throttle.go).
	throttles *throttles
	groups    *groups
	// evalLogged remembers the rules whose run-time evaluation error was
	// logged under the current config, so each is logged once.
	evalLogged sync.Map
}

// New loads the rules file and returns a Router ready to serve.
func New(o Options) (*Router, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MatchWorkers <= 0 {
		o.MatchWorkers = 64
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Queue == nil {
		return nil, errors.New("router: a queue is required")
	}
	if o.HTTPClient == nil {
		// One pooled transport for every http action, keeping as many idle
		// connections per receiver as there are workers (the default keeps
		// two, so most deliveries would open a new connection).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(o.Workers["http"], DefaultWorkers("http"))
		o.HTTPClient = &http.Client{Transport: t}
	}
	r := &Router{opts: o, log: o.Logger, q: o.Queue, metrics: newMetrics(o.Registry, o.Queue, o.Now)}
	r.limit = newLimiter(r.workers, o.MatchWorkers/2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms, err := openMutes(ctx, o.Queue)
	if err != nil {
		return nil, err
	}
	r.mutes = ms
	if err := r.openNoise(ctx); err != nil {
		return nil, err
	}
	var cfg *Config
	if o.Rules != nil {
		cfg, err = Build(o.Rules, r.buildOptions())
	} else {
		cfg, err = r.load()
	}
	if err != nil {
		r.metrics.reloadOK.Set(0)
		return nil, err
	}
	r.swap(cfg)
	return r, nil
}

type ruleCount struct{ matches, errors atomic.Int64 }

func (r *Router) counts(rule string) *ruleCount {
	if c, ok := r.ruleCounts.Load(rule); ok {
		return c.(*ruleCount)
	}
	c, _ := r.ruleCounts.LoadOrStore(rule, &ruleCount{})
	return c.(*ruleCount)
}

// ReloadStatus is the outcome of the last attempt to load the rules file.
type ReloadStatus struct {
	OK    bool      `json:"ok"`
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

func (r *Router) load() (*Config, error) {
	return Load(r.opts.RulesPath, r.opts.Getenv, r.buildOptions())
}

func (r *Router) buildOptions() BuildOptions {
	return BuildOptions{HTTPClient: r.opts.HTTPClient, Now: r.opts.Now}
}

func (r *Router) swap(cfg *Config) {
	r.cur.Store(cfg)
	r.loadedAt.Store(r.opts.Now().UTC())
	r.lastReload.Store(&ReloadStatus{OK: true, At: r.opts.Now().UTC()})
	r.evalLogged.Clear()
	r.metrics.reloadOK.Set(1)
	r.metrics.reloadTime.Set(float64(r.opts.Now().Unix()))
	r.metrics.setConfig(cfg)
	// Loading a big file leaves garbage several times the size of the rule
	// set; hand it back to the system now rather than keep it resident.
	go debug.FreeOSMemory()
}

// Config returns the config in force.
func (r *Router) Config() *Config { return r.cur.Load() }

// Reload reads the rules file again and, if the whole of it is valid,
// swaps it in atomically. An invalid file leaves the running config in
// place; the error says why, with positions.
func (r *Router) Reload() error {
	r.reload.Lock()
	defer r.reload.Unlock()
	cfg, err := r.load()
	if err != nil {
		r.metrics.reloadOK.Set(0)
		r.lastReload.Store(&ReloadStatus{OK: false, At: r.opts.Now().UTC(), Error: err.Error()})
		r.log.Error("reload failed; keeping the running rules", "file", r.opts.RulesPath, "err", err)
		return fmt.Errorf("reload %s: %w", r.opts.RulesPath, err)
	}
	r.swap(cfg)
	r.log.Info("rules reloaded", "file", r.opts.RulesPath, "rules", len(cfg.File.Rules), "sources", len(cfg.File.Sources), "hash", cfg.File.Hash[:12])
	return nil
}

// jobsAckWait is the jobs consumers' AckWait. The queue sends heartbeats
// while an attempt runs, so it need not cover MaxAttemptTimeout: it is how
// long the jobs a crashed process held wait before another delivery.
const jobsAckWait = 15 * time.Second

// Run consumes events and jobs until ctx is done, then lets the work in
// flight finish.
func (r *Router) Run(ctx context.Context) error {
	// The mutes in force and the pending groups are read before the first
	// event is matched; the watches follow them until ctx is done.
	followMutes, err := r.mutes.watch(ctx, r.log)
	if err != nil {
		return err
	}
	followGroups, err := r.groups.watch(ctx, r.log)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(followMutes)
	wg.Go(followGroups)
	errs := make(chan error, len(actionKinds)+1)
	run := func(o queue.ConsumerOptions, h queue.Handler) {
		wg.Go(func() {
			if err := r.q.Consume(ctx, o, h); err != nil {
				errs <- err
			}
		})
	}
	run(queue.ConsumerOptions{
		Stream: queue.EventsStream, Durable: "matcher", Filter: queue.EventsSubject + ".>",
		Workers: r.opts.MatchWorkers, AckWait: 15 * time.Second,
	}, r.match)
	wg.Go(func() { r.runGroups(ctx) })
	for _, kind := range ActionKinds() {
		n := r.workers(kind)
		run(queue.ConsumerOptions{
			Stream: queue.JobsStream, Durable: "deliver-" + kind, Filter: queue.JobsSubject + "." + kind,
			Workers: n, AckWait: jobsAckWait,
			// The handler parks a job delivered more than maxJobDeliveries
			// times as a dead letter; this bounds the redeliveries should
			// even that fail.
			MaxDeliver: maxJobDeliveries + 100,
		}, r.deliver)
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

// workers is the number of concurrent deliveries of an action kind.
func (r *Router) workers(kind string) int {
	if n := r.opts.Workers[kind]; n > 0 {
		return n
	}
	return DefaultWorkers(kind)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
