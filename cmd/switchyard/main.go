// Command switchyard receives product-feedback webhooks, verifies them,
// matches them against rules and delivers the matching actions durably.
//
//	switchyard serve --rules FILE [--listen :8080] [--admin-listen 127.0.0.1:8081] [--data ./data] [--nats URL]
//	switchyard check FILE...
//	switchyard test --rules FILE --source NAME [--header 'K: V']... [--query 'k=v'] PAYLOAD.json
//	switchyard sign --rules FILE --source NAME [--url URL] PAYLOAD
//	switchyard dead-letters list|replay|drop [--admin URL] [SEQ...]
//	switchyard preview [--since 24h | --last 1000] RULES.yaml
//	switchyard mute add|list|expire
//	switchyard events replay --since 1h [--rule R]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"

	"github.com/switchyard/switchyard/router"
	"syscall"
)

const usage = `usage:
  switchyard serve --rules FILE [--listen :8080] [--admin-listen 127.0.0.1:8081] [--data ./data] [--nats URL]
  switchyard check FILE...
  switchyard test --rules FILE --source NAME [--header 'K: V']... [--query 'k=v'] [--json] PAYLOAD.json
  switchyard sign --rules FILE --source NAME [--url URL] [--header 'K: V']... [--out FILE] PAYLOAD.json
  switchyard dead-letters list|replay|drop [--admin URL] [--rule R] [--kind K] [--since 1h] [SEQ...]
  switchyard preview [--since 24h | --last 1000] [--admin URL] RULES.yaml
  switchyard mute add --rule R --for 2h --comment TEXT [--when COND] | mute list | mute expire ID...
  switchyard events replay --since 1h [--rule R]
  switchyard bench [--rules FILE] [--rules-count N] [--connections N] [--duration D]
  switchyard version
Run 'switchyard COMMAND --help' (or 'switchyard help COMMAND') for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command line, with signals already turned into ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "test":
		return dryRun(args[1:], stdout, stderr)
	case "sign":
		return signCmd(args[1:], stdout, stderr)
	case "dead-letters":
		return deadLetters(ctx, args[1:], stdout, stderr)
	case "preview":
		return previewCmd(ctx, args[1:], stdout, stderr)
	case "mute":
		return muteCmd(ctx, args[1:], stdout, stderr)
	case "events":
		return eventsCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version())
		return 0
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n%s", args[0], usage)
	return 2
}

func version() string {
	v, rev := router.BuildVersion()
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return fmt.Sprintf("switchyard %s (%s, %s)", v, rev, runtime.Version())
	}
	return fmt.Sprintf("switchyard %s (%s)", v, runtime.Version())
}
