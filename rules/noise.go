package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	// A schedule's timezone: is loaded at load from the zone database
	// built into the binary, so a rules file means the same on every host
	// (a container without /usr/share/zoneinfo included). Every binary that
	// loads a rules file imports this package.
	_ "time/tzdata"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

// Limits and defaults of grouping, throttling and pacing. Each is written
// here once; the loader, the schema's test and the router read them here.
const (
	// DefaultGroupMax is how many events a group keeps for a firing when
	// the rule's group: gives no max.
	DefaultGroupMax = 100
	// MaxGroupMax is the largest max a group may keep; the count of a
	// firing is exact beyond it.
	MaxGroupMax = 1000
	// MinRateInterval is the shortest spacing a rate: may ask for: no pace
	// is faster than 1000/s.
	MinRateInterval = time.Millisecond
)

// DefaultSlackRate paces every Slack action when neither the top-level
// slack: block nor the action gives a rate: Slack accepts about one
// chat.postMessage per second per channel (and one post per second per
// incoming webhook), and throttles or drops bursts beyond it.
func DefaultSlackRate() Rate { return Rate{N: 1, Per: time.Second} }

// GroupSpec is a rule's group: block. The events a grouped rule matches are
// not delivered one by one: they are collected in groups, one per key, and
// the rule's actions render once per firing of a group, against
// actions.Group's data (.events .count .key .first .last .rule).
//
// A group fires either after Wait and then at most once per Interval, or on
// a cron Schedule; exactly one of Interval and Cron is set:
//
//   - Interval: a group starts with its first event and fires Wait later
//     (at once when Wait is 0) with every event collected by then. Events
//     that arrive after a firing fire together Interval after it. A group
//     that collects nothing for an Interval after a firing ends; the next
//     event starts a new group.
//   - Schedule (a digest): a group fires at each time of Cron that finds
//     events in it, with the events collected since its previous firing.
type GroupSpec struct {
	// By is the key template as written, or "" for one group per rule. It
	// renders one event (the names of actions.EventData); KeyOf renders it.
	By string
	// Wait is how long a new group waits for more events before its first
	// firing; 0 fires at once. Never more than Interval. Zero with Cron.
	Wait time.Duration
	// Interval is the least time between two firings of a group; zero
	// with Cron.
	Interval time.Duration
	// Schedule is the cron spec as written (5 fields: minute hour
	// day-of-month month day-of-week, or @daily, @hourly...); "" with
	// Interval.
	Schedule string
	// Cron is Schedule parsed, in Location: Cron.Next(t) is the first
	// firing time strictly after t, expressed in t's location. Nil with
	// Interval.
	Cron cron.Schedule
	// Location is the schedule's time zone (timezone:, UTC when not
	// given), loaded from the zone database built into the binary. Nil
	// with Interval.
	Location *time.Location
	// Max is how many events a firing keeps, oldest first (1 to
	// MaxGroupMax; DefaultGroupMax when not given). The count stays exact.
	Max int
	// Pos is the position of the group: key.
	Pos Pos

	by *actions.Template
}

// KeyOf renders By for ev, with surrounding white space trimmed: the key
// of the group ev joins. It is "" when By is not set. An error (a template
// that fails on this event) comes with the key "". The key is any text:
// hash it where it must fit a storage key's syntax.
func (g *GroupSpec) KeyOf(ev *event.Event) (string, error) {
	return renderKey(g.by, ev)
}

// DataFor returns the data the rule's actions render for ev on its own:
// actions.EventData(ev), or for a grouped rule the data of a firing of ev
// alone (.count 1, .key the key of ev's group). Dry runs and previews
// render a grouped rule's actions with it.
func (r *Rule) DataFor(ev *event.Event) (actions.Data, error) {
	if r.Group == nil {
		return actions.EventData(ev), nil
	}
	key, err := r.Group.KeyOf(ev)
	if err != nil {
		return nil, fmt.Errorf("rule %q group by: %w", r.Name, err)
	}
	g := &actions.Group{Rule: r.Name, Key: key, Count: 1, Events: []event.Event{*ev}}
	return g.Data(), nil
}

// ThrottleSpec is the throttle: block of a rule or of an action: at most
// one firing per key per Per. The firings it holds back are counted and
// recorded on the event ("throttled by RULE until 14:05"), never retried.
// A grouped rule has no throttle (its group bounds its firings), nor do
// its actions.
type ThrottleSpec struct {
	// Key is the key template as written, or "" for one throttle for the
	// whole rule (or action). It renders one event; KeyOf renders it.
	Key string
	// Per is the window: after a firing for a key, the next one for that
	// key may come Per later. Positive.
	Per time.Duration
	// Pos is the position of the throttle: key.
	Pos Pos

	key *actions.Template
}

// KeyOf renders Key for ev, as GroupSpec.KeyOf renders By.
func (t *ThrottleSpec) KeyOf(ev *event.Event) (string, error) {
	return renderKey(t.key, ev)
}

func renderKey(t *actions.Template, ev *event.Event) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := t.Execute(actions.EventData(ev))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// Rate is a pace: at most N deliveries per Per to one receiver. The zero
// Rate is no pace.
type Rate struct {
	N   int
	Per time.Duration
}

// IsZero reports whether r is no pace.
func (r Rate) IsZero() bool { return r.N == 0 }

// Interval is the even spacing that keeps to r: Per/N (0 for no pace).
func (r Rate) Interval() time.Duration {
	if r.N <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.N)
}

// String formats r as it is written in a rules file: 1/s, 30/m, 5/10s.
func (r Rate) String() string {
	if r.IsZero() {
		return "none"
	}
	for _, u := range rateUnits {
		if r.Per == u.per {
			return fmt.Sprintf("%d/%s", r.N, u.name)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

var rateUnits = []struct {
	name string
	per  time.Duration
}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}

// rateSyntax says how to write a rate, in every rate error.
const rateSyntax = "write a count per unit or duration, such as 1/s, 30/m or 5/10s"

// ParseRate reads a rate: a positive whole count, a slash and a unit (ms,
// s, m, h) or a duration (10s, 1m30s): 1/s, 30/m, 5/10s. Its spacing
// (Interval) may not be under MinRateInterval.
func ParseRate(s string) (Rate, error) {
	count, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate: %s", s, rateSyntax)
	}
	count, per = strings.TrimSpace(count), strings.TrimSpace(per)
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return Rate{}, fmt.Errorf("rate %q: the count %q is not a whole number from 1 (%s)", s, count, rateSyntax)
	}
	r := Rate{N: n}
	for _, u := range rateUnits {
		if per == u.name {
			r.Per = u.per
		}
	}
	if r.Per == 0 {
		d, err := time.ParseDuration(per)
		if err != nil || d <= 0 {
			return Rate{}, fmt.Errorf("rate %q: %q is not a unit (ms, s, m, h) or a positive duration (%s)", s, per, rateSyntax)
		}
		r.Per = d
	}
	if r.Interval() < MinRateInterval {
		return Rate{}, fmt.Errorf("rate %q is faster than the limit of %d/s", s, time.Second/MinRateInterval)
	}
	return r, nil
}

var (
	groupKeys    = []string{"by", "wait", "interval", "schedule", "timezone", "max"}
	throttleKeys = []string{"key", "per"}
)

// templateData says which names a template renders with.
type templateData int

const (
	eventData templateData = iota // one event: event.Names
	groupData                     // a grouped rule's firing: actions.GroupNames
)

// group decodes a rule's group: block (key is its key node).
func (d *decoder) group(n, key *yaml.Node, label string) *GroupSpec {
	what := label + " group"
	m := d.mapping(n, what, groupKeys)
	if m == nil {
		return nil
	}
	g := &GroupSpec{Pos: d.pos(key), Max: DefaultGroupMax}
	g.By = d.str(m.get("by"), "by")
	if m.has("by") {
		g.by = d.template(m.get("by"), what+": by", eventData)
	}
	if m.has("max") {
		if v := d.integer(m.get("max"), what+" max", 1, MaxGroupMax); v > 0 {
			g.Max = v
		}
	}
	g.Wait = d.duration(m.get("wait"), what+" wait")
	g.Interval = d.positiveDuration(m.get("interval"), what+" interval")
	g.Schedule = strings.TrimSpace(d.str(m.get("schedule"), "schedule"))
	switch {
	case m.has("schedule"):
		for _, k := range []string{"wait", "interval"} {
			if m.has(k) {
				d.errorf(m.keyNode(k), "%s: give wait and interval, or schedule, not both", what)
			}
		}
		g.Location = d.timezone(m, what)
		g.Cron = d.schedule(m.get("schedule"), what, g.Location)
	case m.has("timezone"):
		d.errorf(m.keyNode("timezone"), "%s: timezone applies to a schedule only", what)
	case !m.has("interval"):
		d.errorf(key, "%s needs interval (fire at most once per interval, after wait) or schedule (a cron digest)", what)
	case g.Interval == 0:
		// reported by positiveDuration
	case g.Wait > g.Interval:
		d.errorf(m.get("wait"), "%s: wait %s is longer than interval %s (the first firing would wait longer than every later one)", what, g.Wait, g.Interval)
	}
	return g
}

// timezone loads a group's timezone: (UTC when absent).
func (d *decoder) timezone(m *mapping, what string) *time.Location {
	name := strings.TrimSpace(d.str(m.get("timezone"), "timezone"))
	if name == "" {
		return time.UTC
	}
	if name == "Local" {
		// Replicas may run in different zones: a digest's time must not
		// depend on the host.
		d.errorf(m.get("timezone"), "%s timezone: name a zone such as Europe/Berlin or UTC, not Local", what)
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		d.errorf(m.get("timezone"), "%s timezone %q is not a time zone (write an IANA name such as Europe/Berlin, America/New_York or UTC)", what, name)
		return time.UTC
	}
	return loc
}

// cronParser reads standard 5-field cron specs and descriptors (@daily).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronFields are the fields of a standard cron spec, in order.
var cronFields = []struct {
	name string
	opt  cron.ParseOption
}{
	{"minute (0-59)", cron.Minute},
	{"hour (0-23)", cron.Hour},
	{"day of month (1-31)", cron.Dom},
	{"month (1-12 or JAN-DEC)", cron.Month},
	{"day of week (0-6 or SUN-SAT)", cron.Dow},
}

// cronEpoch is where the search for a schedule's first firing starts: any
// date works (a schedule that fires at all fires within five years of any
// date); a fixed one makes the check the same on every run.
var cronEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// schedule parses a group's schedule: in loc, reporting the field at fault.
func (d *decoder) schedule(n *yaml.Node, what string, loc *time.Location) cron.Schedule {
	n = resolve(n)
	raw, ok := d.scalar(n, "schedule")
	if !ok {
		return nil
	}
	spec := strings.TrimSpace(raw)
	base := utf8.RuneCountInString(raw[:strings.Index(raw, spec)])
	at := func(off int, format string, args ...any) cron.Schedule {
		d.errorAt(d.posIn(n, n.Value, base+off), "%s schedule %q: %s", what, spec, fmt.Sprintf(format, args...))
		return nil
	}
	switch {
	case spec == "":
		return at(0, "empty: write 5 fields (minute hour day-of-month month day-of-week) such as \"0 9 * * MON-FRI\"")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return at(0, "give the time zone in timezone:, not in the schedule")
	case strings.HasPrefix(spec, "@every"):
		return at(0, "@every is an interval: use wait and interval instead of schedule")
	case strings.HasPrefix(spec, "@"):
		s, err := cronParser.Parse(spec)
		if err != nil {
			return at(0, "unknown descriptor: want @yearly, @monthly, @weekly, @daily, @midnight or @hourly, or 5 fields")
		}
		return inLocation(s, loc)
	}
	fields := strings.Fields(spec)
	if len(fields) != len(cronFields) {
		return at(0, "has %d fields, want 5: minute hour day-of-month month day-of-week (such as \"0 9 * * MON-FRI\")", len(fields))
	}
	off, bad := 0, false
	for i, f := range fields {
		off += strings.Index(spec[off:], f)
		if _, err := cron.NewParser(cronFields[i].opt).Parse(f); err != nil {
			at(utf8.RuneCountInString(spec[:off]), "%s field %q: %s", cronFields[i].name, f, cronError(err))
			bad = true
		}
		off += len(f)
	}
	if bad {
		return nil
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return at(0, "%s", cronError(err))
	}
	s = inLocation(s, loc)
	if s.Next(cronEpoch).IsZero() {
		return at(0, "never fires (no such date)")
	}
	return s
}

// inLocation sets a parsed schedule's zone (the parser's default is the
// host's).
func inLocation(s cron.Schedule, loc *time.Location) cron.Schedule {
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	return s
}

// cronError shortens the parser's message for a value that is not a number
// or name ("failed to parse int from X: strconv.Atoi: ...").
func cronError(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "failed to parse int from "); ok {
		v, _, _ := strings.Cut(rest, ":")
		return fmt.Sprintf("%q is not a number or a name", v)
	}
	return msg
}

// throttle decodes a throttle: block of a rule or an action.
func (d *decoder) throttle(n, key *yaml.Node, what string) *ThrottleSpec {
	what += " throttle"
	m := d.mapping(n, what, throttleKeys)
	if m == nil {
		return nil
	}
	t := &ThrottleSpec{Pos: d.pos(key)}
	t.Key = d.str(m.get("key"), "key")
	if m.has("key") {
		t.key = d.template(m.get("key"), what+": key", eventData)
	}
	if !m.has("per") {
		d.errorf(key, "%s needs per: the window, such as 1h", what)
	}
	t.Per = d.positiveDuration(m.get("per"), what+" per")
	return t
}

// positiveDuration is duration for a value that must be above zero, when
// given: a zero is reported, as is anything duration reports.
func (d *decoder) positiveDuration(n *yaml.Node, what string) time.Duration {
	before := len(d.errs)
	v := d.duration(n, what)
	if v == 0 && len(d.errs) == before && !isNull(n) {
		d.errorf(n, "%s must be a positive duration such as 1h", what)
	}
	return v
}

// rate decodes a rate: value; zero when absent or wrong (reported).
func (d *decoder) rate(n *yaml.Node, what string) Rate {
	s, ok := d.scalar(n, what)
	if !ok || isNull(n) {
		return Rate{}
	}
	r, err := ParseRate(s)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return Rate{}
	}
	return r
}

// checkNames reports the top-level names template t (the value of n) reads
// that its data will not have: an event's fields in a grouped rule's
// templates, and a firing's names in a template that renders one event.
func (d *decoder) checkNames(n *yaml.Node, t *actions.Template, what string, data templateData) {
	for _, u := range t.TopNames() {
		var msg string
		switch {
		case data == groupData && slices.Contains(event.Names, u.Name):
			first := ".first" + u.Text
			if strings.HasPrefix(u.Text, "$") {
				first = "$.first" + u.Text[1:]
			}
			msg = fmt.Sprintf("%s is a field of one event, but a grouped rule's templates render the whole firing: write %s, or {{ range .events }}{{ %s }}{{ end }}", u.Text, first, strings.TrimPrefix(u.Text, "$"))
		case data == groupData && !slices.Contains(actions.GroupNames, u.Name):
			msg = fmt.Sprintf("%s is not a name of a grouped rule's templates (.%s)", u.Text, strings.Join(actions.GroupNames, " ."))
			if s := suggest(u.Name, actions.GroupNames); s != "" {
				msg += fmt.Sprintf(" (did you mean .%s?)", s)
			}
		case data == eventData && slices.Contains(actions.GroupNames, u.Name) && !slices.Contains(event.Names, u.Name):
			msg = fmt.Sprintf("%s is a name of a grouped rule's actions; this template renders one event (.%s)", u.Text, strings.Join(event.Names, " ."))
		default:
			continue
		}
		d.errorAt(d.posIn(n, n.Value, runeOffset(n.Value, u.Offset)), "%s: template: %s", what, msg)
	}
}
