package router

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/actions/email"
	"github.com/switchyard/switchyard/actions/slack"
	"github.com/switchyard/switchyard/actions/webhook"
	"github.com/switchyard/switchyard/rules"
)

// actionKind is what the router knows of one kind of action. A new kind
// is an entry of actionKinds here, its section of the loader (rules) and
// of the JSON Schema; TestActionKinds holds the three to the same list.
type actionKind struct {
	// workers is the kind's delivery workers by default (serve --workers
	// changes them); each kind has its own pool, so a slow Slack never
	// holds up HTTP.
	workers int
	// policy is the retry policy when the rules file says none.
	policy RetryPolicy
	// build makes an action of the kind from its spec.
	build func(f *rules.File, a rules.ActionSpec, o BuildOptions, ts *actions.Templates) (actions.Action, error)
	// pace names the receiver whose turns and pauses the rule's action
	// index i shares, and the least time between two deliveries to it (0:
	// not paced).
	pace func(rule string, i int, a rules.ActionSpec) (string, time.Duration)
}

// With the default policies, a receiver that is down is retried for one
// to two hours (the jitter decides) before the delivery becomes a dead
// letter.
var actionKinds = map[string]actionKind{
	"http": {
		workers: 64,
		policy:  RetryPolicy{Attempts: 15, Initial: time.Second, Max: 30 * time.Minute, Timeout: 10 * time.Second},
		build: func(_ *rules.File, a rules.ActionSpec, o BuildOptions, ts *actions.Templates) (actions.Action, error) {
			h := a.HTTP
			spec := webhook.Spec{Method: h.Method, URL: h.URL, Headers: h.Headers, JSON: h.JSON, Body: h.Body, Timeout: h.Timeout, Templates: ts}
			if h.Sign != nil {
				spec.Sign = &webhook.Sign{Secret: h.Sign.Secret}
			}
			return webhook.New(spec, o.HTTPClient)
		},
		pace: ownPace,
	},
	"slack": {
		workers: 8,
		policy:  RetryPolicy{Attempts: 15, Initial: time.Second, Max: 30 * time.Minute, Timeout: 10 * time.Second},
		build: func(f *rules.File, a rules.ActionSpec, _ BuildOptions, ts *actions.Templates) (actions.Action, error) {
			if f.Slack == nil {
				return nil, errors.New("a slack action needs a top-level slack: block")
			}
			return slack.New(slack.Config{Token: f.Slack.Token, WebhookURL: f.Slack.WebhookURL, APIURL: f.Slack.APIURL},
				slack.Spec{Channel: a.Slack.Channel, Text: a.Slack.Text, Username: a.Slack.Username, IconEmoji: a.Slack.IconEmoji, Blocks: a.Slack.Blocks, Templates: ts})
		},
		// The posts to one channel take turns, whichever rule makes them,
		// at the action's rate (the slack: block's, 1/s by default).
		pace: func(_ string, _ int, a rules.ActionSpec) (string, time.Duration) {
			if a.Slack.Channel == "" { // an incoming webhook posts to its own channel
				return "slack webhook", a.Rate.Interval()
			}
			return "slack " + a.Slack.Channel, a.Rate.Interval()
		},
	},
	"email": {
		workers: 8,
		policy:  RetryPolicy{Attempts: 12, Initial: 5 * time.Second, Max: 30 * time.Minute, Timeout: 30 * time.Second},
		build: func(f *rules.File, a rules.ActionSpec, _ BuildOptions, ts *actions.Templates) (actions.Action, error) {
			if f.SMTP == nil {
				return nil, errors.New("an email action needs a top-level smtp: block")
			}
			s := f.SMTP
			return email.New(email.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, TLS: s.TLS, From: s.From},
				email.Spec{To: a.Email.To, Cc: a.Email.Cc, Subject: a.Email.Subject, Text: a.Email.Text, HTML: a.Email.HTML, Templates: ts})
		},
		pace: ownPace,
	},
}

// ownPace makes an action a receiver of its own, paced at its rate: (0:
// not paced).
func ownPace(rule string, i int, a rules.ActionSpec) (string, time.Duration) {
	return a.Kind + " " + rule + "/" + strconv.Itoa(i), a.Rate.Interval()
}

// ActionKinds lists the kinds of action, sorted.
func ActionKinds() []string { return slices.Sorted(maps.Keys(actionKinds)) }

// DefaultWorkers is an action kind's delivery workers by default.
func DefaultWorkers(kind string) int { return actionKinds[kind].workers }

// DefaultPolicy is an action kind's retry policy when the rules file says
// none.
func DefaultPolicy(kind string) RetryPolicy { return actionKinds[kind].policy }

func buildAction(f *rules.File, a rules.ActionSpec, o BuildOptions, ts *actions.Templates) (actions.Action, error) {
	k, ok := actionKinds[a.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown action kind %q", a.Kind)
	}
	return k.build(f, a, o, ts)
}
