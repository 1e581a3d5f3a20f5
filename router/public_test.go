package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// servePublic serves r's public listener, as serve does, on loopback.
func servePublic(t *testing.T, r *Router, l PublicLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := r.PublicServer(l, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// dialFrom opens a connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A client that sends its whole body before reading the answer (Python's
// urllib does) gets the 413 for a body over the limit, not a reset
// connection, whether it says the length first or not.
func TestBodyOverTheLimitIsAnswered413(t *testing.T) {
	r, _ := newRouter(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"))
	addr := servePublic(t, r, PublicLimits{MaxInFlight: 64})
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
	}{
		{"10 MiB with Content-Length", 10 << 20, false},
		{"1.05 MiB with Content-Length", 1<<20 + 50<<10, false},
		{"10 MiB chunked", 10 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 5 {
				c := dialFrom(t, "127.0.0.1", addr)
				body := bytes.Repeat([]byte("x"), tc.size)
				head := "POST /hooks/productlift HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				if tc.chunked {
					head += "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", len(body))
				} else {
					head += fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
				}
				if _, err := io.WriteString(c, head); err != nil {
					t.Fatalf("try %d: headers: %v", i, err)
				}
				if _, err := c.Write(body); err != nil {
					t.Fatalf("try %d: the body could not be sent: %v", i, err)
				}
				if tc.chunked {
					_, _ = io.WriteString(c, "\r\n0\r\n\r\n")
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("try %d: no answer: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Fatalf("try %d: %d, want 413", i, resp.StatusCode)
				}
			}
		})
	}
}

// A body that stops arriving is cut and answered 408, freeing its slot.
func TestStalledBodyIsCut(t *testing.T) {
	r, _ := newRouter(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"))
	addr := servePublic(t, r, PublicLimits{MaxInFlight: 64, BodyStall: 200 * time.Millisecond})
	c := dialFrom(t, "127.0.0.1", addr)
	if _, err := io.WriteString(c, "POST /hooks/productlift HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("%d, want 408", resp.StatusCode)
	}
}

// Many connections from one address, each trickling its body, cannot take
// the request slots from a client at another address; without the bound
// per address, they do.
func TestOneAddressCannotTakeEverySlot(t *testing.T) {
	for _, tc := range []struct {
		name       string
		perAddress int
		accepted   func(n int) bool
	}{
		{"a quarter of the slots per address", 0, func(n int) bool { return n >= 99 }},
		{"every slot for one address", 64, func(n int) bool { return n <= 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRouter(t, rulesFor("http://127.0.0.1:1", "{ attempts: 1 }"))
			addr := servePublic(t, r, PublicLimits{MaxInFlight: 64, MaxInFlightPerAddress: tc.perAddress, BodyStall: 3 * time.Second})
			stop := trickle(t, "127.0.0.2", addr, 100)
			defer stop()
			if n := sendVotes(t, "127.0.0.1", addr, 100); !tc.accepted(n) {
				t.Errorf("the client at another address got %d of 100 requests accepted", n)
			}
		})
	}
}

// trickle opens n connections to addr from the loopback address from,
// each sending a request whose body comes a byte a second: under a stall
// limit of a few seconds, only the read timeout would end it.
func trickle(t *testing.T, from, addr string, n int) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		c := dialFrom(t, from, addr)
		if _, err := io.WriteString(c, "POST /hooks/productlift HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Second):
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // their requests are in
	return func() { close(done); wg.Wait() }
}

// sendVotes sends n signed ProductLift votes to addr one after another,
// from the loopback address from, and says how many were accepted.
func sendVotes(t *testing.T, from, addr string, n int) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
	accepted := 0
	for i := range n {
		body := fmt.Sprintf(`{"id":"n%d","creation_time":"2022-06-01T18:17:37Z","event":"vote.created","data":{}}`, i)
		s, err := sources.Sign(sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(testSecret)}, []byte(body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/productlift", bytes.NewReader(s.Body))
		req.Header = s.Header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			accepted++
		}
	}
	return accepted
}
