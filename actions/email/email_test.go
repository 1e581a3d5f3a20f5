package email

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

const (
	testUser     = "feedback@example.com"
	testPassword = "pa55w0rd-s3cr3t"
)

// received is one message as the SMTP server saw it.
type received struct {
	from string
	rcpt []string
	data []byte
}

// backend is an in-process SMTP server that requires AUTH PLAIN and can be
// told to refuse recipients or data.
type backend struct {
	mu       sync.Mutex
	messages []received
	authed   int

	rcptErr error
	dataErr error
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

func (b *backend) got() ([]received, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.messages...), b.authed
}

type session struct {
	b    *backend
	auth bool
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != testUser || password != testPassword {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.auth = true
		s.b.mu.Lock()
		s.b.authed++
		s.b.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur = received{from: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.rcptErr != nil {
		return s.b.rcptErr
	}
	s.cur.rcpt = append(s.cur.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// startServer runs the backend on 127.0.0.1 and returns its port.
func startServer(t *testing.T, be *backend) int {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func testConfig(port int) Config {
	return Config{
		Host:     "127.0.0.1",
		Port:     port,
		Username: testUser,
		Password: testPassword,
		TLS:      TLSNone,
		From:     "Feedback bot <feedback@example.com>",
	}
}

func hostileEvent() *event.Event {
	return &event.Event{
		Source: "productlift",
		Vendor: "productlift",
		Event:  "vote.created",
		ID:     "d-1",
		Data: map[string]any{
			"post": map[string]any{"id": float64(99), "title": "Dark mode"},
			"vote": map[string]any{"voter": map[string]any{
				"name": "Eve\r\nBcc: evil@example.com",
				"bio":  `<script>alert("x")</script> & co`,
			}},
		},
	}
}

func TestSendsWellFormedMessage(t *testing.T) {
	be := &backend{}
	port := startServer(t, be)
	a, err := New(testConfig(port), Spec{
		To:      []string{"PM <pm@example.com>"},
		Cc:      []string{"team@example.com"},
		Subject: "New vote by {{ .data.vote.voter.name }} on {{ .data.post.title }}",
		Text:    "{{ .data.vote.voter.name }} voted. {{ .data.vote.voter.bio }}",
		HTML:    "<p><b>{{ .data.post.title }}</b>: {{ .data.vote.voter.bio }}</p>",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), hostileEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	msgs, authed := be.got()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	if authed != 1 {
		t.Errorf("authenticated %d times, want 1", authed)
	}
	got := msgs[0]
	if got.from != "feedback@example.com" {
		t.Errorf("envelope from %q", got.from)
	}
	if want := []string{"pm@example.com", "team@example.com"}; !reflect.DeepEqual(got.rcpt, want) {
		t.Errorf("envelope recipients %v, want %v (no Bcc smuggled in)", got.rcpt, want)
	}

	msg, err := netmail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, got.data)
	}
	h := msg.Header
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "feedback@example.com" || from[0].Name != "Feedback bot" {
		t.Errorf("From %q (%v)", h.Get("From"), err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "pm@example.com" {
		t.Errorf("To %q (%v)", h.Get("To"), err)
	}
	if cc, err := h.AddressList("Cc"); err != nil || len(cc) != 1 || cc[0].Address != "team@example.com" {
		t.Errorf("Cc %q (%v)", h.Get("Cc"), err)
	}
	if v, ok := h["Bcc"]; ok {
		t.Errorf("message has a Bcc header: %q", v)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject %q: %v", h.Get("Subject"), err)
	}
	if want := "New vote by EveBcc: evil@example.com on Dark mode"; subject != want {
		t.Errorf("Subject %q, want %q", subject, want)
	}
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("Message-Id") == "" || h.Get("Date") == "" {
		t.Errorf("Auto-Submitted %q, Message-ID %q, Date %q", h.Get("Auto-Submitted"), h.Get("Message-Id"), h.Get("Date"))
	}

	parts := readParts(t, msg)
	text, html := parts["text/plain"], parts["text/html"]
	if want := "Eve\r\nBcc: evil@example.com voted. <script>alert(\"x\")</script> & co"; text != want {
		t.Errorf("text part %q, want %q", text, want)
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("html part contains a raw <script>: %q", html)
	}
	if want := "<p><b>Dark mode</b>: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p>"; html != want {
		t.Errorf("html part %q, want %q", html, want)
	}
}

// Feedback text cannot forge a subject: an RFC 2047 encoded word typed
// into a post's title reaches the reader as the characters typed, not as
// the text it encodes.
func TestSubjectShowsEncodedWordsAsTyped(t *testing.T) {
	for _, title := range []string{
		"=?utf-8?q?Your_invoice_is_overdue?=",
		"=?UTF-8?B?WW91ciBpbnZvaWNlIGlzIG92ZXJkdWU=?=",
		"Dark mode =?iso-8859-1?q?=E9t=E9?= please",
		"Dark mode", // nothing to escape: sent as it is
	} {
		t.Run(title, func(t *testing.T) {
			be := &backend{}
			port := startServer(t, be)
			a, err := New(testConfig(port), Spec{To: []string{"pm@example.com"}, Subject: "Feedback: {{ .data.post.title }}", Text: "t"})
			if err != nil {
				t.Fatal(err)
			}
			ev := hostileEvent()
			ev.Data["post"].(map[string]any)["title"] = title
			if err := a.Do(context.Background(), ev); err != nil {
				t.Fatalf("Do: %v", err)
			}
			msgs, _ := be.got()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0].data))
			if err != nil {
				t.Fatalf("parse message: %v", err)
			}
			raw := msg.Header.Get("Subject")
			subject, err := new(mime.WordDecoder).DecodeHeader(raw)
			if err != nil {
				t.Fatalf("decode subject %q: %v", raw, err)
			}
			if got, want := strings.ReplaceAll(subject, "\u200b", ""), "Feedback: "+title; got != want {
				t.Errorf("a mail client shows the subject %q (sent as %q), want %q", got, raw, want)
			}
		})
	}
}

// readParts returns the decoded text of each part of a multipart/alternative
// message by content type.
func readParts(t *testing.T, msg *netmail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p) // quoted-printable is decoded by multipart
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		parts[ct] = string(b)
	}
	return parts
}

func TestSMTPErrors(t *testing.T) {
	tests := []struct {
		name      string
		be        *backend
		password  string
		wantRetry bool
		wantInErr string
	}{
		{"550 recipient is permanent", &backend{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}, testPassword, false, "550"},
		{"451 data is retryable", &backend{dataErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}}, testPassword, true, "451"},
		{"452 recipient is retryable", &backend{rcptErr: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}}, testPassword, true, "452"},
		{"554 data is permanent", &backend{dataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}}, testPassword, false, "554"},
		{"535 bad credentials is permanent", &backend{}, "wrong-password", false, "535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := startServer(t, tc.be)
			cfg := testConfig(port)
			cfg.Password = "wrong-password"
			if tc.password == testPassword {
				cfg.Password = testPassword
			}
			a, err := New(cfg, Spec{To: []string{"pm@example.com"}, Subject: "s", Text: "t"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = a.Do(context.Background(), hostileEvent())
			if err == nil {
				t.Fatal("Do succeeded, want an error")
			}
			if retry, _ := actions.Classify(err); retry != tc.wantRetry {
				t.Errorf("Classify(%v) retry = %v, want %v", err, retry, tc.wantRetry)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not mention %s", err, tc.wantInErr)
			}
			if strings.Contains(err.Error(), "pa55w0rd") || strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	a, err := New(testConfig(port), Spec{To: []string{"pm@example.com"}, Subject: "s", Text: "t"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = a.Do(context.Background(), hostileEvent())
	if retry, _ := actions.Classify(err); err == nil || !retry {
		t.Fatalf("Do = %v, want a retryable error", err)
	}
}

// With the default starttls a server that offers no STARTTLS gets nothing:
// no credentials, no message.
func TestStartTLSIsMandatory(t *testing.T) {
	be := &backend{}
	port := startServer(t, be)
	cfg := testConfig(port)
	cfg.TLS = ""
	a, err := New(cfg, Spec{To: []string{"pm@example.com"}, Subject: "s", Text: "t"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), hostileEvent()); err == nil {
		t.Fatal("Do succeeded without TLS")
	}
	if msgs, authed := be.got(); len(msgs) != 0 || authed != 0 {
		t.Errorf("server got %d messages and %d logins without TLS", len(msgs), authed)
	}
}

func TestNewRejects(t *testing.T) {
	good := Spec{To: []string{"pm@example.com"}, Subject: "s", Text: "t"}
	tests := []struct {
		name   string
		mutate func(*Config, *Spec)
		want   string
	}{
		{"no host", func(c *Config, _ *Spec) { c.Host = "" }, "host"},
		{"bad from", func(c *Config, _ *Spec) { c.From = "not an address" }, "from"},
		{"no to", func(_ *Config, s *Spec) { s.To = nil }, "to"},
		{"bad to", func(_ *Config, s *Spec) { s.To = []string{"pm@example.com, evil@example.com"} }, "to"},
		{"templated to", func(_ *Config, s *Spec) { s.To = []string{"{{ .data.email }}"} }, "to"},
		{"bad cc", func(_ *Config, s *Spec) { s.Cc = []string{"nope"} }, "cc"},
		{"no body", func(_ *Config, s *Spec) { s.Text, s.HTML = "", "" }, "text or html"},
		{"bad subject template", func(_ *Config, s *Spec) { s.Subject = "{{ .x" }, "subject"},
		{"subject with newline", func(_ *Config, s *Spec) { s.Subject = "a\r\nBcc: x@example.com" }, "control"},
		{"bad html template", func(_ *Config, s *Spec) { s.HTML = "{{ if }}" }, "html"},
		{"bad text template", func(_ *Config, s *Spec) { s.Text = "{{ nope }}" }, "text"},
		{"bad tls", func(c *Config, _ *Spec) { c.TLS = "ssl3" }, "tls"},
		{"bad port", func(c *Config, _ *Spec) { c.Port = 70000 }, "port"},
		{"username without password", func(c *Config, _ *Spec) { c.Password = "" }, "password"},
		{"password without username", func(c *Config, _ *Spec) { c.Username = "" }, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, spec := testConfig(2525), good
			spec.To = append([]string(nil), good.To...)
			tc.mutate(&cfg, &spec)
			_, err := New(cfg, spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	a, err := New(testConfig(2525), Spec{
		To:      []string{"pm@example.com"},
		Cc:      []string{"Team <team@example.com>"},
		Subject: "Vote by {{ .data.vote.voter.name }}",
		HTML:    "<i>{{ .data.vote.voter.bio }}</i>",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r, err := a.Render(hostileEvent())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := actions.Rendered{
		Kind:   "email",
		Target: "<pm@example.com>, \"Team\" <team@example.com>",
		Fields: map[string]string{
			"from":    `"Feedback bot" <feedback@example.com>`,
			"to":      "<pm@example.com>",
			"cc":      `"Team" <team@example.com>`,
			"subject": "Vote by EveBcc: evil@example.com",
			"html":    "<i>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</i>",
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Render\n got  %#v\n want %#v", r, want)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "pa55w0rd") {
		t.Errorf("rendering reveals the password: %s", b)
	}
}

// A grouped rule's firing renders one message; html/template escapes every
// event's values.
func TestRenderGroup(t *testing.T) {
	a, err := New(testConfig(2525), Spec{
		To:      []string{"pm@example.com"},
		Subject: "{{ .count }} votes on {{ .first.data.post.title }}",
		Text:    "{{ range .events }}{{ .data.vote.voter.name }}\n{{ end }}",
		HTML:    "<ul>{{ range .events }}<li>{{ .data.vote.voter.bio }}</li>{{ end }}</ul>",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ev := hostileEvent()
	g := &actions.Group{Rule: "r", Count: 2, Events: []event.Event{*ev, *ev}}
	r, err := a.RenderData(g.Data())
	if err != nil {
		t.Fatalf("RenderData: %v", err)
	}
	li := "<li>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</li>"
	want := map[string]string{
		"subject": "2 votes on Dark mode",
		"text":    "Eve\r\nBcc: evil@example.com\nEve\r\nBcc: evil@example.com\n",
		"html":    "<ul>" + li + li + "</ul>",
	}
	for k, v := range want {
		if r.Fields[k] != v {
			t.Errorf("%s\n got  %q\n want %q", k, r.Fields[k], v)
		}
	}
}
