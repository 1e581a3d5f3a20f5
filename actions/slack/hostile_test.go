package slack

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// hostileValues is feedback written to ping everyone, forge links or break
// the message; the 1 MB value is twice the Slack formatting characters a
// Slack message may hold, to show escaping does not depend on size.
func hostileValues() []struct{ name, v string } {
	return []struct{ name, v string }{
		{"channel mention", "<!channel> look"},
		{"here mention", "<!here>"},
		{"everyone mention", "<!everyone|everyone>"},
		{"user mention", "<@U123> and <@W456|bob>"},
		{"channel link", "<#C1|general>"},
		{"url link", "<https://evil.example|click here>"},
		{"mailto link", "<mailto:a@evil.example|support>"},
		{"pre-escaped entities", "&lt;!channel&gt; &amp;amp;"},
		{"half brackets", "a < b > c"},
		{"crlf", "Eve\r\nX-Injected: 1"},
		{"nul", "nul\x00byte"},
		{"quotes", `"double" 'single' ` + "`back`"},
		{"backslashes", `C:\path\"\u003c!channel\u003e\`},
		{"invalid utf-8", "bad\xff\xfe<!here>"},
		{"invalid utf-8 only", "bad\xff\xfe"},
		{"line separators", "a\u2028b\u2029c"},
		{"template syntax", "{{ .data.v }}"},
		{"1 MB", strings.Repeat("<!channel>&", (1<<20)/11)},
	}
}

// TestHostileValuesReachSlackInert posts every hostile value through both
// transports to a real server (slacktest for chat.postMessage, an
// httptest incoming webhook) and checks what arrived: the author's link is
// the only markup, every inserted &, <, > is an entity, and unescaping
// gives the value back (invalid UTF-8 aside).
func TestHostileValuesReachSlackInert(t *testing.T) {
	const prefix, suffix = "New: ", " <https://example.com/p|open>"
	spec := Spec{Channel: "#feedback", Text: "New: {{ .data.v }} <https://example.com/p|open>"}

	apiRec := &recorder{}
	api := startSlack(t, apiRec)
	viaAPI, err := New(Config{Token: testToken, APIURL: api.GetAPIURL()}, spec)
	if err != nil {
		t.Fatal(err)
	}
	hookRec := &recorder{}
	hookSrv := httptest.NewServer(hookRec)
	t.Cleanup(hookSrv.Close)
	viaHook, err := New(Config{WebhookURL: secret.Secret(hookSrv.URL + "/services/T/B/x")}, Spec{Text: spec.Text})
	if err != nil {
		t.Fatal(err)
	}
	transports := []struct {
		name string
		a    *Action
		rec  *recorder
	}{{"chat.postMessage", viaAPI, apiRec}, {"incoming webhook", viaHook, hookRec}}

	for _, tr := range transports {
		for _, hv := range hostileValues() {
			t.Run(tr.name+"/"+hv.name, func(t *testing.T) {
				before := len(tr.rec.received())
				ev := &event.Event{Source: "s", Event: "e", ID: "1", Data: map[string]any{"v": hv.v}}
				if err := tr.a.Do(context.Background(), ev); err != nil {
					t.Fatalf("Do: %v", err)
				}
				got := tr.rec.received()
				if len(got) != before+1 {
					t.Fatalf("server saw %d new requests, want 1", len(got)-before)
				}
				text := got[before]["text"]
				if !strings.HasPrefix(text, prefix) || !strings.HasSuffix(text, suffix) {
					t.Fatalf("the author's text is not intact: %.200q", text)
				}
				inserted := strings.TrimSuffix(strings.TrimPrefix(text, prefix), suffix)
				if strings.ContainsAny(inserted, "<>") {
					t.Fatalf("inserted value carries Slack markup: %.200q", inserted)
				}
				for rest := inserted; ; {
					i := strings.IndexByte(rest, '&')
					if i < 0 {
						break
					}
					rest = rest[i:]
					if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
						t.Fatalf("bare & in the inserted value: %.200q", rest)
					}
					rest = rest[1:]
				}
				if back := runes(slackUnescape(inserted)); back != runes(hv.v) {
					t.Fatalf("value not recoverable: got %.200q, want %.200q", back, runes(hv.v))
				}
			})
		}
	}
}
