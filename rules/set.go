package rules

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"

	"github.com/switchyard/switchyard/event"
)

// Set is an immutable, indexed list of rules, safe for concurrent use.
// Reloading builds a new Set; nothing in a Set changes after NewSet.
type Set struct {
	rules []*Rule
	// always holds the indexes of rules the index cannot narrow: they are
	// evaluated for every event.
	always []int
	// by[i] buckets the other rules by the literal value their condition
	// (or source: list) pins pinnable[i] to. Each rule is in the buckets of
	// exactly one name, so the buckets an event selects never overlap.
	by      [len(pinnable)]map[string][]int
	indexed bool
	vms     sync.Pool // *vm.VM: a VM is not safe to share, a Program is
}

// EvalError is a condition that failed at run time for one event (e.g. a
// field of a missing object). The rule counts as not matched.
type EvalError struct {
	Rule *Rule
	Err  error
}

func (e EvalError) Error() string {
	return fmt.Sprintf("rule %q: when: %s", e.Rule.Name, firstLine(e.Err.Error()))
}

func (e EvalError) Unwrap() error { return e.Err }

// Explanation says whether one rule matched an event, and why not.
type Explanation struct {
	Rule    *Rule
	Matched bool
	// Reason is, for a miss, the source filter that refused the event, the
	// first top-level && term that was false, or the run-time error; for a
	// match, what made it match.
	Reason string
}

// NewSet indexes rules (kept in the given order) for Match. Rules built by
// Parse carry what the index needs; others are always evaluated.
func NewSet(rules []*Rule) *Set {
	return newSet(rules, true)
}

func newSet(rules []*Rule, indexed bool) *Set {
	s := &Set{rules: slices.Clone(rules), indexed: indexed}
	s.vms.New = func() any { return newVM() }
	for i := range s.by {
		s.by[i] = map[string][]int{}
	}
	for i, r := range s.rules {
		field, vals := indexKey(r)
		if !indexed || field < 0 {
			s.always = append(s.always, i)
			continue
		}
		for _, v := range vals {
			if b := s.by[field][v]; len(b) == 0 || b[len(b)-1] != i { // event in ["a", "a"]
				s.by[field][v] = append(b, i)
			}
		}
	}
	return s
}

// indexKey chooses the name a rule is bucketed by and its values, or -1.
// The source: list counts as a pin on source.
func indexKey(r *Rule) (int, []string) {
	for i, name := range pinnable {
		vals, ok := r.pins[name]
		if name == "source" && len(r.Sources) > 0 {
			if ok {
				vals = intersect(vals, r.Sources)
			} else {
				vals, ok = r.Sources, true
			}
		}
		if ok {
			return i, vals
		}
	}
	return -1, nil
}

// Rules returns the rules in file order. The caller must not modify them.
func (s *Set) Rules() []*Rule { return s.rules }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Match returns the rules ev matches, in file order, and the conditions that
// failed at run time (not matched, reported so the caller can log and count
// them). With the index only candidate rules are evaluated, so a rule whose
// condition pins another event name is neither evaluated nor reported.
func (s *Set) Match(ev *event.Event) (matched []*Rule, errs []EvalError) {
	if s == nil || ev == nil || len(s.rules) == 0 {
		return nil, nil
	}
	env := ev.Env()
	v := s.vms.Get().(*vm.VM)
	defer s.vms.Put(v)
	try := func(i int) {
		r := s.rules[i]
		if !sourceOK(r, ev.Source) {
			return
		}
		ok, err := run(v, r.Program, env)
		if err != nil {
			errs = append(errs, EvalError{Rule: r, Err: err})
		} else if ok {
			matched = append(matched, r)
		}
	}
	if !s.indexed {
		for i := range s.rules {
			try(i)
		}
		return matched, errs
	}
	// Merge the sorted candidate lists, keeping file order.
	lists := [len(pinnable) + 1][]int{s.always}
	for i, name := range pinnable {
		var key string
		switch name {
		case "event":
			key = ev.Event
		case "source":
			key = ev.Source
		case "vendor":
			key = ev.Vendor
		}
		lists[i+1] = s.by[i][key]
	}
	for {
		best := -1
		for j, l := range lists {
			if len(l) > 0 && (best < 0 || l[0] < lists[best][0]) {
				best = j
			}
		}
		if best < 0 {
			return matched, errs
		}
		try(lists[best][0])
		lists[best] = lists[best][1:]
	}
}

// Explain evaluates every rule against ev, without the index, and says for
// each whether it matched and why not. It agrees with Match.
func (s *Set) Explain(ev *event.Event) []Explanation {
	if s == nil || ev == nil {
		return nil
	}
	env := ev.Env()
	v := s.vms.Get().(*vm.VM)
	defer s.vms.Put(v)
	out := make([]Explanation, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, explain(v, r, ev.Source, env))
	}
	return out
}

func explain(v *vm.VM, r *Rule, source string, env map[string]any) Explanation {
	x := Explanation{Rule: r}
	if !sourceOK(r, source) {
		x.Reason = fmt.Sprintf("source %q not in [%s]", source, strings.Join(r.Sources, " "))
		return x
	}
	if r.Program == nil {
		x.Matched, x.Reason = true, "no condition"
		return x
	}
	cs := r.conjuncts
	if len(cs) == 0 {
		cs = []conjunct{{text: r.When, program: r.Program}}
	}
	for _, c := range cs {
		ok, err := run(v, c.program, env)
		if err != nil {
			x.Reason = fmt.Sprintf("%s: error: %s", c.text, firstLine(err.Error()))
			return x
		}
		if !ok {
			x.Reason = c.text + " was false"
			return x
		}
	}
	x.Matched, x.Reason = true, "when was true"
	return x
}

func sourceOK(r *Rule, source string) bool {
	return len(r.Sources) == 0 || slices.Contains(r.Sources, source)
}

func run(v *vm.VM, p *vm.Program, env map[string]any) (bool, error) {
	if p == nil {
		return true, nil
	}
	out, err := v.Run(p, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition is %s, not true or false", describe(out))
	}
	return b, nil
}
