package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/switchyard/switchyard/internal/smtptest"
	"github.com/switchyard/switchyard/sources"
)

// binDir holds the binaries the tests build (switchyard, nats-server),
// about 60 MB; TestMain makes it and removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// buildBinary builds switchyard once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "switchyard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// sinks are the real receivers an end-to-end run delivers to.
type sinks struct {
	slack *slacktest.Server
	http  *recorder
	smtp  *smtptest.Server

	mu    sync.Mutex
	posts []url.Values // chat.postMessage forms
}

func (s *sinks) slackPosts() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.posts...)
}

func startSinks(t *testing.T) *sinks {
	t.Helper()
	s := &sinks{http: newRecorder(t), smtp: smtptest.Start(t, nil)}
	s.slack = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.mu.Lock()
			s.posts = append(s.posts, r.PostForm)
			n := len(s.posts)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, r.PostForm.Get("channel"), n)
		})
	})
	s.slack.Start()
	t.Cleanup(s.slack.Stop)
	return s
}

// recorder is an httptest sink that records every request it receives.
type recorder struct {
	url  string
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	srv := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		rec.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	rec.url = srv
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// proc is a running switchyard serve.
type proc struct {
	cmd    *exec.Cmd
	public string // http://host:port
	admin  string
	logs   *logBuffer
	done   chan error
	// exited is closed once the process has exited, whether or not a
	// test took its status from done.
	exited chan struct{}
}

type logBuffer struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
}

func (b *logBuffer) add(line []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.raw.Write(line)
	b.raw.WriteByte('\n')
	var m map[string]any
	if json.Unmarshal(line, &m) == nil {
		b.lines = append(b.lines, m)
	}
}

func (b *logBuffer) find(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range b.lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.raw.String()
}

// startServe starts `switchyard serve` on loopback ports chosen by the
// kernel, waits until it serves, and kills it when the test ends (if it is
// still running). extra flags are appended to the command line.
func startServe(t *testing.T, bin, rulesPath, dataDir string, env []string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--rules", rulesPath, "--data", dataDir,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-format", "json"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &logBuffer{}, done: make(chan error, 1), exited: make(chan struct{})}
	started := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.logs.add(sc.Bytes())
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "switchyard serving" {
				started <- m
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		close(p.exited)
		p.done <- err
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("switchyard log:\n%s", p.logs)
		}
	})
	select {
	case m := <-started:
		p.public = "http://" + m["listen"].(string)
		p.admin = "http://" + m["admin"].(string)
	case err := <-p.done:
		t.Fatalf("switchyard exited at start: %v\n%s", err, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("switchyard did not start\n%s", p.logs)
	}
	return p
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// post sends a webhook and returns the status and decoded JSON answer.
func post(t *testing.T, rawURL, contentType string, header http.Header, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed returns the URL, headers and body a vendor would send.
func signed(t *testing.T, public string, cfg sources.Config, body []byte) (string, http.Header, []byte) {
	t.Helper()
	s, err := sources.Sign(cfg, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u := public + "/hooks/" + cfg.Name
	if len(s.Query) > 0 {
		u += "?" + s.Query.Encode()
	}
	return u, s.Header, s.Body
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newHTTPTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
