package email

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/event"
)

// FuzzRender renders an email whose subject, text and HTML bodies insert an
// arbitrary value. Invariants: the subject (a header) never holds CR, LF,
// NUL or another control character, so a value cannot add a header; the
// HTML body holds no markup but the author's (every <, > and & of the value
// is escaped); the text body carries the value unchanged; the password
// never appears.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"Eve\r\nBcc: all@example.com", "\n\nbody", "nul\x00", "bad\xff\xfe", "\u2028\u2029",
		"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "&amp;", "=?utf-8?q?=0D=0A?=",
		"\x85next line", strings.Repeat("a", 2000),
	} {
		f.Add(s)
	}
	cfg := Config{Host: "127.0.0.1", Port: 2525, TLS: TLSNone, From: "Bot <bot@example.com>",
		Username: "u", Password: "fuzz-smtp-password"}
	a, err := New(cfg, Spec{
		To:      []string{"pm@example.com"},
		Subject: "New vote: {{ .data.v }} ({{ .data.v | upper }})",
		Text:    "{{ .data.v }}",
		HTML:    "<p>{{ .data.v }}</p><a href=\"https://example.com/?q={{ .data.v }}\">x</a>",
	})
	if err != nil {
		f.Fatal(err)
	}
	authorLT := strings.Count("<p></p><a href=\"https://example.com/?q=\">x</a>", "<")
	f.Fuzz(func(t *testing.T, v string) {
		ev := &event.Event{Source: "s", Event: "e", Data: map[string]any{"v": v}}
		r, err := a.Render(ev)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		subj := r.Fields["subject"]
		if strings.ContainsFunc(subj, func(c rune) bool {
			return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029'
		}) {
			t.Fatalf("subject holds a control character: %q", subj)
		}
		if !strings.HasPrefix(subj, "New vote: ") {
			t.Fatalf("subject lost its literal text: %q", subj)
		}
		if r.Fields["text"] != v {
			t.Fatalf("text body %q, want the value %q", r.Fields["text"], v)
		}
		html := r.Fields["html"]
		if n := strings.Count(html, "<"); n != authorLT {
			t.Fatalf("html has %d '<', the author wrote %d: %q", n, authorLT, html)
		}
		if strings.Count(html, `"`) != 2 {
			t.Fatalf("value broke out of the attribute: %q", html)
		}
		for k, fv := range r.Fields {
			if strings.Contains(fv, "fuzz-smtp-password") {
				t.Fatalf("field %s shows the password", k)
			}
		}
	})
}
