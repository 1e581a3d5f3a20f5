package webhook

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// deadlineTransport records the deadline each request goes out with: the
// caller's context's or the action's own bound, whichever is earlier.
type deadlineTransport struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, _ := r.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (d *deadlineTransport) last(t *testing.T) time.Time {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.deadlines) == 0 {
		t.Fatal("no request went out")
	}
	return d.deadlines[len(d.deadlines)-1]
}

// TestAttemptDeadlineGoverns: the router runs each attempt under the
// action's timeout: (up to 45s). An http action with no timeout of its own
// in http: must not cut that short with its default; one that has one
// keeps it (the earlier bound wins); with no deadline in the context the
// default applies.
func TestAttemptDeadlineGoverns(t *testing.T) {
	srv := newServer(t, nil)
	tests := []struct {
		name    string
		timeout time.Duration // http: timeout
		attempt time.Duration // the context's; 0: none
		want    time.Duration // the request's deadline after the start
	}{
		{"the attempt's 30s", 0, 30 * time.Second, 30 * time.Second},
		{"http timeout shorter", 5 * time.Second, 30 * time.Second, 5 * time.Second},
		{"http timeout longer", 40 * time.Second, 30 * time.Second, 30 * time.Second},
		{"no deadline: the default", 0, 0, DefaultTimeout},
		{"no deadline: http timeout", 20 * time.Second, 0, 20 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &deadlineTransport{}
			a, err := New(Spec{URL: srv.URL + "/x", Timeout: tc.timeout}, &http.Client{Transport: rt})
			if err != nil {
				t.Fatal(err)
			}
			ctx, start := context.Background(), time.Now()
			if tc.attempt > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tc.attempt))
				defer cancel()
			}
			if err := a.Do(ctx, testEvent()); err != nil {
				t.Fatalf("Do: %v", err)
			}
			got := rt.last(t)
			if got.IsZero() {
				t.Fatal("the request has no deadline")
			}
			// Allow for the time Do takes to start the request.
			if d := got.Sub(start); d < tc.want || d > tc.want+time.Second {
				t.Errorf("the request's deadline is %s after the start, want %s", d.Round(time.Millisecond), tc.want)
			}
		})
	}
}
