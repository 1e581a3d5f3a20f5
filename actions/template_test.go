package actions

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

func testEnv() map[string]any {
	ev := &event.Event{
		Source: "productlift",
		Vendor: "productlift",
		Event:  "vote.created",
		ID:     "d-1",
		Time:   time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Data: map[string]any{
			"post": map[string]any{"id": float64(99), "title": "Dark <mode> & more"},
			"vote": map[string]any{"voter": map[string]any{"name": "<!channel> Eve", "email": "eve@example.com"}},
			"tags": []any{"ui", "mobile"},
			"nil":  nil,
			"when": "2024-01-02T03:04:05Z",
		},
		Headers: map[string]string{"user-agent": "ProductLift"},
	}
	return ev.Env()
}

var escapingTests = []struct {
	name string
	text string
	esc  Escaper
	want string
}{
	{"plain value", "{{ .event }}", SlackEscape, "vote.created"},
	{"inserted value escaped", "{{ .data.vote.voter.name }}", SlackEscape, "&lt;!channel&gt; Eve"},
	{"literal text not escaped", "<https://example.com|site> *{{ .data.post.title }}* & co", SlackEscape,
		"<https://example.com|site> *Dark &lt;mode&gt; &amp; more* & co"},
	{"no escaper", "{{ .data.post.title }}", nil, "Dark <mode> & more"},
	{"missing key renders empty", "[{{ .data.nope }}]", SlackEscape, "[]"},
	{"missing nested renders empty", "[{{ .data.nope.deeper.name }}]", nil, "[]"},
	{"nil value renders empty", "[{{ .data.nil }}]", nil, "[]"},
	{"number", "{{ .data.post.id }}", nil, "99"},
	{"time is RFC 3339", "{{ .time }}", nil, "2024-05-06T07:08:09Z"},
	{"list is JSON", "{{ .data.tags }}", nil, `["ui","mobile"]`},
	{"escaped after pipeline", `{{ .data.post.title | upper }}`, SlackEscape, "DARK &lt;MODE&gt; &amp; MORE"},
	{"function output escaped too", `{{ json .data.post.title }}`, SlackEscape, `"Dark \u003cmode\u003e \u0026 more"`},
	{"inside if", `{{ if .data.post }}{{ .data.post.title }}{{ end }}`, SlackEscape, "Dark &lt;mode&gt; &amp; more"},
	{"inside else", `{{ if .data.nope }}x{{ else }}{{ .data.vote.voter.name }}{{ end }}`, SlackEscape, "&lt;!channel&gt; Eve"},
	{"inside range", `{{ range .data.tags }}<{{ . }}>{{ end }}`, SlackEscape, "<ui><mobile>"},
	{"inside with", `{{ with .data.vote.voter }}{{ .name }}{{ end }}`, SlackEscape, "&lt;!channel&gt; Eve"},
	{"variable declaration prints nothing", `{{ $t := .data.post.title }}{{ $t }}`, SlackEscape, "Dark &lt;mode&gt; &amp; more"},
	{"defined template escaped", `{{ define "t" }}{{ .name }}{{ end }}{{ template "t" .data.vote.voter }}`, SlackEscape, "&lt;!channel&gt; Eve"},
	{"default on missing", `{{ .data.nope | default "n/a" }}`, nil, "n/a"},
	{"default on empty string", `{{ "" | default "n/a" }}`, nil, "n/a"},
	{"default keeps value", `{{ .event | default "n/a" }}`, nil, "vote.created"},
	{"lower trim", `{{ "  ABC " | trim | lower }}`, nil, "abc"},
	{"truncate", `{{ truncate 5 "abcdefgh" }}`, nil, "abcd…"},
	{"truncate short", `{{ truncate 5 "abc" }}`, nil, "abc"},
	{"truncate runes", `{{ truncate 3 "ééééé" }}`, nil, "éé…"},
	{"join", `{{ join ", " .data.tags }}`, nil, "ui, mobile"},
	{"join missing", `[{{ join ", " .data.nope }}]`, nil, "[]"},
	{"date from time", `{{ date "2006-01-02" .time }}`, nil, "2024-05-06"},
	{"date from string", `{{ date "Jan 2 2006 15:04" .data.when }}`, nil, "Jan 2 2024 03:04"},
	{"header value", "a{{ .data.vote.voter.email }}", HeaderValue, "aeve@example.com"},
	{"literal", "<https://example.com|a> & b", SlackEscape, "<https://example.com|a> & b"},
	{"empty", "", SlackEscape, ""},
	{"comment only", "{{/* nothing */}}", nil, ""},
	{"escape function named", "{{ _switchyard_insert .event }}", SlackEscape, "vote.created"},
	{"block", `{{ block "b" .data.post }}{{ .title }}{{ end }}`, SlackEscape, "Dark &lt;mode&gt; &amp; more"},
}

func TestTemplateEscaping(t *testing.T) {
	env := testEnv()
	for _, tc := range escapingTests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := NewTemplate(tc.name, tc.text, tc.esc)
			if err != nil {
				t.Fatalf("NewTemplate: %v", err)
			}
			got, err := tmpl.Execute(env)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTemplatesShared makes every template of TestTemplateEscaping, twice
// and under one name, from one Templates: each renders as when made alone,
// whatever the others' escapers and named templates.
func TestTemplatesShared(t *testing.T) {
	env := testEnv()
	ts := NewTemplates()
	var made []*Template
	for range 2 {
		for _, tc := range escapingTests {
			tmpl, err := ts.New("shared", tc.text, tc.esc)
			if err != nil {
				t.Fatalf("%s: New: %v", tc.name, err)
			}
			made = append(made, tmpl)
		}
	}
	// Named templates of the same name in two texts stay apart.
	a, err := ts.New("a", `{{ define "x" }}A{{ .event }}{{ end }}{{ template "x" . }}`, SlackEscape)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.New("b", `{{ define "x" }}B{{ .id }}{{ end }}{{ template "x" . }}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Made twice with no escaper and an action: made once.
	for i, tc := range escapingTests {
		once := tc.esc == nil && strings.Contains(tc.text, "{{") && !strings.Contains(tc.text, "define") && !strings.Contains(tc.text, "block") && !strings.Contains(tc.text, "_switchyard")
		if same := made[i] == made[i+len(escapingTests)]; same != once {
			t.Errorf("%s: the same template twice = %v, want %v", tc.name, same, once)
		}
	}
	for i, tmpl := range made {
		tc := escapingTests[i%len(escapingTests)]
		if got, err := tmpl.Execute(env); err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for tmpl, want := range map[*Template]string{a: "Avote.created", b: "Bd-1"} {
		if got, err := tmpl.Execute(env); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", tmpl.Name(), got, err, want)
		}
	}
	// An error names the template as when made alone.
	bad, err := ts.New("json.id", `{{ join "," .data.post }}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	alone := MustTemplate("json.id", `{{ join "," .data.post }}`, nil)
	_, err1 := bad.Execute(env)
	_, err2 := alone.Execute(env)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Errorf("shared: %v\nalone:  %v", err1, err2)
	}
	if _, err := ts.New("bad", "{{ nope }}", nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown function: %v", err)
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		parseErr  bool
		wantInErr string
	}{
		{"syntax error", "{{ .data.x ", true, "parse template"},
		{"unknown function", "{{ nope .data }}", true, "nope"},
		{"join of a map fails at run time", "{{ join \",\" .data.post }}", false, "not a list"},
		{"bad date fails at run time", `{{ date "2006" "yesterday" }}`, false, "date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := NewTemplate(tc.name, tc.text, nil)
			if tc.parseErr {
				if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
					t.Fatalf("NewTemplate error = %v, want one containing %q", err, tc.wantInErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewTemplate: %v", err)
			}
			_, err = tmpl.Execute(testEnv())
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("Execute error = %v, want one containing %q", err, tc.wantInErr)
			}
		})
	}
}

func TestTemplateErrorLine(t *testing.T) {
	tests := []struct {
		text string
		line int
		msg  string
	}{
		{"{{ .data.x ", 1, "unclosed action"},
		{"a\nb {{ nope .data }}", 2, `function "nope" not defined`},
		{"a\n\n{{ if .x }}\n{{ $y }}{{ end }}", 4, `undefined variable "$y"`},
		{"{{ define \"x\" }}\n{{ nope }}{{ end }}{{ template \"x\" }}", 2, `function "nope" not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := NewTemplates().New("text", tc.text, SlackEscape)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T), want a *TemplateError", err, err)
			}
			if te.Line != tc.line || te.Msg != tc.msg || te.Name != "text" {
				t.Errorf("= %q line %d: %q, want line %d: %q", te.Name, te.Line, te.Msg, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "parse template text: template: text:") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestSlackEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain @channel *bold*", "plain @channel *bold*"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"<https://evil|click>", "&lt;https://evil|click&gt;"},
		{"a & b", "a &amp; b"},
		{"&amp;", "&amp;amp;"},
		{"é<é", "é&lt;é"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := SlackEscape(tc.in); got != tc.want {
				t.Errorf("SlackEscape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"clean", "New vote on Dark mode", "New vote on Dark mode"},
		{"CRLF injection", "Eve\r\nBcc: evil@example.com", "EveBcc: evil@example.com"},
		{"bare LF", "a\nb", "ab"},
		{"NUL and DEL", "a\x00b\x7fc", "abc"},
		{"tab becomes space", "a\tb", "a b"},
		{"C1 control", "a\u0085b", "ab"},
		{"line separator", "a\u2028b", "ab"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"unicode kept", "héllo ✓", "héllo ✓"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HeaderValue(tc.in); got != tc.want {
				t.Errorf("HeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTemplateConcurrentUse(t *testing.T) {
	ts := NewTemplates()
	tmpl, err := ts.New("c", "{{ .data.vote.voter.name }} voted for *{{ .data.post.title }}*", SlackEscape)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	want := "&lt;!channel&gt; Eve voted for *Dark &lt;mode&gt; &amp; more*"
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			// Others are made from the same set while it renders.
			if _, err := ts.New(fmt.Sprint("other", i), "{{ .event | upper }}", HeaderValue); err != nil {
				done <- err
				return
			}
			for range 100 {
				got, err := tmpl.Execute(env)
				if err == nil && got != want {
					err = fmt.Errorf("got %q, want %q", got, want)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkTemplate(b *testing.B) {
	tmpl := MustTemplate("bench", "{{ .data.vote.voter.name }} voted for *{{ .data.post.title }}* ({{ .event }})", SlackEscape)
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Execute(env); err != nil {
			b.Fatal(err)
		}
	}
}
