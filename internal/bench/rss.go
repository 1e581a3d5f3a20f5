package bench

import "os"

// procStatus reads a "kB" field of /proc/self/status (VmHWM, VmRSS) in
// bytes; 0 where there is no such file (not Linux).
func procStatus(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusField(data, field)
}
