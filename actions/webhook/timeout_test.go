package webhook

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/deadlinetest"
)

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
			rt := &deadlinetest.Transport{}
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
			got := rt.Last(t)
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
