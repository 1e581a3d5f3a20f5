package rules

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

func vote(id string, post any) *event.Event {
	return &event.Event{
		Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: id,
		Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Data: map[string]any{
			"post": map[string]any{"id": post, "title": "Dark mode"},
			"vote": map[string]any{"voter": map[string]any{"name": "Eve"}},
		},
	}
}

func TestLoadNoise(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "good", "noise.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Slack.Rate != (Rate{N: 2, Per: time.Second}) {
		t.Errorf("slack rate = %v, want 2/s", f.Slack.Rate)
	}

	votes := f.Rules[0]
	g := votes.Group
	if g == nil || g.By != "{{ .data.post.id }}" || g.Wait != 30*time.Second || g.Interval != time.Hour ||
		g.Max != 50 || g.Cron != nil || g.Location != nil || g.Schedule != "" {
		t.Fatalf("votes-per-post group = %+v", g)
	}
	if want := filepath.Join("testdata", "good", "noise.yaml") + ":9:5"; g.Pos.String() != want {
		t.Errorf("group pos %s, want %s", g.Pos, want)
	}
	if key, err := g.KeyOf(vote("v1", float64(99))); key != "99" || err != nil {
		t.Errorf("KeyOf = %q, %v; want 99", key, err)
	}
	if votes.Throttle != nil {
		t.Errorf("throttle = %+v", votes.Throttle)
	}
	if r := votes.Actions[0].Rate; r != f.Slack.Rate {
		t.Errorf("slack action rate = %v, want the slack: block's %v", r, f.Slack.Rate)
	}
	if r := votes.Actions[1].Rate; r != (Rate{N: 30, Per: time.Minute}) || r.Interval() != 2*time.Second {
		t.Errorf("http action rate = %v (interval %s), want 30/m (2s)", r, r.Interval())
	}

	digest := f.Rules[1].Group
	if digest == nil || digest.Schedule != "0 9 * * MON-FRI" || digest.Location.String() != "Europe/Berlin" ||
		digest.Max != DefaultGroupMax || digest.Interval != 0 || digest.Wait != 0 || digest.By != "" {
		t.Fatalf("daily-digest group = %+v", digest)
	}
	// Friday 10:00 in Berlin: the next digest is Monday 09:00 there.
	fri := time.Date(2024, 5, 10, 10, 0, 0, 0, digest.Location)
	if got, want := digest.Cron.Next(fri), time.Date(2024, 5, 13, 9, 0, 0, 0, digest.Location); !got.Equal(want) {
		t.Errorf("next digest after %s = %s, want %s", fri, got, want)
	}
	if key, err := digest.KeyOf(vote("v1", 1)); key != "" || err != nil {
		t.Errorf("KeyOf without by = %q, %v; want one group", key, err)
	}

	one := f.Rules[2]
	if one.Group.Wait != 0 || one.Group.Interval != 10*time.Minute {
		t.Errorf("one-group = %+v", one.Group)
	}
	if r := one.Actions[0].Rate; r.Interval() != 10*time.Second || r.String() != "1/10s" {
		t.Errorf("rate 1/10s = %v, interval %s", r, r.Interval())
	}

	posts := f.Rules[3]
	if posts.Group != nil {
		t.Errorf("posts-throttled has a group")
	}
	th := posts.Throttle
	if th == nil || th.Key != "{{ .data.post.id }}" || th.Per != time.Hour {
		t.Fatalf("rule throttle = %+v", th)
	}
	if key, err := th.KeyOf(vote("v1", "abc")); key != "abc" || err != nil {
		t.Errorf("throttle KeyOf = %q, %v", key, err)
	}
	if posts.Actions[0].Throttle != nil || posts.Actions[0].Rate != f.Slack.Rate {
		t.Errorf("slack action = %+v", posts.Actions[0])
	}
	at := posts.Actions[1].Throttle
	if at == nil || at.Key != "" || at.Per != 15*time.Minute {
		t.Errorf("action throttle = %+v", at)
	}
	if key, err := at.KeyOf(vote("v1", 1)); key != "" || err != nil {
		t.Errorf("action throttle without key: KeyOf = %q, %v", key, err)
	}
	if posts.Actions[1].Rate != (Rate{N: 5, Per: time.Second}) {
		t.Errorf("http rate = %v", posts.Actions[1].Rate)
	}
}

// Slack actions are paced at DefaultSlackRate unless the slack: block or
// the action says otherwise; http actions only when they say; email never.
func TestRateDefaults(t *testing.T) {
	const rule = "rules:\n  - name: r\n    actions:\n      - slack: { channel: c, text: t }\n      - http: { url: \"https://example.com/\" }\n"
	tests := []struct {
		name, slack   string
		slackR, httpR Rate
		wantErr       string
	}{
		{"default", "slack: { token: t }\n", DefaultSlackRate(), Rate{}, ""},
		{"slack block", "slack: { token: t, rate: 20/m }\n", Rate{N: 20, Per: time.Minute}, Rate{}, ""},
		{"null rate keeps the default", "slack: { token: t, rate: }\n", DefaultSlackRate(), Rate{}, ""},
		{"webhook", "slack: { webhook_url: \"https://hooks.slack.com/x\", rate: 1/2s }\n", Rate{N: 1, Per: 2 * time.Second}, Rate{}, ""},
		{"bad slack rate", "slack:\n  token: t\n  rate: fast\n", Rate{}, Rate{}, `v.yaml:3:9: slack: "fast" is not a rate: write a count per unit or duration, such as 1/s, 30/m or 5/10s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("v.yaml", []byte(tt.slack+rule), env(nil))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Rules[0].Actions[0].Rate; got != tt.slackR {
				t.Errorf("slack action rate = %v, want %v", got, tt.slackR)
			}
			if got := f.Rules[0].Actions[1].Rate; got != tt.httpR {
				t.Errorf("http action rate = %v, want %v", got, tt.httpR)
			}
		})
	}
	if DefaultSlackRate().Interval() != time.Second {
		t.Errorf("DefaultSlackRate = %v, want one per second", DefaultSlackRate())
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in       string
		want     Rate
		interval time.Duration
		err      string // part of the error; "" for none
	}{
		{"1/s", Rate{1, time.Second}, time.Second, ""},
		{"2/s", Rate{2, time.Second}, 500 * time.Millisecond, ""},
		{"30/m", Rate{30, time.Minute}, 2 * time.Second, ""},
		{"100/h", Rate{100, time.Hour}, 36 * time.Second, ""},
		{"5/10s", Rate{5, 10 * time.Second}, 2 * time.Second, ""},
		{" 3 / 1m30s ", Rate{3, 90 * time.Second}, 30 * time.Second, ""},
		{"1000/s", Rate{1000, time.Second}, time.Millisecond, ""},
		{"1/ms", Rate{1, time.Millisecond}, time.Millisecond, ""},
		{"1001/s", Rate{}, 0, "faster than the limit of 1000/s"},
		{"0/s", Rate{}, 0, `the count "0" is not a whole number from 1`},
		{"-1/s", Rate{}, 0, `the count "-1" is not a whole number`},
		{"1.5/s", Rate{}, 0, `the count "1.5" is not a whole number`},
		{"/s", Rate{}, 0, `the count "" is not`},
		{"1/d", Rate{}, 0, `"d" is not a unit (ms, s, m, h) or a positive duration`},
		{"1/0s", Rate{}, 0, `"0s" is not a unit`},
		{"1/-1s", Rate{}, 0, `"-1s" is not a unit`},
		{"1/", Rate{}, 0, `"" is not a unit`},
		{"1", Rate{}, 0, `"1" is not a rate`},
		{"1/s/s", Rate{}, 0, `"s/s" is not a unit`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRate(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || got.Interval() != tt.interval {
				t.Fatalf("ParseRate(%q) = %v (interval %s), %v; want %v (%s)", tt.in, got, got.Interval(), err, tt.want, tt.interval)
			}
			// What String writes, ParseRate reads back.
			if back, err := ParseRate(got.String()); err != nil || back != got {
				t.Errorf("ParseRate(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

// TestNoiseValidation: each case is a small file and the first line of its
// error ("" for a file that loads).
func TestNoiseValidation(t *testing.T) {
	grouped := func(group, text string) string {
		return "slack: { token: t }\nrules:\n  - name: g\n    group: " + group + "\n    actions:\n      - slack: { channel: c, text: \"" + text + "\" }\n"
	}
	tests := []struct{ name, src, want string }{
		{"interval", grouped("{ interval: 1h }", "{{ .count }}"), ""},
		{"wait equal to interval", grouped("{ wait: 1h, interval: 1h }", "{{ .count }}"), ""},
		{"max 1", grouped("{ interval: 1h, max: 1 }", "x"), ""},
		{"max at the limit", grouped("{ interval: 1h, max: 1000 }", "x"), ""},
		{"descriptor", grouped("{ schedule: \"@daily\" }", "x"), ""},
		{"schedule with names and steps", grouped("{ schedule: \"*/15 8-18 * JAN-NOV mon,wed\", timezone: America/New_York, max: 5 }", "x"), ""},
		{"empty group", grouped("{}", "x"), `v.yaml:4:5: rule "g" group needs interval (fire at most once per interval, after wait) or schedule (a cron digest)`},
		{"wait only", grouped("{ wait: 30s }", "x"), `v.yaml:4:5: rule "g" group needs interval`},
		{"interval 0", grouped("{ interval: 0 }", "x"), `v.yaml:4:24: rule "g" group interval must be a positive duration such as 1h`},
		{"interval negative", grouped("{ interval: -1h }", "x"), `v.yaml:4:24: rule "g" group interval: -1h is negative`},
		{"interval in words", grouped("{ interval: an hour }", "x"), `v.yaml:4:24: rule "g" group interval: "an hour" is not a duration`},
		{"wait over interval", grouped("{ wait: 2h, interval: 1h }", "x"), `v.yaml:4:20: rule "g" group: wait 2h0m0s is longer than interval 1h0m0s`},
		{"max 0", grouped("{ interval: 1h, max: 0 }", "x"), `v.yaml:4:33: rule "g" group max: 0 is out of range [1, 1000]`},
		{"max over the limit", grouped("{ interval: 1h, max: 1001 }", "x"), `v.yaml:4:33: rule "g" group max: 1001 is out of range [1, 1000]`},
		{"group not a mapping", grouped("1h", "x"), `v.yaml:4:12: rule "g" group must be a mapping, not a scalar`},
		{"group unknown key", grouped("{ interval: 1h, group_by: x }", "x"), `v.yaml:4:28: unknown key "group_by" in rule "g" group`},
		{"schedule and interval", grouped("{ schedule: \"@daily\", interval: 1h }", "x"), `v.yaml:4:34: rule "g" group: give wait and interval, or schedule, not both`},
		{"timezone without schedule", grouped("{ interval: 1h, timezone: UTC }", "x"), `v.yaml:4:28: rule "g" group: timezone applies to a schedule only`},
		{"unknown timezone", grouped("{ schedule: \"@daily\", timezone: Mars/Olympus }", "x"), `v.yaml:4:44: rule "g" group timezone "Mars/Olympus" is not a time zone`},
		{"Local timezone", grouped("{ schedule: \"@daily\", timezone: Local }", "x"), `v.yaml:4:44: rule "g" group timezone: name a zone such as Europe/Berlin or UTC, not Local`},
		{"six fields", grouped("{ schedule: \"0 0 9 * * MON\" }", "x"), `v.yaml:4:25: rule "g" group schedule "0 0 9 * * MON": has 6 fields, want 5: minute hour day-of-month month day-of-week`},
		{"bad hour", grouped("{ schedule: \"0 24 * * *\" }", "x"), `v.yaml:4:27: rule "g" group schedule "0 24 * * *": hour (0-23) field "24": end of range (24) above maximum (23)`},
		{"bad day name", grouped("{ schedule: \"0 9 * * MON-FRY\" }", "x"), `v.yaml:4:33: rule "g" group schedule "0 9 * * MON-FRY": day of week (0-6 or SUN-SAT) field "MON-FRY": "FRY" is not a number or a name`},
		{"bad minute step", grouped("{ schedule: \"*/0 * * * *\" }", "x"), `v.yaml:4:25: rule "g" group schedule "*/0 * * * *": minute (0-59) field "*/0": step of range should be a positive number`},
		{"never fires", grouped("{ schedule: \"0 0 30 2 *\" }", "x"), `v.yaml:4:25: rule "g" group schedule "0 0 30 2 *": never fires (no such date)`},
		{"every", grouped("{ schedule: \"@every 1h\" }", "x"), `v.yaml:4:25: rule "g" group schedule "@every 1h": @every is an interval: use wait and interval instead of schedule`},
		{"unknown descriptor", grouped("{ schedule: \"@fortnightly\" }", "x"), `v.yaml:4:25: rule "g" group schedule "@fortnightly": unknown descriptor`},
		{"zone in the schedule", grouped("{ schedule: \"CRON_TZ=UTC 0 9 * * *\" }", "x"), `v.yaml:4:25: rule "g" group schedule "CRON_TZ=UTC 0 9 * * *": give the time zone in timezone:`},
		{"empty schedule", grouped("{ schedule: \"\" }", "x"), `v.yaml:4:25: rule "g" group schedule "": empty`},
		{"event field in a grouped template", grouped("{ interval: 1h }", "{{ .count }} on {{ .data.post.title }}"),
			`v.yaml:6:56: rule "g" action #1 (slack): text: template: .data.post.title is a field of one event, but a grouped rule's templates render the whole firing: write .first.data.post.title, or {{ range .events }}{{ .data.post.title }}{{ end }}`},
		{"$ field in a grouped template", grouped("{ interval: 1h }", "{{ range .events }}{{ $.event }}{{ end }}"),
			`v.yaml:6:59: rule "g" action #1 (slack): text: template: $.event is a field of one event, but a grouped rule's templates render the whole firing: write $.first.event, or {{ range .events }}{{ .event }}{{ end }}`},
		{"typo in a grouped template", grouped("{ interval: 1h }", "{{ .cuont }}"),
			`v.yaml:6:40: rule "g" action #1 (slack): text: template: .cuont is not a name of a grouped rule's templates (.rule .key .count .events .first .last) (did you mean .count?)`},
		{"event field in a grouped rule's blocks", "slack: { token: t }\nrules:\n  - name: g\n    group: { interval: 1h }\n    actions:\n      - slack: { channel: c, text: t, blocks: [ { type: section, text: { type: mrkdwn, text: \"{{ .data.x }}\" } } ] }\n",
			`v.yaml:6:98: rule "g" action #1 (slack): blocks: template: .data.x is a field of one event, but a grouped rule's templates render the whole firing: write .first.data.x`},
		{"event fields inside range", grouped("{ interval: 1h }", "{{ range .events }}{{ .data.x }}{{ end }}{{ with .first }}{{ .id }}{{ end }}"), ""},
		{"group by renders one event", grouped("{ by: \"{{ .data.post.id }}\", interval: 1h }", "x"), ""},
		{"group by with a firing's name", grouped("{ by: \"{{ .count }}\", interval: 1h }", "x"),
			`v.yaml:4:22: rule "g" group: by: template: .count is a name of a grouped rule's actions; this template renders one event (.` + strings.Join(event.Names, " .") + `)`},
		{"group by syntax", grouped("{ by: \"{{ .data.x \", interval: 1h }", "x"), `v.yaml:4:19: rule "g" group: by: template: unclosed action`},
		{"firing's name in a one-event template", "slack: { token: t }\nrules:\n  - name: r\n    actions:\n      - slack: { channel: c, text: \"{{ .events }}\" }\n",
			`v.yaml:5:40: rule "r" action #1 (slack): text: template: .events is a name of a grouped rule's actions; this template renders one event`},
		{"group and throttle", "rules:\n  - name: r\n    group: { interval: 1h }\n    throttle: { per: 1h }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n",
			`v.yaml:4:5: rule "r": throttle and group do not mix`},
		{"throttle on a grouped rule's action", "rules:\n  - name: r\n    group: { interval: 1h }\n    actions:\n      - http: { url: \"https://example.com/\" }\n        throttle: { per: 1h }\n",
			`v.yaml:6:9: rule "r" action #1 (http): the actions of a grouped rule have no throttle`},
		{"throttle", "rules:\n  - name: r\n    throttle: { key: \"{{ .id }}\", per: 1h }\n    actions: [ { http: { url: \"https://example.com/\" }, throttle: { per: 10s } } ]\n", ""},
		{"throttle without per", "rules:\n  - name: r\n    throttle: { key: \"{{ .id }}\" }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n",
			`v.yaml:3:5: rule "r" throttle needs per: the window, such as 1h`},
		{"throttle per 0", "rules:\n  - name: r\n    throttle: { per: 0 }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n",
			`v.yaml:3:22: rule "r" throttle per must be a positive duration such as 1h`},
		{"throttle key with a firing's name", "rules:\n  - name: r\n    throttle: { key: \"{{ .key }}\", per: 1h }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n",
			`v.yaml:3:26: rule "r" throttle: key: template: .key is a name of a grouped rule's actions`},
		{"throttle unknown key", "rules:\n  - name: r\n    throttle: { per: 1h, window: 1h }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n",
			`v.yaml:3:26: unknown key "window" in rule "r" throttle`},
		{"action throttle unknown key", "rules:\n  - name: r\n    actions: [ { http: { url: \"https://example.com/\" }, throttle: { pr: 1h } } ]\n",
			"v.yaml:3:57: rule \"r\" action #1 (http) throttle needs per: the window, such as 1h\nv.yaml:3:69: unknown key \"pr\" in rule \"r\" action #1 (http) throttle (did you mean \"per\"?)"},
		{"rate on an email action", "smtp: { host: h, from: a@example.com }\nrules:\n  - name: r\n    actions:\n      - email: { to: a@example.com, subject: s, text: t }\n        rate: 1/s\n",
			`v.yaml:6:9: rule "r" action #1 (email): rate paces slack and http actions; email is not paced`},
		{"bad action rate", "rules:\n  - name: r\n    actions:\n      - http: { url: \"https://example.com/\" }\n        rate: 0/s\n",
			`v.yaml:5:15: rule "r" action #1 (http): rate "0/s": the count "0" is not a whole number from 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("v.yaml", []byte(tt.src), env(nil))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v\n%s", err, tt.src)
			case tt.want != "" && err == nil:
				t.Fatalf("no error, want %q\n%s", tt.want, tt.src)
			case tt.want != "" && !strings.HasPrefix(err.Error(), tt.want):
				t.Fatalf("err = %v\nwant prefix %q\n%s", err, tt.want, tt.src)
			}
		})
	}
}

// A digest's schedule keeps to the wall clock of its time zone across a
// change of daylight saving time, as robfig/cron computes it. These cases
// pin its behaviour, so an upgrade that changes it is noticed: a fixed
// time fires at that local time on both sides of a change; a time in the
// hour skipped in spring does not fire that day; a time in the hour
// repeated in autumn fires at both of its instants.
func TestScheduleAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, schedule string
		from           string   // UTC
		want           []string // the next firings, UTC
	}{
		{"weekdays at 9 over spring", "0 9 * * MON-FRI", "2024-03-28T12:00:00Z",
			[]string{"2024-03-29T08:00:00Z", "2024-04-01T07:00:00Z", "2024-04-02T07:00:00Z"}},
		{"weekdays at 9 over autumn", "0 9 * * MON-FRI", "2024-10-24T12:00:00Z",
			[]string{"2024-10-25T07:00:00Z", "2024-10-28T08:00:00Z", "2024-10-29T08:00:00Z"}},
		{"02:30 skipped in spring", "30 2 * * *", "2024-03-29T12:00:00Z",
			[]string{"2024-03-30T01:30:00Z", "2024-04-01T00:30:00Z"}},
		{"02:30 twice in autumn", "30 2 * * *", "2024-10-26T12:00:00Z",
			[]string{"2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z", "2024-10-28T01:30:00Z"}},
		{"hourly over autumn: every hour of real time", "0 * * * *", "2024-10-26T23:30:00Z",
			[]string{"2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z", "2024-10-27T02:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "rules:\n  - name: d\n    group: { schedule: \"" + tt.schedule + "\", timezone: Europe/Berlin }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
			f, err := Parse("d.yaml", []byte(src), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			g := f.Rules[0].Group
			if g.Location.String() != berlin.String() {
				t.Fatalf("location %s", g.Location)
			}
			at := utc(tt.from)
			for i, w := range tt.want {
				at = g.Cron.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("firing %d: %s (%s in Berlin), want %s", i+1, at.UTC().Format(time.RFC3339), at.In(berlin).Format("Mon 15:04 MST"), w)
				}
			}
		})
	}
}

// The zone database is built into the binary, so that a timezone: loads
// on a host without one. (This host has one, so loading a zone here would
// prove nothing: the test checks what the binary links instead.)
func TestBinaryHasZoneDatabase(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's packages")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/switchyard/switchyard/cmd/switchyard").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if !slices.Contains(strings.Fields(string(out)), "time/tzdata") {
		t.Error("switchyard does not link time/tzdata: a group's timezone: would depend on the host's zoneinfo")
	}
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		name, by string
		ev       *event.Event
		want     string
		err      bool
	}{
		{"number", "{{ .data.post.id }}", vote("v", float64(99)), "99", false},
		{"trimmed", "|\n        {{ .data.post.id }}\n", vote("v", "a b"), "a b", false},
		{"several fields", "{{ .source }}/{{ .data.post.id }}", vote("v", "x"), "productlift/x", false},
		{"missing field", "{{ .data.nope.id }}", vote("v", 1), "", false},
		{"literal", "everything", vote("v", 1), "everything", false},
		{"run-time error", "{{ .data.post.title.x }}", vote("v", 1), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			by := tt.by
			if !strings.HasPrefix(by, "|") {
				by = "'" + by + "'"
			}
			src := "rules:\n  - name: g\n    group:\n      interval: 1h\n      by: " + by + "\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
			f, err := Parse("k.yaml", []byte(src), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Rules[0].Group.KeyOf(tt.ev)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("KeyOf = %q, %v; want %q, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// DataFor is what a dry run renders a rule's actions with: a grouped rule's
// as a firing of the one event.
func TestDataFor(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "good", "noise.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ev := vote("v1", float64(99))
	text := func(r *Rule) string {
		t.Helper()
		data, err := r.DataFor(ev)
		if err != nil {
			t.Fatal(err)
		}
		out, err := actions.MustTemplate("text", r.Actions[0].Slack.Text, actions.SlackEscape).Execute(data)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := "1 new votes on Dark mode (votes-per-post, post 99)\n• Eve at 07:08\nlatest: v1\n"
	if got := text(f.Rules[0]); got != want {
		t.Errorf("grouped rule renders\n%q\nwant\n%q", got, want)
	}
	if got := text(f.Rules[3]); got != "new post Dark mode" {
		t.Errorf("ungrouped rule renders %q", got)
	}

	bad := "rules:\n  - name: g\n    group: { by: \"{{ .data.post.title.x }}\", interval: 1h }\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
	fb, err := Parse("b.yaml", []byte(bad), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Rules[0].DataFor(ev); err == nil || !strings.Contains(err.Error(), `rule "g" group by:`) {
		t.Errorf("DataFor with a failing key: %v", err)
	}
	var list ErrorList
	if errors.As(err, &list) {
		t.Errorf("a run-time error is not a load error")
	}
}
