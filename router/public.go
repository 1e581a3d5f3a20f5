package router

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// PublicLimits bound what the public listener gives any client, so that
// hostile or broken ones cannot take it from the vendors.
type PublicLimits struct {
	// MaxInFlight is how many requests are served at once; more are
	// answered 503 with Retry-After (0: no bound).
	MaxInFlight int
	// MaxInFlightPerAddress is how many of them may come from one remote
	// address (0: a quarter of MaxInFlight). Behind a reverse proxy every
	// request comes from the proxy: set it to MaxInFlight there.
	MaxInFlightPerAddress int
	// ReadHeaderTimeout is the time a client has to send its headers.
	ReadHeaderTimeout time.Duration
	// BodyStall is the longest a request body may go without a byte
	// arriving (0: 5 s); a body that stalls is answered 408.
	BodyStall time.Duration
}

// The public listener's fixed limits.
const (
	publicReadTimeout  = 30 * time.Second // a whole request
	publicWriteTimeout = 30 * time.Second
	publicIdleTimeout  = 120 * time.Second
	publicHeaderBytes  = 64 << 10
	defaultBodyStall   = 5 * time.Second
	// After answering 413, the rest of the body is read and discarded, up
	// to lingerBytes for up to lingerTime, as nginx's lingering close does,
	// so that a client that sends its whole body before reading the answer
	// gets the 413 instead of a connection reset.
	lingerBytes = 64 << 20
	lingerTime  = 10 * time.Second
)

// PublicServer is the server of the public listener: PublicHandler within
// limits.
func (r *Router) PublicServer(l PublicLimits, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           limit(l, r.PublicHandler()),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       publicReadTimeout,
		WriteTimeout:      publicWriteTimeout,
		IdleTimeout:       publicIdleTimeout,
		MaxHeaderBytes:    publicHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// limit serves next within l: a bounded number of requests at once, a
// bounded share of them per remote address, and bodies that must keep
// arriving. A request beyond a bound is answered 503 with Retry-After
// instead of queueing: a vendor retries later, and the process keeps its
// memory and latency in hand under a flood.
func limit(l PublicLimits, next http.Handler) http.Handler {
	perAddress := l.MaxInFlightPerAddress
	if perAddress <= 0 {
		perAddress = max(1, l.MaxInFlight/4)
	}
	stall := l.BodyStall
	if stall <= 0 {
		stall = defaultBodyStall
	}
	var sem chan struct{}
	if l.MaxInFlight > 0 {
		sem = make(chan struct{}, l.MaxInFlight)
	}
	var (
		mu     sync.Mutex
		byAddr = map[string]int{}
	)
	busy := func(w http.ResponseWriter, why string) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, why)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		addr, _, err := net.SplitHostPort(req.RemoteAddr)
		if err != nil {
			addr = req.RemoteAddr
		}
		mu.Lock()
		mine := byAddr[addr] < perAddress
		if mine {
			byAddr[addr]++
		}
		mu.Unlock()
		if !mine {
			busy(w, "too many requests in flight from your address; retry later")
			return
		}
		defer func() {
			mu.Lock()
			if byAddr[addr]--; byAddr[addr] == 0 {
				delete(byAddr, addr)
			}
			mu.Unlock()
		}()
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			default:
				busy(w, "too many requests in flight; retry later")
				return
			}
		}
		req.Body = &stallGuard{ReadCloser: req.Body, rc: http.NewResponseController(w), stall: stall}
		next.ServeHTTP(w, req)
	})
}

// stallGuard is a request body each read of which must bring a byte
// within stall, so that a client trickling its body cannot hold a request
// slot for the whole read timeout.
type stallGuard struct {
	io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
}

func (g *stallGuard) Read(p []byte) (int, error) {
	_ = g.rc.SetReadDeadline(time.Now().Add(g.stall))
	return g.ReadCloser.Read(p)
}

// stalled says whether a body read failed because the body stopped
// arriving.
func stalled(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// refuseTooLarge answers 413 and then reads and discards the rest of the
// body within lingerBytes and lingerTime, so that the client gets the
// answer; the connection is closed after it.
func refuseTooLarge(w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex() // keep the body readable after the answer
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, "body too large")
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, unguarded(req.Body), lingerBytes)
}

// unguarded is body without its stallGuard, if it has one: lingering
// reads are bounded by lingerTime as a whole, not per read.
func unguarded(body io.ReadCloser) io.Reader {
	if g, ok := body.(*stallGuard); ok {
		return g.ReadCloser
	}
	return body
}
