// Package tmpfstest mounts small tmpfs file systems for tests that need a
// disk that fills up or refuses writes. Mounting needs privileges (root in
// CI); where it is not permitted the test is skipped, saying why.
package tmpfstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new directory under t.TempDir,
// read-only if readOnly, and unmounts it when the test ends.
func Mount(t *testing.T, size int64, readOnly bool) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("tmpfs mounts are a Linux test fixture")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("size=%d", size)
	if readOnly {
		opts += ",ro"
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes a file named name under dir until the file system has at most
// leave bytes available, and returns its path. Removing it frees the space.
func Fill(t *testing.T, dir, name string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		avail, err := Available(dir)
		if err != nil {
			t.Fatal(err)
		}
		if avail <= leave {
			return path
		}
		n := min(int64(len(buf)), avail-leave)
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatalf("filling %s: %v", dir, err)
		}
	}
}
