package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/event"
)

// TestMatchPinnedValues builds rules that pin event to literal values and
// checks that an event matches exactly the rules that pin its name, in file
// order, and that a name no rule pins matches none.
func TestMatchPinnedValues(t *testing.T) {
	tests := []struct {
		name  string
		lists map[string][]int // value: the rules that pin it
	}{
		{"none", map[string][]int{}},
		{"one", map[string][]int{"vote.created": {0}}},
		{"empty value", map[string][]int{"": {0, 2}, "a": {1}}},
		{"shared values", map[string][]int{"a": {0, 1, 5}, "b": {2}, "c": {3, 4}}},
		{"prefixes", map[string][]int{"a": {0}, "ab": {1}, "abc": {2}, "b": {3}}},
		{"zero bytes", map[string][]int{"a": {0}, "a\x00": {1}, "\x00": {2}, "a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": {3}}},
		{"long values", map[string][]int{
			"abcdefghijklmno":    {0, 1},
			"abcdefghijklmnop":   {2},
			"abcdefghijklmnopq":  {3, 4},
			"abcdefghijklmnopqr": {5},
			"Xbcdefghijklmnopq":  {6},
		}},
		{"many", func() map[string][]int {
			m := map[string][]int{}
			for i := range 2000 {
				m[fmt.Sprintf("e%d", i)] = []int{i}
				m[fmt.Sprintf("com.example.webhooks.e%d", i)] = []int{i}
			}
			m["e7"] = []int{7, 2000, 2001}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Rule k pins event to every value whose list holds k.
			pinned := map[int][]string{}
			n := 0
			for v, list := range tt.lists {
				for _, k := range list {
					pinned[k] = append(pinned[k], v)
					n = max(n, k+1)
				}
			}
			rules := make([]*Rule, n)
			for k := range rules {
				vals := make([]string, len(pinned[k]))
				for i, v := range pinned[k] {
					vals[i] = fmt.Sprintf("%q", v)
				}
				when := "event in [" + strings.Join(vals, ", ") + "]"
				c, err := compileWhen(when)
				if err != nil {
					t.Fatalf("%s: %v", when, err)
				}
				rules[k] = &Rule{Name: fmt.Sprint("r", k), When: when, Program: c.program, pins: c.pins, decided: c.decided}
			}
			set := NewSet(rules)
			for v, list := range tt.lists {
				var want []string
				for _, k := range list {
					want = append(want, fmt.Sprint("r", k))
				}
				if got, errs := set.Match(&event.Event{Event: v}); !slices.Equal(names(got), want) || errs != nil {
					t.Errorf("event %q matched %v (errors %v), want %v", v, names(got), errs, want)
				}
			}
			for _, v := range []string{
				"x", "e", "e5000", "abcd", "A", " a", "a\x00\x00", "\x00\x00", "",
				"abcdefghijklmnX", "abcdefghijklmnopX", "abcdefghijklmnopqrs", "bbcdefghijklmnop",
				"com.example.webhooks.e2000", "com.example.webhooks.e",
			} {
				if _, ok := tt.lists[v]; ok {
					continue
				}
				if got, _ := set.Match(&event.Event{Event: v}); got != nil {
					t.Errorf("event %q matched %v, want none", v, names(got))
				}
			}
		})
	}
}
