package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/switchyard/switchyard/router"
)

// The commands that operate a running serve through its admin listener:
// preview a rules file, mute rules, replay stored events.

const previewUsage = `usage: switchyard preview [flags] RULES.yaml
Runs RULES.yaml, beside the rules in force, against the events the running
router stored, and shows rule by rule what would change: matches now and
under the file, events that would newly match or stop matching, conditions
that fail, and each rule's actions rendered for an event it matches. The
router loads the file as a reload would, and sends and stores nothing.
Exits 1 when the file does not load. Reads at most 10,000 events for at
most 10 s (the last 1,000 unless --last or --since says otherwise).
`

func previewCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("preview", previewUsage, stdout, stderr)
	client := adminFlags(c)
	since := c.String("since", "", "the events received since this RFC 3339 time or duration ago (24h)")
	last := c.Int("last", 0, "the last N events (default 1000; with --since, the last N of those)")
	asJSON := c.Bool("json", false, "print the API's JSON answer")
	rest, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.fail("name one rules file")
	}
	data, err := os.ReadFile(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "switchyard preview:", err)
		return 1
	}
	req := router.PreviewRequest{Name: filepath.Base(rest[0]), Rules: string(data), Since: *since, Last: *last}
	var p router.Preview
	err = client().do(ctx, http.MethodPost, "/api/preview", req, &p)
	var refused *apiError
	if errors.As(err, &refused) && refused.Code == http.StatusUnprocessableEntity {
		fmt.Fprintf(stderr, "%s does not load; the rules in force are untouched:\n%s\n", rest[0], refused.Msg)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchyard preview:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, p)
	}
	printPreview(stdout, &p)
	return 0
}

func printPreview(w io.Writer, p *router.Preview) {
	fmt.Fprintf(w, "%d stored events read in %d ms", p.Window.Scanned, p.Window.TookMS)
	if p.Window.Partial {
		fmt.Fprintf(w, "; older events of the window were not read (at most %d events, %d ms)", p.Bounds.Events, p.Bounds.MS)
	}
	if p.Unreadable > 0 {
		fmt.Fprintf(w, "; %d the file's sources cannot read", p.Unreadable)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRULE\tCHANGE\tMATCHES NOW\tWITH THE FILE\tNEWLY\tNO LONGER\tERRORS")
	for _, r := range p.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", r.Name, r.Change, r.MatchesNow, r.MatchesCandidate, r.Newly, r.NoLonger, r.Errors)
	}
	_ = tw.Flush()
	for _, r := range p.Rules {
		if r.Newly == 0 && r.NoLonger == 0 && r.Errors == 0 && r.Example == nil {
			continue
		}
		fmt.Fprintf(w, "\nrule %s (%s)\n", r.Name, r.Change)
		printRefs(w, "would newly match", r.Newly, r.NewlyMatching)
		printRefs(w, "would stop matching", r.NoLonger, r.NoLongerMatching)
		for _, e := range r.ErrorSamples {
			fmt.Fprintf(w, "  condition failed: %s\n", oneLine(e, 200))
		}
		if r.Example != nil {
			fmt.Fprintf(w, "  for %s %s/%s:\n", r.Example.Event, r.Example.Source, r.Example.ID)
			for i, a := range r.Actions {
				if a.Error != "" {
					fmt.Fprintf(w, "    action %d (%s): cannot render: %s\n", i+1, a.Kind, a.Error)
					continue
				}
				fmt.Fprintf(w, "    action %d (%s) -> %s\n", i+1, a.Kind, a.Rendered.Target)
				for k, v := range a.Rendered.Fields {
					fmt.Fprintf(w, "      %s: %s\n", k, oneLine(v, 200))
				}
			}
		}
	}
}

func printRefs(w io.Writer, what string, n int, refs []router.EventRef) {
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "  %d %s", n, what)
	if n > len(refs) {
		fmt.Fprintf(w, " (the first %d)", len(refs))
	}
	fmt.Fprintln(w, ":")
	for _, e := range refs {
		fmt.Fprintf(w, "    %s %s/%s received %s\n", e.Event, e.Source, e.ID, e.Received.Format(time.RFC3339))
	}
}

const muteUsage = `usage: switchyard mute add|list|expire [flags] [ID...]
  add --rule R --for 2h --comment TEXT [--when COND]
                 hold back rule R's firings (those whose event COND holds
                 for, if given) for a while: at most 30 days
  list           the mutes in force
  expire ID...   end these mutes now
Mutes are kept in the store: every replica honours them, and each ends by
itself. Talks to a running serve's admin listener.
`

func muteCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("mute", muteUsage, stdout, stderr)
	client := adminFlags(c)
	rule := c.String("rule", "", "add: the rule to mute")
	dur := c.Duration("for", 0, "add: how long the mute lasts (2h)")
	comment := c.String("comment", "", "add: why (required)")
	when := c.String("when", "", "add: mute only the firings whose event this condition holds for, written as a rule's when")
	asJSON := c.Bool("json", false, "print the API's JSON answer")
	rest, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.fail("name a verb: add, list or expire")
	}
	verb, ids := rest[0], rest[1:]
	api := client()
	switch verb {
	case "add":
		if len(ids) > 0 {
			return c.fail("add takes no ID")
		}
		if *rule == "" || *dur == 0 || *comment == "" {
			return c.fail("add needs --rule, --for and --comment")
		}
		var m router.Mute
		req := router.MuteRequest{Rule: *rule, When: *when, Comment: *comment, For: dur.String()}
		if err := api.do(ctx, http.MethodPost, "/api/mutes", req, &m); err != nil {
			fmt.Fprintln(stderr, "switchyard mute:", err)
			return 1
		}
		if *asJSON {
			return printJSON(stdout, m)
		}
		fmt.Fprintf(stdout, "muted %s until %s (mute %s)\n", m.Rule, m.Ends.Local().Format(time.RFC3339), m.ID)
	case "list":
		var res struct{ Mutes []router.Mute }
		if err := api.do(ctx, http.MethodGet, "/api/mutes", nil, &res); err != nil {
			fmt.Fprintln(stderr, "switchyard mute:", err)
			return 1
		}
		if *asJSON {
			return printJSON(stdout, res)
		}
		if len(res.Mutes) == 0 {
			fmt.Fprintln(stdout, "No mutes in force: every rule fires.")
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRULE\tENDS\tWHEN\tCOMMENT")
		for _, m := range res.Mutes {
			fmt.Fprintf(tw, "%s\t%s\t%s (in %s)\t%s\t%s\n", m.ID, m.Rule, m.Ends.Local().Format(time.RFC3339),
				time.Until(m.Ends).Round(time.Second), firstNonEmpty(m.When, "every firing"), oneLine(m.Comment, 80))
		}
		_ = tw.Flush()
	case "expire":
		if len(ids) == 0 {
			return c.fail("expire needs the IDs of the mutes to end (mute list shows them)")
		}
		failed := false
		for _, id := range ids {
			if err := api.do(ctx, http.MethodDelete, "/api/mutes/"+url.PathEscape(id), nil, nil); err != nil {
				fmt.Fprintf(stderr, "switchyard mute: %s: %v\n", id, err)
				failed = true
				continue
			}
			fmt.Fprintln(stdout, "expired:", id)
		}
		if failed {
			return 1
		}
	default:
		return c.fail("unknown verb %q: add, list or expire", verb)
	}
	return 0
}

const eventsUsage = `usage: switchyard events replay --since 1h [--rule R] [flags]
Runs the events the router stored since then through the rules in force
(only rule R's, if given) and makes the deliveries that were not made: the
recovery from a store that lost jobs, or from a rule that was missing or
wrong. Deliveries the delivery log shows made, and those waiting or parked
as dead letters, are not made again.
`

func eventsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("events", eventsUsage, stdout, stderr)
	client := adminFlags(c)
	since := c.String("since", "", "replay the events received since this RFC 3339 time or duration ago (required)")
	rule := c.String("rule", "", "only this rule's deliveries")
	asJSON := c.Bool("json", false, "print the API's JSON answer")
	rest, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(rest) != 1 || rest[0] != "replay" {
		return c.fail("the one verb is replay")
	}
	if *since == "" {
		return c.fail("replay needs --since")
	}
	q := url.Values{"since": {*since}}
	if *rule != "" {
		q.Set("rule", *rule)
	}
	var res router.ReplayResult
	if err := client().do(ctx, http.MethodPost, "/api/events/replay?"+q.Encode(), nil, &res); err != nil {
		fmt.Fprintln(stderr, "switchyard events:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%d stored events read; %d deliveries planned: %d made already, %d waiting or parked, %d stored to be made now\n",
		res.Scanned, res.Planned, res.AlreadyDelivered, res.Pending, res.Stored)
	if res.Partial {
		fmt.Fprintln(stdout, "older events of the window were not read: run again with an earlier --since after these are made")
	}
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return 0
}
