package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

func TestParseWorkers(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  map[string]int
		match int
		err   string
	}{
		{in: "", want: nil},
		{in: "http=128", want: map[string]int{"http": 128}},
		{in: " http=128 , slack=4,email=2,match=32 ", want: map[string]int{"http": 128, "slack": 4, "email": 2}, match: 32},
		{in: "match=1", want: map[string]int{}, match: 1},
		{in: "http=10000", want: map[string]int{"http": 10000}},
		{in: "ftp=3", err: "the kinds are email, http, slack and match"},
		{in: "http=0", err: "from 1 to 10000"},
		{in: "http=-4", err: "from 1 to 10000"},
		{in: "http=10001", err: "from 1 to 10000"},
		{in: "http=many", err: "whole number"},
		{in: "http", err: "want kind=count"},
		{in: "=4", err: "want kind=count"},
		{in: "http=4,http=8", err: "given twice"},
		{in: "http=4,", err: "want kind=count"},
	} {
		got, match, err := parseWorkers(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseWorkers(%q) error %v, want one saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) || match != tc.match {
			t.Errorf("parseWorkers(%q) = %v, %d, %v; want %v, %d", tc.in, got, match, err, tc.want, tc.match)
		}
	}
}

// A bad --workers is refused before anything starts.
func TestServeRefusesBadWorkers(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--rules", "rules.yaml", "--workers", "http=0"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, &stderr)
	}
	if !strings.Contains(stderr.String(), "--workers: http=0: the count must be") {
		t.Errorf("stderr does not say what is wrong:\n%s", &stderr)
	}
}

// --workers http=N bounds how many deliveries a slow receiver gets at once:
// a quarter of N (the default, 64 workers, would allow 16).
func TestWorkersFlagBoundsASlowReceiver(t *testing.T) {
	bin := buildBinary(t)
	var inFlight, peak atomic.Int64
	var mu sync.Mutex
	got := map[string]bool{}
	sink := newHTTPTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		var body struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(300 * time.Millisecond) // a slow receiver
		mu.Lock()
		got[body.ID] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(fmt.Sprintf(crashRules, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	const plSecret = "workers-secret"
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), []string{"PL_SECRET=" + plSecret, "SINK=" + sink},
		"--workers", "http=24")
	cfg := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
	tmpl := readFixture(t, "productlift/vote.created.json")
	client := &http.Client{Timeout: 30 * time.Second}
	const n = 30
	for i := range n {
		if res := postVote(t, client, cfg, p.public, tmpl, fmt.Sprintf("w-%02d", i)); res.status != http.StatusAccepted {
			t.Fatalf("vote %d: status %d", i, res.status)
		}
	}
	waitFor(t, "every vote delivered", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	// 24 workers: a receiver that is slow holds at most 6 of them.
	if pk := peak.Load(); pk > 6 || pk < 3 {
		t.Errorf("the slow receiver had up to %d deliveries at once, want 3 to 6 (a quarter of --workers http=24)", pk)
	}
}
