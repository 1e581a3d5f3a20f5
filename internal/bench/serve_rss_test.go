package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestServeMemory builds the switchyard binary and measures it as Run
// does with Config.ServeBinary: the process is ready, has a figure on
// Linux, and is gone afterwards with its data directory.
func TestServeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "switchyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/switchyard").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "switchyard-bench-serve-*"))
	m, err := serveMemory(context.Background(), bin, benchSources("t"), 50, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rules != 51 || m.Ready <= 0 || m.Idle != 100*time.Millisecond {
		t.Errorf("got %+v", m)
	}
	if runtime.GOOS == "linux" && (m.RSS == 0 || m.Peak < m.RSS) {
		t.Errorf("RSS %d, peak %d", m.RSS, m.Peak)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "switchyard-bench-serve-*"))
	if len(after) > len(before) {
		t.Errorf("data directories left behind: %v", after)
	}

	res := &Result{Serve: m}
	var out strings.Builder
	res.Print(&out)
	if !strings.Contains(out.String(), "memory of switchyard serve (fresh process, 51 rules") {
		t.Errorf("output lacks the serve figure:\n%s", out.String())
	}
}

func TestServeMemoryErrors(t *testing.T) {
	tests := []struct {
		name, bin, want string
	}{
		{"no such binary", filepath.Join(t.TempDir(), "nothing"), "start"},
		{"exits at once", "/bin/false", "exited before it was ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.bin); tt.bin == "/bin/false" && err != nil {
				t.Skip("no /bin/false")
			}
			_, err := serveMemory(context.Background(), tt.bin, benchSources("t"), 5, time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\tswitchyard\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\nThreads:\t9\n")
	tests := []struct {
		field string
		want  uint64
	}{
		{"VmHWM", 123456 << 10},
		{"VmRSS", 65432 << 10},
		{"VmSwap", 0},
		{"Name", 0},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if got := statusField(status, tt.field); got != tt.want {
				t.Errorf("statusField(%s) = %d, want %d", tt.field, got, tt.want)
			}
		})
	}
}
