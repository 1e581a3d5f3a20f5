package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// Canary secrets: each must never appear in a log line, an answer, a page
// or a command's output. They share no long substring with each other or
// with anything else the test sends.
const (
	canaryPL    = "cnry-pl-Q7v2Lm8xRk3T"
	canarySP    = "cnry-sp-Z3k8Wd1qYf6N"
	canaryLB    = "cnry-lb-N4p6Rx9sGh2V"   // from a *_file
	canaryCRM   = "cnry-crm-H2j9Ts5wLb7C"  // in an http action's URL query
	canaryAuth  = "cnry-auth-V5c1Yq3nMd8F" // in an http action's header
	canarySlack = "xoxb-cnry-K8m3Pa6tJv4Z"
	canaryAdmin = "cnry-adm-B6t4Ge2pXc9H"
)

var canaries = []string{canaryPL, canarySP, canaryLB, canaryCRM, canaryAuth, canarySlack, canaryAdmin}

const secretsRules = `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
  sleekplan: { vendor: sleekplan, key: "${SP_KEY}" }
  leanbe: { vendor: leanbe, secret_file: lb.secret }
slack:
  token: ${SLACK_TOKEN}
  api_url: ${SLACK_API}
rules:
  - name: vote-to-crm
    when: event == "vote.created"
    actions:
      - http:
          url: "${SINK}/crm/votes?token=${CRM_TOKEN}&post={{ .data.post.id }}"
          headers: { Authorization: "Bearer ${CRM_AUTH}", X-Post: "{{ .data.post.title }}" }
          json: { voter: "{{ .data.vote.voter.name }}" }
      - slack: { channel: "#votes", text: "vote by {{ .data.vote.voter.name }}" }
  - name: items
    source: sleekplan
    actions:
      - slack: { channel: "#items", text: "item {{ .data.title }}" }
`

// collector gathers every text the test sees from the process.
type collector struct {
	mu    sync.Mutex
	texts []string
	names []string
}

func (c *collector) add(what, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names = append(c.names, what)
	c.texts = append(c.texts, text)
}

// check fails for every canary, or an 8-character piece of its random
// tail, found in what was collected.
func (c *collector) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, text := range c.texts {
		for _, canary := range canaries {
			// Each canary ends in 12 random characters: any 8 of them in a
			// row is a leak (a truncated or partly redacted secret).
			tail := canary[len(canary)-12:]
			for j := 0; j+8 <= len(tail); j += 2 {
				piece := tail[j : j+8]
				if k := strings.Index(text, piece); k >= 0 {
					lo, hi := max(0, k-80), min(len(text), k+80)
					t.Errorf("%s shows (part of) a secret %q: ...%s...", c.names[i], piece, text[lo:hi])
					break
				}
			}
			if strings.Contains(text, canary) {
				t.Errorf("%s shows a secret in full", c.names[i])
			}
		}
	}
}

// TestSecretsNeverShow loads a rules file whose secrets are canaries (from
// the environment and a secret file), drives every path — accepted and
// refused requests, a delivery that fails until it is a dead letter with
// the secret in its URL and header, the dry run, check, a failed reload,
// the admin API, metrics and dashboard, the dead-letters command — and
// asserts that no canary appears in any log line, answer, page or output.
func TestSecretsNeverShow(t *testing.T) {
	bin := buildBinary(t)
	s := startSinks(t)
	col := &collector{}

	// The receiver fails the first attempt with 500 (retried), then
	// refuses with 400 (permanent): the delivery becomes a dead letter.
	var mu sync.Mutex
	attempts := 0
	crm := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		n := attempts
		mu.Unlock()
		if n == 1 {
			http.Error(w, "temporarily down", http.StatusInternalServerError)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
	}))

	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(secretsRules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lb.secret"), []byte(canaryLB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PL_SECRET=" + canaryPL, "SP_KEY=" + canarySP, "CRM_TOKEN=" + canaryCRM, "CRM_AUTH=" + canaryAuth,
		"SLACK_TOKEN=" + canarySlack, "SLACK_API=" + s.slack.GetAPIURL(), "SINK=" + crm,
		"SWITCHYARD_ADMIN_TOKEN=" + canaryAdmin}
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), env, "--log-level", "debug")

	do := func(what, method, u string, header http.Header, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hs strings.Builder
		_ = resp.Header.Write(&hs)
		col.add(what, hs.String()+"\n"+string(b))
		return resp.StatusCode, string(b)
	}
	admin := http.Header{"Authorization": {"Bearer " + canaryAdmin}}
	api := func(what, method, path string, body []byte) (int, string) {
		t.Helper()
		h := admin.Clone()
		if body != nil {
			h.Set("Content-Type", "application/json")
		}
		return do(what, method, p.admin+path, h, body)
	}

	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(canaryPL)}
	sp := sources.Config{Name: "sleekplan", Vendor: "sleekplan", Key: secret.Secret(canarySP)}
	lb := sources.Config{Name: "leanbe", Vendor: "leanbe", Secret: secret.Secret(canaryLB)}
	vote := readFixture(t, "productlift/vote.created.json")
	item := readFixture(t, "sleekplan/item.create.json")
	idea := readFixture(t, "leanbe/idea.created.json")

	// Accepted requests.
	for _, tc := range []struct {
		cfg  sources.Config
		body []byte
	}{{pl, vote}, {sp, item}, {lb, idea}} {
		u, h, b := signed(t, p.public, tc.cfg, tc.body)
		if code, _ := do("accept "+tc.cfg.Name, "POST", u, h, b); code != http.StatusAccepted {
			t.Fatalf("accept %s: %d", tc.cfg.Name, code)
		}
	}
	// Refused requests: forged, misplaced and partial credentials.
	u, h, b := signed(t, p.public, pl, vote)
	forged := h.Clone()
	forged.Set("Signature", strings.Repeat("1", 64))
	spURL, spH, spB := signed(t, p.public, sp, item)
	for _, tc := range []struct {
		what   string
		url    string
		header http.Header
		body   []byte
		want   int
	}{
		{"forged signature", u, forged, b, 401},
		{"signature for another body", u, h, append(bytes.Clone(b), '\n'), 401},
		{"wrong key", p.public + "/hooks/sleekplan?key=" + canarySP[:len(canarySP)-1], spH, spB, 401},
		{"key twice", spURL + "&key=x", spH, spB, 401},
		{"malformed body", spURL, spH, []byte(`{"action":`), 400},
		{"unknown source", p.public + "/hooks/nope", spH, spB, 404},
		{"admin without token", p.admin + "/api/rules", nil, nil, 401},
		{"admin with a wrong token", p.admin + "/api/rules", http.Header{"Authorization": {"Bearer " + canaryAdmin[:len(canaryAdmin)-2]}}, nil, 401},
	} {
		method := "POST"
		if strings.HasPrefix(tc.url, p.admin) {
			method = "GET"
		}
		if code, _ := do(tc.what, method, tc.url, tc.header, tc.body); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, code, tc.want)
		}
	}

	// The vote's http action fails (500, then 400) and becomes a dead letter.
	waitFor(t, "the vote's dead letter", 90*time.Second, func() bool {
		_, body := api("poll dead letters", "GET", "/api/dead-letters", nil)
		return strings.Contains(body, `"vote-to-crm"`)
	})
	waitFor(t, "the slack posts", 30*time.Second, func() bool { return len(s.slackPosts()) >= 2 })

	// The admin API, metrics and the dashboard.
	for _, path := range []string{"/api/dead-letters", "/api/dead-letters/1", "/api/deliveries", "/api/deliveries?outcome=dead",
		"/api/events", "/api/events/1", "/api/events/2", "/api/rules", "/metrics", "/", "/healthz", "/readyz"} {
		api("GET "+path, "GET", path, nil)
	}
	_, dl := api("GET /api/dead-letters", "GET", "/api/dead-letters", nil)
	if !strings.Contains(dl, "${CRM_TOKEN}") && !strings.Contains(dl, "<secret>") {
		t.Errorf("the dead letter's rendering does not show the secret as ${CRM_TOKEN} or <secret>: %.500s", dl)
	}
	sig := h.Get("Signature")
	api("POST /api/test", "POST", "/api/test", []byte(fmt.Sprintf(
		`{"source":"productlift","headers":{"Signature":%q},"payload":%s}`, sig, vote)))
	// The payload as a string holds the exact signed bytes; as a JSON
	// value it is re-encoded and no longer matches the signature.
	code, body := api("POST /api/test (string payload)", "POST", "/api/test", []byte(fmt.Sprintf(
		`{"source":"productlift","headers":{"Signature":%q},"payload":%q}`, sig, vote)))
	if code != http.StatusOK || !strings.Contains(body, `"verified":true`) {
		t.Errorf("POST /api/test with the signed bytes: %d %.300s", code, body)
	}
	api("POST /api/test unsigned", "POST", "/api/test", []byte(fmt.Sprintf(
		`{"source":"productlift","headers":{"Signature":"00"},"payload":%s}`, vote)))
	api("POST /api/test with key", "POST", "/api/test", []byte(fmt.Sprintf(
		`{"source":"sleekplan","query":"key=%s","payload":%s}`, canarySP, item)))

	// The commands: dry run (text and JSON, verified and not), check, and
	// the dead-letters client.
	payload := filepath.Join(dir, "vote.json")
	if err := os.WriteFile(payload, vote, 0o600); err != nil {
		t.Fatal(err)
	}
	itemPayload := filepath.Join(dir, "item.json")
	if err := os.WriteFile(itemPayload, item, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput() // exit status varies; the output is what matters
		col.add(what, string(out))
		return string(out)
	}
	out := run("switchyard test", "test", "--rules", rulesPath, "--source", "productlift", "--header", "Signature: "+sig, payload)
	if !strings.Contains(out, "vote-to-crm") {
		t.Errorf("dry run does not show the rule:\n%s", out)
	}
	run("switchyard test --json", "test", "--json", "--rules", rulesPath, "--source", "productlift", "--header", "Signature: "+sig, payload)
	run("switchyard test unverified", "test", "--rules", rulesPath, "--source", "productlift", "--header", "Signature: 00", payload)
	run("switchyard test with key", "test", "--rules", rulesPath, "--source", "sleekplan", "--query", "key="+canarySP, itemPayload)
	run("switchyard check", "check", rulesPath)
	run("switchyard dead-letters list", "dead-letters", "list", "--admin", p.admin)
	run("switchyard dead-letters list --json", "dead-letters", "list", "--json", "--admin", p.admin)

	// A reload that fails: a syntax error inside a value from the
	// environment, and an unknown key next to a secret.
	bad := strings.Replace(secretsRules, `when: event == "vote.created"`, `when: event == "${CRM_TOKEN}" &&`, 1)
	bad = strings.Replace(bad, `secret: "${PL_SECRET}" }`, `secret: "${PL_SECRET}", sekret: "${PL_SECRET}" }`, 1)
	if err := os.WriteFile(rulesPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body = api("POST /-/reload (bad)", "POST", "/-/reload", nil)
	if code != http.StatusInternalServerError {
		t.Errorf("bad reload: %d %s, want 500", code, body)
	}
	p.signal(t, syscall.SIGHUP)
	run("switchyard check (bad)", "check", rulesPath)
	run("switchyard test (bad rules)", "test", "--rules", rulesPath, "--source", "productlift", "--header", "Signature: "+sig, payload)
	api("GET /api/rules after a bad reload", "GET", "/api/rules", nil)
	api("GET /metrics after a bad reload", "GET", "/metrics", nil)
	waitFor(t, "the SIGHUP reload's log line", 30*time.Second, func() bool {
		return strings.Count(p.logs.String(), "reload") >= 2
	})

	// Stop the process so its last log lines are in.
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("switchyard did not stop")
	}
	col.add("the log", p.logs.String())
	if !strings.Contains(p.logs.String(), "dead") {
		t.Errorf("the log does not mention the dead letter; was the failure path driven?")
	}
	col.check(t)
	if t.Failed() {
		for i, name := range col.names {
			t.Logf("collected %s: %.300q", name, col.texts[i])
		}
	}
}
