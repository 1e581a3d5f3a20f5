package actions

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"text/template"
	"time"
)

// fastTemplates are the texts of the differential tests; fast says whether
// the text takes the fast path (when the env lets it).
var fastTemplates = []struct {
	text string
	fast bool
}{
	{"{{ .a }}", true},
	{"{{ .a.b }}", true},
	{"{{ .a.b.c }}", true},
	{"x {{ .a }} y", true},
	{"{{ .a }}{{ .b }}{{ .c }}", true},
	{"héllo ✓ {{ .a }} — 日本語 {{ .b }}\xff", true},
	{"{{- .a -}}  |  {{ .b }}", true},
	{"<{{ .a.b }}&{{ .c }}>\n", true},
	{"{{ .héllo }}", true},
	{"{{/* a comment */}}{{ .a }}", true},
	{"{{ .data.post.title }} by {{ .data.vote.voter.name }} ({{ .event }})", true},
	{"{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .a }}{{ .b }}", true},
	{"{{ if .a }}y{{ end }}", false},
	{"{{ .a | upper }}", false},
	{"{{ .a.b | default \"d\" }}", false},
	{"{{ $x := .a }}{{ $x }}", false},
	{"{{ . }}", false},
	{"{{ $.a }}", false},
	{"{{ (.a) }}", false},
	{"{{ (.a).b }}", false},
	{"{{ .a .b }}", false},
	{"{{ print .a }}", false},
	{"{{ \"lit\" }}", false},
	{"{{ range .a }}{{ . }}{{ end }}", false},
	{"{{ with .a }}{{ .b }}{{ end }}", false},
	{"{{ .a }}{{ if .b }}{{ end }}", false},
	{"{{ define \"inner\" }}{{ .b }}{{ end }}{{ .a }}", false},
	{"{{ .a | _switchyard_insert }}", false},
}

// panicJSON panics when encoded as JSON: Stringify of a list holding it
// panics, which text/template turns into an error.
type panicJSON struct{}

func (panicJSON) MarshalJSON() ([]byte, error) { panic("no JSON") }

type structB struct{ B string }

type namedMap map[string]any

// fastEnvs are the envs of the differential tests.
var fastEnvs = []struct {
	name string
	env  func() map[string]any
}{
	{"event", testEnv},
	{"nil env", func() map[string]any { return nil }},
	{"empty", func() map[string]any { return map[string]any{} }},
	{"strings", func() map[string]any {
		return map[string]any{"a": "x", "b": `say "hi"` + "\n\t<b>&amp;</b>", "c": "\xff\xfe ok \u2028"}
	}},
	{"a nil", func() map[string]any { return map[string]any{"a": nil, "b": "", "c": "c"} }},
	{"a typed nil map", func() map[string]any { return map[string]any{"a": map[string]any(nil), "b": "b"} }},
	{"a string", func() map[string]any { return map[string]any{"a": "str", "b": "b", "c": "c"} }},
	{"a map[string]string", func() map[string]any { return map[string]any{"a": map[string]string{"b": "<x>"}} }},
	{"a map[any]any", func() map[string]any { return map[string]any{"a": map[any]any{"b": "x"}} }},
	{"a named map", func() map[string]any { return map[string]any{"a": namedMap{"b": "x"}} }},
	{"nested", func() map[string]any {
		return map[string]any{"a": map[string]any{"b": map[string]any{"c": "deep & <down>"}}, "b": 1e21, "c": "c"}
	}},
	{"nested nil", func() map[string]any { return map[string]any{"a": map[string]any{"b": nil}} }},
	{"nested missing", func() map[string]any { return map[string]any{"a": map[string]any{"x": 1.0}, "b": "b"} }},
	{"numbers", func() map[string]any {
		return map[string]any{"a": 3.5, "b": json.Number("12.50"), "c": 42, "héllo": math.NaN()}
	}},
	{"bools", func() map[string]any { return map[string]any{"a": true, "b": false, "c": map[string]any{}} }},
	{"lists and maps", func() map[string]any {
		return map[string]any{"a": []any{"x", 1.0, nil}, "b": map[string]any{"k": "<v>"}, "c": []string{"s"}}
	}},
	{"a list of maps", func() map[string]any { return map[string]any{"a": []any{map[string]any{"b": 1.0}}} }},
	{"structs", func() map[string]any {
		return map[string]any{"a": structB{"sb"}, "b": &structB{"pb"}, "c": (*structB)(nil)}
	}},
	{"nil pointer", func() map[string]any { return map[string]any{"a": (*structB)(nil)} }},
	{"times", func() map[string]any {
		return map[string]any{"a": time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), "b": (*time.Time)(nil), "c": time.Time{}}
	}},
	{"values with methods", func() map[string]any {
		return map[string]any{"a": errors.New("<e>"), "b": reflect.ValueOf(3), "c": time.Second}
	}},
	{"panicking value", func() map[string]any { return map[string]any{"a": []any{panicJSON{}}, "b": "b"} }},
	{"boom", func() map[string]any { return map[string]any{"a": "boom", "b": map[string]any{"c": "boom"}} }},
	{"unicode key", func() map[string]any { return map[string]any{"héllo": "wörld <3", "a": "a"} }},
}

// fastEscapers are the escapers of the differential tests: none, two real
// ones, one that makes every insertion visible and one that panics.
var fastEscapers = []struct {
	name string
	esc  Escaper
}{
	{"none", nil},
	{"slack", SlackEscape},
	{"header", HeaderValue},
	{"brackets", func(s string) string { return "«" + s + "»" }},
	{"boom", func(s string) string {
		if strings.Contains(s, "boom") {
			panic("boom")
		}
		return strings.ToUpper(s)
	}},
}

// plainRender renders text with text/template alone: a template of its own,
// the escape function appended to its pipelines, as Templates.New does.
func plainRender(text string, esc Escaper, env map[string]any) (string, error) {
	insert := func(v any) string {
		s := Stringify(v)
		if esc != nil {
			s = esc(s)
		}
		return s
	}
	t, err := template.New("plain").Funcs(Funcs()).Funcs(template.FuncMap{escapeFunc: insert}).Parse(text)
	if err != nil {
		return "", err
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Root != nil {
			appendEscaper(tt.Root, escapeFunc)
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, env); err != nil {
		return "", err
	}
	return b.String(), nil
}

// checkSame fails t unless tmpl renders env as text/template alone does
// (the same output, an error or not), and unless the fast path, when it
// renders, renders that too.
func checkSame(t *testing.T, tmpl *Template, text string, esc Escaper, env map[string]any) {
	t.Helper()
	want, wantErr := plainRender(text, esc, env)
	got, err := tmpl.Execute(env)
	if got != want || (err != nil) != (wantErr != nil) {
		t.Errorf("%q: got %q, %v; text/template %q, %v", text, got, err, want, wantErr)
	}
	if tmpl.fast == nil {
		return
	}
	if fast, ok := tmpl.fast.execute(env); ok && (fast != want || wantErr != nil) {
		t.Errorf("%q: fast path %q; text/template %q, %v", text, fast, want, wantErr)
	}
}

// TestTemplateFastPathSame renders every template of fastTemplates against
// every env of fastEnvs with every escaper of fastEscapers, from one
// Templates per escaper, and compares with text/template alone.
func TestTemplateFastPathSame(t *testing.T) {
	for _, e := range fastEscapers {
		t.Run(e.name, func(t *testing.T) {
			ts := NewTemplates()
			for _, tc := range fastTemplates {
				tmpl, err := ts.New("t", tc.text, e.esc)
				if err != nil {
					t.Fatalf("%q: %v", tc.text, err)
				}
				for _, env := range fastEnvs {
					t.Run(env.name, func(t *testing.T) { checkSame(t, tmpl, tc.text, e.esc, env.env()) })
				}
			}
		})
	}
}

// TestTemplateFastPathTaken checks which texts get a fast path, and that the
// fast path renders when every field is there and gives up when one is not.
func TestTemplateFastPathTaken(t *testing.T) {
	full := map[string]any{
		"a": map[string]any{"b": map[string]any{"c": "abc"}}, "b": "b", "c": 3.0, "héllo": "h",
		"data": testEnv()["data"], "event": "e",
	}
	for _, tc := range fastTemplates {
		for _, e := range fastEscapers {
			tmpl, err := NewTemplates().New("t", tc.text, e.esc)
			if err != nil {
				t.Fatalf("%q: %v", tc.text, err)
			}
			if (tmpl.fast != nil) != tc.fast {
				t.Fatalf("%q, %s escaper: fast path %v, want %v", tc.text, e.name, tmpl.fast != nil, tc.fast)
			}
			if tmpl.fast == nil {
				continue
			}
			if _, ok := tmpl.fast.execute(full); !ok {
				t.Errorf("%q, %s escaper: the fast path gave up on an env that has every field", tc.text, e.name)
			}
			if _, ok := tmpl.fast.execute(map[string]any{}); ok {
				t.Errorf("%q, %s escaper: the fast path rendered an empty env", tc.text, e.name)
			}
		}
	}
	// .a is a map in full: the texts that insert it whole render it as JSON.
	tmpl := MustTemplate("t", "{{ .a }}", nil)
	if got, ok := tmpl.fast.execute(full); !ok || got != `{"b":{"c":"abc"}}` {
		t.Errorf("{{ .a }}: fast path %q, %v", got, ok)
	}
	// The fast path gives up where text/template fails.
	tmpl = MustTemplate("t", "{{ .a.b }}", nil)
	if _, ok := tmpl.fast.execute(map[string]any{"a": "str"}); ok {
		t.Error("{{ .a.b }} with a string a: the fast path rendered")
	}
	if _, err := tmpl.Execute(map[string]any{"a": "str"}); err == nil {
		t.Error("{{ .a.b }} with a string a: no error")
	}
}

// TestTemplateFastPathCases are the cases that would go wrong in a fast path
// that trusted too much, one by one with the output text/template gives.
func TestTemplateFastPathCases(t *testing.T) {
	brackets := func(s string) string { return "[" + s + "]" }
	tests := []struct {
		name    string
		text    string
		env     map[string]any
		want    string
		wantErr bool
	}{
		{"present", "{{ .a.b }}", map[string]any{"a": map[string]any{"b": "x"}}, "[x]", false},
		{"nil value is empty", "{{ .a }}", map[string]any{"a": nil}, "[]", false},
		{"missing is empty", "{{ .a }}", map[string]any{}, "[]", false},
		{"missing under missing is empty", "{{ .a.b }}", map[string]any{}, "[]", false},
		{"nil env", "{{ .a.b }}", nil, "[]", false},
		{"under nil fails", "{{ .a.b }}", map[string]any{"a": nil}, "", true},
		{"under typed nil map is empty", "{{ .a.b }}", map[string]any{"a": map[string]any(nil)}, "[]", false},
		{"under a string fails", "{{ .a.b }}", map[string]any{"a": "s"}, "", true},
		{"map[string]string", "{{ .a.b }}", map[string]any{"a": map[string]string{"b": "v"}}, "[v]", false},
		{"struct field", "{{ .a.B }}", map[string]any{"a": structB{"v"}}, "[v]", false},
		{"nil struct pointer fails", "{{ .a.B }}", map[string]any{"a": (*structB)(nil)}, "", true},
		{"panic is an error", "{{ .a }}", map[string]any{"a": []any{panicJSON{}}}, "", true},
		{"json.Number", "{{ .a }}", map[string]any{"a": json.Number("1.50")}, "[1.50]", false},
		{"float", "{{ .a }}", map[string]any{"a": 1e21}, "[1e+21]", false},
		{"invalid UTF-8 kept", "\xff{{ .a }}", map[string]any{"a": "\xfe"}, "\xff[\xfe]", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := MustTemplate(tc.name, tc.text, brackets)
			got, err := tmpl.Execute(tc.env)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
			checkSame(t, tmpl, tc.text, brackets, tc.env)
		})
	}
}

// envGen builds an env from fuzzed bytes, one decision a byte (zero when
// they run out), with s and n for the strings and numbers.
type envGen struct {
	shape []byte
	s     string
	n     float64
}

func (g *envGen) next() byte {
	if len(g.shape) == 0 {
		return 0
	}
	c := g.shape[0]
	g.shape = g.shape[1:]
	return c
}

func (g *envGen) key() string {
	return [...]string{"a", "b", "c", g.s}[g.next()%4]
}

func (g *envGen) object(depth, most int) map[string]any {
	n := int(g.next()) % (most + 1)
	m := make(map[string]any, n)
	for range n {
		m[g.key()] = g.value(depth)
	}
	return m
}

func (g *envGen) value(depth int) any {
	switch g.next() % 20 {
	case 0:
		return nil
	case 1:
		return g.s
	case 2:
		return g.n
	case 3:
		return json.Number(g.s)
	case 4:
		return g.next()%2 == 0
	case 5:
		return int64(g.next())
	case 6:
		return []any{g.s, g.n, nil}
	case 7:
		return map[string]string{g.key(): g.s}
	case 8:
		return map[string]any(nil)
	case 9:
		return (*time.Time)(nil)
	case 10:
		return time.Unix(int64(g.next())<<24, 0).UTC()
	case 11:
		return structB{g.s}
	case 12:
		return []byte(g.s)
	case 13:
		return errors.New(g.s)
	case 14:
		return []any{panicJSON{}}
	case 15:
		return (*structB)(nil)
	}
	if depth >= 4 {
		return g.s
	}
	return g.object(depth+1, 3)
}

// FuzzTemplateFastPath compares the fast path with text/template alone on
// fuzzed texts (those that take the fast path), envs and escapers.
func FuzzTemplateFastPath(f *testing.F) {
	for _, tc := range fastTemplates {
		if tc.fast {
			f.Add(tc.text, []byte{5, 14, 0, 1, 2, 15, 3, 3, 1}, "boom <&>", 2.5, uint8(1))
		}
	}
	f.Add("{{ .a.b.c }}", []byte{1, 0, 19, 1, 1, 19, 1, 2, 1}, "x", 0.0, uint8(3))
	f.Add("{{ .a.b }}-{{ .c }}", []byte{2, 0, 8, 2, 1}, "\xff\n", math.Inf(1), uint8(2))
	f.Add("{{ .a }}", []byte{1, 0, 14}, "", 0.0, uint8(4))
	f.Fuzz(func(t *testing.T, text string, shape []byte, s string, n float64, e uint8) {
		esc := fastEscapers[int(e)%len(fastEscapers)].esc
		tmpl, err := NewTemplates().New("fuzz", text, esc)
		if err != nil || tmpl.fast == nil {
			return
		}
		g := &envGen{shape: shape, s: s, n: n}
		env := g.object(0, 6)
		checkSame(t, tmpl, text, esc, env)
	})
}
