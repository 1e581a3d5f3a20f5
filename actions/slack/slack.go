// Package slack posts a templated message to Slack, through the Web API
// (chat.postMessage with a bot token) or an incoming webhook URL.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// Kind is the action kind this package implements.
const Kind = "slack"

// Timeout bounds one request to Slack when the caller's context has no
// deadline. The router runs every attempt under the action's timeout:,
// which then governs alone: the client has no time limit of its own that
// could cut a longer attempt short.
const Timeout = 10 * time.Second

// Config is the workspace-wide Slack connection: exactly one of Token (a
// bot token for chat.postMessage) or WebhookURL (an incoming webhook).
type Config struct {
	Token      secret.Secret
	WebhookURL secret.Secret
	// APIURL overrides https://slack.com/api/ (proxies, tests). Token only.
	APIURL string
}

// Spec is one rule's message. Every field is a template. Values inserted in
// Text are escaped for Slack (&, <, >); the author's own text keeps its
// formatting (*bold*, <https://x|links>, <!here>).
type Spec struct {
	Channel string
	// Text is the message, or with Blocks its notification fallback.
	Text      string
	Username  string
	IconEmoji string
	// Blocks is Block Kit as the rules file writes it in YAML, decoded as
	// it is (lists, maps with string keys, scalars): section, header,
	// context, divider, image and actions (link buttons). A text object
	// may be a plain string (mrkdwn, or plain_text where Block Kit allows
	// no other). Texts and URLs are templates: values inserted into mrkdwn
	// are escaped like Text's, into plain_text not at all, into a URL
	// after its literal http(s)://host percent-encoded; a url that is one
	// {{ value }} must render a whole http(s) URL. Mistakes are
	// *BlockError values (see BlockErrors) naming the value's place.
	Blocks []any
	// Templates, when set, makes the templates (shared by the actions of
	// one rules file, it saves memory); nil: the action's own.
	Templates *actions.Templates
}

// Action posts one message per Do. It is safe for concurrent use.
type Action struct {
	client     *slack.Client // token mode
	webhookURL secret.Secret // webhook mode
	httpClient *http.Client  // no Timeout: the attempt's context bounds a request
	// defaultTimeout bounds a Do whose context has no deadline.
	defaultTimeout time.Duration

	channel, text, username, iconEmoji *actions.Template
	blocks                             []*block
}

var _ actions.Action = (*Action)(nil)

// New checks cfg and spec and builds the client and templates.
func New(cfg Config, spec Spec) (*Action, error) {
	if cfg.Token.IsZero() == cfg.WebhookURL.IsZero() {
		return nil, errors.New("slack: exactly one of token and webhook_url must be set")
	}
	if strings.TrimSpace(spec.Text) == "" {
		return nil, errors.New("slack: text is required")
	}
	a := &Action{httpClient: &http.Client{}, defaultTimeout: Timeout}
	ts := spec.Templates
	if ts == nil {
		ts = actions.NewTemplates()
	}
	var err error
	if a.text, err = ts.New("text", spec.Text, actions.SlackEscape); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	if a.channel, err = ts.New("channel", spec.Channel, nil); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	if a.username, err = ts.New("username", spec.Username, nil); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	if a.iconEmoji, err = ts.New("icon_emoji", spec.IconEmoji, nil); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	if spec.Blocks != nil {
		if a.blocks, err = compileBlocks(ts, spec.Blocks); err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
	}

	if !cfg.WebhookURL.IsZero() {
		if cfg.APIURL != "" {
			return nil, errors.New("slack: api_url applies to token only, not webhook_url")
		}
		u, err := url.Parse(cfg.WebhookURL.Reveal())
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			// Never echo the URL: it is the credential.
			return nil, errors.New("slack: webhook_url is not an http(s) URL")
		}
		a.webhookURL = cfg.WebhookURL
		return a, nil
	}

	if strings.TrimSpace(spec.Channel) == "" {
		return nil, errors.New("slack: channel is required with a token")
	}
	opts := []slack.Option{slack.OptionHTTPClient(a.httpClient)}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("slack: api_url %q is not an http(s) URL", cfg.APIURL)
		}
		api := cfg.APIURL
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		opts = append(opts, slack.OptionAPIURL(api))
	}
	a.client = slack.New(cfg.Token.Reveal(), opts...)
	return a, nil
}

// Kind returns "slack".
func (a *Action) Kind() string { return Kind }

type message struct {
	channel, text, username, iconEmoji string
	blocks                             []slack.Block
}

func (a *Action) render(env actions.Data) (message, error) {
	var m message
	var err error
	if m.text, err = a.text.Execute(env); err != nil {
		return m, err
	}
	if m.channel, err = a.channel.Execute(env); err != nil {
		return m, err
	}
	if m.username, err = a.username.Execute(env); err != nil {
		return m, err
	}
	if m.iconEmoji, err = a.iconEmoji.Execute(env); err != nil {
		return m, err
	}
	if m.blocks, err = renderBlocks(a.blocks, env); err != nil {
		return m, err
	}
	m.channel = strings.TrimSpace(m.channel)
	if strings.TrimSpace(m.text) == "" {
		return m, errors.New("rendered text is empty")
	}
	if a.client != nil && m.channel == "" {
		return m, errors.New("rendered channel is empty")
	}
	return m, nil
}

// RenderData returns the channel and text DoData would post. A webhook URL shows as
// <secret>; the token never appears.
func (a *Action) RenderData(data actions.Data) (actions.Rendered, error) {
	m, err := a.render(data)
	if err != nil {
		return actions.Rendered{}, fmt.Errorf("slack: %w", err)
	}
	r := actions.Rendered{Kind: Kind, Target: m.channel, Fields: map[string]string{"text": m.text}}
	if m.channel != "" {
		r.Fields["channel"] = m.channel
	}
	if m.username != "" {
		r.Fields["username"] = m.username
	}
	if m.iconEmoji != "" {
		r.Fields["icon_emoji"] = m.iconEmoji
	}
	if len(m.blocks) > 0 {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // show < > & as Slack gets them, not as \u003c
		enc.SetIndent("", "  ")
		if err := enc.Encode(m.blocks); err != nil {
			return actions.Rendered{}, fmt.Errorf("slack: blocks: %w", err)
		}
		r.Fields["blocks"] = strings.TrimSuffix(b.String(), "\n")
	}
	if a.client == nil {
		r.Fields["webhook_url"] = a.webhookURL.String()
		if r.Target == "" {
			r.Target = "webhook " + a.webhookURL.String()
		}
	}
	return r, nil
}

// DoData posts the message once. Rate limits carry Slack's Retry-After;
// errors no retry can fix (unknown channel, bad token, too long) are
// permanent.
func (a *Action) DoData(ctx context.Context, data actions.Data) error {
	m, err := a.render(data)
	if err != nil {
		return actions.Permanent(fmt.Errorf("slack: %w", err))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.defaultTimeout)
		defer cancel()
	}
	if a.client == nil {
		msg := &slack.WebhookMessage{Channel: m.channel, Text: m.text, Username: m.username, IconEmoji: m.iconEmoji}
		if len(m.blocks) > 0 {
			msg.Blocks = &slack.Blocks{BlockSet: m.blocks}
		}
		err = slack.PostWebhookCustomHTTPContext(ctx, a.webhookURL.Reveal(), a.httpClient, msg)
		if err != nil {
			return classify(fmt.Errorf("slack: post to webhook: %w", redactURL(err)))
		}
		return nil
	}
	opts := []slack.MsgOption{slack.MsgOptionText(m.text, false)}
	if m.username != "" {
		opts = append(opts, slack.MsgOptionUsername(m.username))
	}
	if m.iconEmoji != "" {
		opts = append(opts, slack.MsgOptionIconEmoji(m.iconEmoji))
	}
	if len(m.blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.blocks...))
	}
	if _, _, err := a.client.PostMessageContext(ctx, m.channel, opts...); err != nil {
		return classify(fmt.Errorf("slack: chat.postMessage to %s: %w", m.channel, err))
	}
	return nil
}

// BlockErrors returns the mistakes in a spec's blocks that err (from New)
// reports, so that a caller that knows where each value is written can
// point at it.
func BlockErrors(err error) []*BlockError {
	var out []*BlockError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *BlockError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// transientAPIError reports whether a Slack Web API error code describes a
// passing condition on Slack's side. Every other code (channel_not_found,
// invalid_auth, not_in_channel, is_archived, msg_too_long, no_text, ...) is
// an answer about the request itself, which a retry would only repeat.
func transientAPIError(code string) bool {
	switch code {
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout",
		"ratelimited", "rate_limited", "team_added_to_org":
		return true
	}
	return false
}

// classify maps slack-go's errors onto the retry loop's vocabulary.
func classify(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return actions.RetryAfter(err, actions.CapRetryAfter(rl.RetryAfter))
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if actions.RetryableStatus(sc.Code) {
			return err
		}
		return actions.Permanent(err)
	}
	var api slack.SlackErrorResponse
	if errors.As(err, &api) {
		if transientAPIError(api.Err) {
			return err
		}
		return actions.Permanent(err)
	}
	// Network errors, timeouts, a garbled response: worth another try.
	return err
}

// redactURL removes the webhook URL, which is the credential, from a
// transport error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, secret.Redacted, ue.Err)
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
