package rules

import (
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Limits on conditions. The rules file is trusted, the events are not: a
// condition is bounded at load by its size and at run time by what it may
// allocate, so an event carrying a huge array cannot make it exhaust memory.
const (
	// MaxNodes is the most syntax-tree nodes a condition may have; a larger
	// one fails the load at its position.
	MaxNodes = 10_000
	// MemoryBudget is what one evaluation may allocate, in expr's units:
	// elements of the arrays, maps, ranges and closures' iterations it
	// builds (filter, map, 1..n, ...). Exceeding it is a run-time error: the
	// rule does not match, the error is logged and counted.
	MemoryBudget = 1_000_000
)

// limitOptions are the compile options that bound a condition's size.
func limitOptions() []expr.Option {
	// repeat allocates its result before the memory budget is checked, so
	// repeat(data.text, 1000000) could take a gigabyte: it is not offered.
	return []expr.Option{expr.MaxNodes(MaxNodes), expr.DisableBuiltin("repeat")}
}

// newVM returns a VM that evaluates conditions within MemoryBudget.
func newVM() *vm.VM {
	return &vm.VM{MemoryBudget: MemoryBudget}
}
