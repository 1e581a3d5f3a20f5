package slack

// rules.schema.json describes blocks for editors; compileBlocks is what
// Switchyard accepts. These tests keep them from drifting apart: the same
// keys, the same limits, the same verdict on files bad for their shape.

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../../rules.schema.json"

func blocksSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("rules.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("rules.schema.json#/$defs/slackBlocks")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	root := doc.(map[string]any)
	return sch, root["$defs"].(map[string]any)["slackBlocks"].(map[string]any)
}

// at follows a path of member names from the blocks' definition.
func at(t *testing.T, node map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := node[p].(map[string]any)
		if !ok {
			t.Fatalf("schema: nothing at %v", path)
		}
		node = next
	}
	return node
}

func TestSchemaBlockKeys(t *testing.T) {
	_, def := blocksSchema(t)
	defs := at(t, def, "$defs")
	keysOf := func(name string) []string {
		props := at(t, defs, name, "properties")
		var keys []string
		for k := range props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if at(t, defs, name)["additionalProperties"] != false {
			t.Errorf("schema %s allows unknown keys; the loader does not", name)
		}
		return keys
	}
	for kind, keys := range blockKeys {
		if got, want := keysOf(kind), slices.Sorted(slices.Values(keys)); !slices.Equal(got, want) {
			t.Errorf("schema block %s has keys %v; the loader's are %v", kind, got, want)
		}
	}
	for kind, name := range map[string]string{"button": "button", "image": "imageElement", "mrkdwn": "mrkdwnObject", "plain_text": "plainTextObject"} {
		if got, want := keysOf(name), slices.Sorted(slices.Values(elementKeys[kind])); !slices.Equal(got, want) {
			t.Errorf("schema %s has keys %v; the loader's %s keys are %v", name, got, want, kind)
		}
	}
	limits := []struct {
		name    string
		node    map[string]any
		keyword string
		want    int
	}{
		{"blocks", def, "maxItems", MaxBlocks},
		{"fields", at(t, defs, "section", "properties", "fields"), "maxItems", MaxFields},
		{"context elements", at(t, defs, "context", "properties", "elements"), "maxItems", MaxContextElements},
		{"actions elements", at(t, defs, "actions", "properties", "elements"), "maxItems", MaxActionElements},
		{"ids", at(t, defs, "id"), "maxLength", MaxID},
	}
	for _, l := range limits {
		if got, _ := l.node[l.keyword].(json.Number); got.String() != strconv.Itoa(l.want) {
			t.Errorf("schema %s %s = %v, the loader's limit is %d", l.name, l.keyword, l.node[l.keyword], l.want)
		}
	}
	var styles []string
	for _, s := range at(t, defs, "button", "properties", "style")["enum"].([]any) {
		styles = append(styles, s.(string))
	}
	if !slices.Equal(styles, buttonStyles) {
		t.Errorf("schema button styles %v, the loader's %v", styles, buttonStyles)
	}
}

// TestSchemaAgreesWithBlocks gives the same blocks to the schema and to the
// loader: those bad for their shape both refuse, those only the loader can
// judge (template text, lengths of what templates write) the schema lets
// through.
func TestSchemaAgreesWithBlocks(t *testing.T) {
	sch, _ := blocksSchema(t)
	const (
		ok       = "ok"
		shape    = "shape"    // both refuse
		semantic = "semantic" // only the loader refuses
	)
	long := strings.Repeat("x", 3001)
	tests := []struct{ name, yaml, verdict string }{
		{"every block", fullMessage, ok},
		{"hostile blocks", hostileBlocks, ok},
		{"pasted Block Kit JSON", `[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*", "verbatim": true}, "block_id": "s"}]`, ok},
		{"a number as text", `[{type: header, text: 2024}]`, ok},
		{"image accessory", `[{type: section, text: hi, accessory: {type: image, image_url: "https://example.com/i.png", alt_text: i}}]`, ok},
		{"whole-URL image", `[{type: image, image_url: "{{ .data.image }}", alt_text: i}]`, ok},
		{"upper-case scheme", `[{type: actions, elements: [{type: button, text: a, url: "HTTPS://example.com/{{ .id }}"}]}]`, ok},
		{"empty", `[]`, shape},
		{"51 blocks", "[" + strings.TrimSuffix(strings.Repeat("{type: divider}, ", 51), ", ") + "]", shape},
		{"unknown type", `[{type: input}]`, shape},
		{"no type", `[{text: hi}]`, shape},
		{"unknown key", `[{type: divider, txt: hi}]`, shape},
		{"section without text", `[{type: section}]`, shape},
		{"header without text", `[{type: header}]`, shape},
		{"header mrkdwn", `[{type: header, text: {type: mrkdwn, text: hi}}]`, shape},
		{"emoji on mrkdwn", `[{type: section, text: {type: mrkdwn, text: hi, emoji: true}}]`, shape},
		{"11 fields", `[{type: section, fields: [a, b, c, d, e, f, g, h, i, j, k]}]`, shape},
		{"context button", `[{type: context, elements: [{type: button, text: a, url: "https://example.com/"}]}]`, shape},
		{"button without url", `[{type: actions, elements: [{type: button, text: a}]}]`, shape},
		{"button style", `[{type: actions, elements: [{type: button, text: a, url: "https://example.com/", style: green}]}]`, shape},
		{"url ftp", `[{type: actions, elements: [{type: button, text: a, url: "ftp://example.com/"}]}]`, shape},
		{"url templated host", `[{type: actions, elements: [{type: button, text: a, url: "https://{{ .h }}/x"}]}]`, shape},
		{"url two values", `[{type: actions, elements: [{type: button, text: a, url: "{{ .a }}/{{ .b }}"}]}]`, shape},
		{"templated block_id", `[{type: divider, block_id: "{{ .id }}"}]`, shape},
		{"empty text", `[{type: section, text: "  "}]`, shape},
		{"section text 3001", `[{type: section, text: "` + long + `"}]`, semantic},
		{"button text 76", `[{type: actions, elements: [{type: button, text: "` + long[:76] + `", url: "https://example.com/"}]}]`, semantic},
		{"template syntax", `[{type: section, text: "{{ .data"}]`, semantic},
		{"block_id twice", `[{type: divider, block_id: a}, {type: divider, block_id: a}]`, semantic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blocks := yamlBlocks(t, tc.yaml)
			_, lerr := New(Config{Token: testToken}, Spec{Channel: "#c", Text: "x", Blocks: blocks})
			b, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			serr := sch.Validate(inst)
			var ve *jsonschema.ValidationError
			if serr != nil && !errors.As(serr, &ve) {
				t.Fatalf("schema: %v", serr)
			}
			got := map[[2]bool]string{{true, true}: ok, {false, false}: shape, {false, true}: semantic}[[2]bool{lerr == nil, serr == nil}]
			if got != tc.verdict {
				t.Errorf("verdict %q, want %q\nloader: %v\nschema: %v", got, tc.verdict, lerr, serr)
			}
		})
	}
}
