package rules

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

const matchRules = `
sources:
  productlift: { vendor: productlift, secret: s }
  sleekplan: { vendor: sleekplan, key: k }
  userback: { vendor: userback, key: k }
rules:
  - name: vote-on-99
    when: event == "vote.created" && data.post.id == 99
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: missing-field
    when: data.missing.field == "x"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: optional-chain
    when: (data?.missing?.field ?? "x") == "x"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: sleekplan-only
    source: sleekplan
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: userback-vendor
    when: vendor == "userback" and data.rating >= 4
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: not-bool-at-run-time
    when: data.flag
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: either-source
    source: [sleekplan, userback]
    when: event in ["feedback.create", "item.create"] && headers["x-test"] == "1"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: time-and-id
    when: time.Year() == 2024 && id startsWith "evt_"
    actions: [ { http: { url: "https://example.com/" } } ]
`

func loadMatchRules(t testing.TB) *File {
	t.Helper()
	f, err := Parse("match.yaml", []byte(matchRules), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// naive matches as the rules are written, evaluating every rule's source:
// list and condition: the reference the index must agree with.
type naive []*Rule

func (n naive) Match(ev *event.Event) (matched []*Rule, errs []EvalError) {
	env := ev.Env()
	v := newVM()
	for _, r := range n {
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

func names(rs []*Rule) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestMatch(t *testing.T) {
	f := loadMatchRules(t)
	vote := &event.Event{
		Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "evt_1",
		Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		// As encoding/json decodes: numbers are float64.
		Data: map[string]any{"post": map[string]any{"id": float64(99), "title": "Dark mode"}, "flag": true},
	}
	tests := []struct {
		name     string
		ev       *event.Event
		want     []string
		wantErrs []string // rule names with run-time errors
	}{
		{"vote on 99", vote, []string{"vote-on-99", "optional-chain", "not-bool-at-run-time", "time-and-id"}, []string{"missing-field"}},
		{"vote on 98", &event.Event{
			Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "1",
			Data: map[string]any{"post": map[string]any{"id": float64(98)}},
		}, []string{"optional-chain"}, []string{"missing-field"}}, // a missing last field is nil: false
		{"sleekplan feedback", &event.Event{
			Source: "sleekplan", Vendor: "sleekplan", Event: "feedback.create", ID: "1",
			Data:    map[string]any{"missing": map[string]any{"field": "x"}, "flag": false},
			Headers: map[string]string{"x-test": "1"},
		}, []string{"missing-field", "optional-chain", "sleekplan-only", "either-source"}, nil},
		{"userback rating", &event.Event{
			Source: "userback", Vendor: "userback", Event: "feedback.create", ID: "1",
			Data: map[string]any{"rating": float64(5), "flag": "yes"},
		}, []string{"optional-chain", "userback-vendor"}, []string{"missing-field", "not-bool-at-run-time"}},
		{"userback low rating", &event.Event{
			Source: "userback", Vendor: "userback", Event: "feedback.create", ID: "1",
			Data: map[string]any{"rating": float64(2), "flag": false},
		}, []string{"optional-chain"}, []string{"missing-field"}},
		{"nil data", &event.Event{Source: "productlift", Vendor: "productlift", Event: "vote.created"},
			[]string{"optional-chain"}, []string{"vote-on-99", "missing-field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := naive(f.Rules).Match(tt.ev); !slices.Equal(names(got), tt.want) {
				t.Errorf("naive matched %v, want %v", names(got), tt.want)
			}
			got, errs := f.Set.Match(tt.ev)
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("indexed matched %v, want %v", names(got), tt.want)
			}
			var errNames []string
			for _, e := range errs {
				errNames = append(errNames, e.Rule.Name)
				if !strings.HasPrefix(e.Error(), fmt.Sprintf("rule %q: when: ", e.Rule.Name)) || strings.Contains(e.Error(), "\n") {
					t.Errorf("EvalError = %q, want one line naming the rule", e.Error())
				}
			}
			if !slices.Equal(errNames, tt.wantErrs) {
				t.Errorf("errors from %v, want %v", errNames, tt.wantErrs)
			}
			// Explain agrees with Match.
			for _, x := range f.Set.Explain(tt.ev) {
				if x.Matched != slices.Contains(tt.want, x.Rule.Name) {
					t.Errorf("Explain(%s).Matched = %v (%s)", x.Rule.Name, x.Matched, x.Reason)
				}
			}
		})
	}
}

func TestMatchErrorText(t *testing.T) {
	f := loadMatchRules(t)
	_, errs := f.Set.Match(&event.Event{Source: "sleekplan", Event: "x", Data: map[string]any{"flag": "yes"}})
	want := map[string]string{
		"missing-field":        `rule "missing-field": when: cannot fetch field from <nil> (1:14)`,
		"not-bool-at-run-time": `rule "not-bool-at-run-time": when: invalid operation: bool(string) (1:1)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errs = %v", errs)
	}
	for _, e := range errs {
		if e.Error() != want[e.Rule.Name] {
			t.Errorf("got  %q\nwant %q", e.Error(), want[e.Rule.Name])
		}
	}
}

func TestExplain(t *testing.T) {
	f := loadMatchRules(t)
	ev := &event.Event{
		Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "x",
		Data: map[string]any{"post": map[string]any{"id": float64(7)}, "flag": true},
	}
	want := map[string]struct {
		matched bool
		reason  string
	}{
		"vote-on-99":           {false, "data.post.id == 99 was false"},
		"missing-field":        {false, "data.missing.field == \"x\": error: cannot fetch field from <nil> (1:14)"},
		"optional-chain":       {true, "when was true"},
		"sleekplan-only":       {false, `source "productlift" not in [sleekplan]`},
		"userback-vendor":      {false, `vendor == "userback" was false`},
		"not-bool-at-run-time": {true, "when was true"},
		"either-source":        {false, `source "productlift" not in [sleekplan userback]`},
		"time-and-id":          {false, "time.Year() == 2024 was false"},
	}
	xs := f.Set.Explain(ev)
	if len(xs) != len(want) {
		t.Fatalf("got %d explanations", len(xs))
	}
	for i, x := range xs {
		if x.Rule != f.Rules[i] {
			t.Errorf("explanation %d is for %s, want file order", i, x.Rule.Name)
		}
		w := want[x.Rule.Name]
		if x.Matched != w.matched || x.Reason != w.reason {
			t.Errorf("%s: got (%v, %q), want (%v, %q)", x.Rule.Name, x.Matched, x.Reason, w.matched, w.reason)
		}
	}
	noCond, _ := Parse("x.yaml", []byte("rules:\n  - name: all\n    actions: [ { http: { url: \"https://a.example/\" } } ]\n"), env(nil))
	if x := noCond.Set.Explain(ev); !x[0].Matched || x[0].Reason != "no condition" {
		t.Errorf("no condition: %+v", x[0])
	}
}

func TestPins(t *testing.T) {
	tests := []struct {
		when    string
		want    map[string][]string
		decided bool
	}{
		{`event == "a"`, map[string][]string{"event": {"a"}}, true},
		{`"a" == event`, map[string][]string{"event": {"a"}}, true},
		{`event in ["a", "b"] && source == "s" and vendor == "v"`, map[string][]string{"event": {"a", "b"}, "source": {"s"}, "vendor": {"v"}}, true},
		{`vendor == "v" && event in ["a", "b"]`, map[string][]string{"event": {"a", "b"}, "vendor": {"v"}}, true},
		{`event in ["a", "b"] && event == "b"`, map[string][]string{"event": {"b"}}, true},
		{`event == "a" && event == "b"`, map[string][]string{"event": {}}, true},
		{`event == "a" && data.n > 1`, map[string][]string{"event": {"a"}}, false},
		{`topic == "vote.created" && subject.title contains "dark"`, map[string][]string{"topic": {"vote.created"}}, false},
		{`topic in ["vote.created", "vote.deleted"] && source == "s"`, map[string][]string{"topic": {"vote.created", "vote.deleted"}, "source": {"s"}}, true},
		{`(event == "a" && source == "s") && id == "x"`, map[string][]string{"event": {"a"}, "source": {"s"}}, false},
		{`event == "a" || event == "b"`, nil, false},
		{`!(event == "a")`, nil, false},
		{`event not in ["a"]`, nil, false},
		{`event != "a"`, nil, false},
		{`event in ["a", data.x]`, nil, false},
		{`id == "a" && data.event == "b"`, nil, false},
		{`event startsWith "vote."`, nil, false},
		{`event == "a" ? true : false`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			c, err := compileWhen(tt.when)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for i, p := range c.pins {
				if i > 0 && p.name <= c.pins[i-1].name {
					t.Errorf("pins %v are not one per name in pinnable order", c.pins)
				}
				got[pinnable[p.name]] = p.vals
			}
			if len(got) != len(tt.want) {
				t.Fatalf("pins = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !slices.Equal(got[k], v) {
					t.Errorf("pins[%s] = %v, want %v", k, got[k], v)
				}
			}
			if c.decided != tt.decided {
				t.Errorf("decided = %v, want %v", c.decided, tt.decided)
			}
		})
	}
}

// genRules writes a rules file of n rules of varied shapes over the given
// event names, sources and vendors.
func genRules(rng *rand.Rand, n int, evs, srcs []string) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for i, s := range srcs {
		fmt.Fprintf(&b, "  %s: { vendor: v%d, key: k }\n", s, i%3)
	}
	b.WriteString("rules:\n")
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	for i := range n {
		var when, source string
		switch rng.IntN(20) {
		case 0:
			when = fmt.Sprintf(`event == %q`, pick(evs))
		case 1:
			when = fmt.Sprintf(`%q == event && data.n > %d`, pick(evs), rng.IntN(10))
		case 2:
			when = fmt.Sprintf(`event in [%q, %q] && data.n %% 2 == 0`, pick(evs), pick(evs))
		case 3:
			when = fmt.Sprintf(`source == %q`, pick(srcs))
		case 4:
			when = fmt.Sprintf(`vendor == "v%d" && event == %q`, rng.IntN(3), pick(evs))
		case 5:
			when = fmt.Sprintf(`vendor in ["v%d", "v%d"]`, rng.IntN(3), rng.IntN(3))
		case 6:
			when = fmt.Sprintf(`event == %q || source == %q`, pick(evs), pick(srcs))
		case 7:
			when = fmt.Sprintf(`data.n > %d`, rng.IntN(10))
		case 8:
			when = fmt.Sprintf(`data.missing.x == 1 && event == %q`, pick(evs))
		case 9:
			source = fmt.Sprintf("[%s, %s]", pick(srcs), pick(srcs))
			when = fmt.Sprintf(`event == %q`, pick(evs))
		case 10:
			source = pick(srcs)
			when = fmt.Sprintf(`source == %q`, pick(srcs))
		case 11:
			source = pick(srcs)
		case 12: // decided by pins on every name, with a source: list
			source = fmt.Sprintf("[%s, %s, %s]", pick(srcs), pick(srcs), pick(srcs))
			when = fmt.Sprintf(`event in [%q, %q] && source in [%q, %q] && vendor == "v%d"`, pick(evs), pick(evs), pick(srcs), pick(srcs), rng.IntN(3))
		case 13: // decided, the condition's source and the list may not meet
			source = pick(srcs)
			when = fmt.Sprintf(`vendor in ["v%d", "v%d"] && %q == source`, rng.IntN(3), rng.IntN(3), pick(srcs))
		case 14: // contradictory pins
			when = fmt.Sprintf(`event == %q && event == %q`, pick(evs), pick(evs))
		case 15: // a run-time error after the pin, and before it
			when = fmt.Sprintf(`event == %q && data.missing.x == 1`, pick(evs))
		case 16: // not a bool at run time for some events
			when = fmt.Sprintf(`event in [%q, %q] && data.flag`, pick(evs), pick(evs))
		case 17:
			when = fmt.Sprintf(`source == %q && (data.n > %d || event == %q)`, pick(srcs), rng.IntN(10), pick(evs))
		case 18: // no condition, no source: matches everything
		case 19:
			when = fmt.Sprintf(`vendor == "v%d" && source == %q && data.n < %d`, rng.IntN(3), pick(srcs), rng.IntN(12))
		}
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		if source != "" {
			fmt.Fprintf(&b, "    source: %s\n", source)
		}
		if when != "" {
			fmt.Fprintf(&b, "    when: '%s'\n", when)
		}
		b.WriteString("    actions: [ { http: { url: \"https://example.com/\" } } ]\n")
	}
	return b.String()
}

func TestIndexAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	evs := []string{"vote.created", "post.created", "item.create", "feedback.create", "comment.added", "idea.upVoted", "status.changed", "other"}
	srcs := []string{"productlift", "sleekplan", "leanbe", "userback", "gh"}
	src := genRules(rng, 1000, evs, srcs)
	f, err := Parse("gen.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	sets := []*File{f}
	for _, name := range []string{"full.yaml", "design.yaml"} {
		g, err := Load(filepath.Join("testdata", "good", name), func(k string) (string, bool) { return "v", true })
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, g)
	}
	sets = append(sets, loadMatchRules(t))
	if len(f.Set.always) > 600 {
		t.Errorf("only %d of 1000 rules are indexed", 1000-len(f.Set.always))
	}
	decided := map[int]bool{}
	for _, c := range f.Set.always {
		decided[int(c.rule)] = c.decided
	}
	for _, m := range f.Set.by {
		for _, b := range m {
			for _, c := range f.Set.cands[b.lo:b.hi] {
				decided[int(c.rule)] = c.decided
			}
		}
	}
	if n := countTrue(decided); n < 200 || n > 800 {
		t.Errorf("%d of 1000 rules are decided by the index alone: the comparison does not cover both paths", n)
	}
	total, errors := 0, 0
	for _, g := range sets {
		naive := naive(g.Rules)
		for i := range 400 {
			ev := &event.Event{
				Source: srcs[rng.IntN(len(srcs))], Event: evs[rng.IntN(len(evs))], ID: fmt.Sprint(i),
				Vendor: fmt.Sprintf("v%d", rng.IntN(4)),
				Data:   map[string]any{"n": float64(rng.IntN(12)), "post": map[string]any{"id": float64(99)}},
			}
			if i%3 == 0 {
				ev.Vendor = ev.Source
			}
			switch i % 4 {
			case 1:
				ev.Data["flag"] = rng.IntN(2) == 0
			case 2:
				ev.Data["flag"] = "yes" // not a bool: a run-time error
			}
			got, gotErrs := g.Set.Match(ev)
			want, wantErrs := naive.Match(ev)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: event %+v: indexed %v, naive %v", g.Path, ev, names(got), names(want))
			}
			// The index skips rules that cannot match, so it reports the
			// errors of fewer rules, never other ones.
			for _, e := range gotErrs {
				if !slices.ContainsFunc(wantErrs, func(w EvalError) bool { return w.Rule == e.Rule && w.Error() == e.Error() }) {
					t.Fatalf("%s: event %+v: indexed reports %v, naive does not", g.Path, ev, e)
				}
			}
			errors += len(gotErrs)
			total += len(got)
			var explained []*Rule
			for _, x := range g.Set.Explain(ev) {
				if x.Matched {
					explained = append(explained, x.Rule)
				}
			}
			if !slices.Equal(explained, want) {
				t.Fatalf("%s: Explain matched %v, Match %v", g.Path, names(explained), names(want))
			}
		}
	}
	if total == 0 || errors == 0 {
		t.Fatalf("%d matches and %d run-time errors: the comparison proves nothing", total, errors)
	}
}

func countTrue(m map[int]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func TestMatchConcurrent(t *testing.T) {
	f := loadMatchRules(t)
	ev := &event.Event{
		Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "evt_1",
		Data: map[string]any{"post": map[string]any{"id": float64(99)}, "flag": true},
	}
	want, _ := f.Set.Match(ev)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got, _ := f.Set.Match(ev); !slices.Equal(got, want) {
					t.Errorf("concurrent Match = %v, want %v", names(got), names(want))
					return
				}
				f.Set.Explain(ev)
			}
		})
	}
	wg.Wait()
}

// matchBench is n rules shaped like the harness's (each pins a distinct event
// literal on one of four sources, cond adds to it), and a ring of events
// spread over them so that consecutive events select different rules, each
// matching exactly one.
type matchBench struct {
	set   *Set
	naive naive
	evs   []event.Event
}

func newMatchBench(tb testing.TB, n int, cond string) *matchBench {
	tb.Helper()
	srcs := []string{"productlift", "sleekplan", "leanbe", "userback"}
	var y strings.Builder
	y.WriteString("sources:\n")
	for _, s := range srcs {
		fmt.Fprintf(&y, "  %s: { vendor: %s, key: k }\n", s, s)
	}
	y.WriteString("rules:\n")
	for i := range n {
		fmt.Fprintf(&y, "  - name: r%d\n    source: %s\n    when: event == \"e%d\"%s\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n", i, srcs[i%len(srcs)], i, cond)
	}
	f, err := Parse("bench.yaml", []byte(y.String()), env(nil))
	if err != nil {
		tb.Fatal(err)
	}
	m := &matchBench{set: f.Set, naive: naive(f.Rules), evs: make([]event.Event, 4096)}
	data := map[string]any{"n": float64(2)}
	for k := range m.evs {
		i := (k * 7919) % n
		m.evs[k] = event.Event{Source: srcs[i%len(srcs)], Vendor: srcs[i%len(srcs)], Event: fmt.Sprintf("e%d", i), ID: fmt.Sprint(k), Data: data}
		sets := []interface {
			Match(*event.Event) ([]*Rule, []EvalError)
		}{m.set}
		if k < 16 { // naive matching of 10,000 rules takes a millisecond
			sets = append(sets, m.naive)
		}
		for _, set := range sets {
			if got, errs := set.Match(&m.evs[k]); len(got) != 1 || got[0].Name != fmt.Sprintf("r%d", i) || len(errs) > 0 {
				tb.Fatalf("event e%d matched %v (errors %v), want [r%d]", i, names(got), errs, i)
			}
		}
	}
	return m
}

// BenchmarkMatch is one Match per op, events spread over the rules. The
// conditions are either decided by the index alone (event == literal on a
// source) or need the VM too (&& data.n > 1).
func BenchmarkMatch(b *testing.B) {
	for _, shape := range []struct{ name, cond string }{{"pinned", ""}, {"data", " && data.n > 1"}} {
		for _, n := range []int{10, 1000, 10000} {
			m := newMatchBench(b, n, shape.cond)
			for _, mode := range []struct {
				name string
				set  interface {
					Match(*event.Event) ([]*Rule, []EvalError)
				}
			}{{"indexed", m.set}, {"naive", m.naive}} {
				b.Run(fmt.Sprintf("%s/%s/%d", mode.name, shape.name, n), func(b *testing.B) {
					b.ReportAllocs()
					k := 0
					for b.Loop() {
						mode.set.Match(&m.evs[k%len(m.evs)])
						k++
					}
				})
			}
		}
	}
}

// BenchmarkMatchRatio alternates short rounds of matching with 10 and with
// 10,000 rules (indexed) and reports the median ns per event of each and
// their ratio (events/s with 10,000 over events/s with 10), so that drift
// and garbage collection affect both alike.
func BenchmarkMatchRatio(b *testing.B) {
	for _, shape := range []struct{ name, cond string }{{"pinned", ""}, {"data", " && data.n > 1"}} {
		b.Run(shape.name, func(b *testing.B) {
			sets := []*matchBench{newMatchBench(b, 10, shape.cond), newMatchBench(b, 10000, shape.cond)}
			const round = 1024
			var per [2][]float64
			k := 0
			for b.Loop() {
				for i, m := range sets {
					t0 := time.Now()
					for j := range round {
						m.set.Match(&m.evs[(k+j)%len(m.evs)])
					}
					per[i] = append(per[i], float64(time.Since(t0).Nanoseconds())/round)
				}
				k += round
			}
			few, many := median(per[0]), median(per[1])
			b.ReportMetric(few, "ns/event-10")
			b.ReportMetric(many, "ns/event-10000")
			b.ReportMetric(few/many, "ratio")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
