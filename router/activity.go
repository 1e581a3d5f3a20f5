package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/queue"
)

// Rule activity: per rule in force, how many events it matched and how
// many deliveries it made (delivered, failed for good) in each hour of the
// last few, counted from the log stream's match and delivery records. The
// dashboard draws it as a small chart per rule.

const (
	defaultActivityHours = 24
	maxActivityHours     = 7 * 24
	// activitySkew is how far past the window's start the scan still
	// reads: records of several replicas (or of one, written a moment
	// apart) are not in strict time order, so the first record older than
	// the start does not prove every later one is.
	activitySkew = time.Minute
)

// RuleActivity is one rule's hourly counts, oldest hour first.
type RuleActivity struct {
	Rule      string `json:"rule"`
	Matches   []int  `json:"matches"`
	Delivered []int  `json:"delivered"`
	Failed    []int  `json:"failed"` // dead: failed for good
	Totals    struct {
		Matches   int `json:"matches"`
		Delivered int `json:"delivered"`
		Failed    int `json:"failed"`
	} `json:"totals"`
}

// Activity is the answer of GET /api/rules/activity.
type Activity struct {
	// Start is the start of the first hour (on the hour, UTC); bucket i
	// covers [Start+i h, Start+(i+1) h). The last one holds Now.
	Start time.Time `json:"start"`
	Hours int       `json:"hours"`
	Now   time.Time `json:"now"`
	// Partial says the scan stopped at queue.MaxScan records before it
	// reached Start: the counts cover only the records since Oldest.
	Partial bool           `json:"partial"`
	Oldest  time.Time      `json:"oldest,omitzero"`
	Rules   []RuleActivity `json:"rules"`
}

// RuleActivity counts the match and delivery records of the last hours
// hours (the current one included) for each rule in force, in file order.
func (r *Router) RuleActivity(ctx context.Context, hours int) (*Activity, error) {
	now := r.opts.Now().UTC()
	start := now.Truncate(time.Hour).Add(-time.Duration(hours-1) * time.Hour)
	end := start.Add(time.Duration(hours) * time.Hour)
	a := &Activity{Start: start, Hours: hours, Now: now, Rules: []RuleActivity{}}
	byName := map[string]*RuleActivity{}
	for _, rl := range r.Config().File.Rules {
		a.Rules = append(a.Rules, RuleActivity{Rule: rl.Name,
			Matches: make([]int, hours), Delivered: make([]int, hours), Failed: make([]int, hours)})
	}
	for i := range a.Rules {
		byName[a.Rules[i].Rule] = &a.Rules[i]
	}
	bucket := func(at time.Time) int {
		if at.Before(start) || !at.Before(end) {
			return -1
		}
		return int(at.Sub(start) / time.Hour)
	}
	var oldest time.Time
	reachedStart := false
	next, err := r.q.Scan(ctx, queue.LogStream, 0, func(m *jetstream.RawStreamMsg) bool {
		var at time.Time
		switch {
		case strings.HasPrefix(m.Subject, matchSubject+"."):
			var rec EventRecord
			if json.Unmarshal(m.Data, &rec) != nil {
				return true
			}
			at = rec.At
			if b := bucket(at); b >= 0 {
				for _, name := range rec.Rules {
					if ra := byName[name]; ra != nil {
						ra.Matches[b]++
						ra.Totals.Matches++
					}
				}
			}
		case strings.HasPrefix(m.Subject, deliverySubject+"."):
			var d DeliveryRecord
			if json.Unmarshal(m.Data, &d) != nil {
				return true
			}
			at = d.At
			ra, b := byName[d.Rule], bucket(at)
			if ra == nil || b < 0 {
				break
			}
			switch d.Outcome {
			case "delivered":
				ra.Delivered[b]++
				ra.Totals.Delivered++
			case "dead":
				ra.Failed[b]++
				ra.Totals.Failed++
			}
		default:
			return true
		}
		oldest = at
		if at.Before(start.Add(-activitySkew)) {
			reachedStart = true
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	// Scan returns 0 at the stream's start, and a sequence to go on from
	// when it stopped: because the window was read, or at MaxScan.
	if next != 0 && !reachedStart {
		a.Partial, a.Oldest = true, oldest
	}
	return a, nil
}

func (r *Router) apiRuleActivity(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	hours := defaultActivityHours
	if v := req.URL.Query().Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxActivityHours {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("hours: want a whole number from 1 to %d, got %q", maxActivityHours, v))
			return
		}
		hours = n
	}
	a, err := r.RuleActivity(req.Context(), hours)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the store did not answer: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, a)
}
