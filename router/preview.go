package router

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/rules"
)

// A preview runs a candidate rules file against the events really
// received, beside the rules in force, and shows per rule what would change
// before anyone sends kill -HUP. It sends and stores nothing.

// The preview's bounds: it reads at most previewMaxEvents stored events
// (previewDefaultEvents unless asked), for at most previewMaxTime.
const (
	previewDefaultEvents = 1000
	previewMaxEvents     = 10000
	previewMaxTime       = 10 * time.Second
	previewSamples       = 5 // events shown per rule that would newly match or stop matching
	previewErrorSamples  = 3
)

// PreviewRequest is a candidate rules file and the window of stored events
// to run it against: the last Last events (default 1000, at most 10,000),
// or those received since Since, whichever is fewer.
type PreviewRequest struct {
	// Name is the candidate's file name, for error positions. It is read as
	// if it sat beside the rules file in force (for *_file paths).
	Name  string `json:"name"`
	Rules string `json:"rules"`
	// Since and Last bound the window.
	Since string `json:"since,omitempty"` // a duration back from now, or an RFC 3339 time
	Last  int    `json:"last,omitempty"`
}

// Preview is the answer: the window read and the verdict rule by rule.
type Preview struct {
	Window ScanResult `json:"window"`
	// Bounds is what a preview reads at most.
	Bounds struct {
		Events int `json:"events"`
		MS     int `json:"ms"`
	} `json:"bounds"`
	// Unreadable counts events the candidate's sources could not
	// normalize, or that no longer have a source in it.
	Unreadable int           `json:"unreadable"`
	Rules      []RulePreview `json:"rules"`
}

// RulePreview is one rule's matches under the rules in force and under the
// candidate.
type RulePreview struct {
	Name string `json:"name"`
	// Change is added, removed or kept (the rule's name is in both files).
	Change           string `json:"change"`
	MatchesNow       int    `json:"matches_now"`
	MatchesCandidate int    `json:"matches_candidate"`
	// Newly and NoLonger count the events that would newly match and
	// those that would stop matching; the lists hold the first few.
	Newly            int        `json:"newly"`
	NoLonger         int        `json:"no_longer"`
	NewlyMatching    []EventRef `json:"newly_matching,omitempty"`
	NoLongerMatching []EventRef `json:"no_longer_matching,omitempty"`
	// Errors counts the candidate's condition failing at run time.
	Errors       int      `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Example is the first event the candidate's rule matches, and Actions
	// its actions rendered for it, secrets shown as ${VAR}.
	Example *EventRef      `json:"example,omitempty"`
	Actions []ActionResult `json:"actions,omitempty"`
}

// EventRef names a stored event.
type EventRef struct {
	Source   string    `json:"source"`
	Event    string    `json:"event"`
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
}

// previewError is a request that cannot be previewed: a candidate file
// that does not load, or a window that makes no sense.
type previewError struct{ err error }

func (e previewError) Error() string { return e.err.Error() }
func (e previewError) Unwrap() error { return e.err }

// Preview loads the candidate exactly as a reload would and runs it, and
// the rules in force, against the stored events of the window. An error
// from loading the candidate is a previewError, positioned as check
// positions it.
func (r *Router) Preview(ctx context.Context, p PreviewRequest) (*Preview, error) {
	name := filepath.Base(cmp.Or(p.Name, "candidate.yaml"))
	f, err := rules.Parse(filepath.Join(filepath.Dir(r.opts.RulesPath), name), []byte(p.Rules), r.opts.Getenv)
	if err != nil {
		return nil, previewError{err}
	}
	cand, err := Build(f, r.buildOptions())
	if err != nil {
		return nil, previewError{err}
	}
	cur := r.cur.Load()
	b := scanBounds{last: p.Last, time: previewMaxTime}
	if b.last <= 0 {
		b.last = previewDefaultEvents
	}
	b.last = min(b.last, previewMaxEvents)
	if p.Since != "" {
		if b.since, err = parseTime(p.Since, r.opts.Now()); err != nil {
			return nil, previewError{fmt.Errorf("since: %w", err)}
		}
	}

	out := &Preview{}
	out.Bounds.Events, out.Bounds.MS = previewMaxEvents, int(previewMaxTime.Milliseconds())
	byName := map[string]*RulePreview{}
	for _, rl := range cand.File.Rules {
		change := "added"
		if _, ok := cur.rules[rl.Name]; ok {
			change = "kept"
		}
		out.Rules = append(out.Rules, RulePreview{Name: rl.Name, Change: change})
	}
	for _, rl := range cur.File.Rules {
		if _, ok := cand.rules[rl.Name]; !ok {
			out.Rules = append(out.Rules, RulePreview{Name: rl.Name, Change: "removed"})
		}
	}
	for i := range out.Rules {
		byName[out.Rules[i].Name] = &out.Rules[i]
	}
	out.Window, err = r.scanStored(ctx, b, func(m *storedMsg) {
		nowEv, nowErr := normalizeStored(cur, m.Header, m.Body)
		candEv, candErr := normalizeStored(cand, m.Header, m.Body)
		if candErr != nil {
			out.Unreadable++
		}
		now, then := matchOf(cur, &nowEv, nowErr), matchOf(cand, &candEv, candErr)
		ref := EventRef{Source: m.Header.Get(hdrSource), Event: m.Header.Get(hdrEvent), ID: m.Header.Get(hdrID), Received: m.Received}
		for _, name := range now.names {
			rp := byName[name]
			rp.MatchesNow++
			if !slices.Contains(then.names, name) {
				rp.NoLonger++
				if len(rp.NoLongerMatching) < previewSamples {
					rp.NoLongerMatching = append(rp.NoLongerMatching, ref)
				}
			}
		}
		for _, name := range then.names {
			rp := byName[name]
			rp.MatchesCandidate++
			if !slices.Contains(now.names, name) {
				rp.Newly++
				if len(rp.NewlyMatching) < previewSamples {
					rp.NewlyMatching = append(rp.NewlyMatching, ref)
				}
			}
			if rp.Example == nil {
				rp.Example = &ref
				rp.Actions = cand.render(name, &candEv)
			}
		}
		for _, e := range then.errs {
			rp := byName[e.Rule.Name]
			rp.Errors++
			if len(rp.ErrorSamples) < previewErrorSamples {
				rp.ErrorSamples = append(rp.ErrorSamples, cand.Redact(e.Err.Error()))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// matches is what a config's rules made of one stored event.
type matches struct {
	names []string
	errs  []rules.EvalError
}

// matchOf matches ev, as cfg normalized it (with err), against cfg's
// rules. An event cfg could not normalize matches nothing.
func matchOf(cfg *Config, ev *event.Event, err error) matches {
	if err != nil {
		return matches{}
	}
	matched, errs := cfg.File.Set.Match(ev)
	out := matches{errs: errs}
	for _, rl := range matched {
		out.names = append(out.names, rl.Name)
	}
	return out
}
