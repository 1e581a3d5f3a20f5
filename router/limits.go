package router

import (
	"net/http"
)

// LimitInFlight answers 503 with Retry-After when n requests are already
// being served, instead of queueing without bound: a vendor retries later,
// and the process keeps its memory and latency in hand under a flood.
func LimitInFlight(n int, next http.Handler) http.Handler {
	if n <= 0 {
		return next
	}
	sem := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			next.ServeHTTP(w, req)
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "too many requests in flight; retry later")
		}
	})
}
