package rules

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// valueIndex maps the literal values rules pin one name to (event, source
// or vendor) to the rules pinning each. It is a Go map in effect, laid out
// for a set of thousands of rules that events select at random: an
// open-addressing table of 28-byte buckets, each holding the entry of its
// value's rule when there is one rule, and the values packed into one
// string. An event that selects one rule reads its bucket and its value
// and nothing else, in under half a map[string][]int32's memory, so that
// more of it stays in the CPU's cache.
type valueIndex struct {
	seed    maphash.Seed
	buckets []bucket // n == 0: empty
	mask    uint64
	values  string // every bucket's value, concatenated
	cands   []int32
	count   int // values indexed
}

// bucket is one value's rules: cands[off:off+n], or when n is 1 the one
// rule index off itself. Its value is values[at:at+size]; tag is the high
// half of the value's hash.
type bucket struct {
	tag, at, size uint32
	off, n        int32
	// e is, when n is 1, a copy of the rule's entry: the usual event
	// selects one rule, decided by what is in its bucket alone.
	e entry
}

// newValueIndex indexes the rule indexes listed for each value, each list
// in file order; order is the values in the order they were first seen.
func newValueIndex(order []string, rules map[string][]int32, hot []entry) *valueIndex {
	x := &valueIndex{seed: maphash.MakeSeed(), count: len(order)}
	var b strings.Builder
	for _, v := range order {
		b.WriteString(v)
	}
	x.values = b.String()
	// At most two thirds full, so that a probe ends after one or two slots.
	size := uint64(1) << bits.Len(uint(len(order)+len(order)/2))
	x.buckets, x.mask = make([]bucket, size), size-1
	at := uint32(0)
	for _, v := range order {
		list := rules[v]
		h := maphash.String(x.seed, v)
		bk := bucket{tag: uint32(h >> 32), at: at, size: uint32(len(v)), off: list[0], n: int32(len(list))}
		at += uint32(len(v))
		if len(list) == 1 {
			bk.e = hot[list[0]]
		} else {
			bk.off = int32(len(x.cands))
			x.cands = append(x.cands, list...)
		}
		i := h & x.mask
		for x.buckets[i].n != 0 {
			i = (i + 1) & x.mask
		}
		x.buckets[i] = bk
	}
	return x
}

// lookup returns the rules pinning value, in file order, and its bucket;
// nil when there are none. A single rule is returned in one.
func (x *valueIndex) lookup(value string, one *[1]int32) ([]int32, *bucket) {
	if x == nil {
		return nil, nil
	}
	h := maphash.String(x.seed, value)
	tag := uint32(h >> 32)
	for i := h & x.mask; x.buckets[i].n != 0; i = (i + 1) & x.mask {
		b := &x.buckets[i]
		if b.tag != tag || x.values[b.at:b.at+b.size] != value {
			continue
		}
		if b.n == 1 {
			one[0] = b.off
			return one[:], b
		}
		return x.cands[b.off : b.off+b.n], b
	}
	return nil, nil
}
