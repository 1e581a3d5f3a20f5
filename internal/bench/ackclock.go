package bench

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ackClock notes, while on, when the router answered 202 for each event
// id: the start of the end-to-end time. It is taken on the server side, as
// the handler returns, so that a load client waiting for a core does not
// stretch or shrink it. Off, it costs one atomic load per request.
type ackClock struct {
	on atomic.Bool
	mu sync.Mutex
	at map[string]time.Time
}

func newAckClock() *ackClock { return &ackClock{at: map[string]time.Time{}} }

func (a *ackClock) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		cw := &captureWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(cw, r)
		now := time.Now()
		if cw.code != http.StatusAccepted {
			return
		}
		var resp struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(cw.body, &resp) == nil && resp.ID != "" {
			a.mu.Lock()
			if _, ok := a.at[resp.ID]; !ok {
				a.at[resp.ID] = now
			}
			a.mu.Unlock()
		}
	})
}

func (a *ackClock) get(id string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[id]
	return t, ok
}

// captureWriter keeps the status and the first bytes of the body.
type captureWriter struct {
	http.ResponseWriter
	code int
	body []byte
}

func (c *captureWriter) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if n := min(len(b), 512-len(c.body)); n > 0 {
		c.body = append(c.body, b[:n]...)
	}
	return c.ResponseWriter.Write(b)
}
