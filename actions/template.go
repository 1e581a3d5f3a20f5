package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"
)

// Escaper transforms a value inserted into a template's output. The author's
// own literal text never passes through it.
type Escaper func(string) string

// escapeFunc is the name of the function appended to every output pipeline.
// It is deliberately unlikely to collide with a name a template author uses.
const escapeFunc = "_switchyard_insert"

// Template is a Go text/template whose every inserted value is turned into a
// string (nil or missing: empty) and passed through an Escaper. It is built
// once at load and is safe for concurrent use.
type Template struct {
	name string
	// tmpl is nil when the text has no action: it renders as itself.
	tmpl *template.Template
	text string
}

// NewTemplate parses text as a text/template with the functions of Funcs. A
// nil esc inserts values as they are (missing values still render empty).
// It is NewTemplates().New: use one Templates for many templates.
func NewTemplate(name, text string, esc Escaper) (*Template, error) {
	return NewTemplates().New(name, text, esc)
}

// Templates makes templates that share one copy of the template functions.
// text/template copies its functions into every template parsed on its
// own, about 1.5 KB each: tens of thousands of rules' templates would spend
// tens of megabytes on copies. Use one Templates for the templates of one
// rules file. Its methods are safe for concurrent use.
type Templates struct {
	mu sync.Mutex
	// root holds the shared functions; every template made from it shares
	// them (and its namespace of named templates, which is why a text that
	// defines or calls named templates gets a root of its own).
	root *template.Template
	n    int // escapers registered
	// same holds the templates with no Escaper by name and text: rules
	// files repeat them (a json: body shape, a subject), and a template is
	// immutable, so one serves them all.
	same map[[2]string]*Template
}

// NewTemplates returns an empty set.
func NewTemplates() *Templates { return &Templates{} }

// New parses text as a text/template with the functions of Funcs. A nil esc
// inserts values as they are (missing values still render empty). A text
// with no action ({{) is kept as it is: it renders as itself.
func (ts *Templates) New(name, text string, esc Escaper) (*Template, error) {
	if !strings.Contains(text, "{{") {
		return &Template{name: name, text: text}, nil
	}
	insert := func(v any) string {
		s := Stringify(v)
		if esc != nil {
			s = esc(s)
		}
		return s
	}
	if namesTemplates(text) || strings.Contains(text, escapeFunc) {
		// Its own namespace: another text's {{ define }} cannot replace the
		// templates this one calls (and the escape functions of the others
		// are not there to be called by name).
		t, err := template.New(name).Funcs(Funcs()).Funcs(template.FuncMap{escapeFunc: insert}).Parse(text)
		if err != nil {
			return nil, parseError(name, err)
		}
		for _, tt := range t.Templates() {
			if tt.Tree != nil && tt.Root != nil {
				appendEscaper(tt.Root, escapeFunc)
			}
		}
		return &Template{name: name, tmpl: t}, nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t := ts.same[[2]string{name, text}]; t != nil && esc == nil {
		return t, nil
	}
	if ts.root == nil {
		ts.root = template.New("").Funcs(Funcs()).Funcs(template.FuncMap{escapeFunc: insert0})
	}
	fn := escapeFunc
	if esc != nil {
		ts.n++
		fn = escapeFunc + "_" + strconv.Itoa(ts.n)
		ts.root.Funcs(template.FuncMap{fn: insert})
	}
	// Templates of one root may share a name: the namespace is only read by
	// {{ template }}, which these texts do not use, and each Template keeps
	// its own tree.
	t, err := ts.root.New(name).Parse(text)
	if err != nil {
		return nil, parseError(name, err)
	}
	if t.Tree == nil || t.Root == nil {
		return nil, fmt.Errorf("parse template %s: no template", name)
	}
	appendEscaper(t.Root, fn)
	tmpl := &Template{name: name, tmpl: t}
	if esc == nil {
		if ts.same == nil {
			ts.same = map[[2]string]*Template{}
		}
		ts.same[[2]string{name, text}] = tmpl
	}
	return tmpl, nil
}

// TemplateError is a text that does not parse as a template.
type TemplateError struct {
	Name string
	// Line is the line of the text, from 1, where the parser stopped; 0
	// when it does not say.
	Line int
	// Msg is the parser's message without its "template: NAME:LINE: ".
	Msg string
	Err error // text/template's error
}

func (e *TemplateError) Error() string { return "parse template " + e.Name + ": " + e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// parseError reads the line and message out of a text/template parse
// error, which has the form "template: NAME:LINE: MESSAGE".
func parseError(name string, err error) *TemplateError {
	e := &TemplateError{Name: name, Msg: err.Error(), Err: err}
	rest, ok := strings.CutPrefix(e.Msg, "template: "+name+":")
	if !ok {
		return e
	}
	num, msg, ok := strings.Cut(rest, ": ")
	if line, err := strconv.Atoi(num); ok && err == nil && line > 0 {
		e.Line, e.Msg = line, msg
	}
	return e
}

// insert0 is the escape function of templates with no Escaper.
func insert0(v any) string { return Stringify(v) }

// namesTemplates reports whether text may define or call named templates
// ({{ define }}, {{ template }}, {{ block }}): conservatively, whether the
// words appear at all.
func namesTemplates(text string) bool {
	return strings.Contains(text, "define") || strings.Contains(text, "template") || strings.Contains(text, "block")
}

// MustTemplate is NewTemplate for texts known to be valid (tests, constants).
func MustTemplate(name, text string, esc Escaper) *Template {
	t, err := NewTemplate(name, text, esc)
	if err != nil {
		panic(err)
	}
	return t
}

// Name returns the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Execute renders the template against data: EventData for one event,
// (*Group).Data for a grouped rule's firing.
func (t *Template) Execute(data Data) (string, error) {
	if t.tmpl == nil {
		return t.text, nil
	}
	var b strings.Builder
	if err := t.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render template %s: %w", t.name, err)
	}
	return b.String(), nil
}

// appendEscaper walks a parse tree and appends the escape function to every
// pipeline that writes output, the way html/template does. Pipelines that
// only declare or assign variables write nothing and are left alone.
func appendEscaper(n parse.Node, fn string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			appendEscaper(c, fn)
		}
	case *parse.ActionNode:
		if n.Pipe == nil || len(n.Pipe.Decl) > 0 {
			return
		}
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{
			NodeType: parse.NodeCommand,
			Pos:      n.Pos,
			Args:     []parse.Node{parse.NewIdentifier(fn).SetTree(nil).SetPos(n.Pos)},
		})
	case *parse.IfNode:
		appendEscaper(n.List, fn)
		appendEscaper(n.ElseList, fn)
	case *parse.RangeNode:
		appendEscaper(n.List, fn)
		appendEscaper(n.ElseList, fn)
	case *parse.WithNode:
		appendEscaper(n.List, fn)
		appendEscaper(n.ElseList, fn)
	}
}

// Stringify turns a template value into the text inserted for it: nil and
// missing values are empty, times are RFC 3339, maps and slices (decoded
// JSON objects and arrays) are JSON, anything else is formatted by fmt.
func Stringify(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		return v.Format(time.RFC3339)
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.Format(time.RFC3339)
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	case fmt.Stringer, error:
		return fmt.Sprint(v)
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
		return ""
	}
	return fmt.Sprint(v)
}

// Funcs returns a fresh copy of the functions every template can call. The
// result can be passed to text/template and html/template alike.
//
//	default D V   V, or D when V is nil, empty or zero
//	upper V, lower V, trim V
//	truncate N V  V cut to at most N runes, ending in … when cut
//	join SEP V    the elements of a list joined by SEP
//	json V        V encoded as JSON
//	date LAYOUT V a time (or an RFC 3339 string, or Unix seconds) formatted
//	              with a Go layout, in UTC
func Funcs() map[string]any {
	return map[string]any{
		"default":  defaultFunc,
		"upper":    func(v any) string { return strings.ToUpper(Stringify(v)) },
		"lower":    func(v any) string { return strings.ToLower(Stringify(v)) },
		"trim":     func(v any) string { return strings.TrimSpace(Stringify(v)) },
		"truncate": truncate,
		"join":     join,
		"json":     jsonFunc,
		"date":     date,
	}
}

func defaultFunc(def, v any) any {
	if v == nil {
		return def
	}
	rv := reflect.ValueOf(v)
	if rv.IsZero() {
		return def
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		if rv.Len() == 0 {
			return def
		}
	}
	return v
}

func truncate(n int, v any) (string, error) {
	if n < 0 {
		return "", errors.New("truncate: negative length")
	}
	s := Stringify(v)
	if utf8.RuneCountInString(s) <= n {
		return s, nil
	}
	if n == 0 {
		return "", nil
	}
	runes := []rune(s)
	return strings.TrimRightFunc(string(runes[:n-1]), unicode.IsSpace) + "…", nil
}

func join(sep string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case []string:
		return strings.Join(v, sep), nil
	case string:
		return v, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: %T is not a list", v)
	}
	parts := make([]string, rv.Len())
	for i := range parts {
		parts[i] = Stringify(rv.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

func jsonFunc(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return string(b), nil
}

func date(layout string, v any) (string, error) {
	var t time.Time
	switch v := v.(type) {
	case nil:
		return "", nil
	case time.Time:
		t = v
	case *time.Time:
		if v == nil {
			return "", nil
		}
		t = *v
	case string:
		if v == "" {
			return "", nil
		}
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", fmt.Errorf("date: %w", err)
		}
		t = p
	case float64:
		t = time.Unix(0, int64(v*float64(time.Second)))
	case int64:
		t = time.Unix(v, 0)
	case int:
		t = time.Unix(int64(v), 0)
	default:
		return "", fmt.Errorf("date: %T is not a time", v)
	}
	if t.IsZero() {
		return "", nil
	}
	return t.UTC().Format(layout), nil
}

// SlackEscape escapes the three characters Slack's message formatting gives
// a meaning to (&, <, >), so inserted text cannot mention @channel through
// <!channel>, forge a <url|label> link or a <@user> mention.
func SlackEscape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HeaderValue makes s safe as one email or HTTP header value: CR, LF and
// every other control character are removed (a tab becomes a space), and
// invalid UTF-8 is replaced, so a value can never start another header.
func HeaderValue(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
