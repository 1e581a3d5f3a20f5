package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// loadSpec is one load phase: conns keep-alive connections sending signed,
// distinct requests to addr until ctx is done or the duration is over.
type loadSpec struct {
	addr     string
	conns    int
	duration time.Duration
	// rate is the total requests per second over all connections, each
	// sending on its own schedule; zero sends as fast as answers come.
	rate float64
	// ids reads the id of each 2xx answer (the router's); the bare
	// baseline answers no body.
	ids bool
	// samples keeps each request's start and ack latency (the reload
	// phase looks at the requests that overlapped the reload).
	samples bool
	signer  *signer
	// connBase numbers the connections so that every phase's tokens differ.
	connBase int
}

// ack is one acknowledged event: its id and when the 202 was read.
type ack struct {
	id string
	at time.Time
}

type sample struct {
	start time.Time
	lat   time.Duration
}

type loadResult struct {
	elapsed  time.Duration
	ok       uint64 // 2xx
	non2xx   uint64
	errs     uint64 // transport errors (refused, reset, bad answer)
	statuses map[int]uint64
	lastErr  error
	lat      hist
	acks     []ack
	samples  []sample
}

func (r *loadResult) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// maxSamples bounds what one connection keeps per phase.
const maxSamples = 1 << 20

// runLoad dials every connection first, then starts them together and
// returns once each has finished its last request.
func runLoad(ctx context.Context, s loadSpec) (*loadResult, error) {
	conns := make([]*client, s.conns)
	for i := range conns {
		c, err := dial(ctx, s.addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.close()
			}
			return nil, err
		}
		conns[i] = c
	}
	ctx, cancel := context.WithTimeout(ctx, s.duration)
	defer cancel()
	start := time.Now()
	results := make([]*loadResult, s.conns)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			results[i] = c.run(ctx, s, s.connBase+i, start)
			c.close()
		})
	}
	wg.Wait()
	out := &loadResult{}
	for _, r := range results {
		out.add(r)
	}
	out.elapsed = time.Since(start)
	return out, nil
}

// add counts r's requests, answers and time in l's.
func (l *loadResult) add(r *loadResult) {
	if l.statuses == nil {
		l.statuses = map[int]uint64{}
	}
	l.elapsed += r.elapsed
	l.ok += r.ok
	l.non2xx += r.non2xx
	l.errs += r.errs
	for k, v := range r.statuses {
		l.statuses[k] += v
	}
	if r.lastErr != nil {
		l.lastErr = r.lastErr
	}
	l.lat.merge(&r.lat)
	l.acks = append(l.acks, r.acks...)
	l.samples = append(l.samples, r.samples...)
}

// client is one keep-alive HTTP/1.1 connection. It writes requests by hand
// and reads answers with net/http's parser: cheaper than a full client, so
// that more of the two cores go to the server under test.
type client struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func dial(ctx context.Context, addr string) (*client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &client{addr: addr, conn: conn, br: bufio.NewReaderSize(conn, 4096), bw: bufio.NewWriterSize(conn, 8192)}, nil
}

func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

func (c *client) redial(ctx context.Context) error {
	c.close()
	n, err := dial(ctx, c.addr)
	if err != nil {
		c.conn = nil
		return err
	}
	*c = *n
	return nil
}

func (c *client) run(ctx context.Context, s loadSpec, id int, start time.Time) *loadResult {
	r := &loadResult{statuses: map[int]uint64{}}
	var interval time.Duration
	if s.rate > 0 {
		interval = time.Duration(float64(s.conns) / s.rate * float64(time.Second))
	}
	// Each connection starts at its own offset, so a rate-limited load is
	// spread evenly rather than sent in bursts of s.conns.
	next := start
	if interval > 0 {
		next = start.Add(interval * time.Duration(id%s.conns) / time.Duration(s.conns))
	}
	buf := make([]byte, 0, 4096)
	var respBody []byte
	for n := 0; ctx.Err() == nil; n++ {
		if interval > 0 {
			if wait := time.Until(next); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return r
				case <-t.C:
				}
			}
			next = next.Add(interval)
		}
		req, err := s.signer.sign(id, n, time.Now(), buf)
		if err != nil {
			r.errs++
			r.lastErr = err
			return r
		}
		if c.conn == nil {
			if err := c.redial(ctx); err != nil {
				r.errs++
				r.lastErr = err
				continue
			}
		}
		t0 := time.Now()
		code, body, err := c.do(s.signer.path, req, respBody)
		lat := time.Since(t0)
		respBody = body[:0]
		if errors.Is(err, errClosed) {
			// A complete answer on a connection the server closes: count
			// the answer, then dial again.
			err = nil
			if rerr := c.redial(ctx); rerr != nil && ctx.Err() == nil {
				r.lastErr = rerr
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				r.errs++
				r.lastErr = err
			}
			if rerr := c.redial(ctx); rerr != nil && ctx.Err() == nil {
				r.lastErr = rerr
			}
			continue
		}
		r.statuses[code]++
		r.lat.add(lat)
		if s.samples && len(r.samples) < maxSamples {
			r.samples = append(r.samples, sample{start: t0, lat: lat})
		}
		if code < 200 || code > 299 {
			r.non2xx++
			continue
		}
		r.ok++
		if s.ids && len(r.acks) < maxSamples {
			id, ok := answerID(body)
			if !ok {
				r.errs++
				r.lastErr = fmt.Errorf("answer %d without an id: %q", code, body)
				continue
			}
			r.acks = append(r.acks, ack{id: id, at: t0.Add(lat)})
		}
	}
	return r
}

var errClosed = errors.New("the server closed the connection")

// answerID is the id of the router's answer, {"id":"...",...}. The load's
// ids need no escapes, so the common answer is read without a JSON
// decoder: the load generator shares the cores with the server it
// measures, and the bare baseline's answers are not decoded at all.
func answerID(body []byte) (string, bool) {
	const prefix = `{"id":"`
	if rest, ok := bytes.CutPrefix(body, []byte(prefix)); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end]), true
		}
	}
	var a struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ID == "" {
		return "", false
	}
	return a.ID, true
}

// do sends one POST and reads its answer, leaving the connection ready for
// the next request.
func (c *client) do(path string, req request, buf []byte) (int, []byte, error) {
	bw := c.bw
	bw.WriteString("POST ")
	bw.WriteString(path)
	bw.WriteString(" HTTP/1.1\r\nHost: switchyard-bench\r\nUser-Agent: switchyard-bench\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(req.body)))
	bw.WriteString("\r\n")
	bw.Write(req.header)
	bw.WriteString("\r\n")
	bw.Write(req.body)
	if err := bw.Flush(); err != nil {
		return 0, buf, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, buf, err
	}
	buf, err = readAll(resp.Body, buf)
	resp.Body.Close()
	if err != nil {
		return 0, buf, err
	}
	if resp.Close {
		return resp.StatusCode, buf, errClosed
	}
	return resp.StatusCode, buf, nil
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}
