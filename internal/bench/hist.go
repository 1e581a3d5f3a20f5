package bench

import (
	"math/bits"
	"time"
)

// hist is a fixed-size log-linear histogram of durations: 64 sub-buckets per
// power of two, so a quantile is within 1/64 (about 1.6%) of the true value,
// whatever the number of samples. The zero value is ready; it is not safe
// for concurrent use (each load connection keeps its own and they are
// merged).
type hist struct {
	counts [64 * subBuckets]uint64
	n      uint64
	max    time.Duration
}

const subBits = 6
const subBuckets = 1 << subBits

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v >> e is in [64, 128)
	return (e+1)*subBuckets + int(v>>e) - subBuckets
}

// lowerBound is the smallest duration in bucket i.
func lowerBound(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	e := i/subBuckets - 1
	return time.Duration(uint64(i%subBuckets+subBuckets) << e)
}

func (h *hist) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1), or 0 with no samples. It
// is the middle of the bucket holding the sample of that rank, capped at
// the maximum seen.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := lowerBound(i), lowerBound(i+1)
			return min(lo+(hi-lo)/2, h.max)
		}
	}
	return h.max
}
