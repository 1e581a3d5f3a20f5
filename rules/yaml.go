package rules

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/secret"
)

// decoder walks a yaml.Node tree against the file's schema, collecting
// every problem with its position instead of stopping at the first.
type decoder struct {
	file    string
	dir     string   // for relative *_file paths
	data    string   // the raw file, to compute exact columns inside scalars
	lines   [][]rune // data's lines, made by the first error that needs them
	getenv  func(string) (string, bool)
	errs    ErrorList
	secrets map[string]string
	// envSpans records, for scalars that took values from the
	// environment, where those values are (rune offsets).
	envSpans map[*yaml.Node][][2]int
	// templates parses the templates of the file's actions, to report
	// their syntax errors with the others.
	templates *actions.Templates
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorAt(p Pos, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errorAt(d.pos(n), format, args...)
}

// posIn is the position of the rune at offset off within the value of
// scalar n. It is exact where the raw file shows the value verbatim (plain
// and quoted scalars without escapes on their first line, lines of literal
// blocks), and the scalar's own position otherwise.
func (d *decoder) posIn(n *yaml.Node, value string, off int) Pos {
	if d.lines == nil {
		for l := range strings.SplitSeq(d.data, "\n") {
			d.lines = append(d.lines, []rune(strings.TrimSuffix(l, "\r")))
		}
	}
	p := d.pos(n)
	vlines := strings.Split(value, "\n")
	k, c := 0, off
	for k < len(vlines)-1 && c > len([]rune(vlines[k])) {
		c -= len([]rune(vlines[k])) + 1
		k++
	}
	vline := []rune(vlines[k])
	switch n.Style {
	case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if k != 0 || n.Line < 1 || n.Line > len(d.lines) {
			return p
		}
		start := n.Column - 1
		if n.Style != 0 {
			start++
		}
		raw := d.lines[n.Line-1]
		if start < 0 || start+len(vline) > len(raw) || string(raw[start:start+len(vline)]) != string(vline) {
			return p
		}
		return Pos{File: d.file, Line: n.Line, Col: start + 1 + c}
	case yaml.LiteralStyle, yaml.FoldedStyle:
		i := n.Line + k // 0-based index of the k-th content line
		if i >= len(d.lines) {
			return p
		}
		raw := d.lines[i]
		if len(vline) > len(raw) || string(raw[len(raw)-len(vline):]) != string(vline) ||
			strings.TrimSpace(string(raw[:len(raw)-len(vline)])) != "" {
			return p
		}
		return Pos{File: d.file, Line: i + 1, Col: len(raw) - len(vline) + 1 + c}
	}
	return p
}

// expandTree replaces ${VAR} in every scalar value (never in keys) before
// anything is decoded, so a variable's value is always a plain string and
// can never inject YAML.
func (d *decoder) expandTree(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			d.expandTree(c)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			d.expandTree(n.Content[i])
		}
	case yaml.ScalarNode:
		x, errs := expand(n.Value, d.getenv)
		for _, e := range errs {
			d.errorAt(d.posIn(n, n.Value, e.offset), "%s", e.msg)
		}
		if len(errs) > 0 {
			return
		}
		for k, v := range x.vars {
			d.secrets[k] = v
		}
		if len(x.spans) > 0 {
			d.envSpans[n] = x.spans
		}
		n.Value = x.value
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch resolve(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "a document"
}

// extensionKeys in a known-keys list allows keys starting with x-, ignored
// (a place to define YAML anchors).
const extensionKeys = "x-*"

// mapping is a checked YAML mapping: its keys are known and unique.
type mapping struct {
	node  *yaml.Node
	keys  map[string]*yaml.Node
	vals  map[string]*yaml.Node
	order []string // keys in file order (merged keys after explicit ones)
}

func (m *mapping) get(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	return m.vals[key]
}

func (m *mapping) has(key string) bool { return m != nil && m.vals[key] != nil }

// keyNode is the key's node for positions, or the mapping's.
func (m *mapping) keyNode(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	if k := m.keys[key]; k != nil {
		return k
	}
	return m.node
}

// mapping checks that n is a mapping whose keys are all in known (any key
// when known is nil) and unique; YAML merge keys (<<) are honoured. A null
// is an empty mapping. It returns nil after reporting a wrong kind.
func (d *decoder) mapping(n *yaml.Node, what string, known []string) *mapping {
	n = resolve(n)
	m := &mapping{node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	if isNull(n) {
		return m
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	d.collect(m, n, what, known, false, 0)
	return m
}

func (d *decoder) collect(m *mapping, n *yaml.Node, what string, known []string, merged bool, depth int) {
	if depth > 8 {
		d.errorf(n, "%s: merge keys nested too deeply", what)
		return
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if strings.HasPrefix(k.Value, "x-") && slices.Contains(known, extensionKeys) {
			continue // a place for anchors, ignored
		}
		if known != nil && !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, what)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		if prev, dup := m.keys[k.Value]; dup {
			if !merged {
				d.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, prev.Line)
			}
			continue
		}
		m.keys[k.Value] = k
		m.vals[k.Value] = v
		m.order = append(m.order, k.Value)
	}
	// Explicit keys win over merged ones.
	for _, v := range merges {
		v = resolve(v)
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, s := range srcs {
			s = resolve(s)
			if s.Kind != yaml.MappingNode {
				d.errorf(s, "%s: << must merge a mapping", what)
				continue
			}
			d.collect(m, s, what, known, true, depth+1)
		}
	}
}

// suggest returns the known key closest to key when it is close enough to
// be a typo.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	if len(key) <= 3 {
		bestD = 2
	}
	for _, k := range known {
		if k == extensionKeys {
			continue
		}
		if dd := levenshtein(strings.ToLower(key), k); dd < bestD {
			best, bestD = k, dd
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// scalar returns the value of a scalar node ("" for nil or null) and
// reports any other kind.
func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a single value, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

func (d *decoder) integer(n *yaml.Node, what string, lo, hi int) int {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil {
		d.errorf(n, "%s: %q is not an integer", what, s)
		return 0
	}
	if v < lo || v > hi {
		d.errorf(n, "%s: %d is out of range [%d, %d]", what, v, lo, hi)
		return 0
	}
	return v
}

func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s, ok := d.scalar(n, what)
	if !ok || s == "" || s == "0" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil && durationSyntax.MatchString(s) {
		// time.ParseDuration says "invalid" for a duration too long for it.
		d.errorf(n, "%s: %s is out of range (a duration is at most %dh)", what, s, maxHours)
		return 0
	}
	if err != nil {
		d.errorf(n, "%s: %q is not a duration (write e.g. 30s, 5m, 1h30m)", what, s)
		return 0
	}
	if v < 0 {
		d.errorf(n, "%s: %s is negative", what, s)
		return 0
	}
	return v
}

// durationSyntax is what time.ParseDuration reads, whatever the size.
var durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// maxHours is the longest duration in whole hours (2562047).
const maxHours = math.MaxInt64 / int64(time.Hour)

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// parseSize reads a byte count: 1048576, 512KiB, 1MiB, 1MB (decimal).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("not a size")
	}
	return v * mult, nil
}

func (d *decoder) size(n *yaml.Node, what string) int64 {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := parseSize(s)
	if err != nil || v == 0 {
		d.errorf(n, "%s: %q is not a positive size (write e.g. 1048576, 512KiB, 1MiB)", what, s)
		return 0
	}
	return v
}

// strings reads one string or a list of strings.
func (d *decoder) strs(n *yaml.Node, what string) []string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a string or a list of strings, not %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if s, ok := d.scalar(c, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) strMap(n *yaml.Node, what string) map[string]string {
	m := d.mapping(n, what, nil)
	if m == nil || len(m.vals) == 0 {
		return nil
	}
	out := make(map[string]string, len(m.vals))
	for k, v := range m.vals {
		out[k] = d.str(v, what+"."+k)
	}
	return out
}

// maxValueNodes bounds the nodes a free-form value may expand to through
// aliases ("billion laughs").
const maxValueNodes = 10000

// value decodes a free-form YAML value (json:) into map[string]any, []any
// and scalars. Its strings are templates that render data.
func (d *decoder) value(n *yaml.Node, what string, budget *int, data templateData) any {
	n = resolve(n)
	if *budget--; *budget < 0 {
		if *budget == -1 {
			d.errorf(n, "%s is too large (more than %d nodes)", what, maxValueNodes)
		}
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := d.mapping(n, what, nil)
		if m == nil {
			return nil
		}
		out := make(map[string]any, len(m.vals))
		for k, v := range m.vals {
			out[k] = d.value(v, what, budget, data)
		}
		return out
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, d.value(c, what, budget, data))
		}
		return out
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			d.errorf(n, "%s: cannot decode value", what)
			return nil
		}
		if _, ok := v.(string); ok {
			d.template(n, what, data)
		}
		return v
	}
	return nil
}

// secretField reads key: or key_file: (a path, relative to the rules
// file's directory; one trailing newline trimmed). path names the field
// for File.Secrets.
func (d *decoder) secretField(m *mapping, key, path string) secret.Secret {
	v, f := m.get(key), m.get(key+"_file")
	if v != nil && f != nil {
		d.errorf(m.keyNode(key+"_file"), "give %s or %s_file, not both", key, key)
		return ""
	}
	if f != nil {
		name, ok := d.scalar(f, key+"_file")
		if !ok {
			return ""
		}
		if name == "" {
			d.errorf(f, "%s_file is empty", key)
			return ""
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(d.dir, name)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			d.errorf(f, "%s_file: %v", key, err)
			return ""
		}
		s := string(b)
		if t, ok := strings.CutSuffix(s, "\r\n"); ok {
			s = t
		} else {
			s = strings.TrimSuffix(s, "\n")
		}
		if s == "" {
			d.errorf(f, "%s_file: %s is empty", key, name)
			return ""
		}
		d.secrets[path+"_file"] = s
		return secret.Secret(s)
	}
	s := d.str(v, key)
	if s != "" {
		d.secrets[path] = s
	}
	return secret.Secret(s)
}
