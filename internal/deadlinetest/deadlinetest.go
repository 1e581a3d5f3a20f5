// Package deadlinetest records the deadline each outgoing HTTP request
// carries, for tests of the time bound a client puts on a delivery.
package deadlinetest

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// Transport sends requests with http.DefaultTransport and records each
// one's deadline: its context's, or the client's own Timeout when that is
// earlier (net/http puts the earlier of the two on the request's context).
type Transport struct {
	mu        sync.Mutex
	deadlines []time.Time // zero: none
}

func (d *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, _ := r.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// Last is the deadline of the last request sent; the test fails when none
// was.
func (d *Transport) Last(t testing.TB) time.Time {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.deadlines) == 0 {
		t.Fatal("no request went out")
	}
	return d.deadlines[len(d.deadlines)-1]
}
