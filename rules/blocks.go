package rules

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// blocks decodes a slack action's blocks: a list, kept as decoded values
// (the slack action checks them against Block Kit; its strings are
// templates that render data), and where each value is written, by JSON
// Pointer, for the errors the slack action reports.
func (d *decoder) blocks(n *yaml.Node, what string, data templateData) ([]any, map[string]Pos) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: blocks must be a list of blocks, not %s", what, kindName(n))
		return nil, nil
	}
	budget := maxValueNodes
	// value also checks every string's template syntax, so that check
	// reports it in the same run as every other error.
	list, _ := d.value(n, what+": blocks", &budget, data).([]any)
	if list == nil {
		list = []any{} // an empty list is the slack action's to refuse
	}
	pos := map[string]Pos{}
	// A decoder of its own: mistakes in the mappings are reported once,
	// by value above.
	quiet := &decoder{file: d.file}
	quiet.positions(n, "", pos)
	return list, pos
}

// positions records where each value under n is written: an item of a
// list at the item, a member of a mapping at its key (merged members at
// theirs).
func (d *decoder) positions(n *yaml.Node, ptr string, out map[string]Pos) {
	n = resolve(n)
	if _, seen := out[ptr]; !seen {
		out[ptr] = d.pos(n)
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.positions(c, ptr+"/"+strconv.Itoa(i), out)
		}
	case yaml.MappingNode:
		m := d.mapping(n, "", nil)
		for _, k := range m.order {
			kp := ptr + "/" + pointerEscaper.Replace(k)
			out[kp] = d.pos(m.keys[k])
			d.positions(m.vals[k], kp, out)
		}
	}
}

// pointerEscaper escapes a key for a JSON Pointer (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// BlockPos is where the value a JSON Pointer into Blocks names is written,
// or the nearest enclosing value that has a position; false when none.
func (s *SlackAction) BlockPos(pointer string) (Pos, bool) {
	for {
		if p, ok := s.BlocksPos[pointer]; ok {
			return p, true
		}
		i := strings.LastIndexByte(pointer, '/')
		if i < 0 {
			return Pos{}, false
		}
		pointer = pointer[:i]
	}
}
