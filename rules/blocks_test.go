package rules

import (
	"reflect"
	"strings"
	"testing"
)

// TestSlackBlocks: blocks: is kept as decoded, with the position of every
// value by JSON Pointer (a member at its key, merged members at theirs),
// for the slack action's errors.
func TestSlackBlocks(t *testing.T) {
	src := `slack: {token: xoxb-1}
x-button: &open
  type: button
  text: Open
rules:
  - name: r
    actions:
      - slack:
          channel: "#c"
          text: fallback
          blocks:
            - type: header
              text: "Vote on {{ .data.post.title }}"
            - {type: divider}
            - type: actions
              elements:
                - <<: *open
                  url: "{{ .data.url }}"
`
	f, err := Parse("b.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Rules[0].Actions[0].Slack
	want := []any{
		map[string]any{"type": "header", "text": "Vote on {{ .data.post.title }}"},
		map[string]any{"type": "divider"},
		map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "text": "Open", "url": "{{ .data.url }}"}}},
	}
	if !reflect.DeepEqual(s.Blocks, want) {
		t.Errorf("blocks = %#v", s.Blocks)
	}
	for ptr, at := range map[string]string{
		"":                    "b.yaml:12:13",
		"/0":                  "b.yaml:12:15",
		"/0/text":             "b.yaml:13:15",
		"/1":                  "b.yaml:14:15",
		"/1/type":             "b.yaml:14:16",
		"/2/elements/0":       "b.yaml:17:19",
		"/2/elements/0/url":   "b.yaml:18:19",
		"/2/elements/0/text":  "b.yaml:4:3", // merged from the anchor
		"/2/elements/0/style": "b.yaml:17:19",
		"/9/text":             "b.yaml:12:13", // the nearest enclosing value: the list
	} {
		p, ok := s.BlockPos(ptr)
		if !ok || p.String() != at {
			t.Errorf("BlockPos(%q) = %s, %v; want %s", ptr, p, ok, at)
		}
	}

	for name, tc := range map[string]struct{ blocks, want string }{
		"a mapping":   {"{type: divider}", `b.yaml:3:63: rule "r" action #1 (slack): blocks must be a list of blocks, not a mapping`},
		"a string":    {"divider", `blocks must be a list of blocks, not a scalar`},
		"unknown key": {"[], blcks: []", `unknown key "blcks"`},
	} {
		t.Run(name, func(t *testing.T) {
			src := "slack: {token: xoxb-1}\nrules:\n  - {name: r, actions: [{slack: {channel: c, text: t, blocks: " + tc.blocks + "}}]}\n"
			_, err := Parse("b.yaml", []byte(src), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("empty list is kept for the action to refuse", func(t *testing.T) {
		f, err := Parse("b.yaml", []byte("slack: {token: xoxb-1}\nrules:\n  - {name: r, actions: [{slack: {channel: c, text: t, blocks: []}}]}\n"), env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if b := f.Rules[0].Actions[0].Slack.Blocks; b == nil || len(b) != 0 {
			t.Errorf("blocks = %#v, want an empty list", b)
		}
	})
}

// TestSlackBlocksTemplatesInOneRun: a template error in blocks is reported
// with the other errors of the file, at its line, not only once they are
// fixed.
func TestSlackBlocksTemplatesInOneRun(t *testing.T) {
	src := `slack: {token: xoxb-1}
rules:
  - name: a
    when: nope
    actions: [{slack: {channel: c, text: t}}]
  - name: b
    actions:
      - slack:
          channel: c
          text: t
          blocks:
            - type: section
              text: "{{ .data.title"
`
	_, err := Parse("b.yaml", []byte(src), env(nil))
	if err == nil {
		t.Fatal("the file loads")
	}
	msg := err.Error()
	for _, want := range []string{`b.yaml:4:11: rule "a": when: unknown name nope`, `b.yaml:13:`, `rule "b" action #1 (slack): blocks: template:`} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}
