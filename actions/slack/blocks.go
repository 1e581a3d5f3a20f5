package slack

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/switchyard/switchyard/actions"
)

// Block Kit's limits (docs.slack.dev/reference/block-kit), in characters.
// What the rules file writes is checked against them at load; what a
// template renders is held to them when the message is built.
const (
	MaxBlocks          = 50   // blocks in one message
	MaxSectionText     = 3000 // a section's text
	MaxFields          = 10   // a section's fields
	MaxFieldText       = 2000 // one field
	MaxHeaderText      = 150  // a header's text
	MaxContextElements = 10   // a context's elements
	MaxContextText     = 3000 // one text of a context
	MaxActionElements  = 25   // an actions block's buttons
	MaxButtonText      = 75   // a button's text
	MaxURL             = 3000 // a button's url, an image's image_url
	MaxAltText         = 2000 // an image's alt_text
	MaxImageTitle      = 2000 // an image's title
	MaxID              = 255  // a block_id or action_id
)

// The keys each part of a block may have. Anything else is an error, as
// everywhere in the rules file.
var (
	blockKeys = map[string][]string{
		"section": {"type", "block_id", "text", "fields", "accessory"},
		"header":  {"type", "block_id", "text"},
		"context": {"type", "block_id", "elements"},
		"divider": {"type", "block_id"},
		"image":   {"type", "block_id", "image_url", "alt_text", "title"},
		"actions": {"type", "block_id", "elements"},
	}
	// elementKeys are those of a text object, of an image element (in a
	// context or a section's accessory) and of a link button.
	elementKeys = map[string][]string{
		"mrkdwn":     {"type", "text", "verbatim"},
		"plain_text": {"type", "text", "emoji"},
		"image":      {"type", "image_url", "alt_text"},
		"button":     {"type", "text", "url", "style", "action_id"},
	}
	buttonStyles = []string{"primary", "danger"}
)

// BlockError is a mistake in a slack action's blocks: found at load, it
// names the offending value by a JSON Pointer (RFC 6901) into the blocks
// list, so that the loader can give its line and column.
type BlockError struct {
	Pointer string // e.g. /2/elements/0/url; "" is the list itself
	Where   string // e.g. block #3 (actions) element #1 (button) url
	Msg     string
}

func (e *BlockError) Error() string {
	if e.Where == "" {
		return "blocks: " + e.Msg
	}
	return e.Where + ": " + e.Msg
}

// loc is where a value is in the blocks, for errors.
type loc struct{ ptr, where string }

func (l loc) key(k string) loc {
	ptr := l.ptr + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
	if l.where == "" {
		return loc{ptr, k}
	}
	return loc{ptr, l.where + " " + k}
}

func (l loc) item(i int, label string) loc {
	where := label
	if l.where != "" {
		where = l.where + " " + label
	}
	return loc{l.ptr + "/" + strconv.Itoa(i), where}
}

// Compiled blocks: templates parsed, limits known. They render into
// slack-go's types.
type (
	block struct {
		kind      string
		id        string
		text      *text    // section, header
		fields    []*text  // section
		accessory *element // section
		elements  []*element
		image     *image // image block
	}
	element struct {
		kind     string // mrkdwn, plain_text (context), image, button
		text     *text  // text element, button label
		image    *image
		url      *link // button
		style    string
		actionID string
	}
	image struct {
		url   *link
		alt   *text
		title *text
	}
	text struct {
		kind     string // mrkdwn or plain_text
		tmpl     *actions.Template
		max      int
		emoji    *bool
		verbatim bool
	}
	// link is a URL template: either a literal http(s)://host followed by
	// templated path and query, whose inserted values are percent-encoded,
	// or one {{ value }} that holds a whole http(s) URL.
	link struct {
		tmpl         *actions.Template
		whole        bool
		scheme, host string // the literal origin when !whole
	}
)

type blockDecoder struct {
	ts   *actions.Templates
	errs []error
}

func (d *blockDecoder) errorf(at loc, format string, args ...any) {
	d.errs = append(d.errs, &BlockError{Pointer: at.ptr, Where: at.where, Msg: fmt.Sprintf(format, args...)})
}

// compileBlocks checks the blocks of a spec as the YAML loader decoded them
// (lists, maps with string keys, scalars) and parses their templates. The
// error joins one *BlockError per mistake.
func compileBlocks(ts *actions.Templates, raw []any) ([]*block, error) {
	d := &blockDecoder{ts: ts}
	if len(raw) == 0 {
		d.errorf(loc{}, "is empty: give at least one block, or leave blocks out")
	}
	if len(raw) > MaxBlocks {
		d.errorf(loc{}, "%d blocks; Block Kit allows %d in a message", len(raw), MaxBlocks)
	}
	var out []*block
	ids := map[string]bool{}
	for i, v := range raw {
		at := loc{}.item(i, fmt.Sprintf("block #%d", i+1))
		if b := d.block(v, at); b != nil {
			if b.id != "" {
				if ids[b.id] {
					d.errorf(at.key("block_id"), "block_id %q is used twice; Slack wants each unique", b.id)
				}
				ids[b.id] = true
			}
			out = append(out, b)
		}
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return out, nil
}

// object checks that v is a mapping with a known type and only known keys.
// It returns the mapping and the type.
func (d *blockDecoder) object(v any, at loc, what string, keys map[string][]string, allowed []string) (map[string]any, string) {
	m, ok := v.(map[string]any)
	if !ok {
		d.errorf(at, "a %s must be a mapping with a type, not %s", what, describe(v))
		return nil, ""
	}
	kind, ok := m["type"].(string)
	if !ok {
		d.errorf(at, "a %s needs a type: one of %s", what, strings.Join(allowed, ", "))
		return nil, ""
	}
	if !slices.Contains(allowed, kind) {
		d.errorf(at.key("type"), "unknown %s type %q: want one of %s", what, kind, strings.Join(allowed, ", "))
		return nil, ""
	}
	known := keys[kind]
	kat := loc{at.ptr, at.where + " (" + kind + ")"}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			d.errorf(kat.key(k), "unknown key %q in a %s %s (known: %s)", k, kind, what, strings.Join(known, ", "))
		}
	}
	return m, kind
}

func (d *blockDecoder) block(v any, at loc) *block {
	kinds := sortedMapKeys(blockKeys)
	m, kind := d.object(v, at, "block", blockKeys, kinds)
	if m == nil {
		return nil
	}
	at.where += " (" + kind + ")"
	b := &block{kind: kind, id: d.id(m, "block_id", at)}
	switch kind {
	case "section":
		if m["text"] == nil && m["fields"] == nil {
			d.errorf(at, "a section needs text, fields or both")
		}
		if m["text"] != nil {
			b.text = d.text(m["text"], at.key("text"), MaxSectionText, "mrkdwn", "plain_text")
		}
		if fv, ok := m["fields"]; ok {
			list := d.list(fv, at.key("fields"), MaxFields, "fields")
			for i, f := range list {
				if t := d.text(f, at.key("fields").item(i, fmt.Sprintf("#%d", i+1)), MaxFieldText, "mrkdwn", "plain_text"); t != nil {
					b.fields = append(b.fields, t)
				}
			}
		}
		if av, ok := m["accessory"]; ok {
			b.accessory = d.element(av, at.key("accessory"), "accessory", "button", "image")
		}
	case "header":
		if m["text"] == nil {
			d.errorf(at, "a header needs text")
			break
		}
		b.text = d.text(m["text"], at.key("text"), MaxHeaderText, "plain_text")
	case "context":
		list := d.list(m["elements"], at.key("elements"), MaxContextElements, "elements")
		for i, e := range list {
			if el := d.element(e, at.key("elements").item(i, fmt.Sprintf("#%d", i+1)), "context element", "mrkdwn", "plain_text", "image"); el != nil {
				b.elements = append(b.elements, el)
			}
		}
	case "actions":
		list := d.list(m["elements"], at.key("elements"), MaxActionElements, "elements")
		actionIDs := map[string]bool{}
		for i, e := range list {
			eat := at.key("elements").item(i, fmt.Sprintf("#%d", i+1))
			if el := d.element(e, eat, "actions element", "button"); el != nil {
				if el.actionID != "" {
					if actionIDs[el.actionID] {
						d.errorf(eat.key("action_id"), "action_id %q is used twice in this block", el.actionID)
					}
					actionIDs[el.actionID] = true
				}
				b.elements = append(b.elements, el)
			}
		}
	case "image":
		b.image = d.image(m, at)
	case "divider":
	}
	return b
}

// list checks that v is a list of 1 to limit items.
func (d *blockDecoder) list(v any, at loc, limit int, what string) []any {
	if v == nil {
		d.errorf(at, "%s is required", what)
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		d.errorf(at, "%s must be a list, not %s", what, describe(v))
		return nil
	}
	switch {
	case len(l) == 0:
		d.errorf(at, "%s is empty", what)
	case len(l) > limit:
		d.errorf(at, "%d %s; Block Kit allows %d", len(l), what, limit)
	}
	return l
}

// element decodes a context element (a text or an image), a section's
// accessory (a button or an image) or an actions block's link button.
// A plain string is a text element of the first allowed text type.
func (d *blockDecoder) element(v any, at loc, what string, allowed ...string) *element {
	m, isMap := v.(map[string]any)
	if slices.Contains(allowed, "mrkdwn") && (!isMap || m["type"] == "mrkdwn" || m["type"] == "plain_text") {
		t := d.text(v, at, MaxContextText, "mrkdwn", "plain_text")
		if t == nil {
			return nil
		}
		return &element{kind: t.kind, text: t}
	}
	m, kind := d.object(v, at, what, elementKeys, allowed)
	if m == nil {
		return nil
	}
	at.where += " (" + kind + ")"
	switch kind {
	case "image":
		img := d.image(m, at)
		if img == nil {
			return nil
		}
		return &element{kind: kind, image: img}
	}
	// A link button: Switchyard receives no interactions, so a button
	// without a url would do nothing.
	e := &element{kind: "button", actionID: d.id(m, "action_id", at)}
	if m["text"] == nil {
		d.errorf(at, "a button needs text")
	} else {
		e.text = d.text(m["text"], at.key("text"), MaxButtonText, "plain_text")
	}
	if m["url"] == nil {
		d.errorf(at, "a button needs a url (Switchyard sends link buttons)")
	} else {
		e.url = d.link(m["url"], at.key("url"))
	}
	if sv, ok := m["style"]; ok {
		s, _ := sv.(string)
		if !slices.Contains(buttonStyles, s) {
			d.errorf(at.key("style"), "button style %s: want primary or danger (or leave it out)", describe(sv))
		}
		e.style = s
	}
	return e
}

// image decodes an image block's or image element's image_url, alt_text
// and (a block's) title.
func (d *blockDecoder) image(m map[string]any, at loc) *image {
	img := &image{}
	if m["image_url"] == nil {
		d.errorf(at, "an image needs an image_url")
	} else {
		img.url = d.link(m["image_url"], at.key("image_url"))
	}
	if m["alt_text"] == nil {
		d.errorf(at, "an image needs an alt_text (what it shows, for screen readers)")
	} else if s, ok := d.scalar(m["alt_text"], at.key("alt_text")); ok {
		// alt_text is a plain string, not a text object: plain_text rules.
		img.alt = d.template(s, at.key("alt_text"), "plain_text", MaxAltText)
	}
	if m["title"] != nil {
		img.title = d.text(m["title"], at.key("title"), MaxImageTitle, "plain_text")
	}
	return img
}

// id reads an optional literal block_id or action_id.
func (d *blockDecoder) id(m map[string]any, key string, at loc) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	switch {
	case !ok || s == "":
		d.errorf(at.key(key), "%s must be a non-empty string", key)
	case strings.Contains(s, "{{"):
		d.errorf(at.key(key), "%s is written literally, not templated", key)
	case utf8.RuneCountInString(s) > MaxID:
		d.errorf(at.key(key), "%s is %d characters; Block Kit allows %d", key, utf8.RuneCountInString(s), MaxID)
	}
	return s
}

// text decodes a text object: a string (of the first allowed type) or a
// mapping {type, text, emoji (plain_text), verbatim (mrkdwn)}.
func (d *blockDecoder) text(v any, at loc, limit int, allowed ...string) *text {
	kind := allowed[0]
	var raw any = v
	t := &text{}
	if m, ok := v.(map[string]any); ok {
		if m, kind = d.object(m, at, "text", elementKeys, allowed); m == nil {
			return nil
		}
		raw = m["text"]
		at.where += " (" + kind + ")"
		if raw == nil {
			d.errorf(at, "a %s text needs text", kind)
			return nil
		}
		if ev, ok := m["emoji"]; ok {
			b, ok := ev.(bool)
			if !ok {
				d.errorf(at.key("emoji"), "emoji must be true or false")
			}
			t.emoji = &b
		}
		if vv, ok := m["verbatim"]; ok {
			b, ok := vv.(bool)
			if !ok {
				d.errorf(at.key("verbatim"), "verbatim must be true or false")
			}
			t.verbatim = b
		}
		at = at.key("text")
	}
	s, ok := d.scalar(raw, at)
	if !ok {
		return nil
	}
	tm := d.template(s, at, kind, limit)
	if tm == nil {
		return nil
	}
	t.kind, t.tmpl, t.max = kind, tm.tmpl, limit
	return t
}

// template parses s as the text of a kind (mrkdwn: inserted values escaped
// for Slack; plain_text: as they are) and checks that what it writes
// itself fits in limit.
func (d *blockDecoder) template(s string, at loc, kind string, limit int) *text {
	if strings.TrimSpace(s) == "" {
		d.errorf(at, "is empty")
		return nil
	}
	var esc actions.Escaper
	if kind == "mrkdwn" {
		esc = actions.SlackEscape
	}
	tm, err := d.ts.New("blocks"+at.ptr, s, esc)
	if err != nil {
		d.errorf(at, "%v", err)
		return nil
	}
	if n := literalLen(s); n > limit {
		d.errorf(at, "is at least %d characters; Block Kit allows %d", n, limit)
	}
	return &text{kind: kind, tmpl: tm, max: limit}
}

// link decodes a URL: literal, or a literal http(s)://host with templated
// path and query, or one {{ value }} that holds a whole URL.
func (d *blockDecoder) link(v any, at loc) *link {
	s, ok := d.scalar(v, at)
	if !ok {
		return nil
	}
	s = strings.TrimSpace(s)
	l := &link{}
	switch {
	case !strings.Contains(s, "{{"):
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.errorf(at, "%q is not an http(s) URL", s)
			return nil
		}
	case strings.HasPrefix(s, "{{"):
		if !oneAction(s) {
			d.errorf(at, "%q: a url is either http(s)://host written literally followed by a templated path and query, or one {{ value }} that holds a whole http(s) URL", s)
			return nil
		}
		l.whole = true
	default:
		scheme, host, err := actions.LiteralOrigin(s)
		if err != nil {
			d.errorf(at, "%v", err)
			return nil
		}
		l.scheme, l.host = scheme, host
	}
	if n := literalLen(s); n > MaxURL {
		d.errorf(at, "is at least %d characters; Block Kit allows %d", n, MaxURL)
	}
	var esc actions.Escaper
	if !l.whole {
		esc = actions.EscapeURLComponent
	}
	tm, err := d.ts.New("blocks"+at.ptr, s, esc)
	if err != nil {
		d.errorf(at, "%v", err)
		return nil
	}
	l.tmpl = tm
	return l
}

// scalar accepts a string, or a number or boolean YAML wrote unquoted.
func (d *blockDecoder) scalar(v any, at loc) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v), true
	}
	d.errorf(at, "must be a string, not %s", describe(v))
	return "", false
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedMapKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseTree parses a template's text for its shape only (functions are
// not checked: actions.Templates has parsed it for real).
func parseTree(s string) *parse.ListNode {
	t := parse.New("shape")
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(s, "", "", map[string]*parse.Tree{}); err != nil || t.Root == nil {
		return nil
	}
	return t.Root
}

// literalLen is the fewest characters a template writes whatever the
// event: its own text, on the shortest path through if, with and range.
// Inserted values only add to it.
func literalLen(s string) int {
	if !strings.Contains(s, "{{") {
		return utf8.RuneCountInString(s)
	}
	return minLen(parseTree(s))
}

func minLen(n parse.Node) int {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		sum := 0
		for _, c := range n.Nodes {
			switch c.(type) {
			case *parse.BreakNode, *parse.ContinueNode:
				return sum // the rest of this list may never be written
			}
			sum += minLen(c)
		}
		return sum
	case *parse.TextNode:
		return utf8.RuneCount(n.Text)
	case *parse.IfNode:
		return min(minLen(n.List), minLen(n.ElseList))
	case *parse.WithNode:
		return min(minLen(n.List), minLen(n.ElseList))
	case *parse.RangeNode:
		// No iteration writes the else list (or nothing); a break inside
		// an if may cut any iteration short.
		if hasBreak(n.List) {
			return 0
		}
		return min(minLen(n.List), minLen(n.ElseList))
	}
	return 0 // actions insert values; {{ template }} and the like: unknown
}

func hasBreak(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		return slices.ContainsFunc(n.Nodes, hasBreak)
	case *parse.BreakNode, *parse.ContinueNode:
		return true
	case *parse.IfNode:
		return hasBreak(n.List) || hasBreak(n.ElseList)
	case *parse.WithNode:
		return hasBreak(n.List) || hasBreak(n.ElseList)
	}
	return false // a nested range's breaks are its own
}

// oneAction reports whether s is a single {{ ... }} and nothing else.
func oneAction(s string) bool {
	root := parseTree(s)
	if root == nil || len(root.Nodes) != 1 {
		return false
	}
	_, ok := root.Nodes[0].(*parse.ActionNode)
	return ok
}

// Rendering. A part whose values render empty, or a URL that is not an
// http(s) URL, is left out (and a block left with nothing, with it): the
// message still goes out, with its text and the rest of its blocks.
// Rendered texts longer than Block Kit allows are cut, ending in "…".

func renderBlocks(bs []*block, env map[string]any) ([]slack.Block, error) {
	var out []slack.Block
	for _, b := range bs {
		sb, err := b.render(env)
		if err != nil {
			return nil, err
		}
		if sb != nil {
			out = append(out, sb)
		}
	}
	return out, nil
}

func (b *block) render(env map[string]any) (slack.Block, error) {
	switch b.kind {
	case "divider":
		d := slack.NewDividerBlock()
		d.BlockID = b.id
		return d, nil
	case "header":
		t, err := b.text.render(env)
		if t == nil || err != nil {
			return nil, err
		}
		return slack.NewHeaderBlock(t, slack.HeaderBlockOptionBlockID(b.id)), nil
	case "section":
		t, err := b.text.render(env)
		if err != nil {
			return nil, err
		}
		var fields []*slack.TextBlockObject
		for _, f := range b.fields {
			ft, err := f.render(env)
			if err != nil {
				return nil, err
			}
			if ft != nil {
				fields = append(fields, ft)
			}
		}
		if t == nil && len(fields) == 0 {
			return nil, nil
		}
		var acc *slack.Accessory
		if b.accessory != nil {
			el, err := b.accessory.render(env)
			if err != nil {
				return nil, err
			}
			if el != nil {
				acc = slack.NewAccessory(el.(slack.BlockElement))
			}
		}
		return slack.NewSectionBlock(t, fields, acc, slack.SectionBlockOptionBlockID(b.id)), nil
	case "context":
		var els []slack.MixedElement
		for _, e := range b.elements {
			el, err := e.render(env)
			if err != nil {
				return nil, err
			}
			if el != nil {
				els = append(els, el.(slack.MixedElement))
			}
		}
		if len(els) == 0 {
			return nil, nil
		}
		return slack.NewContextBlock(b.id, els...), nil
	case "actions":
		var els []slack.BlockElement
		for _, e := range b.elements {
			el, err := e.render(env)
			if err != nil {
				return nil, err
			}
			if el != nil {
				els = append(els, el.(slack.BlockElement))
			}
		}
		if len(els) == 0 {
			return nil, nil
		}
		return slack.NewActionBlock(b.id, els...), nil
	case "image":
		u, alt, title, err := b.image.render(env)
		if u == "" || err != nil {
			return nil, err
		}
		return slack.NewImageBlock(u, alt, b.id, title), nil
	}
	return nil, fmt.Errorf("block type %q", b.kind)
}

// render returns a *slack.TextBlockObject, *slack.ImageBlockElement or
// *slack.ButtonBlockElement, or nil when the element is left out.
func (e *element) render(env map[string]any) (any, error) {
	switch e.kind {
	case "mrkdwn", "plain_text":
		t, err := e.text.render(env)
		if t == nil || err != nil {
			return nil, err
		}
		return t, nil
	case "image":
		u, alt, _, err := e.image.render(env)
		if u == "" || err != nil {
			return nil, err
		}
		return slack.NewImageBlockElement(u, alt), nil
	}
	t, err := e.text.render(env)
	if t == nil || err != nil {
		return nil, err
	}
	u, err := e.url.render(env)
	if u == "" || err != nil {
		return nil, err
	}
	btn := slack.NewButtonBlockElement(e.actionID, "", t).WithURL(u)
	if e.style != "" {
		btn = btn.WithStyle(slack.Style(e.style))
	}
	return btn, nil
}

// render returns the URL, alt text and title; an empty URL when the image
// is left out.
func (img *image) render(env map[string]any) (string, string, *slack.TextBlockObject, error) {
	u, err := img.url.render(env)
	if u == "" || err != nil {
		return "", "", nil, err
	}
	alt, err := img.alt.render(env)
	if alt == nil || err != nil {
		return "", "", nil, err
	}
	title, err := img.title.render(env)
	if err != nil {
		return "", "", nil, err
	}
	return u, alt.Text, title, nil
}

// render returns the text object, or nil when t is nil or renders empty.
func (t *text) render(env map[string]any) (*slack.TextBlockObject, error) {
	if t == nil {
		return nil, nil
	}
	s, err := t.tmpl.Execute(env)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	s = fit(s, t.max, t.kind == "mrkdwn")
	o := &slack.TextBlockObject{Type: t.kind, Text: s, Emoji: t.emoji, Verbatim: t.verbatim}
	return o, nil
}

// render returns the URL, or "" when it is not an http(s) URL with a host
// or is longer than Block Kit allows.
func (l *link) render(env map[string]any) (string, error) {
	s, err := l.tmpl.Execute(env)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", nil
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", nil
	case l.whole && u.User != nil:
		// https://tool.example@evil.example/ reads as the tool's link.
		return "", nil
	case !l.whole && l.scheme != "" && (scheme != l.scheme || strings.ToLower(u.Host) != l.host):
		// The load-time check makes this impossible; keep it anyway.
		return "", nil
	}
	// url.Parse keeps the query as written; encode what a URL cannot hold
	// (spaces, quotes, < >, non-ASCII), as String does for the path.
	u.RawQuery = actions.PercentEncode(u.RawQuery, urlByte)
	out := u.String()
	if utf8.RuneCountInString(out) > MaxURL {
		return "", nil
	}
	return out, nil
}

// urlByte reports whether c may appear in a URL as it is: RFC 3986's
// unreserved and reserved characters, and % (of an escape).
func urlByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// fit cuts s to at most max characters, ending in "…" when cut, and never
// in the middle of an &amp; entity of mrkdwn.
func fit(s string, max int, mrkdwn bool) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // each invalid byte a U+FFFD, as encoding/json does
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut, n := 0, 0
	for i := range s {
		if n == max-1 {
			cut = i
			break
		}
		n++
	}
	s = s[:cut]
	if mrkdwn {
		if amp := strings.LastIndexByte(s, '&'); amp >= 0 && !strings.Contains(s[amp:], ";") {
			s = s[:amp]
		}
	}
	return s + "…"
}
