package email

import (
	"bytes"
	"context"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/internal/smtptest"
)

// hostileValues is feedback written to add recipients or headers, end the
// message early or inject markup, and a 1 MB value.
func hostileValues() []struct{ name, v string } {
	return []struct{ name, v string }{
		{"bcc injection", "Eve\r\nBcc: all@example.com"},
		{"lf header", "Eve\nX-Injected: 1"},
		{"cr header", "Eve\rX-Injected: 1"},
		{"end of headers", "x\r\n\r\nfake body"},
		{"smtp end of data", "a\r\n.\r\nMAIL FROM:<evil@example.com>"},
		{"nul", "nul\x00byte"},
		{"quotes", `"double" 'single'`},
		{"backslashes", `C:\path\"`},
		{"invalid utf-8", "bad\xff\xfeutf8"},
		{"line separators", "a\u2028b\u2029c\u0085d"},
		{"encoded word", "=?utf-8?q?a=0D=0ABcc:_x@example.com?="},
		{"mentions and links", "<!channel> <https://evil.example|click>"},
		{"html", `<script>alert("x")</script><img src=x onerror=alert(1)> & co`},
		{"1 MB", strings.Repeat("<b>a</b> & \r\n", (1<<20)/14)},
	}
}

// TestHostileValuesReachTheServerInert sends every hostile value in the
// subject, the text body and the HTML body through a real SMTP server
// (internal/smtptest) and parses what it accepted: the envelope has the
// author's recipients only, the header set is the one the action writes
// (nothing injected), the subject decodes to the value without control
// characters, the text part carries the value, and the HTML part holds no
// markup but the author's.
func TestHostileValuesReachTheServerInert(t *testing.T) {
	srv := smtptest.Start(t, nil)
	cfg := testConfig(srv.Port)
	a, err := New(cfg, Spec{
		To:      []string{"pm@example.com"},
		Subject: "Feedback: {{ .data.v }}",
		Text:    "{{ .data.v }}",
		HTML:    "<p>{{ .data.v }}</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "User-Agent", "X-Mailer"}
	for i, hv := range hostileValues() {
		t.Run(hv.name, func(t *testing.T) {
			ev := &event.Event{Source: "s", Event: "e", ID: "1", Data: map[string]any{"v": hv.v}}
			if err := a.Do(context.Background(), ev); err != nil {
				t.Fatalf("Do: %v", err)
			}
			msgs := srv.WaitFor(i+1, 30*time.Second)
			if len(msgs) != i+1 {
				t.Fatalf("server accepted %d messages, want %d", len(msgs), i+1)
			}
			got := msgs[i]
			if !slices.Equal(got.To, []string{"pm@example.com"}) {
				t.Fatalf("envelope recipients %v", got.To)
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatalf("parse: %v\n%.500s", err, got.Data)
			}
			var names []string
			for k := range msg.Header {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, n := range names {
				if !slices.Contains(wantHeaders, n) {
					t.Errorf("unexpected header %s: %q", n, msg.Header[n])
				}
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("decode subject: %v", err)
			}
			want := "Feedback: " + actions.HeaderValue(hv.v)
			// A value that looks like an RFC 2047 encoded word shows as
			// typed, with a zero-width space after its "=" (subjectValue).
			subject = strings.ReplaceAll(subject, "\u200b", "")
			// Header parsing drops the trailing space of a folded line.
			if strings.TrimSpace(subject) != strings.TrimSpace(want) {
				t.Errorf("subject %.200q, want %.200q", subject, want)
			}
			parts := readParts(t, msg)
			// SMTP carries lines: a lone CR or LF arrives as CR LF.
			norm := func(s string) string {
				return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
			}
			if text := parts["text/plain"]; norm(text) != norm(hv.v) {
				t.Errorf("text part %.200q, want the value %.200q", text, hv.v)
			}
			html := parts["text/html"]
			if !strings.HasPrefix(html, "<p>") || !strings.HasSuffix(html, "</p>") || strings.Count(html, "<") != 2 || strings.Count(html, ">") != 2 {
				t.Errorf("html part holds markup from the value: %.200q", html)
			}
		})
	}
}
