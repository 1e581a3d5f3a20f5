// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests, recording every message it accepts.
package smtptest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a running SMTP server.
type Server struct {
	Addr string // host:port
	Host string
	Port int

	mu   sync.Mutex
	msgs []Message
	// Reject, when set, is called for each message before it is accepted;
	// a non-nil *smtp.SMTPError is answered to the client.
	reject func(Message) error
	srv    *smtp.Server
	wait   chan struct{}
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
// reject may be nil.
func Start(t testing.TB, reject func(Message) error) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s := &Server{Addr: l.Addr().String(), reject: reject, wait: make(chan struct{}, 1024)}
	s.Host = "127.0.0.1"
	s.Port = l.Addr().(*net.TCPAddr).Port
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until n messages have been accepted, or d passes.
func (s *Server) WaitFor(n int, d time.Duration) []Message {
	deadline := time.After(d)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.wait:
		case <-deadline:
			return s.Messages()
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s   *Server
	msg Message
}

// AuthMechanisms and Auth accept any PLAIN credentials, so clients that
// authenticate can be tested.
func (*session) AuthMechanisms() []string { return []string{"PLAIN"} }

func (*session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, errors.New("smtptest: only PLAIN")
	}
	return sasl.NewPlainServer(func(_, username, _ string) error {
		if username == "" {
			return errors.New("smtptest: empty username")
		}
		return nil
	}), nil
}

func (se *session) Reset()        { se.msg = Message{} }
func (se *session) Logout() error { return nil }
func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.msg.From = from
	return nil
}
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.msg.To = append(se.msg.To, to)
	return nil
}
func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.msg.Data = data
	if se.s.reject != nil {
		if err := se.s.reject(se.msg); err != nil {
			return err
		}
	}
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, se.msg)
	se.s.mu.Unlock()
	select {
	case se.s.wait <- struct{}{}:
	default:
	}
	return nil
}
