package actions

import (
	"strings"
	"text/template/parse"
)

// fastPath renders a template that is only literal text and {{ .a.b.c }}
// field insertions without text/template: it looks the fields up in the
// env's nested map[string]any directly and inserts each value through the
// template's escape function, as the appended pipeline command would.
// text/template spends 1.5–2 µs of reflection on every such field.
//
// It renders only when it is sure the result is text/template's: every key
// is present and every value on the way to the last key is a
// map[string]any. Anything else (a missing key, nil, another map type, a
// struct, a panic in the escape function) makes it give up, and the caller
// runs text/template for the whole template.
type fastPath struct {
	segs []segment
	// insert is the escape function appended to the template's pipelines.
	insert func(any) string
	// text is the number of bytes of literal text.
	text int
}

// segment is a piece of a fast path: literal text, or, when path is not
// nil, the value at path inserted through the escape function.
type segment struct {
	text string
	path []string
}

// maxFastFields is the number of fields a fast path renders without
// allocating room for their values and inserted texts.
const maxFastFields = 8

// compileFast returns the fast path of a parse tree whose output pipelines
// end in the escape function named fn, which is insert, or nil when the
// tree is anything but text nodes and actions that insert one field chain.
func compileFast(root *parse.ListNode, fn string, insert func(any) string) *fastPath {
	if root == nil {
		return nil
	}
	f := &fastPath{insert: insert}
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			f.segs = append(f.segs, segment{text: string(n.Text)})
			f.text += len(n.Text)
		case *parse.ActionNode:
			path := fieldPath(n.Pipe, fn)
			if path == nil {
				return nil
			}
			f.segs = append(f.segs, segment{path: path})
		default:
			return nil
		}
	}
	return f
}

// fieldPath returns the keys of a pipeline that is exactly a field chain
// followed by the escape function fn (.a.b | fn), or nil for any other
// pipeline: variables, declarations, functions, arguments, parentheses,
// dot alone.
func fieldPath(pipe *parse.PipeNode, fn string) []string {
	if pipe == nil || len(pipe.Decl) > 0 || pipe.IsAssign || len(pipe.Cmds) != 2 {
		return nil
	}
	field, ok := onlyArg(pipe.Cmds[0]).(*parse.FieldNode)
	if !ok || len(field.Ident) == 0 {
		return nil
	}
	if id, ok := onlyArg(pipe.Cmds[1]).(*parse.IdentifierNode); !ok || id.Ident != fn {
		return nil
	}
	return append([]string(nil), field.Ident...)
}

// onlyArg returns the single word of a command, or nil when it has more.
func onlyArg(cmd *parse.CommandNode) parse.Node {
	if cmd == nil || len(cmd.Args) != 1 {
		return nil
	}
	return cmd.Args[0]
}

// execute renders the template against env, or reports false when it is
// not sure its result would be text/template's. It looks every field up
// before it calls the escape function on any.
func (f *fastPath) execute(env map[string]any) (string, bool) {
	var buf [maxFastFields]any
	vals := buf[:0]
	for _, s := range f.segs {
		if s.path == nil {
			continue
		}
		v, ok := lookup(env, s.path)
		if !ok {
			return "", false
		}
		vals = append(vals, v)
	}
	return f.render(vals)
}

// render inserts the looked-up values of the fields through the escape
// function, then writes them between the literal text, in order. A panic in
// the escape function (text/template turns it into an error) makes it
// report false.
func (f *fastPath) render(vals []any) (out string, ok bool) {
	defer func() {
		if recover() != nil {
			out, ok = "", false
		}
	}()
	var buf [maxFastFields]string
	inserted := buf[:0]
	n := f.text
	for _, v := range vals {
		s := f.insert(v)
		inserted = append(inserted, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range f.segs {
		if s.path == nil {
			b.WriteString(s.text)
			continue
		}
		b.WriteString(inserted[0])
		inserted = inserted[1:]
	}
	return b.String(), true
}

// lookup returns the value at path in env, or false unless every key is
// present and every value before the last is a map[string]any.
func lookup(env map[string]any, path []string) (any, bool) {
	m := env
	last := len(path) - 1
	for _, k := range path[:last] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	v, ok := m[path[last]]
	return v, ok
}
