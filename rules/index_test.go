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
		{"trailing zero bytes", map[string][]int32{"a": {0}, "a\x00": {1}, "\x00": {2}, "a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": {3}}},
		// 15 bytes are held in the bucket, 16 and more are not.
		{"inline boundary", map[string][]int32{
			"abcdefghijklmn":     {0},
			"abcdefghijklmno":    {1, 2},
			"abcdefghijklmnop":   {3},
			"abcdefghijklmnopq":  {4, 5},
			"abcdefghijklmnopqr": {6},
			"abcdefghijklmnoX":   {7},
			"abcdefghXjklmnop":   {8},
			"Xbcdefghijklmnopq":  {9},
		}},
		{"long shared prefixes", func() map[string][]int32 {
			m := map[string][]int32{}
			for i := range 300 {
				m[fmt.Sprintf("com.example.webhooks.e%d", i)] = []int32{int32(i)}
				m[fmt.Sprintf("e%d", i)] = []int32{int32(300 + i)}
			}
			return m
		}()},
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
			for _, v := range []string{
				"x", "e", "e5000", "abcd", "A", " a", "a\x00\x00", "\x00\x00", "",
				"abcdefghijklm", "abcdefghijklmnX", "abcdefghijklmnoY", "abcdefghijklmnopX",
				"abcdefghijklmnopqX", "abcdefghijklmnopqrs", "bbcdefghijklmnop",
				"com.example.webhooks.e300", "com.example.webhooks.e", "com.example.webhooks.e29X",
			} {
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
