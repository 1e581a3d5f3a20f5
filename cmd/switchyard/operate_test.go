package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// preview, mute and events replay, as a user runs them against the built
// binary serving real events.
func TestOperateCommands(t *testing.T) {
	bin := buildBinary(t)
	var delivered atomic.Int64
	sink := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	head := `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
`
	rulesPath := write("rules.yaml", head+`
  - name: votes
    when: event == "vote.created"
    actions:
      - http: { url: "`+sink+`/votes", json: { title: "{{ .data.post.title }}" } }
`)
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), []string{"PL_SECRET=op-secret"})
	env := []string{"SWITCHYARD_ADMIN=" + p.admin}
	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret("op-secret")}
	vote := readFixture(t, "productlift/vote.created.json")
	send := func(id, title string) {
		t.Helper()
		body := strings.Replace(string(vote), "vg3EGg2wcHgd8nMl", id, 1)
		body = regexp.MustCompile(`"title":\s*"[^"]*"`).ReplaceAllString(body, `"title": "`+title+`"`)
		u, h, b := signed(t, p.public, pl, []byte(body))
		if code, resp := post(t, u, "application/json", h, b); code != http.StatusAccepted {
			t.Fatalf("ingest %s: %d %v", id, code, resp)
		}
	}
	send("op-1", "Dark mode")
	send("op-2", "Crash on start")
	waitFor(t, "two deliveries", 30*time.Second, func() bool { return delivered.Load() == 2 })

	t.Run("preview", func(t *testing.T) {
		candidate := write("new.yaml", head+`
  - name: votes
    when: event == "vote.created" && data.post.title contains "Dark"
    actions:
      - http: { url: "`+sink+`/votes", json: { title: "{{ .data.post.title }}" } }
  - name: crashes
    when: data.post.title contains "Crash"
    actions:
      - http: { url: "`+sink+`/crashes", headers: { X-Token: "${PL_SECRET}" } }
`)
		out, errOut, code := runBin(t, bin, env, "preview", candidate, "--since", "1h")
		if code != 0 {
			t.Fatalf("preview: exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{
			"2 stored events read",
			"1 would stop matching:\n    vote.created productlift/op-2",
			"rule crashes (added)\n  1 would newly match:\n    vote.created productlift/op-2",
			"X-Token: ${PL_SECRET}",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("preview output lacks %q:\n%s", want, out)
			}
		}
		if regexp.MustCompile(`(?m)^votes\s+kept\s+2\s+1\s+0\s+1\s+0$`).FindString(out) == "" {
			t.Errorf("preview's table lacks votes: kept, 2 now, 1 with the file:\n%s", out)
		}
		if strings.Contains(out, "op-secret") {
			t.Error("the preview shows the secret")
		}
		bad := write("bad.yaml", head+"  - name: votes\n    when: event ==\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n")
		_, errOut, code = runBin(t, bin, env, "preview", bad)
		if code != 1 || !strings.Contains(errOut, "bad.yaml:6:") || !strings.Contains(errOut, "rules in force are untouched") {
			t.Fatalf("preview of a bad file: exit %d, %s", code, errOut)
		}
		if delivered.Load() != 2 {
			t.Fatal("a preview delivered something")
		}
	})

	t.Run("mute, then replay what it held", func(t *testing.T) {
		out, errOut, code := runBin(t, bin, env, "mute", "add", "--rule", "votes", "--for", "1h", "--comment", "launch day")
		m := regexp.MustCompile(`^muted votes until \S+ \(mute ([0-9a-f]+)\)\n$`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("mute add: exit %d\n%s%s", code, out, errOut)
		}
		out, _, _ = runBin(t, bin, env, "mute", "list")
		if !strings.Contains(out, m[1]) || !strings.Contains(out, "launch day") || !strings.Contains(out, "every firing") {
			t.Fatalf("mute list:\n%s", out)
		}
		send("op-3", "Muted vote")
		waitFor(t, "the muted event's record", 30*time.Second, func() bool {
			for _, l := range p.logs.find("event matched") {
				if l["id"] == "op-3" {
					return true
				}
			}
			return false
		})
		if delivered.Load() != 2 {
			t.Fatalf("a muted firing was delivered")
		}
		if out, _, code := runBin(t, bin, env, "mute", "expire", m[1]); code != 0 || out != "expired: "+m[1]+"\n" {
			t.Fatalf("mute expire: %d %q", code, out)
		}
		if out, _, _ := runBin(t, bin, env, "mute", "list"); out != "No mutes in force: every rule fires.\n" {
			t.Fatalf("mute list after expiry: %q", out)
		}
		if _, errOut, code := runBin(t, bin, env, "mute", "add", "--rule", "nope", "--for", "1h", "--comment", "c"); code != 1 || !strings.Contains(errOut, `no rule "nope"`) {
			t.Fatalf("mute of an unknown rule: %d %s", code, errOut)
		}

		// The muted firing was never made: replaying makes it, and only it.
		out, errOut, code = runBin(t, bin, env, "events", "replay", "--since", "1h", "--rule", "votes")
		if code != 0 || !strings.Contains(out, "3 stored events read; 3 deliveries planned: 2 made already, 0 waiting or parked, 1 stored to be made now") {
			t.Fatalf("events replay: exit %d\n%s%s", code, out, errOut)
		}
		waitFor(t, "the replayed delivery", 30*time.Second, func() bool { return delivered.Load() == 3 })
		time.Sleep(300 * time.Millisecond)
		if n := delivered.Load(); n != 3 {
			t.Fatalf("%d deliveries after the replay, want 3", n)
		}
	})
}
