// Package deploy_test checks the deployment examples against the real
// binary: the Dockerfile's build command is run as written and must give a
// static binary, every flag in the Dockerfile's ENTRYPOINT and the unit's
// ExecStart must be a flag of switchyard serve, and each command line is
// run with its reload and stop signals. No Docker engine or systemd is
// needed.
package deploy_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const repoRoot = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []instruction
		cur  strings.Builder
		from int
	)
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			from = i + 1
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: from})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends in a continuation line")
	}
	return out
}

// finalStage is the instructions after the last FROM.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		t.Fatalf("Dockerfile:%d: %s is not in exec form (a JSON array), so signals would go to a shell: %v", in.line, in.cmd, err)
	}
	return argv
}

// unit is a systemd unit: section -> key -> values in order.
type unit map[string]map[string][]string

func readUnit(t *testing.T) unit {
	t.Helper()
	data, err := os.ReadFile("switchyard.service")
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" || strings.HasSuffix(l, `\`) {
				t.Fatalf("switchyard.service:%d: cannot read %q", i+1, l)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// one is the single value of key in section.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs := u[section][key]
	if len(vs) != 1 {
		t.Fatalf("[%s] %s is set %d times, want once", section, key, len(vs))
	}
	return vs[0]
}

// words splits a command line on blanks, honouring double quotes (enough
// for the lines in these files).
func words(s string) []string {
	var (
		out  []string
		cur  strings.Builder
		inQ  bool
		have bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// flagValue is the value of --name in argv ("" when absent).
func flagValue(argv []string, name string) string {
	for i, a := range argv {
		a = strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(a, "="); ok && k == name {
			return v
		}
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

// buildCommand is the Dockerfile's go build, as environment and argv.
func buildCommand(t *testing.T) (env, argv []string) {
	t.Helper()
	for _, in := range readDockerfile(t) {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		for _, part := range strings.Split(in.args, "&&") {
			w := words(part)
			i := slices.Index(w, "go")
			if i < 0 || i+1 >= len(w) || w[i+1] != "build" {
				continue
			}
			for _, x := range w[:i] {
				if strings.HasPrefix(x, "--mount=") {
					continue
				}
				if !strings.Contains(x, "=") {
					t.Fatalf("Dockerfile:%d: unexpected %q before go build", in.line, x)
				}
				env = append(env, x)
			}
			return env, w[i:]
		}
	}
	t.Fatal("Dockerfile: no RUN with go build")
	return nil, nil
}

// build runs the Dockerfile's go build once (into a temporary directory)
// and the binary's own checks that follow it in the same RUN.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "switchyard-deploy-")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "switchyard"), nil
})

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	env, argv := buildCommand(t)
	if o := slices.Index(argv, "-o"); o < 0 || o+1 >= len(argv) {
		t.Fatalf("go build has no -o: %v", argv)
	} else {
		argv[o+1] = bin
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(env, " "), strings.Join(argv, " "), err, out)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := build(); err == nil {
		_ = os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// serveFlags are the flags of switchyard serve with their defaults, read
// from its own help.
func serveFlags(t *testing.T, bin string) map[string]string {
	t.Helper()
	var help bytes.Buffer
	cmd := exec.Command(bin, "serve", "-h")
	cmd.Stdout = &help
	if err := cmd.Run(); err != nil {
		t.Fatalf("serve -h: %v\n%s", err, help.String())
	}
	flags := map[string]string{}
	re := regexp.MustCompile(`^\s+-([a-z0-9-]+)`)
	def := regexp.MustCompile(`\(default "?([^")]*)"?\)`)
	var last string
	for _, l := range strings.Split(help.String(), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			last = m[1]
			flags[last] = ""
		}
		if m := def.FindStringSubmatch(l); m != nil && last != "" {
			flags[last] = m[1]
		}
	}
	for _, want := range []string{"rules", "data", "listen", "admin-listen", "drain-timeout"} {
		if _, ok := flags[want]; !ok {
			t.Fatalf("serve -h does not list -%s:\n%s", want, help.String())
		}
	}
	return flags
}

func checkFlags(t *testing.T, where string, argv []string, flags map[string]string) {
	t.Helper()
	if len(argv) < 2 || argv[1] != "serve" {
		t.Fatalf("%s: %v does not run switchyard serve", where, argv)
	}
	for _, a := range argv[2:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := flags[name]; !ok {
			t.Errorf("%s: %s is not a flag of switchyard serve", where, a)
		}
	}
	for _, required := range []string{"rules", "data"} {
		if flagValue(argv[2:], required) == "" {
			t.Errorf("%s: no --%s", where, required)
		}
	}
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	final := finalStage(ins)

	t.Run("go version is go.mod's", func(t *testing.T) {
		mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
		if m == nil {
			t.Fatal("no go directive in go.mod")
		}
		want := "ARG GO_VERSION=" + string(m[1])
		if !slices.ContainsFunc(ins, func(in instruction) bool { return in.cmd+" "+in.args == want }) {
			t.Errorf("want %q (go.mod says go %s)", want, m[1])
		}
		if ins[1].cmd != "FROM" || !strings.HasPrefix(ins[1].args, "golang:${GO_VERSION} ") {
			t.Errorf("the build stage is %s %s, want FROM golang:${GO_VERSION}", ins[1].cmd, ins[1].args)
		}
	})
	t.Run("static build", func(t *testing.T) {
		env, argv := buildCommand(t)
		if !slices.Contains(env, "CGO_ENABLED=0") {
			t.Errorf("go build without CGO_ENABLED=0: %v", env)
		}
		if !slices.Contains(argv, "-trimpath") {
			t.Errorf("go build without -trimpath: %v", argv)
		}
		if flagValue(argv, "ldflags") != "-s -w" {
			t.Errorf(`go build without -ldflags "-s -w": %v`, argv)
		}
	})
	t.Run("final stage", func(t *testing.T) {
		base := final[0].args
		if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
			t.Errorf("final stage FROM %s, want distroless/static or scratch", base)
		}
		var user, volume string
		var entry []string
		for _, in := range final {
			switch in.cmd {
			case "USER":
				user = in.args
			case "VOLUME":
				volume = in.args
			case "ENTRYPOINT":
				entry = execForm(t, in)
			}
		}
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
			t.Errorf("USER %q: the final stage must run as a non-root user", user)
		}
		if volume != "/data" {
			t.Errorf("VOLUME %q, want /data", volume)
		}
		if len(entry) < 2 {
			t.Fatalf("ENTRYPOINT %v", entry)
		}
		if got := flagValue(entry[2:], "data"); got != volume {
			t.Errorf("ENTRYPOINT --data %q, want the volume %q", got, volume)
		}
		copied := map[string]bool{}
		for _, in := range final {
			if in.cmd == "COPY" {
				w := words(in.args)
				copied[w[len(w)-1]] = true
			}
		}
		for _, path := range []string{entry[0], flagValue(entry[2:], "rules")} {
			if !copied[path] {
				t.Errorf("ENTRYPOINT uses %s but no COPY in the final stage puts it there", path)
			}
		}
		if !slices.ContainsFunc(final, func(in instruction) bool { return in.cmd == "STOPSIGNAL" && in.args == "SIGTERM" }) {
			t.Errorf("no STOPSIGNAL SIGTERM")
		}
	})
	t.Run("binary", func(t *testing.T) {
		bin := binary(t)
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("the binary needs a dynamic loader: it will not run on %s", final[0].args)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary links %v", libs)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("the binary has a symbol table: -s was not applied")
		}
		// The commands the Dockerfile runs after go build, with this binary.
		for _, in := range ins {
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			for _, part := range strings.Split(in.args, "&&") {
				w := words(part)
				if len(w) == 0 || w[0] != "/out/switchyard" {
					continue
				}
				cmd := exec.Command(bin, w[1:]...)
				cmd.Dir = repoRoot
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("Dockerfile:%d: %s: %v\n%s", in.line, strings.Join(w, " "), err, out)
				}
			}
		}
	})
	t.Run("flags", func(t *testing.T) {
		bin := binary(t)
		flags := serveFlags(t, bin)
		var entry []string
		exposed := map[string]bool{}
		for _, in := range final {
			switch in.cmd {
			case "ENTRYPOINT":
				entry = execForm(t, in)
			case "EXPOSE":
				for _, p := range strings.Fields(in.args) {
					exposed[p] = true
				}
			}
		}
		checkFlags(t, "ENTRYPOINT", entry, flags)
		for _, name := range []string{"listen", "admin-listen"} {
			addr := flags[name]
			if v := flagValue(entry[2:], name); v != "" {
				addr = v
			}
			if _, port, _ := strings.Cut(addr, ":"); !exposed[port] {
				t.Errorf("--%s is %q but EXPOSE does not list %s", name, addr, port)
			}
		}
	})
}

func TestSystemdUnit(t *testing.T) {
	u := readUnit(t)
	execStart := words(u.one(t, "Service", "ExecStart"))
	tests := []struct{ key, want string }{
		{"Type", "simple"},
		{"User", "switchyard"},
		{"EnvironmentFile", "/etc/switchyard/env"},
		{"ExecReload", "/bin/kill -HUP $MAINPID"},
		{"KillSignal", "SIGTERM"},
		{"Restart", "on-failure"},
		{"StateDirectory", "switchyard"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := u.one(t, "Service", tt.key); got != tt.want {
				t.Errorf("%s=%s, want %s", tt.key, got, tt.want)
			}
		})
	}
	t.Run("data is the state directory", func(t *testing.T) {
		data := flagValue(execStart[2:], "data")
		if want := "/var/lib/" + u.one(t, "Service", "StateDirectory"); data != want {
			t.Errorf("ExecStart --data %q, want %q (StateDirectory)", data, want)
		}
		if !slices.Contains(strings.Fields(u.one(t, "Service", "ReadWritePaths")), data) {
			t.Errorf("ReadWritePaths does not include %s", data)
		}
	})
	t.Run("installed", func(t *testing.T) {
		if got := u.one(t, "Install", "WantedBy"); got != "multi-user.target" {
			t.Errorf("WantedBy=%s", got)
		}
	})
	t.Run("flags", func(t *testing.T) {
		bin := binary(t)
		flags := serveFlags(t, bin)
		if execStart[0] != "/usr/local/bin/switchyard" {
			t.Errorf("ExecStart runs %s, want /usr/local/bin/switchyard (the README installs it there)", execStart[0])
		}
		checkFlags(t, "ExecStart", execStart, flags)
		drain := flags["drain-timeout"]
		if v := flagValue(execStart[2:], "drain-timeout"); v != "" {
			drain = v
		}
		d, err := time.ParseDuration(drain)
		if err != nil {
			t.Fatalf("drain timeout %q: %v", drain, err)
		}
		stop, err := time.ParseDuration(u.one(t, "Service", "TimeoutStopSec"))
		if err != nil {
			t.Fatalf("TimeoutStopSec: %v", err)
		}
		if stop <= d {
			t.Errorf("TimeoutStopSec=%s is not longer than the drain timeout %s: systemd would kill a draining switchyard", stop, d)
		}
	})
}

// TestCommandLines runs the Dockerfile's ENTRYPOINT and the unit's
// ExecStart as written (paths moved into a temporary directory, listeners
// on free loopback ports), reloads as each documents (the unit's
// ExecReload line itself, with $MAINPID), and stops with its signal.
func TestCommandLines(t *testing.T) {
	u := readUnit(t)
	var entry []string
	for _, in := range finalStage(readDockerfile(t)) {
		if in.cmd == "ENTRYPOINT" {
			entry = execForm(t, in)
		}
	}
	unitStop, err := time.ParseDuration(u.one(t, "Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		argv   []string
		reload func(t *testing.T, pid int)
		stop   time.Duration
	}{
		{"Dockerfile ENTRYPOINT", entry, func(t *testing.T, pid int) {
			// docker kill --signal=HUP, as the README says.
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}, 45 * time.Second},
		{"systemd ExecStart", words(u.one(t, "Service", "ExecStart")), func(t *testing.T, pid int) {
			line := strings.ReplaceAll(u.one(t, "Service", "ExecReload"), "$MAINPID", strconv.Itoa(pid))
			w := words(line)
			if out, err := exec.Command(w[0], w[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("ExecReload %s: %v\n%s", line, err, out)
			}
		}, unitStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := binary(t)
			dir := t.TempDir()
			rulesPath := filepath.Join(dir, "rules.yaml")
			example, err := os.ReadFile(filepath.Join(repoRoot, "rules.example.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(rulesPath, example, 0o600); err != nil {
				t.Fatal(err)
			}
			argv := slices.Clone(tt.argv)
			for i := range argv {
				switch {
				case i == 0:
					argv[i] = bin
				case i > 0 && argv[i-1] == "--rules":
					argv[i] = rulesPath
				case i > 0 && argv[i-1] == "--data":
					argv[i] = filepath.Join(dir, "data")
				}
			}
			argv = append(argv, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-format", "json")
			p := start(t, argv)

			resp, err := http.Get(p.admin + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz: %s", resp.Status)
			}

			added := "\n  - name: added-by-reload\n    actions:\n      - http: { url: \"https://example.com/\" }\n"
			if err := os.WriteFile(rulesPath, append(example, added...), 0o600); err != nil {
				t.Fatal(err)
			}
			tt.reload(t, p.cmd.Process.Pid)
			want := p.ruleCount + 1
			p.waitLog(t, func(m map[string]any) bool { return m["msg"] == "rules reloaded" && m["rules"] == want })

			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-p.done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs())
				}
			case <-time.After(tt.stop):
				t.Fatalf("still running %s after SIGTERM: it would be killed\n%s", tt.stop, p.logs())
			}
			p.waitLog(t, func(m map[string]any) bool { return m["msg"] == "stopped" })
		})
	}
}

type proc struct {
	cmd       *exec.Cmd
	admin     string
	ruleCount float64 // at start
	done      chan error

	mu    sync.Mutex
	lines []map[string]any
	raw   []string
	added chan struct{} // signalled on each log line
	eof   chan struct{} // closed when the output ends (the process exited)
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.raw, "\n")
}

// waitLog waits for a log line that ok accepts.
func (p *proc) waitLog(t *testing.T, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		p.mu.Lock()
		found := slices.ContainsFunc(p.lines, ok)
		p.mu.Unlock()
		if found {
			return
		}
		select {
		case <-p.added:
		case <-p.eof:
			p.mu.Lock()
			found := slices.ContainsFunc(p.lines, ok)
			p.mu.Unlock()
			if !found {
				t.Fatalf("switchyard exited without the log line:\n%s", p.logs())
			}
			return
		case <-deadline:
			t.Fatalf("no such log line in 60s:\n%s", p.logs())
		}
	}
}

func start(t *testing.T, argv []string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), added: make(chan struct{}, 1), eof: make(chan struct{})}
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			_ = json.Unmarshal(sc.Bytes(), &m)
			p.mu.Lock()
			p.raw = append(p.raw, sc.Text())
			if m != nil {
				p.lines = append(p.lines, m)
			}
			p.mu.Unlock()
			select {
			case p.added <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		<-p.eof // all output read before Wait closes the pipe
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("switchyard log:\n%s", p.logs())
		}
	})
	var serving map[string]any
	p.waitLog(t, func(m map[string]any) bool {
		if m["msg"] == "switchyard serving" {
			serving = m
			return true
		}
		return false
	})
	p.admin = fmt.Sprintf("http://%s", serving["admin"])
	p.ruleCount, _ = serving["rule_count"].(float64)
	if p.ruleCount == 0 {
		t.Fatalf("no rule_count in %v", serving)
	}
	return p
}
