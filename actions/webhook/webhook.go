// Package webhook implements the "http" action: one templated HTTP request
// to a receiver whose scheme and host are written literally in the rules
// file. Every request carries the delivery's stable id (Idempotency-Key,
// webhook-id), and may be signed the Standard Webhooks way.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

// Kind is the action kind this package implements.
const Kind = "http"

// DefaultTimeout bounds one request when neither the spec nor the caller's
// context gives a limit. The router runs every attempt under the action's
// timeout:, which then governs (with Spec.Timeout, the earlier wins).
const DefaultTimeout = 10 * time.Second

// MaxErrorBody is how much of a failed response is read; a part of it goes
// into the error message.
const MaxErrorBody = 64 << 10

// errorSnippet is how many bytes of a failed response the error quotes.
const errorSnippet = 512

// maxRedirects bounds same-host redirects.
const maxRedirects = 5

// Spec is one rule's request.
type Spec struct {
	// Method defaults to POST.
	Method string
	// URL is a template whose scheme and host[:port] must be literal.
	// Values inserted anywhere in it are percent-encoded as one path
	// segment or query value (a "/" inserted from data becomes %2F).
	URL string
	// Headers' values are templates; inserted values lose CR, LF and
	// other control characters.
	Headers map[string]string
	// JSON is the YAML-decoded body: every string in it is a template whose
	// output becomes a JSON string; object keys are literal. The body is
	// written by encoding/json. Content-Type defaults to application/json.
	JSON any
	// Body is a raw template, inserted values unescaped. Exclusive with JSON.
	Body string
	// Timeout bounds one attempt, within the caller's context's deadline;
	// 0: the context's deadline alone, DefaultTimeout when it has none.
	Timeout time.Duration
	// Sign, when set, signs every request the Standard Webhooks way. The
	// Webhook-* headers are then the signature's: Headers may not set them.
	Sign *Sign
	// Now is the clock of webhook-timestamp and of Retry-After dates; nil:
	// time.Now.
	Now func() time.Time
	// Templates, when set, makes the templates (shared by the actions of
	// one rules file, it saves memory); nil: the action's own.
	Templates *actions.Templates
}

type header struct {
	name  string // canonical
	value *actions.Template
}

// deliveryHeaders are the headers that carry the delivery id. The author's
// own headers: of the same names win (a receiver may want another key).
var deliveryHeaders = []string{hdrIdempotencyKey, hdrWebhookID}

// Action sends one request per Do. It is safe for concurrent use.
type Action struct {
	method  string
	url     *actions.Template
	scheme  string // literal, lower case
	host    string // literal host[:port], lower case
	headers []header
	json    jsonNode
	body    *actions.Template
	timeout time.Duration
	sign    *signer // nil: unsigned
	// idHeaders are the deliveryHeaders the author did not set.
	idHeaders []string
	client    *http.Client
	now       func() time.Time
}

var _ actions.Action = (*Action)(nil)

// New checks spec and builds its templates. A nil client gets a default one;
// either way redirects to another host (or from https to http) are not
// followed and come back as a permanent 3xx.
func New(spec Spec, client *http.Client) (*Action, error) {
	a := &Action{timeout: spec.Timeout, now: spec.Now}
	if a.now == nil {
		a.now = time.Now
	}
	ts := spec.Templates
	if ts == nil {
		ts = actions.NewTemplates()
	}
	if a.timeout < 0 {
		return nil, fmt.Errorf("http: negative timeout %s", spec.Timeout)
	}

	a.method = strings.ToUpper(strings.TrimSpace(spec.Method))
	if a.method == "" {
		a.method = http.MethodPost
	}
	if !isToken(a.method) {
		return nil, fmt.Errorf("http: invalid method %q", spec.Method)
	}

	scheme, host, err := actions.LiteralOrigin(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	a.scheme, a.host = scheme, host
	if a.url, err = ts.New("url", strings.TrimSpace(spec.URL), actions.EscapeURLComponent); err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}

	if spec.JSON != nil && spec.Body != "" {
		return nil, errors.New("http: json and body are mutually exclusive")
	}
	if spec.JSON != nil {
		if a.json, err = compileJSON(ts, "", spec.JSON); err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
	}
	if spec.Body != "" {
		if a.body, err = ts.New("body", spec.Body, nil); err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
	}

	names := make([]string, 0, len(spec.Headers))
	for name := range spec.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, name := range names {
		value := spec.Headers[name]
		if !isToken(name) {
			return nil, fmt.Errorf("http: invalid header name %q", name)
		}
		canon := http.CanonicalHeaderKey(name)
		switch canon {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			return nil, fmt.Errorf("http: header %s cannot be set", canon)
		}
		if seen[canon] {
			return nil, fmt.Errorf("http: header %s given twice", canon)
		}
		if spec.Sign != nil && strings.HasPrefix(canon, "Webhook-") {
			return nil, fmt.Errorf("http: header %s is set by sign", canon)
		}
		seen[canon] = true
		if actions.HeaderValue(value) != value {
			return nil, fmt.Errorf("http: header %s contains control characters", canon)
		}
		t, err := ts.New("header "+canon, value, actions.HeaderValue)
		if err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
		a.headers = append(a.headers, header{canon, t})
	}
	if a.json != nil && !seen["Content-Type"] {
		a.headers = append(a.headers, header{"Content-Type", actions.MustTemplate("content-type", "application/json", nil)})
	}
	for _, h := range deliveryHeaders {
		if !seen[h] {
			a.idHeaders = append(a.idHeaders, h)
		}
	}
	if spec.Sign != nil {
		if a.sign, err = newSigner(*spec.Sign); err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
	}

	a.client = withRedirectPolicy(client)
	return a, nil
}

// isToken reports whether s is an RFC 9110 token (method, header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// withRedirectPolicy returns a client that follows redirects only within
// the same scheme and host. A given client is copied, not changed; its own
// CheckRedirect, when set, is kept.
func withRedirectPolicy(client *http.Client) *http.Client {
	var c http.Client
	if client != nil {
		c = *client
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = sameOriginRedirect
	}
	return &c
}

func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
		return http.ErrUseLastResponse
	}
	return nil
}

// Kind returns "http".
func (a *Action) Kind() string { return Kind }

type request struct {
	method  string
	url     *url.URL
	headers http.Header
	body    []byte
}

func (a *Action) render(env actions.Data) (request, error) {
	r := request{method: a.method, headers: make(http.Header, len(a.headers))}
	raw, err := a.url.Execute(env)
	if err != nil {
		return r, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return r, fmt.Errorf("rendered url: %w", err)
	}
	// The load-time check makes this impossible; keep it anyway, so a
	// future change to templates cannot let data pick the receiver.
	if strings.ToLower(u.Scheme) != a.scheme || strings.ToLower(u.Host) != a.host {
		return r, fmt.Errorf("rendered url's origin %s://%s differs from the literal %s://%s", u.Scheme, u.Host, a.scheme, a.host)
	}
	r.url = u
	for _, h := range a.headers {
		v, err := h.value.Execute(env)
		if err != nil {
			return r, err
		}
		r.headers.Set(h.name, v)
	}
	switch {
	case a.json != nil:
		var buf bytes.Buffer
		if err := a.json.write(&buf, env); err != nil {
			return r, err
		}
		r.body = buf.Bytes()
	case a.body != nil:
		s, err := a.body.Execute(env)
		if err != nil {
			return r, err
		}
		r.body = []byte(s)
	}
	return r, nil
}

// RenderData returns the method, URL, headers and body DoData would send. Secret
// values expanded into the URL or headers are redacted by the caller.
func (a *Action) RenderData(data actions.Data) (actions.Rendered, error) {
	r, err := a.render(data)
	if err != nil {
		return actions.Rendered{}, fmt.Errorf("http: %w", err)
	}
	names := make([]string, 0, len(r.headers))
	for name := range r.headers {
		names = append(names, name)
	}
	sort.Strings(names)
	var hs strings.Builder
	for _, name := range names {
		fmt.Fprintf(&hs, "%s: %s\n", name, r.headers.Get(name))
	}
	rd := actions.Rendered{
		Kind:   Kind,
		Target: r.method + " " + r.url.String(),
		Fields: map[string]string{
			"method":  r.method,
			"url":     r.url.String(),
			"headers": hs.String(),
			"body":    string(r.body),
		},
	}
	// What only sending knows: the delivery's id and the time.
	var ds strings.Builder
	for _, name := range a.idHeaders {
		if a.sign == nil || name != hdrWebhookID {
			fmt.Fprintf(&ds, "%s: <delivery id>\n", name)
		}
	}
	if a.sign != nil {
		fmt.Fprintf(&ds, "%s: <delivery id>\nWebhook-Timestamp: <time of sending>\nWebhook-Signature: v1,<HMAC-SHA256 of id.timestamp.body with the secret %s>\n",
			hdrWebhookID, a.sign.secret)
	}
	if ds.Len() > 0 {
		rd.Fields["delivery_headers"] = ds.String()
	}
	return rd, nil
}

// DoData sends the request once. Network errors, timeouts, 408, 429 and 5xx are
// retryable (with the receiver's Retry-After); other statuses are permanent.
// Errors name the method and host only: the path and query may hold secrets.
//
// The delivery id in ctx (actions.DeliveryID) goes out as Idempotency-Key
// and webhook-id, unless the author's headers set them; without one they
// are left out, except that a signed request gets a random webhook-id (the
// signature needs one).
func (a *Action) DoData(ctx context.Context, data actions.Data) error {
	r, err := a.render(data)
	if err != nil {
		return actions.Permanent(fmt.Errorf("http: %w", err))
	}
	timeout := a.timeout
	if _, ok := ctx.Deadline(); !ok && timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), bytes.NewReader(r.body))
	if err != nil {
		return actions.Permanent(fmt.Errorf("http: %s %s: %w", r.method, a.host, err))
	}
	req.Header = r.headers
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Switchyard")
	}
	id := headerID(actions.DeliveryID(ctx))
	if id != "" {
		for _, name := range a.idHeaders {
			req.Header.Set(name, id)
		}
	}
	if a.sign != nil {
		if id == "" {
			id = randomID()
		}
		a.sign.set(req.Header, id, a.now(), r.body)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("http: %s %s: %w", r.method, a.host, err)
	}
	defer resp.Body.Close()
	// Read (a bounded part of) the body: it lets the connection be reused
	// and explains a failure. A read error after the status changes nothing.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))

	if err := actions.ClassifyStatus(resp.StatusCode, resp.Header, a.now()); err != nil {
		detail := snippet(body)
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			if lu, perr := resp.Request.URL.Parse(loc); perr == nil {
				detail = fmt.Sprintf("redirect to %s://%s not followed", lu.Scheme, lu.Host)
			}
		}
		if detail != "" {
			return fmt.Errorf("http: %s %s: %w: %s", r.method, a.host, err, detail)
		}
		return fmt.Errorf("http: %s %s: %w", r.method, a.host, err)
	}
	return nil
}

// snippet quotes the start of a response body for an error message.
func snippet(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
	if s == "" {
		return ""
	}
	if len(s) > errorSnippet {
		cut := errorSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// Do is DoData for one event.
func (a *Action) Do(ctx context.Context, ev *event.Event) error {
	return a.DoData(ctx, actions.EventData(ev))
}

// Render is RenderData for one event.
func (a *Action) Render(ev *event.Event) (actions.Rendered, error) {
	return a.RenderData(actions.EventData(ev))
}
