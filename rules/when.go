package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// pinnable are the names whose literal values the index buckets rules by,
// in order of preference (event and topic are usually the most selective).
var pinnable = [...]string{"event", "topic", "source", "vendor"}

// pin is a constraint on one pinnable name: the event's value must be one
// of vals (none: the rule can never match).
type pin struct {
	name uint8 // index in pinnable
	vals []string
}

// field is the event's value of pinnable[name].
func field(ev *event.Event, name uint8) string {
	switch pinnable[name] {
	case "event":
		return ev.Event
	case "topic":
		return ev.Topic
	case "source":
		return ev.Source
	default:
		return ev.Vendor
	}
}

func compileOptions() []expr.Option {
	return append([]expr.Option{expr.Env(envTypes), expr.AsBool(), expr.Optimize(true)}, limitOptions()...)
}

// envTypes is what a condition is type-checked against: the names the zero
// event's Env has, with their types, so that an unknown name is a compile
// error. The subject's fields are Switchyard's own, so a misspelt one
// (subject.titel) is an error too; data, payload and headers are the
// vendor's, open to any field.
var envTypes = func() types.Map {
	out := types.Map{}
	for name, v := range (&event.Event{}).Env() {
		out[name] = typeOf(v, name == "subject")
	}
	return out
}()

// typeOf is the type of an Env value: a map is strict (only the keys it
// has) or open to any key.
func typeOf(v any, strict bool) types.Type {
	m, ok := v.(map[string]any)
	if !ok {
		return types.TypeOf(v)
	}
	if !strict {
		return types.Map{types.Extra: types.Any}
	}
	t := types.Map{}
	for k, v := range m {
		t[k] = typeOf(v, true)
	}
	return t
}

// compiled is a compiled condition with what Explain and the index need.
type compiled struct {
	program *vm.Program
	// terms are the top-level && terms as text when there are several and
	// each compiles on its own (Explain compiles them on first use); nil
	// otherwise: Explain then reports on the whole condition.
	terms []string
	// pins are the literal values some terms pin event, source or vendor
	// to, at most one per name, in pinnable order.
	pins []pin
	// decided is true when every term is such a pin: the pins alone decide
	// the condition, which never fails at run time.
	decided bool
}

// compileWhen compiles a condition once, at load.
func compileWhen(src string) (*compiled, error) {
	prog, err := expr.Compile(src, compileOptions()...)
	if err != nil {
		return nil, err
	}
	c := &compiled{program: prog}
	tree, err := parser.Parse(src)
	if err != nil {
		return c, nil // compiled above, so unreachable; keep the whole condition
	}
	terms := flattenAnd(tree.Node, nil)
	if len(terms) > 1 {
		texts := make([]string, 0, len(terms))
		for _, t := range terms {
			text := t.String()
			// Compiled here only to know that it stands alone; the program
			// is dropped and made again by the first Explain.
			if _, err := expr.Compile(text, compileOptions()...); err != nil {
				texts = nil // a term that does not stand alone: explain the whole
				break
			}
			texts = append(texts, text)
		}
		c.terms = texts
	}
	c.pins, c.decided = pinsOf(terms)
	return c, nil
}

// compileTerms compiles the terms of a condition for Explain.
func compileTerms(texts []string) ([]*vm.Program, error) {
	progs := make([]*vm.Program, len(texts))
	for i, text := range texts {
		p, err := expr.Compile(text, compileOptions()...)
		if err != nil {
			return nil, err
		}
		progs[i] = p
	}
	return progs, nil
}

// flattenAnd lists the top-level terms joined by && (or and).
func flattenAnd(n ast.Node, out []ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		out = flattenAnd(b.Left, out)
		return flattenAnd(b.Right, out)
	}
	return append(out, n)
}

// pinsOf finds terms that pin event, source or vendor to string literals:
// name == "x", "x" == name, name in ["x", "y"]. The rule can only match
// when the event's value is among them. all is true when every term is one.
func pinsOf(terms []ast.Node) (pins []pin, all bool) {
	var by [len(pinnable)][]string
	var seen [len(pinnable)]bool
	all = len(terms) > 0
	for _, t := range terms {
		name, vals, ok := pinOf(t)
		if !ok {
			all = false
			continue
		}
		i := slices.Index(pinnable[:], name)
		if seen[i] {
			vals = intersect(by[i], vals)
		}
		by[i], seen[i] = vals, true
	}
	for i := range by {
		if seen[i] {
			pins = append(pins, pin{name: uint8(i), vals: by[i]})
		}
	}
	return pins, all
}

func pinOf(n ast.Node) (name string, vals []string, ok bool) {
	b, isBin := n.(*ast.BinaryNode)
	if !isBin {
		return "", nil, false
	}
	ident := func(n ast.Node) string {
		if id, ok := n.(*ast.IdentifierNode); ok && slices.Contains(pinnable[:], id.Value) {
			return id.Value
		}
		return ""
	}
	lit := func(n ast.Node) (string, bool) {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return "", false
		}
		return s.Value, true
	}
	switch b.Operator {
	case "==":
		if name := ident(b.Left); name != "" {
			if v, ok := lit(b.Right); ok {
				return name, []string{v}, true
			}
		}
		if name := ident(b.Right); name != "" {
			if v, ok := lit(b.Left); ok {
				return name, []string{v}, true
			}
		}
	case "in":
		name := ident(b.Left)
		arr, isArr := b.Right.(*ast.ArrayNode)
		if name == "" || !isArr {
			return "", nil, false
		}
		vals := make([]string, 0, len(arr.Nodes))
		for _, e := range arr.Nodes {
			v, ok := lit(e)
			if !ok {
				return "", nil, false
			}
			vals = append(vals, v)
		}
		return name, vals, true
	}
	return "", nil, false
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, v := range a {
		if slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// whenError formats a compile error of the condition in scalar n: the
// position of the offending character, expr's message, and the line of the
// expression with a caret under it.
// src is the scalar's value; base is the offset of the compiled
// (trimmed) condition within it.
func (d *decoder) whenError(n *yaml.Node, label string, src string, err error, base int) {
	var fe *file.Error
	msg, line, col := err.Error(), 1, 0
	if errors.As(err, &fe) && fe.Line > 0 {
		msg, line, col = fe.Message, fe.Line, fe.Column
	} else if !strings.Contains(msg, "\n") && strings.Contains(msg, "expected bool") {
		msg = "must be a boolean condition (" + msg + ")"
	}
	if base < 0 {
		base = 0
	}
	when := src[base:]
	lines := strings.Split(when, "\n")
	if line > len(lines) {
		line = len(lines)
	}
	off := runeOffset(src, base) + col
	for _, l := range lines[:line-1] {
		off += len([]rune(l)) + 1
	}
	text := strings.ReplaceAll(lines[line-1], "\t", " ")
	rt := []rune(text)
	if col > len(rt) {
		col = len(rt)
	}
	// The expression may hold values from the environment: redact them in
	// the snippet (moving the caret with the text before it), and withhold
	// expr's message when it is about a token inside one of them, since it
	// may quote a fragment that the redactor cannot recognize.
	red := secret.NewRedactor(d.secrets)
	for _, sp := range d.envSpans[n] {
		if off >= sp[0]-1 && off <= sp[1] {
			msg = "invalid condition inside a value from the environment (details withheld)"
			break
		}
	}
	before := red.Redact(string(rt[:col]))
	text = before + red.Redact(string(rt[col:]))
	caret := strings.Repeat(" ", len([]rune(before)))
	d.errorAt(d.posIn(n, src, off), "%s: when: %s\n    %s\n    %s^", label, firstLine(msg), text, caret)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// describe names a non-bool condition result for an error.
func describe(v any) string {
	if v == nil {
		return "nil (a missing field?)"
	}
	return fmt.Sprintf("%T", v)
}
