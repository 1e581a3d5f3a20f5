package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// TestDeadLettersCLI round-trips a dead letter through the CLI and the
// admin API of a running binary: a receiver that refuses a delivery makes
// a dead letter; list shows it; after the receiver is fixed, replay
// delivers it; drop removes another; the empty list says so in a sentence.
// Flags come after the arguments as often as before (replay took
// "--admin" and the URL as sequence numbers), and $SWITCHYARD_ADMIN names
// the admin listener.
func TestDeadLettersCLI(t *testing.T) {
	bin := buildBinary(t)
	var fixed atomic.Bool
	var delivered atomic.Int64
	sink := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			http.Error(w, "no such board", http.StatusUnprocessableEntity)
			return
		}
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	rulesYAML := `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: crm
    when: event == "vote.created"
    actions:
      - http: { url: "` + sink + `/votes", json: { id: "{{ .id }}" } }
        retry: { attempts: 3, initial: 10ms }
`
	if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), []string{"PL_SECRET=cli-secret", "SWITCHYARD_ADMIN_TOKEN=cli-token"})
	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret("cli-secret")}
	vote := readFixture(t, "productlift/vote.created.json")
	for _, id := range []string{"dl-1", "dl-2"} {
		u, h, b := signed(t, p.public, pl, []byte(strings.Replace(string(vote), "vg3EGg2wcHgd8nMl", id, 1)))
		if code, resp := post(t, u, "application/json", h, b); code != http.StatusAccepted {
			t.Fatalf("ingest %s: %d %v", id, code, resp)
		}
	}
	cli := func(verb string, args ...string) (string, error) {
		cmd := exec.Command(bin, append(append([]string{"dead-letters", verb}, args...), "--admin", p.admin)...)
		cmd.Env = append(os.Environ(), "SWITCHYARD_ADMIN_TOKEN=cli-token")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var listing string
	waitFor(t, "two dead letters in the listing", 30*time.Second, func() bool {
		out, err := cli("list", "--rule", "crm")
		listing = out
		return err == nil && strings.Count(out, "vote.created productlift/dl-") == 2
	})
	if !strings.Contains(listing, "422") || !strings.Contains(listing, "#1 http") {
		t.Fatalf("listing lacks the error or the action:\n%s", listing)
	}
	seqOf := func(id string) string {
		m := regexp.MustCompile(`(?m)^(\d+)\s.*productlift/` + id + `\b`).FindStringSubmatch(listing)
		if m == nil {
			t.Fatalf("no %s in listing:\n%s", id, listing)
		}
		return m[1]
	}
	fixed.Store(true)
	if out, err := cli("replay", seqOf("dl-1")); err != nil || !strings.Contains(out, "replayed: "+seqOf("dl-1")) {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	waitFor(t, "the replayed delivery", 30*time.Second, func() bool { return delivered.Load() == 1 })
	if out, err := cli("drop", seqOf("dl-2")); err != nil || !strings.Contains(out, "dropped: "+seqOf("dl-2")) {
		t.Fatalf("drop: %v\n%s", err, out)
	}
	// The admin URL from the environment, the filters after the verb.
	cmd := exec.Command(bin, "dead-letters", "list")
	cmd.Env = append(os.Environ(), "SWITCHYARD_ADMIN_TOKEN=cli-token", "SWITCHYARD_ADMIN="+p.admin)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "No dead letters: every delivery was made or is still being tried.\n" {
		t.Fatalf("after replay and drop the list should say it is empty: %v\n%s", err, out)
	}
	if out, err := cli("list", "--rule", "crm"); err != nil || out != "No dead letters match these filters.\n" {
		t.Fatalf("filtered empty list: %v\n%s", err, out)
	}
	// What is not a sequence number is refused before anything is sent.
	if out, err := cli("replay", "seven"); err == nil || !strings.Contains(out, `"seven" is not a dead letter's sequence number`) {
		t.Fatalf("replay seven: %v\n%s", err, out)
	}
	// Without the token the API refuses, and the CLI says so.
	cmd = exec.Command(bin, "dead-letters", "list", "--admin", p.admin)
	cmd.Env = append(os.Environ(), "SWITCHYARD_ADMIN_TOKEN=")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("without a token: %v\n%s", err, out)
	}
	time.Sleep(200 * time.Millisecond)
	if got := delivered.Load(); got != 1 {
		t.Fatalf("sink got %d deliveries, want exactly the replayed one", got)
	}
}
