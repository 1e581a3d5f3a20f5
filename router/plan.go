package router

import (
	"fmt"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/rules"
)

// plan is what one event comes to under a config: the rules it matched,
// the conditions that failed on it, its match record, one delivery per
// matched (rule, action) of the rules that are not grouped, each with the
// throttles it must pass, and the groups the event joins. Making it sends
// and stores nothing: the dispatcher (match) claims the throttles and
// stores the group members.
type plan struct {
	matched    []*rules.Rule
	errs       []rules.EvalError
	record     EventRecord
	deliveries []delivery
	groups     []membership
}

// delivery is one (event, rule, action) to deliver, with the action built
// from the config that planned it.
type delivery struct {
	job *Job
	act *action
	// throttles are the windows the delivery must claim before it is
	// made: its rule's, then its action's.
	throttles []*throttle
}

// membership is a grouped rule's firing for an event: the event joins the
// group of key instead of being delivered.
type membership struct {
	rule *rule
	key  string
}

// plan matches ev against c's rules at now. A matched rule that a mute in
// ms holds back makes no delivery; the record says which mute.
func (c *Config) plan(ev *event.Event, now time.Time, ms *mutes) plan {
	matched, errs := c.File.Set.Match(ev)
	p := plan{matched: matched, errs: errs, record: EventRecord{
		At: now.UTC(), Key: ev.Key(), Source: ev.Source, Vendor: ev.Vendor, Event: ev.Event, Topic: ev.Topic, ID: ev.ID,
		Time: ev.Time, Received: ev.Received, Rules: make([]string, 0, len(matched)),
	}}
	for _, e := range errs {
		p.record.Errors = append(p.record.Errors, RuleError{Rule: e.Rule.Name, Error: c.Redact(e.Err.Error())})
	}
	for _, rl := range matched {
		p.record.Rules = append(p.record.Rules, rl.Name)
		if m := ms.mutedBy(rl.Name, ev, now); m != nil {
			p.record.Held = append(p.record.Held, Held{Rule: rl.Name, How: "muted", By: m.ID, Until: m.Ends,
				Reason: fmt.Sprintf("muted by mute %s until %s: %s", m.ID, m.Ends.Format(time.RFC3339), m.Comment)})
			continue
		}
		br := c.rules[rl.Name]
		if rl.Group != nil {
			key, err := rl.Group.KeyOf(ev)
			if err != nil {
				// One group for the events whose key cannot be rendered.
				p.record.Errors = append(p.record.Errors, RuleError{Rule: rl.Name, Error: c.Redact("group by: " + err.Error())})
			}
			p.groups = append(p.groups, membership{rule: br, key: key})
			continue
		}
		ruleThrottle := c.throttleOf(&p, ev, rl.Name, -1, rl.Throttle)
		for i, a := range br.actions {
			d := delivery{
				job: &Job{ID: jobID(ev, rl.Name, i), Event: *ev, Rule: rl.Name, Action: i, Kind: a.Kind(), Matched: now},
				act: a,
			}
			if ruleThrottle != nil {
				d.throttles = append(d.throttles, ruleThrottle)
			}
			if t := c.throttleOf(&p, ev, rl.Name, i, rl.Actions[i].Throttle); t != nil {
				d.throttles = append(d.throttles, t)
			}
			p.deliveries = append(p.deliveries, d)
		}
	}
	p.record.Jobs = len(p.deliveries)
	return p
}

// stamp sets when ev was received and, for a vendor that sends no time of
// its own (GitHub, say), takes that as its time, so that conditions such
// as `time > now() - duration("1h")` hold for every vendor.
func stamp(ev *event.Event, received time.Time) {
	ev.Received = received
	if ev.Time.IsZero() {
		ev.Time = received
	}
}
