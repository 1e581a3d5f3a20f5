package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

// hostileValues extends hostileStrings (quotes, backslashes, CR/LF, NUL,
// invalid UTF-8, script, URL syntax) with mention and link syntax, Unicode
// line separators, JSON escapes and a 1 MB value.
func hostileValues() []struct{ name, v string } {
	out := []struct{ name, v string }{
		{"mentions", "<!channel> <!here> <@U123> <#C1>"},
		{"link", "<https://evil.example|click>"},
		{"json breakout", `","admin":true,"x":"`},
		{"escaped json breakout", `\",\"admin\":true,\"x\":\"`},
		{"unicode escapes", `\u0022\u000d\u000a`},
		{"line separators", "a\u2028b\u2029c"},
		{"C1 controls", "a\u0085b\u009bc"},
		{"only CR", "a\rX-Injected: 1"},
		{"host syntax", "@evil.example:443/"},
		{"percent", "%2F%00%0d%0a"},
		{"template syntax", "{{ .data.v }}"},
		{"1 MB", strings.Repeat(`"\<!channel>`+"\r\n\x00\xff", (1<<20)/18)},
	}
	for k, v := range hostileStrings() {
		out = append(out, struct{ name, v string }{k, v.(string)})
	}
	return out
}

// TestHostileValuesReachTheReceiverIntact sends every hostile value in the
// URL path and query, a header and a JSON body to an httptest receiver and
// checks what it received: the path has its segments and the value is one
// of them, the query has one q=, the header set is the author's with no
// control character, and the body decodes to the author's structure with
// the value intact (invalid UTF-8 replaced). The 1 MB value goes in the
// body only: in a URL or header the receiver's 1 MB header limit refuses
// it, as any server would.
func TestHostileValuesReachTheReceiverIntact(t *testing.T) {
	srv := newServer(t, nil)
	full, err := New(Spec{
		URL:     srv.URL + "/hooks/{{ .data.v }}?q={{ .data.v }}",
		Headers: map[string]string{"X-Value": "v={{ .data.v }}"},
		JSON:    map[string]any{"v": "{{ .data.v }}", "nested": map[string]any{"list": []any{"<{{ .data.v }}>", 1}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bodyOnly, err := New(Spec{
		URL:  srv.URL + "/hooks/big",
		JSON: map[string]any{"v": "{{ .data.v }}", "nested": map[string]any{"list": []any{"<{{ .data.v }}>", 1}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, hv := range hostileValues() {
		t.Run(hv.name, func(t *testing.T) {
			a, inURL := full, len(hv.v) < 64<<10
			if !inURL {
				a = bodyOnly
			}
			before := len(srv.received())
			ev := &event.Event{Source: "s", Event: "e", ID: "1", Data: map[string]any{"v": hv.v}}
			if err := a.Do(context.Background(), ev); err != nil {
				t.Fatalf("Do: %v", err)
			}
			reqs := srv.received()
			if len(reqs) != before+1 {
				t.Fatalf("receiver saw %d new requests, want 1", len(reqs)-before)
			}
			got := reqs[before]
			want := string([]rune(hv.v)) // invalid UTF-8 becomes U+FFFD in JSON

			var body struct {
				V      string `json:"v"`
				Nested struct {
					List []any `json:"list"`
				} `json:"nested"`
			}
			dec := json.NewDecoder(bytes.NewReader(got.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil || dec.More() {
				t.Fatalf("body does not decode to the author's structure: %v\n%.300s", err, got.body)
			}
			if body.V != want || len(body.Nested.List) != 2 || body.Nested.List[0] != "<"+want+">" || body.Nested.List[1] != 1.0 {
				t.Fatalf("body does not carry the value: %.300s", got.body)
			}
			for name, vs := range got.header {
				if strings.HasPrefix(strings.ToLower(name), "x-injected") {
					t.Fatalf("an injected header arrived: %s: %q", name, vs)
				}
				for _, v := range vs {
					if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
						t.Fatalf("header %s holds a control character: %q", name, v)
					}
				}
			}
			if !inURL {
				return
			}
			if xv := got.header.Get("X-Value"); xv != "v="+actions.HeaderValue(hv.v) {
				t.Errorf("X-Value %q, want %q", xv, "v="+actions.HeaderValue(hv.v))
			}
			segs := strings.Split(got.escapedPath, "/")
			if len(segs) != 3 || segs[1] != "hooks" {
				t.Fatalf("the value changed the path's segments: %s", got.escapedPath)
			}
			if seg, err := url.PathUnescape(segs[2]); err != nil || seg != hv.v {
				t.Errorf("path segment %q is %q (%v), want the value", segs[2], seg, err)
			}
			if len(got.query) != 1 || len(got.query["q"]) != 1 || got.query["q"][0] != hv.v {
				t.Errorf("query %v, want exactly q=<the value>", got.query)
			}
		})
	}
}
