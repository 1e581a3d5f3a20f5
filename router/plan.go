package router

import (
	"fmt"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/rules"
)

// plan is what one event comes to under a config: the rules it matched,
// the conditions that failed on it, its match record, and one delivery per
// matched (rule, action). Making it sends and stores nothing.
type plan struct {
	matched    []*rules.Rule
	errs       []rules.EvalError
	record     EventRecord
	deliveries []delivery
}

// delivery is one (event, rule, action) to deliver, with the action built
// from the config that planned it.
type delivery struct {
	job *Job
	act *action
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
		for i, a := range c.rules[rl.Name].actions {
			p.deliveries = append(p.deliveries, delivery{
				job: &Job{ID: jobID(ev, rl.Name, i), Event: *ev, Rule: rl.Name, Action: i, Kind: a.Kind(), Matched: now},
				act: a,
			})
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
