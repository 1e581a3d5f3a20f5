package router

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/rules"
)

// The admin API: what happened to events and deliveries, dead letters and
// their replay, the rules in force, and the dry run. The dashboard and the
// dead-letters CLI read it.

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func (r *Router) apiRoutes(mux *httprouter.Router) {
	mux.GET("/api/events", r.apiEvents)
	mux.GET("/api/events/:seq", r.apiEvent)
	mux.POST("/api/events/replay", r.apiReplayEvents)
	mux.GET("/api/deliveries", r.apiDeliveries)
	mux.GET("/api/dead-letters", r.apiDeadLetters)
	mux.GET("/api/dead-letters/:seq", r.apiDeadLetter)
	mux.POST("/api/dead-letters/:seq", r.apiReplayAll) // only /replay: see below
	mux.POST("/api/dead-letters/:seq/replay", r.apiReplayOne)
	mux.DELETE("/api/dead-letters/:seq", r.apiDropOne)
	mux.DELETE("/api/dead-letters", r.apiDropAll)
	mux.GET("/api/rules", r.apiRules)
	mux.GET("/api/rules/activity", r.apiRuleActivity) // activity.go
	mux.POST("/api/test", r.apiTest)
	mux.POST("/api/preview", r.apiPreview)
	mux.GET("/api/mutes", r.apiMutes)
	mux.POST("/api/mutes", r.apiAddMute)
	mux.DELETE("/api/mutes/:id", r.apiExpireMute)
	mux.GET("/api/groups", r.apiGroups) // groups_api.go
}

// filter holds the query parameters the list endpoints share.
type filter struct {
	source, event, rule, kind, outcome, eventKey string
	since, until                                 time.Time
	limit                                        int
	before                                       uint64
}

func parseFilter(q url.Values, now time.Time) (filter, error) {
	f := filter{
		source: q.Get("source"), event: q.Get("event"), rule: q.Get("rule"), kind: q.Get("kind"),
		outcome: q.Get("outcome"), eventKey: q.Get("event_key"), limit: defaultLimit,
	}
	var err error
	if f.since, err = parseTime(q.Get("since"), now); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.until, err = parseTime(q.Get("until"), now); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, fmt.Errorf("limit: want a positive number, got %q", v)
		}
		f.limit = min(n, maxLimit)
	}
	if v := q.Get("before"); v != "" {
		if f.before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return f, fmt.Errorf("before: want a sequence number, got %q", v)
		}
	}
	return f, nil
}

// parseTime reads an RFC 3339 time or a duration back from now ("1h").
func parseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time or a duration such as 1h, got %q", v)
	}
	return t, nil
}

func (f filter) inTime(t time.Time) bool {
	return (f.since.IsZero() || !t.Before(f.since)) && (f.until.IsZero() || !t.After(f.until))
}

func (r *Router) apiEvents(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	f, err := parseFilter(req.URL.Query(), r.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []EventRecord{}
	next, err := r.q.Scan(req.Context(), queue.LogStream, f.before, func(m *jetstream.RawStreamMsg) bool {
		if !strings.HasPrefix(m.Subject, matchSubject+".") {
			return true
		}
		var rec EventRecord
		if json.Unmarshal(m.Data, &rec) != nil {
			return true
		}
		if (f.source != "" && rec.Source != f.source) || (f.event != "" && rec.Event != f.event) ||
			(f.rule != "" && !contains(rec.Rules, f.rule)) || !f.inTime(rec.At) {
			return true
		}
		rec.Seq, rec.Full = m.Sequence, nil
		out = append(out, rec)
		return len(out) < f.limit
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_before": next})
}

// apiReplayEvents runs the events received since ?since= through the rules
// in force (?rule= only that rule): see ReplayEvents.
func (r *Router) apiReplayEvents(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	q := req.URL.Query()
	if q.Get("since") == "" {
		writeError(w, http.StatusBadRequest, "since is required: a duration such as 1h or an RFC 3339 time")
		return
	}
	since, err := parseTime(q.Get("since"), r.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	res, err := r.ReplayEvents(req.Context(), since, q.Get("rule"))
	switch {
	case errors.Is(err, errNoRule):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func seqParam(ps httprouter.Params) (uint64, error) {
	seq, err := strconv.ParseUint(ps.ByName("seq"), 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("%q is not a sequence number", ps.ByName("seq"))
	}
	return seq, nil
}

func (r *Router) apiEvent(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	seq, err := seqParam(ps)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, err := r.q.Get(req.Context(), queue.LogStream, seq)
	if err != nil || !strings.HasPrefix(m.Subject, matchSubject+".") {
		writeError(w, http.StatusNotFound, "no such event")
		return
	}
	var rec EventRecord
	if err := json.Unmarshal(m.Data, &rec); err != nil {
		writeError(w, http.StatusInternalServerError, "unreadable event record")
		return
	}
	rec.Seq = seq
	full := rec.Full
	rec.Full = nil
	if full == nil && rec.EventSeq > 0 {
		full = r.storedEvent(req.Context(), &rec)
	}
	// Deliveries come after the match record: read forward from it.
	deliveries := []DeliveryRecord{}
	s, err := r.q.Stream(req.Context(), queue.LogStream)
	if err == nil {
		for n, next := 0, seq+1; n < queue.MaxScan; n++ {
			dm, err := s.GetMsg(req.Context(), next, jetstream.WithGetMsgSubject(deliverySubject+".>"))
			if err != nil {
				break
			}
			next = dm.Sequence + 1
			var d DeliveryRecord
			if json.Unmarshal(dm.Data, &d) == nil && d.EventKey == rec.Key {
				d.Seq = dm.Sequence
				deliveries = append(deliveries, d)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"record": rec, "event": full, "deliveries": deliveries})
}

// storedEvent normalizes again, with the source in force, the stored event
// a match record is about; nil if it is no longer stored or its source no
// longer configured.
func (r *Router) storedEvent(ctx context.Context, rec *EventRecord) *event.Event {
	m, err := r.q.Get(ctx, queue.EventsStream, rec.EventSeq)
	if err != nil || m.Header.Get(hdrSource) != rec.Source || m.Header.Get(hdrID) != rec.ID {
		return nil
	}
	ev, err := normalizeStored(r.cur.Load(), m.Header, m.Data)
	if err != nil {
		return nil
	}
	return &ev
}

func (r *Router) apiDeliveries(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	f, err := parseFilter(req.URL.Query(), r.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []DeliveryRecord{}
	next, err := r.q.Scan(req.Context(), queue.LogStream, f.before, func(m *jetstream.RawStreamMsg) bool {
		if !strings.HasPrefix(m.Subject, deliverySubject+".") {
			return true
		}
		var d DeliveryRecord
		if json.Unmarshal(m.Data, &d) != nil {
			return true
		}
		if (f.source != "" && d.Source != f.source) || (f.event != "" && d.Event != f.event) ||
			(f.rule != "" && d.Rule != f.rule) || (f.kind != "" && d.Kind != f.kind) ||
			(f.outcome != "" && d.Outcome != f.outcome) || (f.eventKey != "" && d.EventKey != f.eventKey) ||
			!f.inTime(d.At) {
			return true
		}
		d.Seq = m.Sequence
		out = append(out, d)
		return len(out) < f.limit
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out, "next_before": next})
}

// DeadLetterRecord is a stored dead letter with its id.
type DeadLetterRecord struct {
	Seq uint64 `json:"seq"`
	DeadLetter
}

func (f filter) keepDead(d *DeadLetter) bool {
	return (f.rule == "" || d.Job.Rule == f.rule) && (f.kind == "" || d.Job.Kind == f.kind) &&
		(f.source == "" || d.Job.Event.Source == f.source) && (f.event == "" || d.Job.Event.Event == f.event) &&
		f.inTime(d.At)
}

func (r *Router) deadLetters(ctx context.Context, f filter) ([]DeadLetterRecord, uint64, error) {
	out := []DeadLetterRecord{}
	next, err := r.q.Scan(ctx, queue.DeadStream, f.before, func(m *jetstream.RawStreamMsg) bool {
		var d DeadLetter
		if json.Unmarshal(m.Data, &d) != nil || !f.keepDead(&d) {
			return true
		}
		out = append(out, DeadLetterRecord{Seq: m.Sequence, DeadLetter: d})
		return len(out) < f.limit
	})
	return out, next, err
}

func (r *Router) apiDeadLetters(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	f, err := parseFilter(req.URL.Query(), r.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, next, err := r.deadLetters(req.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out, "next_before": next})
}

func (r *Router) deadLetter(ctx context.Context, seq uint64) (*DeadLetterRecord, error) {
	m, err := r.q.Get(ctx, queue.DeadStream, seq)
	if err != nil {
		return nil, err
	}
	var d DeadLetter
	if err := json.Unmarshal(m.Data, &d); err != nil {
		return nil, fmt.Errorf("unreadable dead letter %d: %w", seq, err)
	}
	return &DeadLetterRecord{Seq: seq, DeadLetter: d}, nil
}

func (r *Router) apiDeadLetter(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	seq, err := seqParam(ps)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := r.deadLetter(req.Context(), seq)
	if errors.Is(err, queue.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such dead letter")
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// Replay puts a dead letter's job back on the queue with a fresh attempt
// count, under the rules in force now, then removes the dead letter. A
// replay that fails is still a dead letter.
func (r *Router) Replay(ctx context.Context, seq uint64) error {
	d, err := r.deadLetter(ctx, seq)
	if err != nil {
		return err
	}
	j := d.Job
	if j.Kind == "" || j.Rule == "" {
		return fmt.Errorf("dead letter %d holds no job that can be replayed", seq)
	}
	// A replay is a new job: its own id, so that the dedup window does not
	// swallow it, and replaying the same dead letter twice stores it once.
	jm, err := jobMsg(&j, jobState{base: fmt.Sprintf("%s/replay/%d", j.ID, seq)})
	if err != nil {
		return err
	}
	if _, err := r.q.Publish(ctx, jm.Subject, jm.ID, jm.Header, jm.Data); err != nil {
		return err
	}
	if err := r.q.Delete(ctx, queue.DeadStream, seq); err != nil && !errors.Is(err, queue.ErrNotFound) {
		return err
	}
	r.log.Info("dead letter replayed", "seq", seq, "rule", j.Rule, "action", j.Kind, "id", j.Event.ID)
	return nil
}

type bulkFailure struct {
	Seq   uint64 `json:"seq"`
	Error string `json:"error"`
}

func (r *Router) apiReplayOne(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	seq, err := seqParam(ps)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := r.Replay(req.Context(), seq); err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such dead letter")
			return
		}
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": []uint64{seq}, "failed": []bulkFailure{}})
}

// apiReplayAll serves POST /api/dead-letters/replay (httprouter sees
// "replay" as the :seq of the sibling route).
func (r *Router) apiReplayAll(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	if ps.ByName("seq") != "replay" {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	r.bulk(w, req, r.Replay, true)
}

func (r *Router) apiDropOne(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	seq, err := seqParam(ps)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := r.q.Delete(req.Context(), queue.DeadStream, seq); err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such dead letter")
			return
		}
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	r.log.Info("dead letter dropped", "seq", seq)
	writeJSON(w, http.StatusOK, map[string]any{"dropped": []uint64{seq}, "failed": []bulkFailure{}})
}

func (r *Router) apiDropAll(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	r.bulk(w, req, func(ctx context.Context, seq uint64) error {
		err := r.q.Delete(ctx, queue.DeadStream, seq)
		if err == nil {
			r.log.Info("dead letter dropped", "seq", seq)
		}
		return err
	}, false)
}

// bulk applies op to every dead letter that the query's filter selects.
// A filter is required: an empty one would select everything by accident.
func (r *Router) bulk(w http.ResponseWriter, req *http.Request, op func(context.Context, uint64) error, replay bool) {
	q := req.URL.Query()
	f, err := parseFilter(q, r.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.rule == "" && f.kind == "" && f.source == "" && f.event == "" && f.since.IsZero() && f.until.IsZero() && q.Get("all") != "true" {
		writeError(w, http.StatusBadRequest, "give a filter (rule, kind, source, event, since, until) or all=true")
		return
	}
	f.limit = maxLimit
	list, _, err := r.deadLetters(req.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	done, failed := []uint64{}, []bulkFailure{}
	for _, d := range list {
		if err := op(req.Context(), d.Seq); err != nil {
			failed = append(failed, bulkFailure{Seq: d.Seq, Error: err.Error()})
			continue
		}
		done = append(done, d.Seq)
	}
	key := "dropped"
	if replay {
		key = "replayed"
	}
	writeJSON(w, http.StatusOK, map[string]any{key: done, "failed": failed})
}

type ruleInfo struct {
	Name    string       `json:"name"`
	Sources []string     `json:"sources"`
	When    string       `json:"when"`
	Actions []actionInfo `json:"actions"`
	Matches int64        `json:"matches"`
	Errors  int64        `json:"errors"`
}

type actionInfo struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

type sourceInfo struct {
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	URLPath string `json:"url_path"`
}

func (r *Router) apiRules(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	cfg := r.Config()
	srcs := []sourceInfo{}
	for _, s := range cfg.File.Sources {
		srcs = append(srcs, sourceInfo{Name: s.Name, Vendor: s.Vendor, URLPath: "/hooks/" + s.Name})
	}
	rs := []ruleInfo{}
	for _, rl := range cfg.File.Rules {
		ri := ruleInfo{Name: rl.Name, Sources: rl.Sources, When: cfg.Redact(rl.When), Actions: []actionInfo{}}
		if ri.Sources == nil {
			ri.Sources = []string{}
		}
		for _, a := range rl.Actions {
			ri.Actions = append(ri.Actions, actionInfo{Kind: a.Kind, Target: cfg.Redact(target(a.Kind, a.Slack, a.HTTP, a.Email))})
		}
		c := r.counts(rl.Name)
		ri.Matches, ri.Errors = c.matches.Load(), c.errors.Load()
		rs = append(rs, ri)
	}
	loaded, _ := r.loadedAt.Load().(time.Time)
	writeJSON(w, http.StatusOK, map[string]any{
		"path": cfg.File.Path, "hash": cfg.File.Hash, "loaded_at": loaded,
		"last_reload": r.lastReload.Load(), "sources": srcs, "rules": rs,
	})
}

// maxTestBody bounds POST /api/test.
const maxTestBody = 4 << 20

type testRequest struct {
	Source  string            `json:"source"`
	Headers map[string]string `json:"headers"`
	Query   string            `json:"query"`
	Payload json.RawMessage   `json:"payload"`
}

func (r *Router) apiTest(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var t testRequest
	dec := json.NewDecoder(io.LimitReader(req.Body, maxTestBody))
	if err := dec.Decode(&t); err != nil {
		writeError(w, http.StatusBadRequest, "want {source, headers, query, payload}: "+err.Error())
		return
	}
	body := []byte(t.Payload)
	var s string
	if json.Unmarshal(t.Payload, &s) == nil {
		body = []byte(s) // the payload pasted as text
	}
	u := "/hooks/" + url.PathEscape(t.Source)
	if q := strings.TrimPrefix(t.Query, "?"); q != "" {
		u += "?" + q
	}
	hreq, err := http.NewRequestWithContext(req.Context(), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad query: "+err.Error())
		return
	}
	hreq.Header.Set("Content-Type", "application/json")
	for k, v := range t.Headers {
		hreq.Header.Set(k, v)
	}
	d, err := r.Config().DryRun(t.Source, hreq, body)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// tokenAuth requires "Authorization: Bearer <token>" on every admin path but
// the probes and the dashboard's static files (which hold no data).
func tokenAuth(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if p == "/healthz" || p == "/readyz" || (req.Method == http.MethodGet && (p == "/" || strings.HasPrefix(p, "/ui/"))) {
			next.ServeHTTP(w, req)
			return
		}
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard admin"`)
			writeError(w, http.StatusUnauthorized, "admin token required")
			return
		}
		next.ServeHTTP(w, req)
	})
}

// target names where an action delivers, for listings.
func target(kind string, s *rules.SlackAction, h *rules.HTTPAction, e *rules.EmailAction) string {
	switch {
	case kind == "slack" && s != nil:
		return s.Channel
	case kind == "http" && h != nil:
		return h.Method + " " + h.URL
	case kind == "email" && e != nil:
		return strings.Join(e.To, ", ")
	}
	return ""
}

// maxPreviewBody bounds a preview request: a rules file of 10,000 rules is
// about 2 MB.
const maxPreviewBody = 8 << 20

func (r *Router) apiPreview(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var p PreviewRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxPreviewBody)).Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"name\", \"rules\", \"since\" or \"last\"}: "+err.Error())
		return
	}
	out, err := r.Preview(req.Context(), p)
	var bad previewError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

func (r *Router) apiMutes(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, map[string]any{"mutes": r.Mutes()})
}

// MuteRequest is the body of POST /api/mutes.
type MuteRequest struct {
	Rule    string `json:"rule"`
	When    string `json:"when,omitempty"`
	Comment string `json:"comment"`
	For     string `json:"for"` // a duration: 2h
}

func (r *Router) apiAddMute(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	var m MuteRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 64<<10)).Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"rule\", \"for\", \"comment\", \"when\"}: "+err.Error())
		return
	}
	d, err := time.ParseDuration(m.For)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("for: want a duration such as 2h, got %q", m.For))
		return
	}
	mute, err := r.AddMute(req.Context(), m.Rule, m.When, m.Comment, d)
	switch {
	case errors.Is(err, errBadMute):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusCreated, mute)
	}
}

func (r *Router) apiExpireMute(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	err := r.ExpireMute(req.Context(), ps.ByName("id"))
	switch {
	case errors.Is(err, errNoMute):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
