//go:build linux || darwin

package queue

import "syscall"

// diskSpace returns the bytes available to this process on dir's file
// system, and the file system's size.
func diskSpace(dir string) (avail, size int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}
