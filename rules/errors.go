package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a rules file. Line and Col are 1-based; Col counts
// characters (runes). A zero Col means the column is unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col (file:line when the column
// is unknown).
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

func (p Pos) compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// Error is one problem in a rules file, at a position. Its message never
// holds the value of a secret or of an environment variable.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem found in a rules file, sorted by position.
// It prints one problem per line (an expression error adds its snippet and
// a caret line, indented).
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the individual errors.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int { return a.Pos.compare(b.Pos) })
}
