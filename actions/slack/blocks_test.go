package slack

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// yamlBlocks decodes blocks written in YAML as the rules loader does:
// lists, maps with string keys, scalars.
func yamlBlocks(t testing.TB, src string) []any {
	t.Helper()
	var v []any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	return v
}

// blocksEvent is a vote whose voter and title try to ping the channel and
// forge links.
func blocksEvent() *event.Event {
	ev := hostileEvent()
	post := ev.Data["post"].(map[string]any)
	post["votes"] = float64(12)
	post["url"] = "https://productlift.example/p/99?ref=slack&x=<y>"
	post["image"] = "https://cdn.example/i.png"
	return ev
}

const fullMessage = `
- type: header
  text: "New vote on {{ .data.post.title }}"
- type: section
  text: "*{{ .data.vote.voter.name }}* voted for <https://example.com/p/{{ .data.post.id }}|{{ .data.post.title }}>"
  fields:
    - "*Votes*\n{{ .data.post.votes }}"
    - {type: plain_text, text: "{{ .data.vote.voter.name }}", emoji: true}
  accessory:
    type: button
    text: Open
    url: "https://example.com/p/{{ .data.post.id }}"
- type: context
  elements:
    - "{{ .source }} · {{ .event }}"
    - {type: image, image_url: "https://example.com/logo.png", alt_text: ProductLift}
- type: divider
- type: image
  image_url: "{{ .data.post.image }}"
  alt_text: "{{ .data.post.title }}"
  title: "{{ .data.post.title }}"
- type: actions
  block_id: links
  elements:
    - type: button
      text: Open in ProductLift
      url: "{{ .data.post.url }}"
      style: primary
      action_id: open
    - type: button
      text: "Search {{ .data.post.title }}"
      url: "https://example.com/search?q={{ .data.post.title }}"
`

// wantFullMessage is what Slack must receive for fullMessage and
// blocksEvent: mrkdwn values escaped, plain_text values as they are, URL
// values percent-encoded after a literal origin, a whole-URL value as the
// URL it is.
const wantFullMessage = `[
  {"type": "header", "text": {"type": "plain_text", "text": "New vote on <https://evil.example|click> & win"}},
  {"type": "section",
   "text": {"type": "mrkdwn", "text": "*&lt;!channel&gt; @channel Mallory* voted for <https://example.com/p/99|&lt;https://evil.example|click&gt; &amp; win>"},
   "fields": [
     {"type": "mrkdwn", "text": "*Votes*\n12"},
     {"type": "plain_text", "text": "<!channel> @channel Mallory", "emoji": true}
   ],
   "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://example.com/p/99"}},
  {"type": "context", "elements": [
     {"type": "mrkdwn", "text": "productlift · vote.created"},
     {"type": "image", "image_url": "https://example.com/logo.png", "alt_text": "ProductLift"}
  ]},
  {"type": "divider"},
  {"type": "image", "image_url": "https://cdn.example/i.png", "alt_text": "<https://evil.example|click> & win",
   "title": {"type": "plain_text", "text": "<https://evil.example|click> & win"}},
  {"type": "actions", "block_id": "links", "elements": [
     {"type": "button", "text": {"type": "plain_text", "text": "Open in ProductLift"}, "action_id": "open",
      "url": "https://productlift.example/p/99?ref=slack&x=%3Cy%3E", "style": "primary"},
     {"type": "button", "text": {"type": "plain_text", "text": "Search <https://evil.example|click> & win"},
      "url": "https://example.com/search?q=%3Chttps%3A%2F%2Fevil.example%7Cclick%3E%20%26%20win"}
  ]}
]`

// TestBlocksReachSlack posts a message with every kind of block through
// both transports, to slacktest and to an httptest incoming webhook, and
// compares the blocks they received with what Block Kit should get.
func TestBlocksReachSlack(t *testing.T) {
	spec := Spec{Channel: "#feedback", Text: "{{ .data.vote.voter.name }} voted", Blocks: yamlBlocks(t, fullMessage)}

	apiRec := &recorder{}
	api := startSlack(t, apiRec)
	viaAPI, err := New(Config{Token: testToken, APIURL: api.GetAPIURL()}, spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hookRec := &recorder{}
	hook := httptest.NewServer(hookRec)
	t.Cleanup(hook.Close)
	viaHook, err := New(Config{WebhookURL: secret.Secret(hook.URL + "/services/T/B/x")}, spec)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var want any
	if err := json.Unmarshal([]byte(wantFullMessage), &want); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct {
		name string
		a    *Action
		rec  *recorder
	}{{"chat.postMessage", viaAPI, apiRec}, {"incoming webhook", viaHook, hookRec}} {
		t.Run(tr.name, func(t *testing.T) {
			if err := tr.a.Do(context.Background(), blocksEvent()); err != nil {
				t.Fatalf("Do: %v", err)
			}
			reqs := tr.rec.received()
			if len(reqs) != 1 {
				t.Fatalf("Slack saw %d requests, want 1", len(reqs))
			}
			if got := reqs[0]["text"]; got != "&lt;!channel&gt; @channel Mallory voted" {
				t.Errorf("fallback text %q", got)
			}
			var got any
			if err := json.Unmarshal([]byte(reqs[0]["blocks"]), &got); err != nil {
				t.Fatalf("blocks %q: %v", reqs[0]["blocks"], err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("Slack received\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// hostileBlocks puts the inserted value in every kind of place a block
// has: mrkdwn (section text, a field, a context), plain_text (header, a
// field, button text, alt text), URLs after a literal origin (button,
// image) and a whole-URL button.
const hostileBlocks = `
- {type: header, text: "H {{ .data.v }}"}
- type: section
  text: "S {{ .data.v }} <https://example.com/p|open>"
  fields: ["F {{ .data.v }}", {type: plain_text, text: "P {{ .data.v }}"}]
- {type: context, elements: ["C {{ .data.v }}"]}
- {type: image, image_url: "https://example.com/img/{{ .data.v }}", alt_text: "A {{ .data.v }}"}
- type: actions
  elements:
    - {type: button, text: "B {{ .data.v }}", url: "https://example.com/p/{{ .data.v }}?q={{ .data.v }}"}
    - {type: button, text: "W", url: "{{ .data.v }}"}
`

// TestHostileValuesInBlocks sends every hostile value through every place
// of every kind of block, by both transports, and checks what Slack got:
// mrkdwn carries no markup from the value and gives it back unescaped;
// plain_text carries the value as it is; a URL keeps its literal origin
// and the value within one path segment and one query value; no hostile
// value makes a whole-URL button; texts over Block Kit's limits are cut,
// URLs over them left out.
func TestHostileValuesInBlocks(t *testing.T) {
	spec := Spec{Channel: "#c", Text: "{{ .data.v }}", Blocks: yamlBlocks(t, hostileBlocks)}
	apiRec := &recorder{}
	api := startSlack(t, apiRec)
	viaAPI, err := New(Config{Token: testToken, APIURL: api.GetAPIURL()}, spec)
	if err != nil {
		t.Fatal(err)
	}
	hookRec := &recorder{}
	hook := httptest.NewServer(hookRec)
	t.Cleanup(hook.Close)
	viaHook, err := New(Config{WebhookURL: secret.Secret(hook.URL + "/services/T/B/x")}, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct {
		name string
		a    *Action
		rec  *recorder
	}{{"chat.postMessage", viaAPI, apiRec}, {"incoming webhook", viaHook, hookRec}} {
		for _, hv := range hostileValues() {
			t.Run(tr.name+"/"+hv.name, func(t *testing.T) {
				before := len(tr.rec.received())
				ev := &event.Event{Source: "s", Event: "e", ID: "1", Data: map[string]any{"v": hv.v}}
				if err := tr.a.Do(context.Background(), ev); err != nil {
					t.Fatalf("Do: %v", err)
				}
				reqs := tr.rec.received()
				if len(reqs) != before+1 {
					t.Fatalf("Slack saw %d new requests, want 1", len(reqs)-before)
				}
				var blocks []map[string]any
				if err := json.Unmarshal([]byte(reqs[before]["blocks"]), &blocks); err != nil {
					t.Fatalf("blocks: %v\n%.300s", err, reqs[before]["blocks"])
				}
				checkHostileBlocks(t, blocks, hv.v)
			})
		}
	}
}

func checkHostileBlocks(t *testing.T, blocks []map[string]any, v string) {
	t.Helper()
	want := runes(v) // invalid UTF-8 arrives as U+FFFD
	byType := map[string]map[string]any{}
	for _, b := range blocks {
		byType[b["type"].(string)] = b
	}
	text := func(o any) (kind, s string) {
		m := o.(map[string]any)
		return m["type"].(string), m["text"].(string)
	}
	// plain checks a plain_text value: the value as it is, or cut to the
	// limit with "…".
	plain := func(where, got, prefix string, limit int) {
		t.Helper()
		full := prefix + want
		if got == full && utf8.RuneCountInString(full) <= limit {
			return
		}
		kept, cut := strings.CutSuffix(got, "…")
		if !cut || utf8.RuneCountInString(got) != limit || !strings.HasPrefix(full, kept) {
			t.Errorf("%s: %.120q is neither the value nor its first %d characters", where, got, limit)
		}
	}
	// mrkdwn checks a mrkdwn value: no <, > from the value, every & an
	// entity, the value back by unescaping (or a prefix of it, when cut).
	mrkdwn := func(where, got, prefix, suffix string, limit int) {
		t.Helper()
		kept, cut := strings.CutSuffix(got, "…")
		if cut {
			// An entity (&amp;) is never cut in two: it goes whole.
			if n := utf8.RuneCountInString(got); n > limit || n < limit-len("&amp;") {
				t.Errorf("%s: cut to %d characters, want %d or a few fewer", where, n, limit)
			}
		} else if !strings.HasSuffix(kept, suffix) {
			t.Errorf("%s: the author's text is not intact: %.120q", where, got)
		} else {
			kept = strings.TrimSuffix(kept, suffix)
		}
		inserted, ok := strings.CutPrefix(kept, prefix)
		if !ok {
			t.Fatalf("%s: the author's text is not intact: %.120q", where, got)
		}
		if strings.ContainsAny(inserted, "<>") {
			t.Errorf("%s: the value carries Slack markup: %.120q", where, inserted)
		}
		for rest := inserted; ; {
			i := strings.IndexByte(rest, '&')
			if i < 0 {
				break
			}
			rest = rest[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Errorf("%s: bare & in the value: %.120q", where, rest)
				break
			}
			rest = rest[1:]
		}
		back := slackUnescape(inserted)
		if cut && !strings.HasPrefix(want, back) || !cut && back != want {
			t.Errorf("%s: value not recoverable: %.120q, want %.120q", where, back, want)
		}
	}
	// link checks a URL made of the literal origin and the value: the
	// value whole in its place, or the part left out for its length.
	link := func(where string, got any, path string, query bool) {
		t.Helper()
		u := "https://example.com" + path + url.PathEscape(v)
		if query {
			u += "?q=" + url.QueryEscape(v)
		}
		if len(u) > MaxURL {
			if got != nil {
				t.Errorf("%s: a URL over %d characters was sent", where, MaxURL)
			}
			return
		}
		s, _ := got.(string)
		pu, err := url.Parse(s)
		if err != nil || pu.Scheme != "https" || pu.Host != "example.com" {
			t.Fatalf("%s: %.120q does not keep its literal origin (%v)", where, s, err)
		}
		seg, ok := strings.CutPrefix(pu.EscapedPath(), path)
		if !ok || strings.Contains(seg, "/") {
			t.Errorf("%s: the value changed the path: %.120q", where, pu.EscapedPath())
		}
		if back, err := url.PathUnescape(seg); err != nil || back != v {
			t.Errorf("%s: path segment %.120q is not the value", where, seg)
		}
		if q := pu.Query(); query && (len(q) != 1 || len(q["q"]) != 1 || q["q"][0] != v) {
			t.Errorf("%s: query %.120v, want exactly q=<the value>", where, q)
		}
	}

	if _, s := text(byType["header"]["text"]); true {
		plain("header", s, "H ", MaxHeaderText)
	}
	sec := byType["section"]
	if _, s := text(sec["text"]); true {
		mrkdwn("section text", s, "S ", " <https://example.com/p|open>", MaxSectionText)
	}
	fields := sec["fields"].([]any)
	if k, s := text(fields[0]); k != "mrkdwn" {
		t.Errorf("field 1 is %s", k)
	} else {
		mrkdwn("mrkdwn field", s, "F ", "", MaxFieldText)
	}
	if k, s := text(fields[1]); k != "plain_text" {
		t.Errorf("field 2 is %s", k)
	} else {
		plain("plain_text field", s, "P ", MaxFieldText)
	}
	if _, s := text(byType["context"]["elements"].([]any)[0]); true {
		mrkdwn("context", s, "C ", "", MaxContextText)
	}
	if img := byType["image"]; img != nil {
		link("image_url", img["image_url"], "/img/", false)
		plain("alt_text", img["alt_text"].(string), "A ", MaxAltText)
	} else {
		link("image_url", nil, "/img/", false)
	}
	var buttons []any
	if acts := byType["actions"]; acts != nil {
		buttons = acts["elements"].([]any)
	}
	if len(buttons) > 1 {
		t.Errorf("a hostile value made a whole-URL button: %v", buttons[1])
	}
	if len(buttons) == 0 {
		link("button url", nil, "/p/", true)
		return
	}
	b := buttons[0].(map[string]any)
	_, s := text(b["text"])
	plain("button text", s, "B ", MaxButtonText)
	link("button url", b["url"], "/p/", true)
}

// TestBlocksRejects: every mistake is found at load, says what is wrong
// and points at the value (the loader turns the pointer into a line and
// column), and all of a spec's mistakes are reported together.
func TestBlocksRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+", ", n), ", ") + "]"
	}
	button := `{type: button, text: Open, url: "https://example.com/"}`
	tests := []struct {
		name, yaml, ptr, msg string
	}{
		{"empty list", `[]`, "", "is empty"},
		{"51 blocks", many(51, "{type: divider}"), "", "51 blocks; Block Kit allows 50"},
		{"not a mapping", `["hello"]`, "/0", `must be a mapping with a type, not "hello"`},
		{"no type", `[{text: hi}]`, "/0", "needs a type"},
		{"unknown type", `[{type: input}]`, "/0/type", `block type "input": want one of actions, context, divider, header, image, section`},
		{"unknown key", `[{type: divider, txt: hi}]`, "/0/txt", `unknown key "txt" in a divider block`},
		{"section without text", `[{type: section}]`, "/0", "a section needs text, fields or both"},
		{"section text 3001", `[{type: section, text: "` + long(3001) + `"}]`, "/0/text", "is at least 3001 characters; Block Kit allows 3000"},
		{"section text with a value, 3001 of its own", `[{type: section, text: "{{ .event }}` + long(3001) + `"}]`, "/0/text", "at least 3001 characters"},
		{"section text empty", `[{type: section, text: "  "}]`, "/0/text", "is empty"},
		{"section text a list", `[{type: section, text: [a]}]`, "/0/text", "must be a string, not a list"},
		{"section text bad template", `[{type: section, text: "{{ .data"}]`, "/0/text", "parse template"},
		{"section text unknown function", `[{type: section, text: "{{ nope .data }}"}]`, "/0/text", `"nope" not defined`},
		{"11 fields", `[{type: section, fields: ` + many(11, "f") + `}]`, "/0/fields", "11 fields; Block Kit allows 10"},
		{"field 2001", `[{type: section, fields: [a, "` + long(2001) + `"]}]`, "/0/fields/1", "Block Kit allows 2000"},
		{"text type", `[{type: section, text: {type: markdown, text: hi}}]`, "/0/text/type", `text type "markdown": want one of mrkdwn, plain_text`},
		{"emoji on mrkdwn", `[{type: section, text: {type: mrkdwn, text: hi, emoji: true}}]`, "/0/text/emoji", `unknown key "emoji" in a mrkdwn text`},
		{"emoji not a bool", `[{type: section, text: {type: plain_text, text: hi, emoji: yes please}}]`, "/0/text/emoji", "true or false"},
		{"text object without text", `[{type: section, text: {type: mrkdwn}}]`, "/0/text", "needs text"},
		{"accessory a text", `[{type: section, text: hi, accessory: hi}]`, "/0/accessory", "must be a mapping with a type"},
		{"header without text", `[{type: header}]`, "/0", "a header needs text"},
		{"header 151", `[{type: header, text: "` + long(151) + `"}]`, "/0/text", "Block Kit allows 150"},
		{"header mrkdwn", `[{type: header, text: {type: mrkdwn, text: hi}}]`, "/0/text/type", `want one of plain_text`},
		{"context without elements", `[{type: context}]`, "/0/elements", "elements is required"},
		{"context 11 elements", `[{type: context, elements: ` + many(11, "c") + `}]`, "/0/elements", "11 elements; Block Kit allows 10"},
		{"context button", `[{type: context, elements: [` + button + `]}]`, "/0/elements/0/type", `want one of mrkdwn, plain_text, image`},
		{"actions 26 buttons", `[{type: actions, elements: ` + many(26, button) + `}]`, "/0/elements", "26 elements; Block Kit allows 25"},
		{"actions empty", `[{type: actions, elements: []}]`, "/0/elements", "elements is empty"},
		{"actions a text", `[{type: actions, elements: [hi]}]`, "/0/elements/0", "must be a mapping with a type"},
		{"button text 76", `[{type: actions, elements: [{type: button, text: "` + long(76) + `", url: "https://example.com/"}]}]`, "/0/elements/0/text", "Block Kit allows 75"},
		{"button without url", `[{type: actions, elements: [{type: button, text: Open}]}]`, "/0/elements/0", "needs a url"},
		{"button without text", `[{type: actions, elements: [{type: button, url: "https://example.com/"}]}]`, "/0/elements/0", "needs text"},
		{"button url 3001", `[{type: actions, elements: [{type: button, text: Open, url: "https://example.com/` + long(2982) + `"}]}]`, "/0/elements/0/url", "Block Kit allows 3000"},
		{"button url ftp", `[{type: actions, elements: [{type: button, text: Open, url: "ftp://example.com/"}]}]`, "/0/elements/0/url", "not an http(s) URL"},
		{"button url javascript", `[{type: actions, elements: [{type: button, text: Open, url: "javascript:alert(1)"}]}]`, "/0/elements/0/url", "not an http(s) URL"},
		{"button url templated host", `[{type: actions, elements: [{type: button, text: Open, url: "https://{{ .data.host }}/x"}]}]`, "/0/elements/0/url", "host must be written literally"},
		{"button url templated scheme", `[{type: actions, elements: [{type: button, text: Open, url: "{{ .data.s }}://example.com/x"}]}]`, "/0/elements/0/url", "one {{ value }}"},
		{"button url two values", `[{type: actions, elements: [{type: button, text: Open, url: "{{ .data.base }}/p/{{ .id }}"}]}]`, "/0/elements/0/url", "one {{ value }}"},
		{"button style", `[{type: actions, elements: [{type: button, text: Open, url: "https://example.com/", style: green}]}]`, "/0/elements/0/style", "want primary or danger"},
		{"button value", `[{type: actions, elements: [{type: button, text: Open, url: "https://example.com/", value: v}]}]`, "/0/elements/0/value", `unknown key "value" in a button`},
		{"action_id templated", `[{type: actions, elements: [{type: button, text: Open, url: "https://example.com/", action_id: "{{ .id }}"}]}]`, "/0/elements/0/action_id", "written literally"},
		{"action_id twice", `[{type: actions, elements: [{type: button, text: a, url: "https://example.com/", action_id: x}, {type: button, text: b, url: "https://example.com/", action_id: x}]}]`, "/0/elements/1/action_id", "used twice"},
		{"block_id twice", `[{type: divider, block_id: a}, {type: divider, block_id: a}]`, "/1/block_id", "used twice"},
		{"block_id 256", `[{type: divider, block_id: ` + long(256) + `}]`, "/0/block_id", "Block Kit allows 255"},
		{"image without alt_text", `[{type: image, image_url: "https://example.com/i.png"}]`, "/0", "needs an alt_text"},
		{"image without url", `[{type: image, alt_text: a}]`, "/0", "needs an image_url"},
		{"image alt_text 2001", `[{type: image, image_url: "https://example.com/i.png", alt_text: "` + long(2001) + `"}]`, "/0/alt_text", "Block Kit allows 2000"},
		{"image title mrkdwn", `[{type: image, image_url: "https://example.com/i.png", alt_text: a, title: {type: mrkdwn, text: t}}]`, "/0/title/type", "want one of plain_text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Token: testToken}, Spec{Channel: "#c", Text: "x", Blocks: yamlBlocks(t, tc.yaml)})
			if err == nil {
				t.Fatal("New accepts it")
			}
			for _, be := range BlockErrors(err) {
				if be.Pointer == tc.ptr && strings.Contains(be.Error(), tc.msg) {
					return
				}
			}
			t.Errorf("want an error at %q containing %q; got:\n%v", tc.ptr, tc.msg, err)
		})
	}

	t.Run("every mistake at once", func(t *testing.T) {
		src := `[{type: header}, {type: divider, x: 1}, {type: actions, elements: [{type: button, text: Open, url: "ftp://x/"}]}]`
		_, err := New(Config{Token: testToken}, Spec{Channel: "#c", Text: "x", Blocks: yamlBlocks(t, src)})
		var ptrs []string
		for _, be := range BlockErrors(err) {
			ptrs = append(ptrs, be.Pointer)
		}
		if want := []string{"/0", "/1/x", "/2/elements/0/url"}; !reflect.DeepEqual(ptrs, want) {
			t.Errorf("errors at %q, want %q:\n%v", ptrs, want, err)
		}
		if !strings.HasPrefix(err.Error(), "slack: block #1 (header): a header needs text") {
			t.Errorf("error %q does not say where in words", err)
		}
	})
}

// TestBlocksAccepted are the forms the loader takes that a strict reading
// might refuse: shortest paths through conditionals, Block Kit JSON pasted
// as it is, numbers written unquoted.
func TestBlocksAccepted(t *testing.T) {
	long := strings.Repeat("x", 3001)
	tests := []struct{ name, yaml string }{
		{"a long branch that need not be written", `[{type: section, text: "{{ if .data.x }}` + long + `{{ else }}short{{ end }}"}]`},
		{"a long range body that may not run", `[{type: section, text: "{{ range .data.list }}` + long + `{{ end }}"}]`},
		{"Block Kit JSON", `[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*", "verbatim": true}, "block_id": "s1"}]`},
		{"a number", `[{type: header, text: 2024}]`},
		{"an image accessory", `[{type: section, text: hi, accessory: {type: image, image_url: "https://example.com/i.png", alt_text: i}}]`},
		{"a whole-URL image", `[{type: image, image_url: "{{ .data.image }}", alt_text: i}]`},
		{"a literal URL with a query", `[{type: actions, elements: [{type: button, text: Open, url: "https://example.com/?a=1&b=2", style: danger}]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Config{Token: testToken}, Spec{Channel: "#c", Text: "x", Blocks: yamlBlocks(t, tc.yaml)})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if _, err := a.Render(blocksEvent()); err != nil {
				t.Fatalf("Render: %v", err)
			}
		})
	}
}

// TestBlocksLeaveOutWhatCannotBeSent: a button whose url value is not an
// http(s) URL, a text that renders empty, a block left with nothing: each
// is left out and the message still goes out; a text over its limit is
// cut.
func TestBlocksLeaveOutWhatCannotBeSent(t *testing.T) {
	src := `
- {type: header, text: "{{ .data.title }}"}
- {type: section, text: "{{ .data.missing }}"}
- type: actions
  elements:
    - {type: button, text: Open, url: "{{ .data.url }}"}
- {type: image, image_url: "{{ .data.url }}", alt_text: img}
- {type: divider}
`
	rec := &recorder{}
	s := startSlack(t, rec)
	a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{Channel: "#c", Text: "fallback", Blocks: yamlBlocks(t, src)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
		want      string // the actions block's button url, "" for none
	}{
		{"http URL", "https://productlift.example/p/1", "https://productlift.example/p/1"},
		{"spaces trimmed and encoded", "  HTTPS://productlift.example/a b?q=a b  ", "https://productlift.example/a%20b?q=a%20b"},
		{"javascript", "javascript:alert(1)//https://x", ""},
		{"data", "data:text/html,<script>alert(1)</script>", ""},
		{"relative", "/p/1", ""},
		{"no host", "https:///p/1", ""},
		{"userinfo that reads as the host", "https://productlift.example@evil.example/p/1", ""},
		{"slack link syntax", "<https://evil.example|click>", ""},
		{"over 3000", "https://productlift.example/" + strings.Repeat("a", 3000), ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.received())
			ev := &event.Event{Source: "s", Event: "e", ID: "1", Data: map[string]any{"url": tc.url, "title": strings.Repeat("é", 200)}}
			if err := a.Do(context.Background(), ev); err != nil {
				t.Fatalf("Do: %v", err)
			}
			got := rec.received()[before]
			if got["text"] != "fallback" {
				t.Errorf("text %q", got["text"])
			}
			var blocks []map[string]any
			if err := json.Unmarshal([]byte(got["blocks"]), &blocks); err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, b := range blocks {
				types = append(types, b["type"].(string))
			}
			wantTypes := []string{"header", "divider"}
			if tc.want != "" {
				wantTypes = []string{"header", "actions", "image", "divider"}
			}
			if !reflect.DeepEqual(types, wantTypes) {
				t.Fatalf("blocks %v, want %v", types, wantTypes)
			}
			header := blocks[0]["text"].(map[string]any)["text"].(string)
			if header != strings.Repeat("é", MaxHeaderText-1)+"…" {
				t.Errorf("header %q, want 149 é and …", header)
			}
			if tc.want == "" {
				return
			}
			btn := blocks[1]["elements"].([]any)[0].(map[string]any)
			if btn["url"] != tc.want || blocks[2]["image_url"] != tc.want {
				t.Errorf("button url %q, image_url %q, want %q", btn["url"], blocks[2]["image_url"], tc.want)
			}
		})
	}

	t.Run("nothing left", func(t *testing.T) {
		a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{Channel: "#c", Text: "fallback", Blocks: yamlBlocks(t, `[{type: section, text: "{{ .data.missing }}"}]`)})
		if err != nil {
			t.Fatal(err)
		}
		before := len(rec.received())
		if err := a.Do(context.Background(), blocksEvent()); err != nil {
			t.Fatalf("Do: %v", err)
		}
		if got := rec.received()[before]; got["text"] != "fallback" || got["blocks"] != "" {
			t.Errorf("text %q blocks %q: want the text alone", got["text"], got["blocks"])
		}
	})
}

// TestRenderShowsBlocks: a dry run shows the blocks as Slack gets them.
func TestRenderShowsBlocks(t *testing.T) {
	a, err := New(Config{WebhookURL: "https://hooks.slack.com/services/T/B/s3cr3t"}, Spec{
		Text:   "{{ .data.vote.voter.name }}",
		Blocks: yamlBlocks(t, `[{type: section, text: "*{{ .data.vote.voter.name }}*"}, {type: divider}]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Render(blocksEvent())
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal([]byte(r.Fields["blocks"]), &got); err != nil {
		t.Fatalf("blocks field %q: %v", r.Fields["blocks"], err)
	}
	var want any
	_ = json.Unmarshal([]byte(`[{"type": "section", "text": {"type": "mrkdwn", "text": "*&lt;!channel&gt; @channel Mallory*"}}, {"type": "divider"}]`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("blocks field %s", r.Fields["blocks"])
	}
	if strings.Contains(r.Fields["blocks"]+r.Target, "s3cr3t") {
		t.Error("the rendering shows the webhook URL")
	}
}
