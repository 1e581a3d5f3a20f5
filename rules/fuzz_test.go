package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

// canary is the value of every environment variable and secret file the
// fuzzed loader sees: no error may quote it.
const canary = "zq-canary-7f3a"

// seedRules adds every rules file under testdata and the match rules.
func seedRules(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(matchRules))
	f.Add([]byte(limitsRules))
	f.Add([]byte(fuzzMatchRules))
	f.Add([]byte("rules:\n  - name: a\n    when: '" + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + " == 1'\n    actions: [ { http: { url: \"https://x.example/\" } } ]\n"))
	f.Add([]byte("x: &a [*a]\n"))
	f.Add([]byte("a: &a {b: *a}\nrules: *a\n"))
	f.Add([]byte("sources:\n  p: { vendor: productlift, secret_file: s.secret }\n"))
}

// FuzzParse loads arbitrary bytes as a rules file. Invariants: Parse
// returns a File or a non-empty ErrorList (never another error, never
// both); every error has the file's name, a line within the file and a
// message; errors are sorted and never quote a value from the environment
// or a secret file; a File's rules have unique non-empty names, a Set
// holding all of them, and match an event without panicking; Parse is
// deterministic.
func FuzzParse(f *testing.F) {
	seedRules(f)
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.secret"), []byte(canary+"-file\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	name := filepath.Join(dir, "rules.yaml")
	getenv := func(k string) (string, bool) { return canary + "-" + k, true }
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(name, data, getenv)
		file2, err2 := Parse(name, data, getenv)
		if fmt.Sprint(err) != fmt.Sprint(err2) || (file == nil) != (file2 == nil) {
			t.Fatalf("Parse is not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			if file != nil {
				t.Fatalf("Parse returned a File and an error %v", err)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			lines := strings.Count(string(data), "\n") + 2
			for i, e := range list {
				if e.Pos.File != name || e.Pos.Line < 0 || e.Pos.Line > lines || e.Pos.Col < 0 || e.Msg == "" {
					t.Fatalf("bad error %q at %+v (file has %d lines)", e.Msg, e.Pos, lines)
				}
				if i > 0 && list[i-1].Pos.compare(e.Pos) > 0 {
					t.Fatalf("errors not sorted: %s before %s", list[i-1].Pos, e.Pos)
				}
			}
			if !strings.Contains(string(data), "zq-canary") && strings.Contains(err.Error(), "zq-canary") {
				t.Fatalf("error quotes a value from the environment or a secret file:\n%v", err)
			}
			return
		}
		if file.Set == nil || file.Set.Len() != len(file.Rules) {
			t.Fatalf("Set holds %d of %d rules", file.Set.Len(), len(file.Rules))
		}
		seen := map[string]bool{}
		for _, r := range file.Rules {
			if r.Name == "" || seen[r.Name] {
				t.Fatalf("rule name %q empty or repeated", r.Name)
			}
			seen[r.Name] = true
		}
		ev := &event.Event{Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "1",
			Time: time.Unix(0, 0).UTC(), Data: map[string]any{"post": map[string]any{"id": 99.0}}}
		matched, _ := file.Set.Match(ev)
		naive, _ := naive(file.Rules).Match(ev)
		if fmt.Sprint(names(matched)) != fmt.Sprint(names(naive)) {
			t.Fatalf("indexed match %v, naive %v", names(matched), names(naive))
		}
	})
}

// fuzzMatchRules exercise what conditions do with event data: missing
// fields, optional chaining, type mismatches, strings, arrays, arithmetic,
// regexes, JSON and the builtins that allocate.
const fuzzMatchRules = `
sources:
  productlift: { vendor: productlift, secret: s }
  sleekplan: { vendor: sleekplan, key: k }
rules:
  - name: vote-on-99
    when: event == "vote.created" && data.post.id == 99
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: optional
    when: (data?.post?.title ?? "") contains "dark"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: missing-field
    when: data.missing.field == "x"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: not-bool
    when: data.flag
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: regex
    when: string(data?.email ?? "") matches "^[a-z]+@example\\.com$"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: arithmetic
    when: data.a / data.b > 1 || data.a % 2 == 0
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: arrays
    when: 'any(data.tags, # == "ui") || len(data.tags) > 3 || data.tags[0] == "x"'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: allocating
    when: 'sum(map(data.items, # * 2)) > 10 || len(filter(data.items, # > 0)) > 2'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: sorting
    when: 'first(sort(data.items)) == 0'
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: json-round-trip
    when: toJSON(data) contains "<!channel>" || fromJSON(string(data?.raw ?? "1")) != nil
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: strings
    when: upper(string(data?.s ?? "")) startsWith "A" && len(split(string(data?.s ?? ""), ",")) > 1
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: payload-and-headers
    source: sleekplan
    when: payload.action == "item.create" || headers["x-test"] == "1"
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: time
    when: time.Year() > 2000 && id != ""
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: int-conversion
    when: int(data?.n ?? 0) > 5
    actions: [ { http: { url: "https://example.com/" } } ]
  - name: range
    when: len(1..int(data?.n ?? 0)) > 3
    actions: [ { http: { url: "https://example.com/" } } ]
`

// FuzzMatch evaluates the conditions above on events built from arbitrary
// JSON, the way a source normalizes a body. Invariants: nothing panics; the
// indexed Match agrees with naive matching (every rule evaluated) on the
// rules matched, and reports no error naive matching does not; Explain
// agrees with Match; a rule is never both matched and in error; a run is
// deterministic.
func FuzzMatch(f *testing.F) {
	for _, p := range []string{
		"productlift/vote.created.json", "productlift/post.created.json", "sleekplan/item.create.json",
		"userback/feedback.create.json", "leanbe/idea.created.json", "leanbe/customer.created.json",
	} {
		b, err := os.ReadFile(filepath.Join("..", "examples", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "vote.created", "productlift")
	}
	f.Add([]byte(`{"data":{"a":1,"b":0,"tags":[],"items":[1,2,3],"n":1e300,"raw":"{\"x\":[[[[1]]]]}"}}`), "x", "sleekplan")
	f.Add([]byte(`{"data":{"a":"1","b":"x","tags":"ui","items":{"a":1},"n":-5,"email":"ab@example.com"}}`), "vote.created", "productlift")
	f.Add([]byte(`{"data":{"flag":true,"s":"a,b","post":{"id":"99","title":null}}}`), "vote.created", "productlift")
	f.Add([]byte(`{"data":[1,2],"action":"item.create"}`), "item.create", "sleekplan")
	f.Add([]byte(`"just a string"`), "", "")
	set, err := Parse("fuzz.yaml", []byte(fuzzMatchRules), env(nil))
	if err != nil {
		f.Fatal(err)
	}
	naiveSet := naive(set.Rules)
	f.Fuzz(func(t *testing.T, payload []byte, eventName, source string) {
		var v any
		if json.Unmarshal(payload, &v) != nil {
			return
		}
		top, ok := v.(map[string]any)
		if !ok {
			top = map[string]any{"value": v}
		}
		data, ok := top["data"].(map[string]any)
		if !ok {
			data = map[string]any{"value": top["data"]}
		}
		ev := &event.Event{Source: source, Vendor: source, Event: eventName, ID: eventName,
			Time: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Data: data, Payload: top,
			Headers: map[string]string{"x-test": eventName}}

		matched, errs := set.Set.Match(ev)
		naive, naiveErrs := naiveSet.Match(ev)
		if fmt.Sprint(names(matched)) != fmt.Sprint(names(naive)) {
			t.Fatalf("indexed %v, naive %v", names(matched), names(naive))
		}
		errNames := func(es []EvalError) []string {
			out := []string{}
			for _, e := range es {
				if e.Err == nil || e.Error() == "" {
					t.Fatalf("empty EvalError for %s", e.Rule.Name)
				}
				out = append(out, e.Rule.Name)
			}
			return out
		}
		en, nen := errNames(errs), errNames(naiveErrs)
		for _, n := range en {
			if !slices.Contains(nen, n) {
				t.Fatalf("indexed error for %s, naive none (%v)", n, nen)
			}
			if slices.Contains(names(matched), n) {
				t.Fatalf("rule %s both matched and in error", n)
			}
		}
		again, _ := set.Set.Match(ev)
		if fmt.Sprint(names(again)) != fmt.Sprint(names(matched)) {
			t.Fatalf("Match not deterministic: %v then %v", names(matched), names(again))
		}
		for _, x := range set.Set.Explain(ev) {
			if x.Matched != slices.Contains(names(naive), x.Rule.Name) {
				t.Fatalf("Explain %s matched=%v (%s), Match %v", x.Rule.Name, x.Matched, x.Reason, names(naive))
			}
			if x.Reason == "" {
				t.Fatalf("Explain %s gives no reason", x.Rule.Name)
			}
		}
	})
}
