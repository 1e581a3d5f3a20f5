package queue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/tmpfstest"
)

// A data directory that cannot hold the store is reported at once, with
// the path and the operating system's reason, not after the 30 s the
// embedded server would be waited for.
func TestOpenUnusableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, reason string
	}{
		{"a regular file", file, "not a directory"},
		{"under a regular file", filepath.Join(file, "sub"), "not a directory"},
		{"on a read-only file system", "", "read-only file system"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				// Root may write anywhere it has no permission to; a
				// read-only mount refuses even root.
				dir = filepath.Join(tmpfstest.Mount(t, 1<<20, true), "data")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			q, err := Open(ctx, Options{DataDir: dir})
			took := time.Since(start)
			if err == nil {
				q.Close()
				t.Fatalf("Open(%s) succeeded", dir)
			}
			if took > 2*time.Second {
				t.Errorf("Open took %s to fail, want under 2s", took.Round(time.Millisecond))
			}
			if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, tc.reason) {
				t.Errorf("error %q does not name %s and %q", msg, dir, tc.reason)
			}
		})
	}
}

// A dedup window longer than the events' retention is refused at once; it
// was retried as a passing fault until the caller's deadline (60 s in
// serve).
func TestOpenRefusesDedupLongerThanRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	q, err := Open(ctx, Options{DataDir: t.TempDir(), DedupWindow: 720 * time.Hour})
	if err == nil {
		q.Close()
		t.Fatal("Open succeeded")
	}
	if took := time.Since(start); took > 2*time.Second || !strings.Contains(err.Error(), "dedup window (720h0m0s) cannot be longer than the events' retention (168h0m0s)") {
		t.Fatalf("after %s: %v", took, err)
	}
}
