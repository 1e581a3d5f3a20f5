package actions

import (
	"text/template/parse"

	"github.com/switchyard/switchyard/event"
)

// Data is what an action's templates render against: EventData for one
// event, (*Group).Data for a firing of a grouped rule.
type Data map[string]any

// EventData is the data of a template that renders one event: the names of
// event.Names (.source .vendor .event .topic .subject .id .time .data
// .payload .headers).
func EventData(ev *event.Event) Data { return ev.Env() }

// GroupNames lists the top-level names a grouped rule's templates see, in
// the order of Group's fields. Keep in sync with (*Group).Data.
var GroupNames = []string{"rule", "key", "count", "events", "first", "last"}

// Group is one firing of a grouped rule: the events a group collected
// since its previous firing. Its actions render once for the whole firing,
// against Data.
type Group struct {
	// Rule is the rule's name: .rule.
	Rule string
	// Key is the group's key, the rule's group by: template rendered for the
	// group's events (empty when the rule has no by: one group per rule):
	// .key.
	Key string
	// Count is how many events the firing collected: .count. It is exact,
	// and may exceed len(Events) when more arrived than the rule's max
	// keeps; a Count under len(Events) counts as len(Events).
	Count int
	// Events are the events kept for the firing, oldest first, at most the
	// rule's group max: .events, each with the names of EventData. The
	// first is .first.
	Events []event.Event
	// Last is the firing's latest event when Events does not end with it
	// (events past max were counted, not kept): .last. Nil: the last of
	// Events.
	Last *event.Event
}

// Data returns the names a grouped rule's templates see (GroupNames):
//
//	.rule    the rule's name
//	.key     the group's key
//	.count   the number of events in the firing (exact)
//	.events  the kept events, oldest first; each has .source .vendor .event
//	         .id .time .data .payload .headers
//	.first   the firing's first event, with the same names
//	.last    the firing's latest event, with the same names
//
// A group with no events has .first and .last with every name empty.
func (g *Group) Data() Data {
	events := make([]any, len(g.Events))
	for i := range g.Events {
		events[i] = g.Events[i].Env()
	}
	var first, last map[string]any
	switch {
	case len(events) > 0:
		first, last = events[0].(map[string]any), events[len(events)-1].(map[string]any)
	default:
		first = (&event.Event{}).Env()
		last = first
	}
	if g.Last != nil {
		last = g.Last.Env()
	}
	return Data{
		"rule":   g.Rule,
		"key":    g.Key,
		"count":  max(g.Count, len(g.Events)),
		"events": events,
		"first":  first,
		"last":   last,
	}
}

// NameUse is a top-level name of its data that a template reads.
type NameUse struct {
	// Name is the top-level name: data for {{ .data.post.id }}.
	Name string
	// Text is the whole reference as written: .data.post.id, $.data.post.id.
	Text string
	// Offset is the reference's byte offset in the template's text.
	Offset int
}

// TopNames returns the top-level names t reads from the data it is
// executed with, in text order: the fields of the dot where the dot is
// still the data (outside range and with, whose dot is something else),
// and the fields of $ anywhere. Names reached otherwise ({{ index . "x" }},
// a variable holding the dot, a named template's body) are not reported.
// A template with no action reads nothing.
func (t *Template) TopNames() []NameUse {
	if t.tmpl == nil || t.tmpl.Tree == nil {
		return nil
	}
	var uses []NameUse
	walkNames(t.tmpl.Root, true, &uses)
	return uses
}

// walkNames collects the top-level names node reads; atRoot says whether
// the dot is the template's data there.
func walkNames(node parse.Node, atRoot bool, uses *[]NameUse) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNames(c, atRoot, uses)
		}
	case *parse.ActionNode:
		walkNames(n.Pipe, atRoot, uses)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkNames(c, atRoot, uses)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkNames(a, atRoot, uses)
		}
	case *parse.ChainNode:
		// (pipeline).field: the fields are of the pipeline's value.
		walkNames(n.Node, atRoot, uses)
	case *parse.FieldNode:
		if atRoot {
			// The parser places .a.b.c at .b: the chain after the first.
			off := int(n.Position())
			if len(n.Ident) > 1 {
				off -= len(n.Ident[0]) + 1
			}
			*uses = append(*uses, NameUse{Name: n.Ident[0], Text: n.String(), Offset: off})
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			// The parser places $.a at .a.
			*uses = append(*uses, NameUse{Name: n.Ident[1], Text: n.String(), Offset: int(n.Position()) - 1})
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, atRoot, atRoot, uses)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, false, atRoot, uses)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, false, atRoot, uses)
	case *parse.TemplateNode:
		// The argument is evaluated here; the named template's body sees
		// it as its dot.
		walkNames(n.Pipe, atRoot, uses)
	}
}

// walkBranch walks an if, range or with: its pipeline and else branch see
// the enclosing dot, its body sees bodyAtRoot.
func walkBranch(b *parse.BranchNode, bodyAtRoot, atRoot bool, uses *[]NameUse) {
	walkNames(b.Pipe, atRoot, uses)
	walkNames(b.List, bodyAtRoot, uses)
	walkNames(b.ElseList, atRoot, uses)
}
