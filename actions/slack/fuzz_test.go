package slack

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// runes decodes s rune by rune, as the escaper does: each invalid byte
// becomes U+FFFD.
func runes(s string) string { return string([]rune(s)) }

// slackUnescape undoes Slack's three entities, in the order that inverts
// SlackEscape.
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// FuzzRenderText renders a Slack message whose text inserts an arbitrary
// value three ways (plain, through a function, inside the author's own
// link). Invariants: the only <, > in the text are the author's (so a
// value can never mention @channel, a user or forge a link); every & from
// the value is an entity; the value is recoverable by unescaping (nothing
// lost but invalid UTF-8); the webhook URL never appears.
func FuzzRenderText(f *testing.F) {
	for _, s := range []string{
		"<!channel>", "<!here|here>", "<@U123>", "<#C1|general>", "<https://evil.example|click>",
		"&lt;!channel&gt;", "&amp;", "a\r\nb", "nul\x00", `"q" \ '`, "bad\xff\xfe", "\u2028\u2029",
		"{{ .secret }}", "<<>>&&", "*bold* _i_ ~s~ `code`", strings.Repeat("<", 1000),
	} {
		f.Add(s)
	}
	const hook = "https://hooks.slack.example/services/T0/B0/fuzzsecret"
	a, err := New(Config{WebhookURL: secret.Secret(hook)}, Spec{
		Text: "v={{ .data.v }} | {{ .data.v | upper }} | <https://example.com/p|{{ .data.v }}> {{ printf \"%s!\" .data.v }}",
	})
	if err != nil {
		f.Fatal(err)
	}
	// plain inserts the value alone between fixed brackets, so it can be
	// cut out of the output unambiguously.
	plain, err := New(Config{WebhookURL: secret.Secret(hook)}, Spec{Text: "v=[{{ .data.v }}]"})
	if err != nil {
		f.Fatal(err)
	}
	const authorLT, authorGT = 1, 1 // the author's <https://example.com/p|...>
	f.Fuzz(func(t *testing.T, v string) {
		ev := &event.Event{Source: "s", Event: "e", Data: map[string]any{"v": v}}
		r, err := a.Render(ev)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		text := r.Fields["text"]
		if n := strings.Count(text, "<"); n != authorLT {
			t.Fatalf("text has %d '<', the author wrote %d: %q", n, authorLT, text)
		}
		if n := strings.Count(text, ">"); n != authorGT {
			t.Fatalf("text has %d '>', the author wrote %d: %q", n, authorGT, text)
		}
		for i := strings.IndexByte(text, '&'); i >= 0; i = strings.IndexByte(text, '&') {
			rest := text[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("bare & in %q", text)
			}
			text = rest[1:]
		}
		p, err := plain.Render(ev)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		inserted := strings.TrimSuffix(strings.TrimPrefix(p.Fields["text"], "v=["), "]")
		if strings.ContainsAny(inserted, "<>") {
			t.Fatalf("inserted value carries markup: %q", inserted)
		}
		if got, want := runes(slackUnescape(inserted)), runes(v); got != want {
			t.Fatalf("value not recoverable: got %q, want %q", got, want)
		}
		for _, f := range r.Fields {
			if strings.Contains(f, "fuzzsecret") && !strings.Contains(v, "fuzzsecret") {
				t.Fatalf("the webhook URL appears in the rendering: %v", r.Fields)
			}
		}
		if !utf8.ValidString(r.Fields["text"]) && utf8.ValidString(v) {
			t.Fatalf("valid input rendered as invalid UTF-8")
		}
	})
}
