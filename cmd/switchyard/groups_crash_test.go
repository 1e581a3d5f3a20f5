package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// groupCrashRules groups every ProductLift vote for a few seconds and
// posts each firing's count and event ids to the sink.
const groupCrashRules = `
sources:
  productlift:
    vendor: productlift
    secret: ${PL_SECRET}
rules:
  - name: votes-digest
    source: productlift
    when: event == "vote.created"
    group: { wait: 4s, interval: 1h, max: 1000 }
    actions:
      - http:
          url: ${SINK}/digest
          json: { count: "{{ .count }}", ids: "{{ range .events }}{{ .id }} {{ end }}" }
`

// TestGroupSurvivesKill kills the binary with -9 while a group holds
// events (some matched, some perhaps not yet), restarts it, and expects
// one digest with every acknowledged event.
func TestGroupSurvivesKill(t *testing.T) {
	bin := buildBinary(t)
	var mu sync.Mutex
	var digests []struct{ Count, IDs string }
	sink := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d struct{ Count, IDs string }
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		digests = append(digests, d)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	got := func() []struct{ Count, IDs string } {
		mu.Lock()
		defer mu.Unlock()
		return append([]struct{ Count, IDs string }(nil), digests...)
	}
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(groupCrashRules), 0o600); err != nil {
		t.Fatal(err)
	}
	const plSecret = "group-crash-secret"
	env := []string{"PL_SECRET=" + plSecret, "SINK=" + sink}
	data := filepath.Join(dir, "data")
	p := startServe(t, bin, rulesPath, data, env)
	cfg := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}

	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("grouped-%03d", i)
	}
	var accepted atomic.Int64
	results := sendVotes(t, cfg, ids, 4, func(int) string { return p.public }, &accepted, make(chan struct{}))
	ack := acked(results)
	if len(ack) != len(ids) {
		t.Fatalf("%d of %d accepted before the kill", len(ack), len(ids))
	}
	p.signal(t, syscall.SIGKILL)
	<-p.done
	if n := len(got()); n != 0 {
		t.Fatalf("%d digests before the kill; the group's wait is 4s", n)
	}
	restarted := time.Now()
	startServe(t, bin, rulesPath, data, env)
	waitFor(t, "the digest after the restart", 60*time.Second, func() bool { return len(got()) > 0 })
	took := time.Since(restarted)
	time.Sleep(2 * time.Second) // time for a second digest, were there one
	ds := got()
	if len(ds) != 1 {
		t.Fatalf("%d digests after the restart, want one: %+v", len(ds), ds)
	}
	if ds[0].Count != fmt.Sprint(len(ack)) {
		t.Errorf("digest counts %s events, want %d", ds[0].Count, len(ack))
	}
	for _, id := range ack {
		if !strings.Contains(ds[0].IDs, id+" ") {
			t.Errorf("digest lacks %s", id)
		}
	}
	t.Logf("%d events acknowledged, killed, restarted: one digest of %s events %s after the restart", len(ack), ds[0].Count, took.Round(time.Millisecond))
}
