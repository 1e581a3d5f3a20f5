package rules

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/event"
)

const limitsRules = `
sources:
  productlift: { vendor: productlift, secret: s }
rules:
  - name: any-positive
    when: 'len(filter(data.items, # > 0)) > 0'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: sum-positive
    when: 'sum(filter(data.items, # > 0)) > 0'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: mapped
    when: 'len(map(data.items, # + 1)) > 0'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: first-item
    when: data.items[0] == 1
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: range
    when: len(1..data.n) > 0
    actions: [ { http: { url: "https://example.com/" } } ]
`

// TestMemoryBudget: a condition that would build a huge array from event
// data fails at run time (no match, an error to log and count) instead of
// allocating without bound; the other rules still match. expr rewrites
// len(filter(...)) into a count that builds nothing, so that one matches
// over a million elements; sum(filter(...)) and map(...) must build the
// array and hit the budget.
func TestMemoryBudget(t *testing.T) {
	f, err := Parse("limits.yaml", []byte(limitsRules), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	items := func(n int) []any {
		a := make([]any, n)
		for i := range a {
			a[i] = float64(1)
		}
		return a
	}
	tests := []struct {
		name      string
		data      map[string]any
		matched   []string
		errsFor   []string
		errSubstr string
	}{
		{"small array", map[string]any{"items": items(10), "n": float64(10)},
			[]string{"any-positive", "sum-positive", "mapped", "first-item", "range"}, nil, ""},
		{"1e6 elements", map[string]any{"items": items(1_000_000), "n": float64(10)},
			[]string{"any-positive", "first-item", "range"}, []string{"sum-positive", "mapped"}, "memory budget exceeded"},
		{"1e9 range", map[string]any{"items": items(1), "n": float64(1e9)},
			[]string{"any-positive", "sum-positive", "mapped", "first-item"}, []string{"range"}, "memory budget exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := &event.Event{Source: "productlift", Vendor: "productlift", Event: "x", Data: tc.data}
			matched, errs := f.Set.Match(ev)
			if got := names(matched); fmt.Sprint(got) != fmt.Sprint(tc.matched) {
				t.Errorf("matched %v, want %v", got, tc.matched)
			}
			var errRules []string
			for _, e := range errs {
				errRules = append(errRules, e.Rule.Name)
				if !strings.Contains(e.Error(), tc.errSubstr) {
					t.Errorf("error %q does not say %q", e.Error(), tc.errSubstr)
				}
			}
			if fmt.Sprint(errRules) != fmt.Sprint(tc.errsFor) && !(len(errRules) == 0 && len(tc.errsFor) == 0) {
				t.Errorf("errors for %v, want %v", errRules, tc.errsFor)
			}
			// Explain agrees and says why.
			for _, x := range f.Set.Explain(ev) {
				want := false
				for _, m := range tc.matched {
					want = want || m == x.Rule.Name
				}
				if x.Matched != want {
					t.Errorf("Explain %s matched=%v (%s), Match says %v", x.Rule.Name, x.Matched, x.Reason, want)
				}
			}
		})
	}
}

// TestMaxNodes: a condition over MaxNodes nodes fails the load at its
// position; one just under loads.
func TestMaxNodes(t *testing.T) {
	// Each `id == "a" ||` term is 3 nodes plus the ||.
	cond := func(terms int) string {
		return strings.Repeat(`id == "a" || `, terms) + `id == "b"`
	}
	file := func(c string) string {
		return "sources:\n  p: { vendor: productlift, secret: s }\nrules:\n  - name: huge\n    when: " + c +
			"\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
	}
	if _, err := Parse("ok.yaml", []byte(file(cond(2000))), env(nil)); err != nil {
		t.Fatalf("8,000 nodes: %v", err)
	}
	_, err := Parse("huge.yaml", []byte(file(cond(3000))), env(nil))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("12,000 nodes: err = %v, want one positioned error", err)
	}
	e := list[0]
	if e.Pos.File != "huge.yaml" || e.Pos.Line != 5 || e.Pos.Col < 11 {
		t.Errorf("position %s, want huge.yaml:5:col>=11", e.Pos)
	}
	if !strings.Contains(e.Msg, "maximum allowed nodes") || !strings.Contains(e.Msg, `rule "huge"`) {
		t.Errorf("message %q does not name the rule and the limit", firstLine(e.Msg))
	}
}
