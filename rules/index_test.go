package rules

import (
	"fmt"
	"slices"
	"testing"
)

func TestValueIndex(t *testing.T) {
	tests := []struct {
		name  string
		lists map[string][]int32
	}{
		{"none", map[string][]int32{}},
		{"one", map[string][]int32{"vote.created": {3}}},
		{"empty value", map[string][]int32{"": {0, 2}, "a": {1}}},
		{"shared buckets", map[string][]int32{"a": {0, 1, 5}, "b": {2}, "c": {3, 4}}},
		{"prefixes", map[string][]int32{"a": {0}, "ab": {1}, "abc": {2}, "b": {3}}},
		{"many", func() map[string][]int32 {
			m := map[string][]int32{}
			for i := range 5000 {
				m[fmt.Sprintf("e%d", i)] = []int32{int32(i)}
			}
			m["e7"] = []int32{7, 5000, 5001}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var order []string
			for v := range tt.lists {
				order = append(order, v)
			}
			slices.Sort(order)
			x := newValueIndex(order, tt.lists, make([]entry, 6000))
			if x.count != len(order) {
				t.Errorf("len = %d, want %d", x.count, len(order))
			}
			for v, want := range tt.lists {
				var one [1]int32
				if got, _ := x.lookup(v, &one); !slices.Equal(got, want) {
					t.Errorf("lookup(%q) = %v, want %v", v, got, want)
				}
			}
			for _, v := range []string{"x", "e", "e5000", "abcd", "A", " a"} {
				if _, ok := tt.lists[v]; ok {
					continue
				}
				var one [1]int32
				if got, _ := x.lookup(v, &one); got != nil {
					t.Errorf("lookup(%q) = %v, want none", v, got)
				}
			}
		})
	}
	var one [1]int32
	if got, _ := (*valueIndex)(nil).lookup("a", &one); got != nil {
		t.Errorf("nil index: lookup = %v", got)
	}
}
