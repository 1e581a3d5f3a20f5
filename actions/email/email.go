// Package email sends a templated email through an SMTP server with
// github.com/wneessen/go-mail.
package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// Kind is the action kind this package implements.
const Kind = "email"

// Timeout bounds connecting to the server and each SMTP exchange.
const Timeout = 30 * time.Second

// TLS modes for Config.TLS.
const (
	TLSStartTLS = "starttls" // STARTTLS required; the default
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text, for loopback relays
)

// Config is the SMTP connection shared by every email action.
type Config struct {
	Host     string
	Port     int // 0: 587 for starttls, 465 for tls, 25 for none
	Username string
	Password secret.Secret
	TLS      string // starttls (default, mandatory), tls (implicit) or none
	From     string // an RFC 5322 address, "Name <addr@example.com>"
	HeloName string // optional EHLO name
}

// Spec is one rule's email. To and Cc are literal addresses; Subject and
// Text are text templates (inserted values in Subject lose CR, LF and other
// control characters, and cannot start an encoded word); HTML is an
// html/template. At least one of Text and
// HTML is required.
type Spec struct {
	To, Cc  []string
	Subject string
	Text    string
	HTML    string
	// Templates, when set, makes the text templates (shared by the actions
	// of one rules file, it saves memory); nil: the action's own.
	Templates *actions.Templates
}

// subjectValue escapes a value inserted into the subject: it loses control
// characters (actions.HeaderValue), and an "=?" in it, which would start an
// RFC 2047 encoded word, gets a zero-width space after the "=". A subject
// all ASCII is sent as it is, so a value such as "=?utf-8?q?Invoice_overdue?="
// would otherwise show in mail clients as the text it encodes; with the
// space the subject is no longer ASCII, so it is encoded whole, and clients
// show the value as it was typed.
func subjectValue(s string) string {
	s = actions.HeaderValue(s)
	if strings.Contains(s, "=?") {
		s = strings.ReplaceAll(s, "=?", "=\u200b?")
	}
	return s
}

// Action sends one message per Do over a fresh SMTP connection. It is safe
// for concurrent use.
type Action struct {
	client  *mail.Client
	server  string // host:port, for errors
	from    *netmail.Address
	to, cc  []*netmail.Address
	subject *actions.Template
	text    *actions.Template
	html    *htmltemplate.Template
	now     func() time.Time
}

var _ actions.Action = (*Action)(nil)

// New checks cfg and spec, parses the templates and builds the client. It
// does not connect.
func New(cfg Config, spec Spec) (*Action, error) {
	a := &Action{now: time.Now}
	ts := spec.Templates
	if ts == nil {
		ts = actions.NewTemplates()
	}
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("email: smtp host is required")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: from %q: %w", cfg.From, err)
	}
	a.from = from
	if len(spec.To) == 0 {
		return nil, errors.New("email: at least one to address is required")
	}
	if a.to, err = parseAddresses("to", spec.To); err != nil {
		return nil, err
	}
	if a.cc, err = parseAddresses("cc", spec.Cc); err != nil {
		return nil, err
	}
	if actions.HeaderValue(spec.Subject) != spec.Subject {
		return nil, errors.New("email: subject contains control characters")
	}
	if a.subject, err = ts.New("subject", spec.Subject, subjectValue); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	if strings.TrimSpace(spec.Text) == "" && strings.TrimSpace(spec.HTML) == "" {
		return nil, errors.New("email: text or html is required")
	}
	if spec.Text != "" {
		if a.text, err = ts.New("text", spec.Text, nil); err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
	}
	if spec.HTML != "" {
		if a.html, err = htmltemplate.New("html").Funcs(actions.Funcs()).Parse(spec.HTML); err != nil {
			return nil, fmt.Errorf("email: parse template html: %w", err)
		}
	}

	opts, port, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}
	a.server = fmt.Sprintf("%s:%d", cfg.Host, port)
	if a.client, err = mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("email: smtp client: %w", err)
	}
	return a, nil
}

func parseAddresses(field string, list []string) ([]*netmail.Address, error) {
	out := make([]*netmail.Address, 0, len(list))
	for _, s := range list {
		addr, err := netmail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: %s %q: %w", field, s, err)
		}
		out = append(out, addr)
	}
	return out, nil
}

func clientOptions(cfg Config) ([]mail.Option, int, error) {
	port := cfg.Port
	opts := []mail.Option{mail.WithTimeout(Timeout)}
	switch strings.ToLower(cfg.TLS) {
	case "", TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		if port == 0 {
			port = 25
		}
	default:
		return nil, 0, fmt.Errorf("email: tls %q: want starttls, tls or none", cfg.TLS)
	}
	if port < 1 || port > 65535 {
		return nil, 0, fmt.Errorf("email: port %d out of range", port)
	}
	opts = append(opts, mail.WithPort(port))
	if cfg.HeloName != "" {
		opts = append(opts, mail.WithHELO(cfg.HeloName))
	}
	switch {
	case cfg.Username != "" && cfg.Password.IsZero():
		return nil, 0, errors.New("email: username given without a password")
	case cfg.Username == "" && !cfg.Password.IsZero():
		return nil, 0, errors.New("email: password given without a username")
	case cfg.Username != "":
		// Over TLS let go-mail pick the strongest mechanism offered. Without
		// TLS only PLAIN, which go-mail sends in clear to loopback hosts only.
		auth := mail.SMTPAuthAutoDiscover
		if strings.ToLower(cfg.TLS) == TLSNone {
			auth = mail.SMTPAuthPlain
		}
		opts = append(opts,
			mail.WithSMTPAuth(auth),
			mail.WithUsername(cfg.Username),
			mail.WithPassword(cfg.Password.Reveal()))
	}
	return opts, port, nil
}

// Kind returns "email".
func (a *Action) Kind() string { return Kind }

type message struct {
	subject, text, html string
}

func (a *Action) render(env actions.Data) (message, error) {
	var m message
	var err error
	if m.subject, err = a.subject.Execute(env); err != nil {
		return m, err
	}
	if a.text != nil {
		if m.text, err = a.text.Execute(env); err != nil {
			return m, err
		}
	}
	if a.html != nil {
		var b bytes.Buffer
		if err := a.html.Execute(&b, env); err != nil {
			return m, fmt.Errorf("render template html: %w", err)
		}
		m.html = b.String()
	}
	return m, nil
}

// RenderData returns the envelope and bodies DoData would send; the SMTP password
// never appears.
func (a *Action) RenderData(data actions.Data) (actions.Rendered, error) {
	m, err := a.render(data)
	if err != nil {
		return actions.Rendered{}, fmt.Errorf("email: %w", err)
	}
	to, cc := joinAddresses(a.to), joinAddresses(a.cc)
	target := to
	if cc != "" {
		target += ", " + cc
	}
	fields := map[string]string{"from": a.from.String(), "to": to, "subject": m.subject}
	if cc != "" {
		fields["cc"] = cc
	}
	if a.text != nil {
		fields["text"] = m.text
	}
	if a.html != nil {
		fields["html"] = m.html
	}
	return actions.Rendered{Kind: Kind, Target: target, Fields: fields}, nil
}

func joinAddresses(list []*netmail.Address) string {
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// DoData sends the message once. SMTP 5xx replies are permanent; 4xx replies,
// network and TLS errors are retryable.
func (a *Action) DoData(ctx context.Context, data actions.Data) error {
	m, err := a.render(data)
	if err != nil {
		return actions.Permanent(fmt.Errorf("email: %w", err))
	}
	msg := mail.NewMsg()
	msg.FromMailAddress(a.from)
	msg.ToMailAddress(a.to...)
	if len(a.cc) > 0 {
		msg.CcMailAddress(a.cc...)
	}
	msg.Subject(m.subject)
	msg.SetDateWithValue(a.now())
	msg.SetMessageID()
	// RFC 3834: keep vacation responders from answering a bot.
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	switch {
	case a.text != nil && a.html != nil:
		msg.SetBodyString(mail.TypeTextPlain, m.text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.html)
	case a.html != nil:
		msg.SetBodyString(mail.TypeTextHTML, m.html)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.text)
	}
	if err := a.client.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(fmt.Errorf("email: via %s: %w", a.server, err))
	}
	return nil
}

// classify marks SMTP 5xx replies permanent. Everything else (4xx replies,
// refused connections, timeouts, TLS failures) is worth another attempt.
func classify(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code <= 599 {
			return actions.Permanent(err)
		}
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code <= 599 {
		return actions.Permanent(err)
	}
	return err
}

// Do is DoData for one event.
func (a *Action) Do(ctx context.Context, ev *event.Event) error {
	return a.DoData(ctx, actions.EventData(ev))
}

// Render is RenderData for one event.
func (a *Action) Render(ev *event.Event) (actions.Rendered, error) {
	return a.RenderData(actions.EventData(ev))
}
