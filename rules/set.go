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
	// hot[i] is what Match needs first of rules[i], 8 bytes; cold[i] the
	// rest, read only for rules that need it.
	hot  []entry
	cold []coldEntry
	// ones are the values of checkOne checks, each once: usually a few
	// source names.
	ones []string
	// always holds the indexes of rules the index cannot narrow: they are
	// candidates for every event.
	always []int32
	// by[i] buckets the other rules by the literal values their condition
	// (or source: list) pins pinnable[i] to. Each rule is in the buckets
	// of exactly one name, so the buckets an event selects never overlap.
	by      [len(pinnable)]*valueIndex
	indexed bool
	vms     sync.Pool // *vm.VM: a VM is not safe to share, a Program is
}

// entry is one rule as Match sees it first. A rule's checks are the values
// the event's event, source and vendor must have, from the condition's pins
// and the source: list, except the name the rule is bucketed by (its bucket
// was selected by that value). A rule that its checks refuse cannot match
// the event and is not evaluated.
type entry struct {
	// one is the only check's only value when how is checkOne, for the
	// name pinnable[oneName]: ones[one].
	one     uint32
	oneName uint8
	how     uint8 // checkNone, checkOne or checkCold: cold.check
	// decided: the pins are the whole condition (or there is none), so a
	// rule its checks admit matches without running the program.
	decided bool
}

const (
	checkNone = iota
	checkOne
	checkCold
)

type coldEntry struct {
	program *vm.Program // nil: no condition
	check   []pin
}

// admits reports whether ev has the values e checks.
func (s *Set) admits(i int32, e *entry, ev *event.Event) bool {
	switch e.how {
	case checkNone:
		return true
	case checkOne:
		return field(ev, e.oneName) == s.ones[e.one]
	}
	for _, p := range s.cold[i].check {
		if !slices.Contains(p.vals, field(ev, p.name)) {
			return false
		}
	}
	return true
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
	if !indexed {
		return s
	}
	// Equal values checked share one string: the few source and vendor
	// names are then each one piece of memory, hot in the cache.
	interned := map[string]string{}
	intern := func(vals []string) []string {
		out := make([]string, len(vals))
		for i, v := range vals {
			if w, ok := interned[v]; ok {
				v = w
			} else {
				interned[v] = v
			}
			out[i] = v
		}
		return out
	}
	ones := map[string]uint32{}
	var (
		buckets [len(pinnable)]map[string][]int32
		order   [len(pinnable)][]string
	)
	s.hot, s.cold = make([]entry, len(s.rules)), make([]coldEntry, len(s.rules))
	for i, r := range s.rules {
		need := needOf(r)
		for j := 1; j < len(need); j++ {
			need[j].vals = intern(need[j].vals)
		}
		e := entry{decided: r.Program == nil || r.decided}
		s.cold[i].program = r.Program
		if len(need) == 0 {
			s.hot[i] = e
			s.always = append(s.always, int32(i))
			continue
		}
		// The first name pinned, in order of preference, picks the buckets;
		// the others are checked.
		switch check := need[1:]; {
		case len(check) == 1 && len(check[0].vals) == 1:
			v := check[0].vals[0]
			k, ok := ones[v]
			if !ok {
				k = uint32(len(s.ones))
				ones[v] = k
				s.ones = append(s.ones, v)
			}
			e.how, e.oneName, e.one = checkOne, check[0].name, k
		case len(check) > 0:
			e.how, s.cold[i].check = checkCold, check
		}
		s.hot[i] = e
		p := need[0]
		if buckets[p.name] == nil {
			buckets[p.name] = map[string][]int32{}
		}
		for _, v := range p.vals {
			b, seen := buckets[p.name][v]
			if !seen {
				order[p.name] = append(order[p.name], v)
			}
			if len(b) == 0 || b[len(b)-1] != int32(i) { // event in ["a", "a"]
				buckets[p.name][v] = append(b, int32(i))
			}
		}
	}
	for name, m := range buckets {
		if m != nil {
			s.by[name] = newValueIndex(order[name], m, s.hot)
		}
	}
	return s
}

// needOf is what a rule needs of an event's event, source and vendor, in
// pinnable order: its condition's pins, with the source: list as a pin on
// source (intersected with the condition's).
func needOf(r *Rule) []pin {
	var out []pin
	hasSource := false
	for _, p := range r.pins {
		if pinnable[p.name] == "source" && len(r.Sources) > 0 {
			p.vals, hasSource = intersect(p.vals, r.Sources), true
		}
		out = append(out, p)
	}
	if len(r.Sources) > 0 && !hasSource {
		out = append(out, pin{name: uint8(slices.Index(pinnable[:], "source")), vals: r.Sources})
		slices.SortStableFunc(out, func(a, b pin) int { return int(a.name) - int(b.name) })
	}
	return out
}

// Rules returns the rules in file order. The caller must not modify them.
func (s *Set) Rules() []*Rule { return s.rules }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Match returns the rules ev matches, in file order, and the conditions that
// failed at run time (not matched, reported so the caller can log and count
// them). The caller must not modify matched: it may share the Set's memory. With the index, a rule is evaluated only when the event's event,
// source and vendor are among the values its condition and source: list
// pin them to, so a rule that pins another event name is neither evaluated
// nor reported; a rule whose condition is only such pins is decided without
// running it.
func (s *Set) Match(ev *event.Event) (matched []*Rule, errs []EvalError) {
	if s == nil || ev == nil || len(s.rules) == 0 {
		return nil, nil
	}
	if !s.indexed {
		return s.matchNaive(ev)
	}
	// The environment and a VM are made only when a candidate needs them.
	var (
		env map[string]any
		v   *vm.VM
	)
	add := func(i int32) {
		if matched == nil {
			// The usual single match shares the Set's memory: no
			// allocation per event. (A second one makes a new array: the
			// capacity is 1.)
			matched = s.rules[i : i+1 : i+1]
		} else {
			matched = append(matched, s.rules[i])
		}
	}
	try := func(i int32, e *entry) {
		if !s.admits(i, e, ev) {
			return
		}
		if e.decided {
			add(i)
			return
		}
		if v == nil {
			env, v = ev.Env(), s.vms.Get().(*vm.VM)
		}
		ok, err := run(v, s.cold[i].program, env)
		if err != nil {
			errs = append(errs, EvalError{Rule: s.rules[i], Err: err})
		} else if ok {
			add(i)
		}
	}
	// The candidates: the rules always evaluated and the event's buckets,
	// each a sorted list. Merged, they keep file order.
	var (
		lists [len(pinnable) + 1][]int32
		one   [len(pinnable)][1]int32
		n     int
		last  *bucket
	)
	if len(s.always) > 0 {
		lists[0], n = s.always, 1
	}
	for i, x := range s.by {
		if l, b := x.lookup(field(ev, uint8(i)), &one[i]); len(l) > 0 {
			lists[n], last = l, b
			n++
		}
	}
	switch {
	case n == 1 && len(s.always) == 0 && last.n == 1:
		// The usual case: one rule, its entry in its bucket.
		try(last.off, &last.e)
		n = 0
	case n == 1:
		for _, i := range lists[0] {
			try(i, &s.hot[i])
		}
	}
	for n > 1 {
		best := 0
		for j := 1; j < n; j++ {
			if lists[j][0] < lists[best][0] {
				best = j
			}
		}
		try(lists[best][0], &s.hot[lists[best][0]])
		if lists[best] = lists[best][1:]; len(lists[best]) == 0 {
			n--
			lists[best] = lists[n]
			if n == 1 {
				for _, i := range lists[0] {
					try(i, &s.hot[i])
				}
			}
		}
	}
	if v != nil {
		s.vms.Put(v)
	}
	return matched, errs
}

// matchNaive evaluates every rule's source: list and condition, as written.
func (s *Set) matchNaive(ev *event.Event) (matched []*Rule, errs []EvalError) {
	env := ev.Env()
	v := s.vms.Get().(*vm.VM)
	defer s.vms.Put(v)
	for _, r := range s.rules {
		if !sourceOK(r, ev.Source) {
			continue
		}
		ok, err := run(v, r.Program, env)
		if err != nil {
			errs = append(errs, EvalError{Rule: r, Err: err})
		} else if ok {
			matched = append(matched, r)
		}
	}
	return matched, errs
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
	texts, progs := []string{r.When}, []*vm.Program{r.Program}
	if r.explain != nil {
		if ps := r.explain.programs(); ps != nil {
			texts, progs = r.explain.texts, ps
		}
	}
	for i, p := range progs {
		ok, err := run(v, p, env)
		if err != nil {
			x.Reason = fmt.Sprintf("%s: error: %s", texts[i], firstLine(err.Error()))
			return x
		}
		if !ok {
			x.Reason = texts[i] + " was false"
			return x
		}
	}
	x.Matched, x.Reason = true, "when was true"
	return x
}

// explainTerms are a condition's top-level && terms, compiled one by one
// on the first Explain (kept as text until then: most rule sets are never
// explained, and a program per term is memory every rule would carry).
type explainTerms struct {
	texts []string
	once  sync.Once
	progs []*vm.Program // nil: they did not compile (explain the whole)
}

func (t *explainTerms) programs() []*vm.Program {
	t.once.Do(func() {
		// Each compiled at load already, so an error cannot happen; if one
		// did, Explain would report on the whole condition instead.
		t.progs, _ = compileTerms(t.texts)
	})
	return t.progs
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
