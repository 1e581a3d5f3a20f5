package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

// FuzzRender renders an http action whose URL path and query, header and
// JSON body insert an arbitrary value. Invariants: the body always decodes
// as JSON to the structure the author wrote, with the value (invalid UTF-8
// replaced) intact in every string it was inserted in; no header value
// holds a CR, LF, NUL or other control character; the URL keeps the
// literal origin and the value stays inside its path segment and query
// value.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		`"},"admin":true,"x":{"`, `\`, `\u0000`, "a\r\nX-Injected: 1", "nul\x00", "bad\xff\xfe",
		"\u2028\u2029", "../../admin?x=1&y=2#frag", "@evil.example/", "%2F%2e%2e", "<script>",
		"{{ .data.v }}", "\t\v\f", strings.Repeat("é", 300),
	} {
		f.Add(s)
	}
	a, err := New(Spec{
		URL:     "https://crm.example.com/api/{{ .data.v }}/x?q={{ .data.v }}&k=1",
		Headers: map[string]string{"X-Voter": "pre {{ .data.v }} post", "Authorization": "Bearer t"},
		JSON: map[string]any{
			"a": "{{ .data.v }}",
			"b": []any{"x{{ .data.v }}y", 1, nil},
			"c": map[string]any{"d": "{{ .data.v | upper }}", "e": "{{ json .data.v }}"},
		},
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ev := &event.Event{Source: "s", Event: "e", Data: map[string]any{"v": v}}
		r, err := a.render(actions.EventData(ev))
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		want := string([]rune(v)) // encoding/json's replacement of invalid bytes
		var body struct {
			A string `json:"a"`
			B []any  `json:"b"`
			C struct {
				D string `json:"d"`
				E string `json:"e"`
			} `json:"c"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("body does not decode: %v\n%s", err, r.body)
		}
		if dec.More() {
			t.Fatalf("body has trailing data: %s", r.body)
		}
		if body.A != want || len(body.B) != 3 || body.B[0] != "x"+want+"y" || body.B[1] != 1.0 || body.B[2] != nil {
			t.Fatalf("body %s does not carry the value %q as written", r.body, v)
		}
		var fromJSON string
		if err := json.Unmarshal([]byte(body.C.E), &fromJSON); err != nil || fromJSON != want {
			t.Fatalf("json function output %q does not decode to the value: %v", body.C.E, err)
		}
		for name, vs := range r.headers {
			for _, hv := range vs {
				if strings.ContainsFunc(hv, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
					t.Fatalf("header %s holds a control character: %q", name, hv)
				}
			}
		}
		if got := r.headers.Get("X-Voter"); !strings.HasPrefix(got, "pre ") || !strings.HasSuffix(got, " post") {
			t.Fatalf("X-Voter %q lost its literal text", got)
		}
		// The request Go would send parses back to the same origin, path
		// segment and query value.
		req, err := http.NewRequest(r.method, r.url.String(), nil)
		if err != nil {
			t.Fatalf("rendered URL %q not usable: %v", r.url, err)
		}
		if req.URL.Scheme != "https" || req.URL.Host != "crm.example.com" || req.URL.User != nil {
			t.Fatalf("origin changed: %s", req.URL)
		}
		segs := strings.Split(req.URL.EscapedPath(), "/")
		if len(segs) != 4 || segs[1] != "api" || segs[3] != "x" {
			t.Fatalf("value escaped its path segment: %s", req.URL.EscapedPath())
		}
		if seg, err := url.PathUnescape(segs[2]); err != nil || seg != v {
			t.Fatalf("path segment %q unescapes to %q (%v), want %q", segs[2], seg, err, v)
		}
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil || len(q) != 2 || len(q["q"]) != 1 || q.Get("q") != v || q.Get("k") != "1" {
			t.Fatalf("query %q does not hold the value as one q= (%v)", req.URL.RawQuery, err)
		}
		if req.URL.Fragment != "" {
			t.Fatalf("value made a fragment: %s", req.URL)
		}
	})
}
