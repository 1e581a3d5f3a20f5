package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/tmpfstest"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// storeRules is a rules file with one source and one rule whose receiver
// is never reached (nothing listens on port 9 of loopback).
const storeRules = `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: crm
    when: event == "vote.created"
    actions:
      - http: { url: "http://127.0.0.1:9/votes", json: { id: "{{ .id }}" } }
`

func writeStoreRules(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(storeRules), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// An unusable --data makes serve exit 1 at once, naming the path and the
// operating system's reason (it waited 30 s and said "embedded server did
// not start within 30s").
func TestServeUnusableDataDir(t *testing.T) {
	bin := buildBinary(t)
	rulesPath := writeStoreRules(t)
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, reason string
	}{
		{"a regular file", file, "not a directory"},
		{"on a read-only file system", "", "read-only file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(tmpfstest.Mount(t, 1<<20, true), "data")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--rules", rulesPath, "--data", dir,
				"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), "PL_SECRET=s")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("serve ended with %v, want exit status 1\n%s", err, out)
			}
			if took > 2*time.Second {
				t.Errorf("serve took %s to give up, want under 2s", took.Round(time.Millisecond))
			}
			if !strings.Contains(string(out), dir) || !strings.Contains(string(out), tc.reason) {
				t.Errorf("the error does not name %s and %q:\n%s", dir, tc.reason, out)
			}
		})
	}
}

// With its disk full, serve answers a webhook 503 with Retry-After at once
// (each waited 15 s), and accepts again within seconds of space being
// freed, without a restart (it never did).
func TestServeStoreFull(t *testing.T) {
	bin := buildBinary(t)
	data := tmpfstest.Mount(t, 16<<20, false)
	p := startServe(t, bin, writeStoreRules(t), data, []string{"PL_SECRET=full-secret"})
	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret("full-secret")}
	vote := readFixture(t, "productlift/vote.created.json")
	n := 0
	send := func() (int, http.Header, time.Duration) {
		t.Helper()
		n++
		u, h, b := signed(t, p.public, pl, []byte(strings.Replace(string(vote), "vg3EGg2wcHgd8nMl", "full-"+time.Now().Format("150405.000000000"), 1)))
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header, time.Since(start)
	}
	if code, _, _ := send(); code != http.StatusAccepted {
		t.Fatalf("before the disk filled: %d", code)
	}
	filler := tmpfstest.Fill(t, data, "other-program.log", 100<<10)
	var (
		code  int
		hdr   http.Header
		took  time.Duration
		start = time.Now()
	)
	for {
		if code, hdr, took = send(); code != http.StatusAccepted {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("still accepting webhooks 10s after the disk filled")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("on a full disk: %d, Retry-After %q; want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
	if took > time.Second {
		t.Errorf("the 503 took %s, want it at once", took)
	}
	t.Logf("on a full disk: %d with Retry-After %s in %s", code, hdr.Get("Retry-After"), took.Round(time.Microsecond))
	ready := func() int {
		resp, err := http.Get(p.admin + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d, want 503", code)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for {
		if code, _, _ = send(); code == http.StatusAccepted {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("still %d 30s after space was freed", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("accepted again %s after space was freed", time.Since(start).Round(time.Millisecond))
	if code := ready(); code != http.StatusOK {
		t.Errorf("/readyz once space was freed: %d, want 200", code)
	}
}

// The start line carries the server's pid, which a user of `go run` needs
// to signal it: a SIGHUP sent to that pid reloads the rules.
func TestServeLogsItsPid(t *testing.T) {
	bin := buildBinary(t)
	p := startServe(t, bin, writeStoreRules(t), filepath.Join(t.TempDir(), "data"), []string{"PL_SECRET=s"})
	lines := p.logs.find("switchyard serving")
	if len(lines) != 1 {
		t.Fatalf("%d start lines", len(lines))
	}
	pid, ok := lines[0]["pid"].(float64)
	if !ok || int(pid) != p.cmd.Process.Pid {
		t.Fatalf("start line pid %v, want %d", lines[0]["pid"], p.cmd.Process.Pid)
	}
	if err := syscall.Kill(int(pid), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", 10*time.Second, func() bool { return len(p.logs.find("rules reloaded")) == 1 })
}
