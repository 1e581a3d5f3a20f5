//go:build race

package sources

// raceEnabled: the race detector makes sync.Pool drop some of what is put
// back, so allocation counts that rely on a pool do not hold.
const raceEnabled = true
