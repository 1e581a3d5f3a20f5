package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard/switchyard/sources"
)

// ServeMemory is the memory of a fresh `switchyard serve` with generated
// rules loaded, idle: what a user's process takes, without the harness.
type ServeMemory struct {
	Rules int           // rules in the file it loaded
	Ready time.Duration // from the start until /readyz answered 200
	Idle  time.Duration // how long it then idled
	RSS   uint64        // VmRSS after that idle time
	Peak  uint64        // VmHWM then
}

// serveMemory starts bin as `serve` on a temporary data directory with n
// generated rules (http actions with a json: body template; the actions'
// receiver is never called, as no event is sent), waits for /readyz,
// lets it idle for idle, reads its VmRSS and VmHWM, and stops it.
func serveMemory(ctx context.Context, bin string, srcs []sources.Config, n int, idle time.Duration) (ServeMemory, error) {
	m := ServeMemory{Rules: n + 1, Idle: idle}
	dir, err := os.MkdirTemp("", "switchyard-bench-serve-")
	if err != nil {
		return m, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, generateRules(srcs, n, srcs[0].Name, "http://127.0.0.1:9"), 0o600); err != nil {
		return m, fmt.Errorf("bench: %w", err)
	}
	public, err := freeAddr()
	if err != nil {
		return m, err
	}
	admin, err := freeAddr()
	if err != nil {
		return m, err
	}

	cmd := exec.Command(bin, "serve", "--rules", rulesPath, "--data", filepath.Join(dir, "data"),
		"--listen", public, "--admin-listen", admin, "--log-level", "warn")
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, fmt.Errorf("bench: start %s serve: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	defer stop()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if ready(ctx, client, "http://"+admin+"/readyz") {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			return m, fmt.Errorf("bench: %s serve exited before it was ready (%v): %s", bin, err, out.String())
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("bench: %s serve not ready after 2 minutes: %s", bin, out.String())
		}
	}
	m.Ready = time.Since(start)
	select {
	case err := <-exited:
		stopped = true
		return m, fmt.Errorf("bench: %s serve exited while idle (%v): %s", bin, err, out.String())
	case <-ctx.Done():
		return m, ctx.Err()
	case <-time.After(idle):
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err == nil { // elsewhere than Linux: no figures
		m.RSS, m.Peak = statusField(status, "VmRSS"), statusField(status, "VmHWM")
	}
	return m, nil
}

func ready(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// statusField reads a "kB" field of a /proc/PID/status in bytes; 0 when
// it is not there.
func statusField(status []byte, field string) uint64 {
	for line := range bytes.Lines(status) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// tail keeps the last 4 KiB written to it, for an error message.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 4096; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "no output"
	}
	return string(bytes.TrimSpace(t.buf))
}
