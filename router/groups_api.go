package router

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/queue"
)

// PendingGroup is a group of a grouped rule waiting for its next firing,
// as GET /api/groups lists it.
type PendingGroup struct {
	Rule string `json:"rule"`
	Key  string `json:"key"`
	// Count is how many events wait in the group now.
	Count int `json:"count"`
	// First is when the oldest of them joined (zero: none yet since the
	// last firing; the group ends at Due if none joins).
	First time.Time `json:"first,omitzero"`
	// Due is when the group fires next.
	Due time.Time `json:"due"`
	// Firing is the id of a firing under way.
	Firing string `json:"firing,omitempty"`
}

// PendingGroups lists the pending groups, soonest due first, with the
// number of events waiting in each.
func (r *Router) PendingGroups(ctx context.Context) ([]PendingGroup, error) {
	s, err := r.q.Stream(ctx, queue.GroupsStream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(queue.GroupsSubject+".>"))
	if err != nil {
		return nil, err
	}
	out := []PendingGroup{}
	for _, e := range r.groups.snapshot() {
		out = append(out, PendingGroup{Rule: e.st.Rule, Key: e.st.Key, Count: int(info.State.Subjects[e.st.Subject]),
			First: e.st.Since, Due: e.st.Due, Firing: e.st.Firing})
	}
	return out, nil
}

func (r *Router) apiGroups(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	gs, err := r.PendingGroups(req.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the store did not answer: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": gs})
}
