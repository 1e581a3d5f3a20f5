package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/router"
	"github.com/switchyard/switchyard/rules"
	"github.com/switchyard/switchyard/secret"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newCommand("serve", `usage: switchyard serve --rules FILE [flags]
Receives webhooks on --listen, stores them, matches them against the rules
and delivers the actions. SIGHUP reloads the rules; SIGINT or SIGTERM stop
it after the work in flight (up to --drain-timeout). The start line of the
log carries the pid to signal.
`, stdout, stderr)
	rulesPath := fs.String("rules", "", "rules file (required)")
	listen := fs.String("listen", ":8080", "public listener for POST /hooks/:source")
	adminListen := fs.String("admin-listen", "127.0.0.1:8081", "admin listener: health, metrics, reload (keep it on loopback)")
	dataDir := fs.String("data", "./data", "directory of the embedded queue's store")
	natsURL := fs.String("nats", "", "external NATS JetStream servers, comma-separated (default: embedded)")
	natsCreds := fs.String("nats-creds", "", "credentials file for --nats")
	natsCA := fs.String("nats-tls-ca", "", "CA certificate file to verify the --nats servers")
	natsCert := fs.String("nats-tls-cert", "", "client certificate file for --nats (with --nats-tls-key)")
	natsKey := fs.String("nats-tls-key", "", "client key file for --nats (with --nats-tls-cert)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long SIGTERM waits for work in flight")
	adminToken := fs.String("admin-token", "", "bearer token required on the admin listener (default: $SWITCHYARD_ADMIN_TOKEN; none)")
	maxInFlight := fs.Int("max-in-flight", 1024, "public requests served at once; more are answered 503 with Retry-After")
	maxInFlightPerAddress := fs.Int("max-in-flight-per-address", 0, "of those, from one remote address (default: a quarter of --max-in-flight; behind a reverse proxy, set it to --max-in-flight)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "time a client has to send its request headers")
	workersFlag := fs.String("workers", "", "concurrent work by kind, e.g. http=128,slack=8: deliveries per action kind ("+workerDefaults()+") and events matched at once (match=64)")
	rest, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	workers, matchWorkers, err := parseWorkers(*workersFlag)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard: --workers:", err)
		return 2
	}
	if *rulesPath == "" {
		return fs.fail("--rules FILE is required")
	}
	if len(rest) > 0 {
		return fs.fail("unexpected arguments %q", rest)
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 2
	}
	if err := serveRun(ctx, log, serveOptions{
		rules: *rulesPath, listen: *listen, admin: *adminListen, data: *dataDir,
		nats: *natsURL, natsCreds: *natsCreds, natsCA: *natsCA, natsCert: *natsCert, natsKey: *natsKey, drain: *drain,
		adminToken:  secret.Secret(firstNonEmpty(*adminToken, os.Getenv("SWITCHYARD_ADMIN_TOKEN"))),
		maxInFlight: *maxInFlight, maxInFlightPerAddress: *maxInFlightPerAddress, readHeaderTimeout: *readHeaderTimeout,
		workers: workers, matchWorkers: matchWorkers,
	}); err != nil {
		log.Error("switchyard stopped", "err", err)
		return 1
	}
	return 0
}

type serveOptions struct {
	rules, listen, admin, data, nats, natsCreds string
	natsCA, natsCert, natsKey                   string
	drain, readHeaderTimeout                    time.Duration
	adminToken                                  secret.Secret
	maxInFlight, maxInFlightPerAddress          int
	workers                                     map[string]int // per action kind; missing: the router's default
	matchWorkers                                int            // 0: the router's default
}

// maxWorkers bounds each --workers count: every worker may hold a
// connection to a receiver.
const maxWorkers = 10000

// parseWorkers reads --workers: comma-separated kind=count pairs, the
// kinds being the action kinds and "match". It returns the action kinds'
// counts and the match count (0 when not given).
// workerDefaults lists the action kinds with their default workers, as
// --workers would set them.
func workerDefaults() string {
	var out []string
	for _, k := range router.ActionKinds() {
		out = append(out, fmt.Sprintf("%s=%d", k, router.DefaultWorkers(k)))
	}
	return strings.Join(out, ",")
}

func parseWorkers(s string) (map[string]int, int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, 0, nil
	}
	out, match := map[string]int{}, 0
	seen := map[string]bool{}
	for _, pair := range strings.Split(s, ",") {
		kind, count, ok := strings.Cut(strings.TrimSpace(pair), "=")
		kind = strings.TrimSpace(kind)
		if !ok || kind == "" {
			return nil, 0, fmt.Errorf("%q: want kind=count, e.g. http=128", pair)
		}
		if kind != "match" && !slices.Contains(router.ActionKinds(), kind) {
			return nil, 0, fmt.Errorf("%q: the kinds are %s and match", kind, strings.Join(router.ActionKinds(), ", "))
		}
		if seen[kind] {
			return nil, 0, fmt.Errorf("%s given twice", kind)
		}
		seen[kind] = true
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 1 || n > maxWorkers {
			return nil, 0, fmt.Errorf("%s=%s: the count must be a whole number from 1 to %d", kind, count, maxWorkers)
		}
		if kind == "match" {
			match = n
		} else {
			out[kind] = n
		}
	}
	return out, match, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func serveRun(ctx context.Context, log *slog.Logger, o serveOptions) error {
	// Read the rules once before opening the queue, for its settings and to
	// fail fast on an invalid file.
	f, err := rules.Load(o.rules, nil)
	if err != nil {
		return err
	}
	qo := router.QueueOptions(f.Queue)
	qo.URL, qo.DataDir, qo.Logger = o.nats, o.data, log.With("component", "queue")
	if o.natsCreds != "" {
		qo.NATSOptions = append(qo.NATSOptions, nats.UserCredentials(o.natsCreds))
	}
	if o.natsCA != "" {
		qo.NATSOptions = append(qo.NATSOptions, nats.RootCAs(o.natsCA))
	}
	if (o.natsCert == "") != (o.natsKey == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	if o.natsCert != "" {
		qo.NATSOptions = append(qo.NATSOptions, nats.ClientCert(o.natsCert, o.natsKey))
	}
	openCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	q, err := queue.Open(openCtx, qo)
	cancel()
	if err != nil {
		return err
	}
	defer q.Close()

	r, err := router.New(router.Options{
		RulesPath: o.rules, Rules: f, Queue: q, Logger: log, AdminToken: o.adminToken,
		Workers: o.workers, MatchWorkers: o.matchWorkers,
	})
	if err != nil {
		return err
	}

	pub := r.PublicServer(router.PublicLimits{
		MaxInFlight: o.maxInFlight, MaxInFlightPerAddress: o.maxInFlightPerAddress, ReadHeaderTimeout: o.readHeaderTimeout,
	}, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	adm := &http.Server{
		Handler:           r.AdminHandler(),
		ReadHeaderTimeout: o.readHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	pl, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.listen, err)
	}
	al, err := net.Listen("tcp", o.admin)
	if err != nil {
		pl.Close()
		return fmt.Errorf("admin listen %s: %w", o.admin, err)
	}
	if host, _, _ := net.SplitHostPort(al.Addr().String()); !net.ParseIP(host).IsLoopback() && o.adminToken.IsZero() {
		log.Warn("the admin listener is not on loopback and has no --admin-token: anyone who reaches it can read events, replay deliveries and reload rules", "addr", al.Addr().String())
	}

	// SIGHUP is caught before the pid is logged: a reload signalled as
	// soon as the start line appears must not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(runCtx) }()
	srvErr := make(chan error, 2)
	go func() { srvErr <- pub.Serve(pl) }()
	go func() { srvErr <- adm.Serve(al) }()
	// The pid is what `kill -HUP` (reload) and `kill -TERM` (stop) need:
	// under `go run` the process that got the signal is go, not this one.
	log.Info("switchyard serving", "version", version(), "pid", os.Getpid(), "listen", pl.Addr().String(), "admin", al.Addr().String(),
		"rules", o.rules, "store", storeName(o), "rule_count", len(r.Config().File.Rules))

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping: draining requests and deliveries in flight")
			break loop
		case <-hup:
			_ = r.Reload() // logged by Reload; the running rules stay on error
		case err := <-srvErr:
			if !errors.Is(err, http.ErrServerClosed) {
				serveErr = err
				break loop
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	_ = pub.Shutdown(sctx)
	_ = adm.Shutdown(sctx)
	stopRun()
	select {
	case err := <-runDone:
		if err != nil && serveErr == nil {
			serveErr = err
		}
	case <-sctx.Done():
		log.Warn("drain timed out; unfinished deliveries will be retried on the next start")
	}
	if serveErr == nil {
		log.Info("stopped")
	}
	return serveErr
}

func storeName(o serveOptions) string {
	if o.nats != "" {
		return "nats " + o.nats
	}
	return "embedded " + o.data
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
