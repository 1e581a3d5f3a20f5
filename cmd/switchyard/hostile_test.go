package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// hostileRules sends every accepted event, whatever its source, to the
// sink: the sink's count is the count of accepted events.
const hostileRules = `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
  sleekplan: { vendor: sleekplan, key: "${SP_KEY}" }
  leanbe: { vendor: leanbe, secret: "${LB_SECRET}" }
  userback: { vendor: userback, key: "${UB_KEY}" }
  stripe: { vendor: stripe, secret: "${STRIPE_SECRET}" }
rules:
  - name: every-event
    actions:
      - http:
          url: ${SINK}/events
          json: { source: "{{ .source }}", id: "{{ .id }}", event: "{{ .event }}" }
`

// hostileReq is one crafted request and the status it must get.
type hostileReq struct {
	name    string
	method  string
	target  string // path and query, e.g. /hooks/productlift?key=x
	header  http.Header
	body    []byte
	chunked bool // send without a Content-Length
	want    int
}

// sendHostile sends r to the public listener on a fresh connection and
// returns the status. A server that answers and closes before the whole
// body is written is normal for refusals (413): the status still counts.
func sendHostile(public string, r hostileReq) (int, []byte, error) {
	if !r.chunked && len(r.body) > 2<<20 {
		return sendRaw(public, r)
	}
	var body io.Reader = bytes.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(bytes.NewReader(r.body)) // hides the length: chunked
	}
	if r.body == nil {
		body = nil
	}
	req, err := http.NewRequest(r.method, public+r.target, body)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, msg, nil
}

// sendRaw writes the request head with its Content-Length, then the body
// while reading the answer: a server that refuses on the length answers
// before reading the body and may reset the connection under the writer,
// which an http.Client reports as a write error instead of the answer.
func sendRaw(public string, r hostileReq) (int, []byte, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(public, "http://"))
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: switchyard\r\nContent-Length: %d\r\nConnection: close\r\n", r.method, r.target, len(r.body))
	_ = r.header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return 0, nil, err
	}
	go func() { _, _ = conn.Write(r.body) }() // may fail once the server has answered
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, msg, nil
}

// TestHostileRequests sends crafted requests to the running binary, each
// with its expected status, then checks that the process is healthy and
// that exactly the accepted events were delivered.
func TestHostileRequests(t *testing.T) {
	bin := buildBinary(t)
	sink := newRecorder(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(hostileRules), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		plSecret     = "pl-hostile-secret-1a2b"
		spKey        = "sp-hostile-key-3c4d"
		lbSecret     = "lb-hostile-secret-5e6f"
		ubKey        = "ub-hostile-key-7a8b"
		stripeSecret = "whsec_hostile_9c0d"
	)
	env := []string{"PL_SECRET=" + plSecret, "SP_KEY=" + spKey, "LB_SECRET=" + lbSecret, "UB_KEY=" + ubKey,
		"STRIPE_SECRET=" + stripeSecret, "SINK=" + sink.url}
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), env,
		// Every request of this test comes from one address, which may hold
		// all the slots.
		"--read-header-timeout", "2s", "--max-in-flight", "2", "--max-in-flight-per-address", "2")

	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
	sp := sources.Config{Name: "sleekplan", Vendor: "sleekplan", Key: secret.Secret(spKey)}
	lb := sources.Config{Name: "leanbe", Vendor: "leanbe", Secret: secret.Secret(lbSecret)}
	ub := sources.Config{Name: "userback", Vendor: "userback", Key: secret.Secret(ubKey)}
	st := sources.Config{Name: "stripe", Vendor: "stripe", Secret: secret.Secret(stripeSecret)}

	vote := readFixture(t, "productlift/vote.created.json")
	item := readFixture(t, "sleekplan/item.create.json")
	idea := readFixture(t, "leanbe/idea.created.json")
	feedback := readFixture(t, "userback/feedback.create.json")
	// plBody is a ProductLift vote with its own delivery id and a value.
	plBody := func(id, value string) []byte {
		b := bytes.Replace(vote, []byte(`"vg3EGg2wcHgd8nMl"`), []byte(`"`+id+`"`), 1)
		return bytes.Replace(b, []byte(`"This is a great idea"`), []byte(value), 1)
	}
	// sign returns the target, header and body the vendor would send.
	sign := func(cfg sources.Config, body []byte, at time.Time) (string, http.Header, []byte) {
		s, err := sources.Sign(cfg, body, at)
		if err != nil {
			t.Fatalf("sign %s: %v", cfg.Name, err)
		}
		target := "/hooks/" + cfg.Name
		if len(s.Query) > 0 {
			target += "?" + s.Query.Encode()
		}
		return target, s.Header, s.Body
	}
	now := time.Now()
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			h[http.CanonicalHeaderKey(kv[i])] = append(h[http.CanonicalHeaderKey(kv[i])], kv[i+1])
		}
		return h
	}
	without := func(h http.Header, names ...string) http.Header {
		h = h.Clone()
		for _, n := range names {
			h.Del(n)
		}
		return h
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	// nested is a value that brings the body to depth levels when put in
	// data.post, which is 3 levels deep (the body, data, post).
	nested := func(depth int) string {
		return strings.Repeat("[", depth-3) + "1" + strings.Repeat("]", depth-3)
	}

	plT, plH, plB := sign(pl, plBody("hostile-ok-1", `"ok"`), now)
	_, _, plOther := sign(pl, plBody("hostile-other", `"other"`), now)
	spT, spH, spB := sign(sp, item, now)
	spQuery, _ := url.ParseQuery(strings.TrimPrefix(spT, "/hooks/sleekplan?"))
	lbT, lbH, lbB := sign(lb, idea, now)
	ubT, ubH, ubB := sign(ub, feedback, now)
	stBody := []byte(`{"id":"evt_hostile_1","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`)
	stT, stH, stB := sign(st, stBody, now)
	plSig := plH.Get("Signature")

	depth64T, depth64H, depth64B := sign(pl, plBody("hostile-depth-64", `"d", "deep": `+nested(64)), now)
	depth65T, depth65H, depth65B := sign(pl, plBody("hostile-depth-65", `"d", "deep": `+nested(65)), now)
	badUTF8T, badUTF8H, badUTF8B := sign(pl, plBody("hostile-bad-utf8", "\"bad \xff\xfe utf-8\""), now)
	escNULT, escNULH, escNULB := sign(pl, plBody("hostile-escaped-nul", `"nul \u0000 escaped"`), now)
	rawNULT, rawNULH, rawNULB := sign(pl, plBody("hostile-raw-nul", "\"nul \x00 raw\""), now)
	upperT, upperH, upperB := sign(pl, plBody("hostile-upper-hex", `"upper"`), now)
	upperH.Set("Signature", strings.ToUpper(upperH.Get("Signature")))
	noCTT, noCTH, noCTB := sign(pl, plBody("hostile-no-content-type", `"no ct"`), now)
	noCTH.Del("Content-Type")
	charsetT, charsetH, charsetB := sign(pl, plBody("hostile-charset", `"charset"`), now)
	charsetH.Set("Content-Type", "application/json; charset=utf-8")
	vndT, vndH, vndB := sign(pl, plBody("hostile-vnd-json", `"vnd"`), now)
	vndH.Set("Content-Type", "application/vnd.productlift+json")
	malT, malH, malB := sign(pl, []byte(`{"id":"x","event":"vote.created",`), now)
	arrT, arrH, arrB := sign(pl, []byte(`[{"id":"x","event":"vote.created"}]`), now)
	emptyT, emptyH, emptyB := sign(pl, []byte{}, now)
	noEnvT, noEnvH, noEnvB := sign(pl, []byte(`{"data":{}}`), now)
	oldT, oldH, oldB := sign(st, []byte(`{"id":"evt_old","type":"invoice.paid","data":{}}`), now.Add(-10*time.Minute))
	futT, futH, futB := sign(st, []byte(`{"id":"evt_future","type":"invoice.paid","data":{}}`), now.Add(10*time.Minute))

	// A gzip bomb: 10 MB of zeros in about 10 KB. The router does not
	// accept compression: it never inflates a body, so the compressed bytes
	// are what it verifies and checks. Signed over those bytes they are
	// not JSON (400); unsigned, they fail verification (401).
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(make([]byte, 10<<20))
	_ = zw.Close()
	bombT, bombH, bombB := sign(pl, bomb.Bytes(), now)
	bombH.Set("Content-Encoding", "gzip")
	var gzJSON bytes.Buffer
	zw = gzip.NewWriter(&gzJSON)
	_, _ = zw.Write(plBody("hostile-gzip", `"gz"`))
	_ = zw.Close()

	tenMB := append(append([]byte(`{"action":"item.create","data":{"x":"`), bytes.Repeat([]byte("a"), 10<<20)...), `"}}`...)
	bigHeader := with(spH, "X-Flood", strings.Repeat("a", 100<<10))
	manyHeaders := spH.Clone()
	for i := range 3000 {
		manyHeaders.Set(fmt.Sprintf("X-Flood-%04d", i), strings.Repeat("b", 40))
	}

	reqs := []hostileReq{
		// Accepted (each a distinct delivery).
		{"productlift signed", "POST", plT, plH, plB, false, 202},
		{"sleekplan with key", "POST", spT, spH, spB, false, 202},
		{"leanbe signed", "POST", lbT, lbH, lbB, false, 202},
		{"userback with key", "POST", ubT, ubH, ubB, false, 202},
		{"stripe signed now", "POST", stT, stH, stB, false, 202},
		{"nested 64 levels", "POST", depth64T, depth64H, depth64B, false, 202},
		{"invalid UTF-8 in a string", "POST", badUTF8T, badUTF8H, badUTF8B, false, 202},
		{"escaped NUL in a string", "POST", escNULT, escNULH, escNULB, false, 202},
		{"signature in upper-case hex", "POST", upperT, upperH, upperB, false, 202},
		{"no Content-Type", "POST", noCTT, noCTH, noCTB, false, 202},
		{"Content-Type with charset", "POST", charsetT, charsetH, charsetB, false, 202},
		{"+json Content-Type", "POST", vndT, vndH, vndB, false, 202},
		{"vendor retry (duplicate)", "POST", plT, plH, plB, false, 202},
		{"chunked body", "POST", spT, spH, bytes.Replace(spB, []byte(`"feedback_id": "3"`), []byte(`"feedback_id": "chunked"`), 1), true, 202},

		// Signatures.
		{"missing signature", "POST", plT, without(plH, "Signature"), plB, false, 401},
		{"empty signature", "POST", plT, with(without(plH, "Signature"), "Signature", ""), plB, false, 401},
		{"forged signature", "POST", plT, with(without(plH, "Signature"), "Signature", strings.Repeat("ab", 32)), plB, false, 401},
		{"truncated signature", "POST", plT, with(without(plH, "Signature"), "Signature", plSig[:32]), plB, false, 401},
		{"signature one char short", "POST", plT, with(without(plH, "Signature"), "Signature", plSig[:63]), plB, false, 401},
		{"signature with a prefix", "POST", plT, with(without(plH, "Signature"), "Signature", "sha256="+plSig), plB, false, 401},
		{"signature for another body", "POST", plT, plH, plOther, false, 401},
		{"body with a trailing space", "POST", plT, plH, append(bytes.Clone(plB), ' '), false, 401},
		{"signature in the query", "POST", plT + "?signature=" + plSig, without(plH, "Signature"), plB, false, 401},
		{"wrong signature first of two", "POST", plT, with(without(plH, "Signature"), "Signature", strings.Repeat("0", 64), "Signature", plSig), plB, false, 401},
		{"leanbe payload changed", "POST", lbT, lbH, bytes.Replace(lbB, []byte(`"Dummy Titl`), []byte(`"Dummy Tatl`), 1), false, 401},
		{"leanbe signature removed", "POST", lbT, lbH, leanbeWithoutSignature(t, lbB), false, 401},
		{"stripe timestamp 10 min old", "POST", oldT, oldH, oldB, false, 401},
		{"stripe timestamp 10 min ahead", "POST", futT, futH, futB, false, 401},
		{"stripe signature of another secret", "POST", "/hooks/stripe", with(jsonCT, "Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", now.Unix(), strings.Repeat("0", 64))), stB, false, 401},

		// Keys in the wrong place.
		{"key missing", "POST", "/hooks/sleekplan", spH, spB, false, 401},
		{"key in a header", "POST", "/hooks/sleekplan", with(spH, "X-Key", spKey, "Authorization", "Bearer "+spKey), spB, false, 401},
		{"key in the body", "POST", "/hooks/sleekplan", spH, bytes.Replace(spB, []byte(`{`), []byte(`{"key":"`+spKey+`",`), 1), false, 401},
		{"key given twice", "POST", spT + "&key=" + url.QueryEscape(spKey), spH, spB, false, 401},
		{"wrong key then right key", "POST", "/hooks/sleekplan?key=wrong&" + spQuery.Encode(), spH, spB, false, 401},
		{"key name in upper case", "POST", "/hooks/sleekplan?KEY=" + url.QueryEscape(spKey), spH, spB, false, 401},
		{"key with a trailing space", "POST", "/hooks/sleekplan?key=" + url.QueryEscape(spKey+" "), spH, spB, false, 401},
		{"key prefix", "POST", "/hooks/sleekplan?key=" + url.QueryEscape(spKey[:len(spKey)-1]), spH, spB, false, 401},
		{"malformed query", "POST", "/hooks/sleekplan?key=%zz&" + spQuery.Encode(), spH, spB, false, 401},
		{"userback key of sleekplan", "POST", "/hooks/userback?key=" + url.QueryEscape(spKey), ubH, ubB, false, 401},

		// Bodies.
		{"malformed JSON", "POST", malT, malH, malB, false, 400},
		{"top-level array", "POST", arrT, arrH, arrB, false, 400},
		{"empty body", "POST", emptyT, emptyH, emptyB, false, 400},
		{"no envelope", "POST", noEnvT, noEnvH, noEnvB, false, 400},
		{"nested 65 levels", "POST", depth65T, depth65H, depth65B, false, 400},
		{"raw NUL byte", "POST", rawNULT, rawNULH, rawNULB, false, 400},
		{"10 MB body", "POST", spT, spH, tenMB, false, 413},
		{"10 MB chunked body", "POST", spT, spH, tenMB, true, 413},
		{"gzip bomb, signed", "POST", bombT, bombH, bombB, false, 400},
		{"gzip bomb, unsigned", "POST", plT, with(plH, "Content-Encoding", "gzip"), bomb.Bytes(), false, 401},
		{"gzip JSON with a key", "POST", spT, with(spH, "Content-Encoding", "gzip"), gzJSON.Bytes(), false, 400},

		// Content types.
		{"text/plain", "POST", spT, with(without(spH, "Content-Type"), "Content-Type", "text/plain"), spB, false, 415},
		{"form", "POST", spT, with(without(spH, "Content-Type"), "Content-Type", "application/x-www-form-urlencoded"), spB, false, 415},
		{"multipart", "POST", spT, with(without(spH, "Content-Type"), "Content-Type", "multipart/form-data; boundary=x"), spB, false, 415},
		{"malformed Content-Type", "POST", spT, with(without(spH, "Content-Type"), "Content-Type", "application/"), spB, false, 415},
		{"jsonp", "POST", spT, with(without(spH, "Content-Type"), "Content-Type", "application/javascript"), spB, false, 415},

		// Headers.
		{"one 100 KB header", "POST", spT, bigHeader, spB, false, 431},
		{"3,000 headers", "POST", spT, manyHeaders, spB, false, 431},

		// Paths and methods.
		{"unknown source", "POST", "/hooks/nope?" + spQuery.Encode(), spH, spB, false, 404},
		{"no source", "POST", "/hooks/", spH, spB, false, 404},
		{"extra path segment", "POST", "/hooks/sleekplan/x?" + spQuery.Encode(), spH, spB, false, 404},
		{"encoded dot-dot", "POST", "/hooks/%2e%2e/sleekplan?" + spQuery.Encode(), spH, spB, false, 404},
		{"admin path on the public listener", "POST", "/-/reload", nil, nil, false, 404},
		{"metrics on the public listener", "GET", "/metrics", nil, nil, false, 404},
		{"GET", "GET", spT, nil, nil, false, 405},
		{"HEAD", "HEAD", spT, nil, nil, false, 405},
		{"PUT", "PUT", spT, spH, spB, false, 405},
		{"DELETE", "DELETE", spT, nil, nil, false, 405},
		{"PATCH", "PATCH", spT, spH, spB, false, 405},
		{"OPTIONS", "OPTIONS", spT, nil, nil, false, 405},
	}
	if len(reqs) < 40 {
		t.Fatalf("only %d crafted requests", len(reqs))
	}
	secrets := []string{plSecret, spKey, lbSecret, ubKey, stripeSecret}
	for _, r := range reqs {
		t.Run(r.name, func(t *testing.T) {
			code, msg, err := sendHostile(p.public, r)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.target, err)
			}
			if code != r.want {
				t.Fatalf("%s: got %d %s, want %d", r.name, code, msg, r.want)
			}
			for _, s := range secrets {
				if bytes.Contains(msg, []byte(s)) {
					t.Fatalf("the answer quotes a secret: %s", msg)
				}
			}
		})
	}

	t.Run("slowloris", func(t *testing.T) {
		// Headers sent a byte at a time: the server closes the connection
		// once its read-header timeout (2s here) passes, long before the
		// client would finish.
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.public, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closed := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, conn) // returns when the server closes
			closed <- err
		}()
		head := "POST " + spT + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + strings.Repeat("X-Slow: "+strings.Repeat("s", 40)+"\r\n", 50)
		start := time.Now()
		for i := 0; i < len(head); i++ {
			select {
			case <-closed:
				t.Logf("server closed the connection after %s, %d of %d header bytes", time.Since(start).Round(time.Millisecond), i, len(head))
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{head[i]}); err != nil {
				t.Logf("server closed the connection after %s (%v)", time.Since(start).Round(time.Millisecond), err)
				return
			}
		}
		t.Fatalf("the server kept a connection open for %s while its headers trickled in", time.Since(start).Round(time.Second))
	})

	t.Run("in-flight cap answers 503", func(t *testing.T) {
		// Two requests whose bodies never finish hold both slots
		// (--max-in-flight 2); the third is refused with Retry-After. Each
		// held request asks for 100 Continue, which the server sends once
		// its handler reads the body: then the slot is surely taken.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for range 2 {
			conn, err := net.Dial("tcp", strings.TrimPrefix(p.public, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, conn)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", spT, len(spB))
			_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || !strings.Contains(line, " 100 ") {
				t.Fatalf("held request: got %q (%v), want 100 Continue", line, err)
			}
			if _, err := conn.Write(spB[:1]); err != nil {
				t.Fatal(err)
			}
		}
		code, msg, err := sendHostile(p.public, hostileReq{method: "POST", target: spT, header: spH, body: spB})
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("third request while two are in flight: %d %s, want 503", code, msg)
		}
		for _, c := range held {
			c.Close()
		}
		held = nil
		// The slots come back.
		waitFor(t, "a 202 once the slots are free", 30*time.Second, func() bool {
			code, _, err := sendHostile(p.public, hostileReq{method: "POST", target: spT, header: spH, body: spB})
			return err == nil && code == http.StatusAccepted
		})
	})

	t.Run("afterwards", func(t *testing.T) {
		resp, err := http.Get(p.admin + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/healthz %d", resp.StatusCode)
		}
		// The accepted requests, less the duplicate, are the deliveries.
		var want []string
		for _, r := range reqs {
			if r.want == 202 && !strings.Contains(r.name, "duplicate") {
				want = append(want, r.target)
			}
		}
		waitFor(t, fmt.Sprintf("%d deliveries", len(want)), 60*time.Second, func() bool {
			return len(sink.requests()) >= len(want)
		})
		events := adminEvents(t, p.admin)
		if len(events) != len(want) {
			t.Errorf("the event log holds %d events, want %d: %v", len(events), len(want), events)
		}
		got := sink.requests()
		var ids []string
		for _, r := range got {
			var m map[string]string
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatalf("sink body %s: %v", r.Body, err)
			}
			ids = append(ids, m["source"]+"/"+m["id"])
		}
		slices.Sort(ids)
		if len(got) != len(want) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("sink got %d deliveries %v, want %d distinct", len(got), ids, len(want))
		}
		for _, id := range ids {
			if strings.HasPrefix(id, "productlift/") && !strings.HasPrefix(id, "productlift/hostile-") {
				t.Errorf("unexpected delivery %s", id)
			}
		}
	})
}

// leanbeWithoutSignature drops the signature member of a signed Leanbe body.
func leanbeWithoutSignature(t *testing.T, body []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "signature")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// adminEvents lists the event keys in the admin API's event log.
func adminEvents(t *testing.T, admin string) []string {
	t.Helper()
	resp, err := http.Get(admin + "/api/events?limit=500")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Events []struct {
			Key string `json:"key"`
		} `json:"events"`
	}
	if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&out); err != nil {
		t.Fatalf("/api/events: %v", err)
	}
	keys := make([]string, 0, len(out.Events))
	for _, e := range out.Events {
		keys = append(keys, e.Key)
	}
	return keys
}
