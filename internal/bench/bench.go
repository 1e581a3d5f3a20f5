// Package bench is the load harness behind `switchyard bench`. In one
// process it starts the router on an embedded queue in a temporary data
// directory, an HTTP sink for the rules' http actions and a bare net/http
// handler, then drives both handlers with the same signed, distinct
// events over keep-alive loopback connections. Every figure that depends
// on the machine is reported next to the bare handler's, measured in the
// same run, so that runs on different machines compare as ratios.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/router"
	"github.com/switchyard/switchyard/rules"
	"github.com/switchyard/switchyard/sources"
)

// Config is what to run. Zero fields take the defaults.
type Config struct {
	// RulesPath is the user's rules file; empty generates one with Rules
	// rules keyed on distinct event literals and sources, plus one rule
	// that posts every load event to the in-process sink. A user's file
	// may only have http actions: they are all sent to the sink, so
	// nothing leaves the machine.
	RulesPath string
	// Source is the source the load posts to (with RulesPath); its vendor
	// must be one Vendors lists.
	Source string
	// Vendor is the load's vendor with a generated file (default
	// productlift).
	Vendor string
	// Rules is the generated file's rule count (default 1,000).
	Rules int
	// ReloadRules is the rule count of the file swapped in by the reload
	// phase (default 10,000; generated files only).
	ReloadRules int
	// Connections is the number of concurrent keep-alive connections
	// (default 32).
	Connections int
	// Duration is each load phase's length (default 3s).
	Duration time.Duration
	// SyncAlways makes the embedded store fsync every write; otherwise it
	// fsyncs every SyncInterval (default: the queue's, 1s).
	SyncAlways   bool
	SyncInterval time.Duration
	// HTTPWorkers is the router's concurrent http deliveries (0: its
	// default).
	HTTPWorkers int
	// Rate is the request rate of the end-to-end and reload phases
	// (0: half the ack path's rate measured alone, the figure).
	Rate float64
	// MatchDuration is how long each matching measurement runs (default 1s).
	MatchDuration time.Duration
	// ServeBinary is the switchyard executable. When set, the memory a
	// user's process takes is measured too: the binary is started as
	// `serve` with ReloadRules generated rules on a temporary data dir,
	// and its RSS read after ServeIdle (default 2s) idle once ready.
	ServeBinary string
	ServeIdle   time.Duration
	// DrainTimeout bounds each wait for the deliveries of acknowledged
	// events (default 60s).
	DrainTimeout time.Duration
	// Logger is the router's logger; nil formats its text log as serve
	// does, at info, and discards it.
	Logger *slog.Logger
	// CPUProfile, when set, receives a CPU profile from the first load
	// round (bare, store alone and ack path alone take turns) to the end
	// of the half-rate phase's deliveries.
	CPUProfile io.Writer
	// Progress receives a line as each phase starts; nil: none.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.Vendor == "" {
		c.Vendor = sources.VendorProductLift
	}
	if c.Rules <= 0 {
		c.Rules = 1000
	}
	if c.ReloadRules <= 0 {
		c.ReloadRules = 10000
	}
	if c.Connections <= 0 {
		c.Connections = 32
	}
	if c.Duration <= 0 {
		c.Duration = 3 * time.Second
	}
	if c.MatchDuration <= 0 {
		c.MatchDuration = time.Second
	}
	if c.ServeIdle <= 0 {
		c.ServeIdle = 2 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Phase is one load phase's outcome.
type Phase struct {
	RPS      float64 // 2xx answers per second
	OK       uint64
	Non2xx   uint64
	Errors   uint64 // transport errors
	LastErr  string
	Statuses map[int]uint64
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
}

func phaseOf(r *loadResult) Phase {
	p := Phase{
		RPS: r.rps(), OK: r.ok, Non2xx: r.non2xx, Errors: r.errs, Statuses: r.statuses,
		P50: r.lat.quantile(0.50), P90: r.lat.quantile(0.90), P99: r.lat.quantile(0.99), Max: r.lat.max,
	}
	if r.lastErr != nil {
		p.LastErr = r.lastErr.Error()
	}
	return p
}

// Result is a whole run's figures.
type Result struct {
	Machine      string
	Rules        int // rules loaded during the ingest phases
	Source       string
	Vendor       string
	Connections  int
	Duration     time.Duration
	SyncAlways   bool
	SyncInterval time.Duration

	Baseline Phase // the bare handler
	// StoreAlone is a handler that reads the body and stores it in an
	// embedded queue like the router's, then answers 202: the ceiling of
	// an ack path that stores each event before its 202.
	StoreAlone Phase
	// IngestAlone is the router as fast as it answers, its pipeline not
	// yet running: the ack path (verify, store, 202) alone.
	IngestAlone Phase
	// Backlog events stored by IngestAlone reached the sink BacklogTook
	// after the pipeline started: the delivery throughput.
	Backlog     int
	BacklogTook time.Duration
	// Ingest is the router as fast as it answers while its pipeline
	// matches and delivers on the same cores.
	Ingest Phase
	// Drain is how long the deliveries of the ingest phase took to reach
	// the sink after its last 202.
	Drain time.Duration

	HalfRate Phase   // the router at half IngestAlone's rate
	Rate     float64 // the half rate asked for (or Config.Rate)
	RateSet  bool    // Rate is Config.Rate
	E2E      Latency // 202 -> the action reaching the sink, half-rate phase

	ReloadRules  int
	ReloadTook   time.Duration
	ReloadErr    string
	Reload       Phase         // the half-rate load around the reload
	ReloadFailed uint64        // non-2xx and transport errors in that phase
	ReloadMaxAck time.Duration // slowest ack of a request in flight during the reload

	Acked       int // distinct events acknowledged over the run
	Undelivered int // of those, the ones that never reached the sink

	MatchRules      [2]int
	MatchRate       [2]float64 // events/s with MatchRules[0] and [1] rules
	PeakRSS         uint64     // VmHWM
	IdleRSS         uint64     // VmRSS after the run, collected, ReloadRules loaded
	IdleHeap        uint64     // Go heap in use then
	IdleRulesLoaded int
	// Serve is a fresh `switchyard serve` idle with ReloadRules rules
	// (zero unless Config.ServeBinary is set).
	Serve ServeMemory
}

// Latency summarises end-to-end times.
type Latency struct {
	N             int
	P50, P90, P99 time.Duration
	Max           time.Duration
}

// Ratio is the ack path's requests/s (ingest alone) over the bare
// handler's.
func (r *Result) Ratio() float64 {
	if r.Baseline.RPS == 0 {
		return 0
	}
	return r.IngestAlone.RPS / r.Baseline.RPS
}

// DeliveryRate is events delivered per second from the backlog.
func (r *Result) DeliveryRate() float64 {
	if r.BacklogTook <= 0 {
		return 0
	}
	return float64(r.Backlog) / r.BacklogTook.Seconds()
}

// MatchRatio is events/s matched with the most rules over the fewest.
func (r *Result) MatchRatio() float64 {
	if r.MatchRate[0] == 0 {
		return 0
	}
	return r.MatchRate[1] / r.MatchRate[0]
}

// Run runs every phase and returns the figures. It stops early, with an
// error, when ctx is done or the router cannot be started.
func Run(ctx context.Context, c Config) (*Result, error) {
	c = c.withDefaults()
	runID := randomID()
	res := &Result{Machine: machine(), Connections: c.Connections, Duration: c.Duration, SyncAlways: c.SyncAlways, SyncInterval: c.SyncInterval}
	dir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	sk, err := startSink("swb-" + runID + "-")
	if err != nil {
		return nil, fmt.Errorf("bench: sink: %w", err)
	}
	defer sk.close()
	sinkURL := "http://" + sk.addr

	// The rules file and the source the load posts to.
	genSources := benchSources(runID)
	var (
		rulesPath = c.RulesPath
		getenv    func(string) (string, bool) // nil: the environment
		srcCfg    sources.Config
		transport = http.DefaultTransport.(*http.Transport).Clone()
		rt        http.RoundTripper
	)
	transport.MaxIdleConnsPerHost = 1024
	rt = transport
	if rulesPath == "" {
		rulesPath = filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(rulesPath, generateRules(genSources, c.Rules, c.Vendor, sinkURL), 0o600); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		getenv = func(string) (string, bool) { return "", false }
		i := slices.IndexFunc(genSources, func(s sources.Config) bool { return s.Vendor == c.Vendor })
		if i < 0 {
			return nil, fmt.Errorf("bench: --vendor %q: the load can send %v", c.Vendor, Vendors())
		}
		srcCfg = genSources[i]
	} else {
		f, err := rules.Load(rulesPath, nil)
		if err != nil {
			return nil, err
		}
		if srcCfg, err = userSource(f, c.Source); err != nil {
			return nil, err
		}
		rt = toSink{host: sk.addr, next: transport}
	}
	res.Source, res.Vendor = srcCfg.Name, srcCfg.Vendor
	sg, err := newSigner(srcCfg, runID)
	if err != nil {
		return nil, fmt.Errorf("bench: source %q: %w", srcCfg.Name, err)
	}

	// The router, as serve runs it, on a temporary data directory.
	q, err := queue.Open(ctx, queue.Options{DataDir: filepath.Join(dir, "data"), SyncAlways: c.SyncAlways, SyncInterval: c.SyncInterval})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	var workers map[string]int
	if c.HTTPWorkers > 0 {
		workers = map[string]int{"http": c.HTTPWorkers}
	}
	r, err := router.New(router.Options{
		RulesPath: rulesPath, Getenv: getenv, Queue: q, Logger: c.Logger,
		HTTPClient: &http.Client{Transport: rt}, Workers: workers,
	})
	if err != nil {
		return nil, err
	}
	res.Rules = r.Config().File.Set.Len()
	// The pipeline (matcher and deliveries) starts after the ingest-alone
	// phase.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	started := false
	startPipeline := func() {
		started = true
		go func() { runDone <- r.Run(runCtx) }()
	}
	defer func() { // before q.Close
		stopRun()
		if started {
			<-runDone
		}
	}()

	clock := newAckClock()
	routerAddr, stopRouter, err := serveLoopback(clock.wrap(r.PublicServer(router.PublicLimits{MaxInFlight: 1024, MaxInFlightPerAddress: 1024}, nil).Handler))
	if err != nil {
		return nil, err
	}
	defer stopRouter()
	bareAddr, stopBare, err := serveLoopback(http.HandlerFunc(bare))
	if err != nil {
		return nil, err
	}
	defer stopBare()

	spec := func(addr string, ids bool, rate float64, connBase int) loadSpec {
		return loadSpec{addr: addr, conns: c.Connections, duration: c.Duration, rate: rate, ids: ids, signer: sg, connBase: connBase}
	}
	var acked []string
	ackIDs := func(l *loadResult) []string {
		ids := make([]string, len(l.acks))
		for i, a := range l.acks {
			ids[i] = a.id
		}
		acked = append(acked, ids...)
		return ids
	}

	// 1-2. The bare handler, the store alone and the router's ack path
	// alone, in interleaved rounds in a rotating order, so that what the
	// machine does meanwhile weighs on the three alike. The pipeline is
	// not running yet, so the ack path is verify, store, 202 and nothing
	// else.
	store, err := startStoreAlone(ctx, filepath.Join(dir, "store-alone"), queue.EventsSubject+"."+srcCfg.Name, c)
	if err != nil {
		return nil, err
	}
	defer store.close()
	if c.CPUProfile != nil {
		if err := pprof.StartCPUProfile(c.CPUProfile); err != nil {
			return nil, fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	stopProfile := func() {
		if c.CPUProfile != nil {
			pprof.StopCPUProfile()
			c.CPUProfile = nil
		}
	}
	defer stopProfile()
	fmt.Fprintf(c.Progress, "bench: bare net/http handler, the store alone and switchyard's ack path with %d rules, %d connections, %s each in %d rounds\n",
		res.Rules, c.Connections, c.Duration, rounds)
	var base, stored, alone loadResult
	kinds := []struct {
		addr string
		ids  bool
		into *loadResult
	}{{bareAddr, false, &base}, {store.addr, false, &stored}, {routerAddr, true, &alone}}
	for round := range rounds {
		for k := range kinds {
			kind := kinds[(round+k)%len(kinds)]
			sp := spec(kind.addr, kind.ids, 0, 1<<20+round*c.Connections)
			sp.duration = c.Duration / rounds
			l, err := runLoad(ctx, sp)
			if err != nil {
				return nil, err
			}
			kind.into.add(l)
		}
	}
	store.close()
	res.Baseline, res.StoreAlone, res.IngestAlone = phaseOf(&base), phaseOf(&stored), phaseOf(&alone)

	// 3. The pipeline starts on that backlog: how fast it delivers.
	ids := ackIDs(&alone)
	fmt.Fprintf(c.Progress, "bench: pipeline delivering a backlog of %d events\n", len(ids))
	t0 := time.Now()
	startPipeline()
	missing := sk.waitAll(ids, t0.Add(c.DrainTimeout)) // what never arrives is counted at the end
	res.Backlog, res.BacklogTook = len(ids)-len(missing), time.Since(t0)

	// 4. Ingest again, with the pipeline matching and delivering.
	fmt.Fprintf(c.Progress, "bench: switchyard ingest with the pipeline running, %s\n", c.Duration)
	ing, err := runLoad(ctx, spec(routerAddr, true, 0, 2<<20))
	if err != nil {
		return nil, err
	}
	res.Ingest = phaseOf(ing)
	sk.waitAll(ackIDs(ing), time.Now().Add(c.DrainTimeout))
	res.Drain = time.Since(ing.end())

	// 5. Half the ack path's maximum rate: the time from each 202 to the
	// sink.
	res.Rate, res.RateSet = res.IngestAlone.RPS/2, c.Rate > 0
	if res.RateSet {
		res.Rate = c.Rate
	}
	fmt.Fprintf(c.Progress, "bench: end to end at %.0f requests/s, %s\n", res.Rate, c.Duration)
	clock.on.Store(true)
	half, err := runLoad(ctx, spec(routerAddr, true, res.Rate, 3<<20))
	clock.on.Store(false)
	if err != nil {
		return nil, err
	}
	res.HalfRate = phaseOf(half)
	sk.waitAll(ackIDs(half), time.Now().Add(c.DrainTimeout))
	stopProfile()
	res.E2E = sk.latency(half.acks, clock)

	// 6. A reload under half-rate load.
	res.ReloadRules = res.Rules
	reloadPath := ""
	if c.RulesPath == "" {
		reloadPath = filepath.Join(dir, "rules-reload.yaml")
		if err := os.WriteFile(reloadPath, generateRules(genSources, c.ReloadRules, c.Vendor, sinkURL), 0o600); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.ReloadRules = c.ReloadRules + 1
	}
	fmt.Fprintf(c.Progress, "bench: reload of %d rules at %.0f requests/s\n", res.ReloadRules, res.Rate)
	if err := res.reloadPhase(ctx, r, spec(routerAddr, true, res.Rate, 4<<20), reloadPath, rulesPath, ackIDs); err != nil {
		return nil, err
	}

	// 7. Everything acknowledged reaches the sink.
	missing = sk.waitAll(acked, time.Now().Add(c.DrainTimeout))
	res.Acked, res.Undelivered = len(acked), len(missing)

	// 8. Matching cost against the rule count, in-process.
	fmt.Fprintf(c.Progress, "bench: matching with 10 and %d rules\n", c.ReloadRules)
	res.MatchRules = [2]int{10, c.ReloadRules}
	rates, err := matchRates(genSources, res.MatchRules[:], c.MatchDuration)
	if err != nil {
		return nil, err
	}
	copy(res.MatchRate[:], rates)

	// 9. Memory: the peak, and idle with the reloaded rules.
	res.PeakRSS = procStatus("VmHWM")
	sk.forget() // the harness's own bookkeeping is not the router's memory
	clock.mu.Lock()
	clock.at = nil
	clock.mu.Unlock()
	acked = nil
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.IdleRSS, res.IdleHeap = procStatus("VmRSS"), ms.HeapInuse
	res.IdleRulesLoaded = r.Config().File.Set.Len()

	// 10. Memory as a user sees it: the binary alone, idle.
	if c.ServeBinary != "" {
		fmt.Fprintf(c.Progress, "bench: memory of %s serve with %d rules, idle %s\n", c.ServeBinary, c.ReloadRules+1, c.ServeIdle)
		if res.Serve, err = serveMemory(ctx, c.ServeBinary, genSources, c.ReloadRules, c.ServeIdle); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (res *Result) reloadPhase(ctx context.Context, r *router.Router, s loadSpec, newFile, rulesPath string, ackIDs func(*loadResult) []string) error {
	s.samples = true
	d := s.duration
	s.duration = d + 10*time.Minute // ended below, once the reload is over
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	type out struct {
		l   *loadResult
		err error
	}
	done := make(chan out, 1)
	start := time.Now()
	go func() {
		l, err := runLoad(lctx, s)
		done <- out{l, err}
	}()
	time.Sleep(min(time.Second, d/4))
	if newFile != "" {
		if err := os.Rename(newFile, rulesPath); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	t0 := time.Now()
	if err := r.Reload(); err != nil {
		res.ReloadErr = err.Error()
	}
	t1 := time.Now()
	res.ReloadTook = t1.Sub(t0)
	time.Sleep(max(time.Until(start.Add(d)), min(time.Second, d/4)))
	stop()
	o := <-done
	if o.err != nil {
		return o.err
	}
	res.Reload = phaseOf(o.l)
	res.ReloadFailed = o.l.non2xx + o.l.errs
	for _, sm := range o.l.samples {
		if !sm.start.After(t1) && !sm.start.Add(sm.lat).Before(t0) {
			res.ReloadMaxAck = max(res.ReloadMaxAck, sm.lat)
		}
	}
	ackIDs(o.l)
	return nil
}

// end is when the phase's last request was answered.
func (l *loadResult) end() time.Time {
	var t time.Time
	for _, a := range l.acks {
		if a.at.After(t) {
			t = a.at
		}
	}
	return t
}

// latency is the time from each 202, as the router's handler returned, to
// its event's first arrival at the sink. An arrival before the handler
// returned (the delivery beat the 202 to the wire) counts as zero.
func (s *sink) latency(acks []ack, clock *ackClock) Latency {
	var h hist
	for _, a := range acks {
		sent, ok := clock.get(a.id)
		if !ok {
			continue
		}
		at, ok := s.arrived(a.id)
		if !ok {
			continue
		}
		h.add(max(at.Sub(sent), 0))
	}
	return Latency{N: int(h.n), P50: h.quantile(0.5), P90: h.quantile(0.9), P99: h.quantile(0.99), Max: h.max}
}

// rounds is how many turns the bare handler, the store alone and the ack
// path alone take, each for a third of Config.Duration.
const rounds = 3

// storeAlone serves the store-alone phase: read the body, store it with
// a message id of its own in an embedded queue opened as the router's is,
// answer 202.
type storeAlone struct {
	addr string
	q    *queue.Queue
	stop func()
	once sync.Once
}

func startStoreAlone(ctx context.Context, dir, subject string, c Config) (*storeAlone, error) {
	q, err := queue.Open(ctx, queue.Options{DataDir: dir, SyncAlways: c.SyncAlways, SyncInterval: c.SyncInterval})
	if err != nil {
		return nil, fmt.Errorf("bench: store alone: %w", err)
	}
	var n atomic.Uint64
	h := func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 0, max(r.ContentLength, 0)+512)
		body, err := readAll(r.Body, buf)
		if err == nil {
			id := strconv.AppendUint(append(body[len(body):], "store-alone/"...), n.Add(1), 10)
			_, err = q.Publish(r.Context(), subject, string(id), nil, body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
	addr, stop, err := serveLoopback(http.HandlerFunc(h))
	if err != nil {
		q.Close()
		return nil, err
	}
	return &storeAlone{addr: addr, q: q, stop: stop}, nil
}

// close stops the handler and its queue, freeing their memory before the
// phases that measure it.
func (s *storeAlone) close() {
	s.once.Do(func() {
		s.stop()
		s.q.Close()
	})
}

// bare is the baseline: read the body, answer 202.
func bare(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusAccepted)
}

// serveLoopback serves h on 127.0.0.1 with serve's server settings.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: listen: %w", err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// userSource finds the load's source in a user's rules file and refuses
// files whose actions could leave the machine.
func userSource(f *rules.File, name string) (sources.Config, error) {
	for _, r := range f.Rules {
		for _, a := range r.Actions {
			if a.Kind != "http" {
				return sources.Config{}, fmt.Errorf("bench: rule %q has a %s action: the harness sends only http actions, to its own sink; bench a copy of the file without slack and email actions", r.Name, a.Kind)
			}
		}
	}
	if name == "" {
		if len(f.Sources) != 1 {
			return sources.Config{}, errors.New("bench: the rules file has several sources: name one with --source")
		}
		name = f.Sources[0].Name
	}
	s, ok := f.Source(name)
	if !ok {
		return sources.Config{}, fmt.Errorf("bench: the rules file has no source %q", name)
	}
	return router.SourceConfig(s), nil
}

// toSink sends every request to the sink, whatever host the rules file
// names, so that benchmarking a real file never reaches a real receiver.
type toSink struct {
	host string
	next http.RoundTripper
}

func (t toSink) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = "http", t.host, ""
	return t.next.RoundTrip(r)
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// machine describes where the run happened.
func machine() string {
	cpu := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	s := fmt.Sprintf("%s/%s, %d CPUs (GOMAXPROCS %d), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if cpu != "" {
		s += ", " + cpu
	}
	return s
}
