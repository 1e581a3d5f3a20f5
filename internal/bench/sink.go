package bench

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// sink is the in-process HTTP receiver of the rules' http actions. It
// answers 204 at once and notes when each event id first arrived: it finds
// the ids in the request's URL and body, as the run's tokens (swb-...) or
// as the 32-hex-digit ids that sources hash for vendors that send none.
type sink struct {
	token string // the run's token prefix
	srv   *http.Server
	addr  string

	mu       sync.Mutex
	requests int
	first    map[string]time.Time
	// want holds the ids waitAll waits for that have not arrived; done is
	// closed when it empties.
	want map[string]struct{}
	done chan struct{}
}

func startSink(token string) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{token: token, addr: ln.Addr().String(), first: map[string]time.Time{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) close() { _ = s.srv.Close() }

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	ids := s.ids(nil, []byte(r.URL.RequestURI()))
	ids = s.ids(ids, body)
	s.mu.Lock()
	s.requests++
	for _, id := range ids {
		if _, ok := s.first[id]; !ok {
			s.first[id] = now
			if _, ok := s.want[id]; ok {
				delete(s.want, id)
				if len(s.want) == 0 {
					close(s.done)
				}
			}
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ids appends the ids found in b: maximal runs of [0-9A-Za-z_-] that start
// with the run's token or are 32 hex digits.
func (s *sink) ids(out []string, b []byte) []string {
	word := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
	}
	for i := 0; i < len(b); {
		if !word(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && word(b[j]) {
			j++
		}
		w := b[i:j]
		if len(w) > len(s.token) && string(w[:len(s.token)]) == s.token || isHex32(w) {
			out = append(out, string(w))
		}
		i = j
	}
	return out
}

func isHex32(w []byte) bool {
	if len(w) != 32 {
		return false
	}
	for _, c := range w {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// arrived returns when id first reached the sink.
func (s *sink) arrived(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.first[id]
	return t, ok
}

// waitAll waits until every id in ids has arrived or the deadline passes,
// and returns the ids still missing. One waitAll at a time.
func (s *sink) waitAll(ids []string, deadline time.Time) []string {
	s.mu.Lock()
	s.want = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if _, ok := s.first[id]; !ok {
			s.want[id] = struct{}{}
		}
	}
	done := make(chan struct{})
	s.done = done
	if len(s.want) == 0 {
		close(done)
	}
	s.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for id := range s.want {
		missing = append(missing, id)
	}
	s.want, s.done = nil, nil
	return missing
}

// forget drops the arrival times, keeping the sink serving.
func (s *sink) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.first = map[string]time.Time{}
}
