package router

import (
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/sources"
)

// DryRun is what `switchyard test` shows: the verification result, the
// normalized event, each rule matched or not and why, and each action of
// the matching rules rendered with secrets redacted. Nothing is sent.
type DryRun struct {
	Source        string `json:"source"`
	Vendor        string `json:"vendor"`
	Verified      bool   `json:"verified"`
	VerifyError   string `json:"verify_error,omitempty"`
	EnvelopeError string `json:"envelope_error,omitempty"`
	// Refusal is the status serve would answer the body with, if it would
	// refuse it (400 malformed, 413 too large); 401 is Verified's.
	Refusal int          `json:"refusal,omitempty"`
	Event   *event.Event `json:"event,omitempty"`
	Rules   []RuleResult `json:"rules"`
}

// RuleResult is one rule's verdict on the event.
type RuleResult struct {
	Name    string         `json:"name"`
	Matched bool           `json:"matched"`
	Reason  string         `json:"reason,omitempty"`
	Actions []ActionResult `json:"actions,omitempty"`
}

// ActionResult is one action rendered, or why it could not be.
type ActionResult struct {
	Kind     string            `json:"kind"`
	Rendered *actions.Rendered `json:"rendered,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// DryRun runs a request through verification, normalization and matching
// with this config, and renders what would be sent. A request that fails
// verification is still normalized and matched, so rules can be tried on
// unsigned payloads; Verified says it would have been refused.
func (c *Config) DryRun(sourceName string, req *http.Request, body []byte) (*DryRun, error) {
	src, ok := c.sources[sourceName]
	if !ok {
		return nil, fmt.Errorf("no source %q in %s", sourceName, c.File.Path)
	}
	d := &DryRun{Source: sourceName, Vendor: src.Vendor(), Rules: []RuleResult{}}
	if err := src.Verify(req, body); err != nil {
		d.VerifyError = c.Redact(err.Error())
	} else {
		d.Verified = true
	}
	if int64(len(body)) > src.maxBody {
		d.EnvelopeError = fmt.Sprintf("the body is %d bytes, over the source's max_body of %d", len(body), src.maxBody)
		d.Refusal = http.StatusRequestEntityTooLarge
		return d, nil
	}
	env, err := src.Envelope(req.Header, body)
	if err != nil {
		d.EnvelopeError, d.Refusal = c.Redact(err.Error()), http.StatusBadRequest
		return d, nil
	}
	var hdr map[string]string
	if req != nil {
		hdr = sources.Headers(req.Header)
	}
	ev, err := src.Normalize(env, body, hdr)
	if err != nil {
		d.EnvelopeError, d.Refusal = c.Redact(err.Error()), http.StatusBadRequest
		return d, nil
	}
	stamp(&ev, time.Now().UTC())
	d.Event = &ev
	for _, ex := range c.File.Set.Explain(&ev) {
		rr := RuleResult{Name: ex.Rule.Name, Matched: ex.Matched, Reason: c.Redact(ex.Reason)}
		if ex.Matched {
			rr.Actions = c.render(ex.Rule.Name, &ev)
		}
		d.Rules = append(d.Rules, rr)
	}
	return d, nil
}

// render renders each action of rule for ev, secrets redacted: a grouped
// rule's as a firing of that one event.
func (c *Config) render(rule string, ev *event.Event) []ActionResult {
	r := c.rules[rule]
	data, derr := r.DataFor(ev)
	var out []ActionResult
	for _, a := range r.actions {
		ar := ActionResult{Kind: a.Kind()}
		if derr != nil {
			ar.Error = c.Redact(derr.Error())
		} else if rd, err := a.RenderData(data); err != nil {
			ar.Error = c.Redact(err.Error())
		} else {
			rd = redactRendered(c, rd)
			ar.Rendered = &rd
		}
		out = append(out, ar)
	}
	return out
}
