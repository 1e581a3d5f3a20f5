package rules

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
)

// valueIndex maps the literal values rules pin one name to (event, source
// or vendor) to the rules pinning each. It is a Go map in effect, laid out
// for a set of thousands of rules that events select at random: an
// open-addressing table of 32-byte buckets (two to a cache line, none
// straddling two), each holding its value itself when the value is short,
// and the entry of its value's rule when there is one rule. An event that
// selects one rule with a short value (event names such as "vote.created",
// source and vendor names) reads its bucket and nothing else; a long value
// is confirmed against a copy packed into one string.
type valueIndex struct {
	seed    maphash.Seed
	buckets []bucket // n == 0: empty
	mask    uint64
	values  string // the long values, concatenated
	cands   []int32
	count   int // values indexed
}

// maxInline is the longest value a bucket holds itself.
const maxInline = 15

// longMark in a key's last byte marks a long value; a short value's last
// byte is its length, at most maxInline.
const longMark = 0xff

// bucket is one value's rules: cands[off:off+n], or when n is 1 the one
// rule index off itself. Its value's key is lo, hi (see keyOf).
type bucket struct {
	lo, hi uint64
	off, n int32
	// e is, when n is 1, a copy of the rule's entry: the usual event
	// selects one rule, decided by what is in its bucket alone.
	e entry
}

// keyOf is value's key, which a bucket stores and a lookup compares. A
// short value's is its bytes, zero-padded to 15, then its length: equal
// keys are equal values. A long value's is the high half of its hash and
// its length in lo and longMark in hi's last byte; equal keys are only
// candidates, confirmed by comparing the bytes at values[at:], at being
// the low half of the bucket's hi.
func keyOf(value string, h uint64) (lo, hi uint64, long bool) {
	if len(value) > maxInline {
		return h>>32 | uint64(len(value))<<32, longMark << 56, true
	}
	var k [16]byte
	copy(k[:maxInline], value)
	k[maxInline] = byte(len(value))
	return binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:]), false
}

// newValueIndex indexes the rule indexes listed for each value, each list
// in file order; order is the values in the order they were first seen.
func newValueIndex(order []string, rules map[string][]int32, hot []entry) *valueIndex {
	x := &valueIndex{seed: maphash.MakeSeed(), count: len(order)}
	var b strings.Builder
	// At most two thirds full, so that a probe ends after one or two slots.
	size := uint64(1) << bits.Len(uint(len(order)+len(order)/2))
	x.buckets, x.mask = make([]bucket, size), size-1
	for _, v := range order {
		list := rules[v]
		h := maphash.String(x.seed, v)
		lo, hi, long := keyOf(v, h)
		if long {
			hi |= uint64(b.Len())
			b.WriteString(v)
		}
		bk := bucket{lo: lo, hi: hi, off: list[0], n: int32(len(list))}
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
	x.values = b.String()
	return x
}

// lookup returns the rules pinning value, in file order, and its bucket;
// nil when there are none. A single rule is returned in one.
func (x *valueIndex) lookup(value string, one *[1]int32) ([]int32, *bucket) {
	if x == nil {
		return nil, nil
	}
	h := maphash.String(x.seed, value)
	lo, hi, long := keyOf(value, h)
	for i := h & x.mask; x.buckets[i].n != 0; i = (i + 1) & x.mask {
		b := &x.buckets[i]
		if b.lo != lo {
			continue
		}
		if !long {
			if b.hi != hi {
				continue
			}
		} else if b.hi>>56 != longMark {
			continue
		} else if at := uint32(b.hi); x.values[at:at+uint32(len(value))] != value {
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
