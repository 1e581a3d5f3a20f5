package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/bench"
)

// benchCmd is `switchyard bench`: the load harness of internal/bench, with
// flags. It prints the figures on stdout and its progress on stderr.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newCommand("bench", `usage: switchyard bench [--rules FILE --source NAME] [flags]
Runs the router in-process on a temporary data dir with an HTTP sink, loads it over loopback,
and prints its figures next to a bare net/http handler's, measured in the same run.
`, stdout, stderr)
	rulesPath := fs.String("rules", "", "your rules file (only http actions; all are sent to the in-process sink); default: a generated file")
	source := fs.String("source", "", "with --rules: the source to post to (default: the file's only source)")
	vendor := fs.String("vendor", "productlift", "without --rules: the vendor of the load's events: "+strings.Join(bench.Vendors(), ", "))
	rulesCount := fs.Int("rules-count", 1000, "without --rules: rules in the generated file, keyed on distinct event literals and sources (plus one rule to the sink)")
	reloadRules := fs.Int("reload-rules", 10000, "without --rules: rules in the file swapped in by the reload phase; also the matching figure's larger set")
	conns := fs.Int("connections", 32, "concurrent keep-alive connections")
	duration := fs.Duration("duration", 3*time.Second, "length of each load phase")
	syncMode := fs.String("sync", "1s", "store fsync: always (every write) or an interval")
	rate := fs.Float64("rate", 0, "requests/s of the end-to-end and reload phases (default: half the ack path's rate measured alone)")
	workers := fs.Int("http-workers", 0, "concurrent http deliveries (default: the router's)")
	drain := fs.Duration("drain-timeout", 60*time.Second, "longest wait for the deliveries of acknowledged events")
	logLevel := fs.String("log-level", "info", "level of the router's text log, formatted as serve does and discarded")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load rounds (bare, store alone, ack path alone) through the half-rate phase to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file")
	rest, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return fs.fail("unexpected arguments %q", rest)
	}
	if *conns <= 0 || *duration <= 0 || *rulesCount <= 0 || *reloadRules <= 0 {
		return fs.fail("--connections, --duration, --rules-count and --reload-rules must be positive")
	}
	cfg := bench.Config{
		RulesPath: *rulesPath, Source: *source, Vendor: *vendor, Rules: *rulesCount, ReloadRules: *reloadRules,
		Connections: *conns, Duration: *duration, HTTPWorkers: *workers, Rate: *rate, DrainTimeout: *drain, Progress: stderr,
	}
	if *syncMode == "always" {
		cfg.SyncAlways = true
	} else if d, err := time.ParseDuration(*syncMode); err == nil && d > 0 {
		cfg.SyncInterval = d
	} else {
		fmt.Fprintf(stderr, "switchyard bench: --sync %q: want always or a positive duration such as 1s\n", *syncMode)
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "switchyard bench: --log-level %q: %v\n", *logLevel, err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: lv}))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "switchyard bench:", err)
			return 1
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	if *rulesPath == "" {
		// The memory a user's process takes: this binary as `serve`.
		if exe, err := os.Executable(); err == nil {
			cfg.ServeBinary = exe
		}
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard bench:", err)
		return 1
	}
	res.Print(stdout)
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "switchyard bench:", err)
			return 1
		}
	}
	return 0
}
