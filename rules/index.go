package rules

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// valueIndex maps the literal values rules pin one name to (event, source
// or vendor) to the rules pinning each. It is a Go map in effect, laid out
// for a set of thousands of rules that events select at random: an
// open-addressing table of 8-byte slots, 16-byte buckets and the values
// packed into one string, under half of a map[string][]int32's memory, so
// that more of it stays in the CPU's cache.
type valueIndex struct {
	seed    maphash.Seed
	slots   []uint64 // 0: empty; else the hash's high half << 32 | bucket+1
	mask    uint64
	buckets []bucket
	values  string // every bucket's value, concatenated
	cands   []int32
}

// bucket is one value's rules: cands[off:off+n], or when n is 1 the one
// rule index off itself. Its value is values[at:at+size].
type bucket struct {
	at, size uint32
	off, n   int32
}

// newValueIndex indexes the rule indexes listed for each value, each list
// in file order; order is the values in the order they were first seen.
func newValueIndex(order []string, rules map[string][]int32) *valueIndex {
	x := &valueIndex{seed: maphash.MakeSeed(), buckets: make([]bucket, 0, len(order))}
	var b strings.Builder
	for _, v := range order {
		b.WriteString(v)
	}
	x.values = b.String()
	// At most two thirds full, so that a probe ends after one or two slots.
	size := uint64(1) << bits.Len(uint(len(order)+len(order)/2))
	x.slots, x.mask = make([]uint64, size), size-1
	at := uint32(0)
	for _, v := range order {
		list := rules[v]
		bk := bucket{at: at, size: uint32(len(v)), off: list[0], n: int32(len(list))}
		at += uint32(len(v))
		if len(list) > 1 {
			bk.off = int32(len(x.cands))
			x.cands = append(x.cands, list...)
		}
		h := maphash.String(x.seed, v)
		i := h & x.mask
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.buckets = append(x.buckets, bk)
		x.slots[i] = h>>32<<32 | uint64(len(x.buckets))
	}
	return x
}

// lookup returns the rules pinning value, in file order; nil when there
// are none. A single rule is returned in one.
func (x *valueIndex) lookup(value string, one *[1]int32) []int32 {
	if x == nil {
		return nil
	}
	h := maphash.String(x.seed, value)
	tag := h >> 32
	for i := h & x.mask; x.slots[i] != 0; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s>>32 != tag {
			continue
		}
		b := &x.buckets[uint32(s)-1]
		if x.values[b.at:b.at+b.size] != value {
			continue
		}
		if b.n == 1 {
			one[0] = b.off
			return one[:]
		}
		return x.cands[b.off : b.off+b.n]
	}
	return nil
}

// len is the number of values indexed.
func (x *valueIndex) len() int {
	if x == nil {
		return 0
	}
	return len(x.buckets)
}
