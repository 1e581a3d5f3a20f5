package router

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/queue"
)

// Job is one delivery to make: an event, and the rule and action (by
// position) it matched. Its id dedups the job when an event is matched
// twice (after a crash, or by two replicas).
type Job struct {
	ID      string      `json:"id"`
	Event   event.Event `json:"event"`
	Rule    string      `json:"rule"`
	Action  int         `json:"action"` // 0-based index in the rule's actions
	Kind    string      `json:"kind"`
	Matched time.Time   `json:"matched"`
	// Group is the firing of a grouped rule the job delivers; nil for a
	// job of one event. Event is then the firing's first event.
	Group *GroupFiring `json:"group,omitempty"`
}

// do makes the job's delivery with act: one event, or a group's firing.
func (j *Job) do(ctx context.Context, act actions.Action) error {
	if j.Group != nil {
		return act.DoData(ctx, j.Group.data(j.Rule))
	}
	return act.Do(ctx, &j.Event)
}

// render is what act sends for the job, for its dead letter.
func (j *Job) render(act actions.Action) (actions.Rendered, error) {
	if j.Group != nil {
		return act.RenderData(j.Group.data(j.Rule))
	}
	return act.Render(&j.Event)
}

// DeadLetter is a delivery that failed permanently or ran out of attempts.
type DeadLetter struct {
	Job      Job               `json:"job"`
	Attempts int               `json:"attempts"`
	Error    string            `json:"error"`
	Rendered *actions.Rendered `json:"rendered,omitempty"`
	At       time.Time         `json:"at"`
}

func jobID(ev *event.Event, rule string, action int) string {
	return ev.Key() + "/" + rule + "/" + strconv.Itoa(action)
}

// Headers of a job message: what the delivery has been through, carried
// with it from attempt to attempt and from replica to replica. A failed
// attempt that is to be retried stores the job again with Tried one more
// and Not-Before set, under a message id of its own; so does a delivery
// given a later turn by its receiver's pace, with Paced set.
const (
	hdrJob       = "Switchyard-Job"        // the id the job's messages derive theirs from
	hdrTried     = "Switchyard-Tried"      // attempts made so far
	hdrNotBefore = "Switchyard-Not-Before" // RFC 3339: when the next attempt is due
	hdrPaced     = "Switchyard-Paced"      // "1": Not-Before is the turn its receiver's pace gave it
)

// jobState is what a job message's headers say the delivery has been
// through.
type jobState struct {
	base      string    // the job's dedup id, or a replay's; its messages' ids derive from it
	tried     int       // attempts made so far
	notBefore time.Time // zero: due now
	paced     bool      // notBefore is the turn its receiver's pace gave it
}

// msgID is the message id of a job in state s. Each attempt, and each
// attempt given a turn by a pace, has an id of its own, so that the
// retry of attempt n is stored once however often attempt n is made
// (after a crash, say).
func (s jobState) msgID() string {
	id := s.base
	if s.tried > 0 {
		id += "/attempt/" + strconv.Itoa(s.tried+1)
	}
	if s.paced {
		id += "/paced"
	}
	return id
}

// jobMsg is the stored form of job j in state s.
func jobMsg(j *Job, s jobState) (queue.Msg, error) {
	data, err := encodeJob(j)
	if err != nil {
		return queue.Msg{}, fmt.Errorf("encode job: %w", err)
	}
	h := nats.Header{hdrJob: {s.base}}
	if s.tried > 0 {
		h.Set(hdrTried, strconv.Itoa(s.tried))
	}
	if !s.notBefore.IsZero() {
		h.Set(hdrNotBefore, s.notBefore.UTC().Format(time.RFC3339Nano))
	}
	if s.paced {
		h.Set(hdrPaced, "1")
	}
	return queue.Msg{Subject: queue.JobsSubject + "." + j.Kind, ID: s.msgID(), Data: data, Header: h}, nil
}

func jobStateOf(h nats.Header, j *Job) jobState {
	s := jobState{base: h.Get(hdrJob), paced: h.Get(hdrPaced) == "1"}
	if s.base == "" { // stored before the header existed
		s.base = j.ID
	}
	s.tried, _ = strconv.Atoi(h.Get(hdrTried))
	s.notBefore, _ = time.Parse(time.RFC3339Nano, h.Get(hdrNotBefore))
	return s
}

// storedJob is a Job as the jobs stream holds it: the event's data, when it
// is a member of the payload (or the payload itself), is not stored twice.
type storedJob struct {
	Job
	// DataIn names the payload member that is the event's data ("": the
	// whole payload); nil when the data is stored as is.
	DataIn *string `json:"data_in,omitempty"`
}

// encodeJob encodes j as a storedJob.
func encodeJob(j *Job) ([]byte, error) {
	sj := storedJob{Job: *j}
	if in, ok := dataMember(&j.Event); ok {
		sj.DataIn, sj.Event.Data = &in, nil
	}
	return json.Marshal(sj)
}

// decodeJobData decodes a storedJob.
func decodeJobData(data []byte) (Job, error) {
	var sj storedJob
	if err := json.Unmarshal(data, &sj); err != nil {
		return Job{}, err
	}
	if sj.DataIn != nil {
		if *sj.DataIn == "" {
			sj.Event.Data = sj.Event.Payload
		} else if m, ok := sj.Event.Payload[*sj.DataIn].(map[string]any); ok {
			sj.Event.Data = m
		} else {
			return Job{}, fmt.Errorf("the event's data should be the payload's %q, which is not an object", *sj.DataIn)
		}
	}
	return sj.Job, nil
}

// dataMember finds which of the payload's members the event's data is
// (the same map, not an equal one), or the payload itself ("").
func dataMember(ev *event.Event) (string, bool) {
	if ev.Data == nil || ev.Payload == nil {
		return "", false
	}
	data := reflect.ValueOf(ev.Data).UnsafePointer()
	if reflect.ValueOf(ev.Payload).UnsafePointer() == data {
		return "", true
	}
	for k, v := range ev.Payload {
		if m, ok := v.(map[string]any); ok && k != "" && m != nil && reflect.ValueOf(m).UnsafePointer() == data {
			return k, true
		}
	}
	return "", false
}
