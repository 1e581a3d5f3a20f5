package rules

import (
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/switchyard/switchyard/event"
)

// Condition is a when expression compiled on its own, seeing the names and
// held to the limits of a rule's condition: for mutes, which the operator
// writes at run time rather than in the rules file.
type Condition struct {
	Source  string
	program *vm.Program
}

// CompileCondition compiles src as a rule's when is compiled.
func CompileCondition(src string) (*Condition, error) {
	prog, err := expr.Compile(src, compileOptions()...)
	if err != nil {
		return nil, err
	}
	return &Condition{Source: src, program: prog}, nil
}

// Holds says whether the condition holds for ev; a condition that fails at
// run time does not hold, and says why.
func (c *Condition) Holds(ev *event.Event) (bool, error) {
	return run(&vm.VM{}, c.program, ev.Env())
}
