package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"
	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/sources"
)

// Headers of a stored event message. The message's data is the request body
// exactly as received, so that it can be verified again and nothing is lost
// to re-encoding.
const (
	hdrSource   = "Switchyard-Source"
	hdrVendor   = "Switchyard-Vendor"
	hdrEvent    = "Switchyard-Event"
	hdrID       = "Switchyard-Id"
	hdrReceived = "Switchyard-Received"
	hdrHeaders  = "Switchyard-Headers"
)

// PublicHandler serves POST /hooks/:source, the only endpoint to expose to
// the internet.
func (r *Router) PublicHandler() http.Handler {
	mux := httprouter.New()
	mux.POST("/hooks/:source", r.ingest)
	mux.NotFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	mux.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	mux.HandleOPTIONS = false
	return mux
}

type ingestResponse struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// ingest is the ack path: verify the raw bytes, check the envelope, store,
// 202. Decoding and matching happen after the 202.
//
// It runs for every request, so it keeps to what must be synchronous and
// allocates little: the body is read into a pooled buffer sized from
// Content-Length, the stored headers and the answer are encoded by hand,
// and the log and its attributes are built only for the lines written.
func (r *Router) ingest(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
	name := ps.ByName("source")
	cfg := r.cur.Load() // one config for the whole request, whatever reloads meanwhile
	src, ok := cfg.sources[name]
	if !ok {
		r.metrics.received.WithLabelValues("unknown", "unknown_source").Inc()
		writeError(w, http.StatusNotFound, "unknown source")
		return
	}
	outcome := func(o string) { r.metrics.received.WithLabelValues(name, o).Inc() }

	if ct := req.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			outcome("unsupported_media_type")
			writeError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
			return
		}
	}
	if req.ContentLength > src.maxBody {
		outcome("too_large")
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	buf := getBuffer(req.ContentLength)
	defer putBuffer(buf)
	body, err := readBody(http.MaxBytesReader(w, req.Body, src.maxBody), (*buf)[:0])
	*buf = body[:0] // keep a grown buffer for the next request
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			outcome("too_large")
			writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		outcome("malformed")
		writeError(w, http.StatusBadRequest, "could not read body")
		return
	}
	if err := src.Verify(req, body); err != nil {
		if errors.Is(err, sources.ErrMalformed) {
			outcome("malformed")
			r.log.Info("refused malformed request", "source", name, "err", cfg.Redact(err.Error()))
			writeError(w, http.StatusBadRequest, "malformed body")
			return
		}
		outcome("unauthorized")
		r.log.Warn("refused unverified request", "source", name, "remote", req.RemoteAddr, "err", cfg.Redact(err.Error()))
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	env, err := src.Envelope(req.Header, body)
	if err != nil {
		outcome("malformed")
		r.log.Info("refused malformed body", "source", name, "err", cfg.Redact(err.Error()))
		writeError(w, http.StatusBadRequest, "malformed body: "+publicReason(err))
		return
	}
	// The body is stored as received; what the matcher needs besides it
	// travels in the message's headers. The strings built for this request
	// (subject, message id, received time, stored headers) are written after
	// the body in its buffer and cut from one string, and the headers'
	// values share one array: two allocations, not ten.
	m := (*buf)[len(body):len(body)]
	m = append(append(append(m, queue.EventsSubject...), '.'), name...)
	subjectEnd := len(m)
	m = append(append(append(m, name...), '/'), env.ID...)
	msgIDEnd := len(m)
	m = r.opts.Now().UTC().AppendFormat(m, time.RFC3339Nano)
	receivedEnd := len(m)
	m = appendHeadersJSON(m, sources.Headers(req.Header))
	meta := string(m)
	vals := [...]string{name, src.Vendor(), env.Event, env.ID, meta[msgIDEnd:receivedEnd], meta[receivedEnd:]}
	h := nats.Header{
		hdrSource:   vals[0:1:1],
		hdrVendor:   vals[1:2:2],
		hdrEvent:    vals[2:3:3],
		hdrID:       vals[3:4:4],
		hdrReceived: vals[4:5:5],
		hdrHeaders:  vals[5:6:6],
	}
	dup, err := r.q.Publish(req.Context(), meta[:subjectEnd], meta[subjectEnd:msgIDEnd], h, body)
	if err != nil {
		outcome("store_failed")
		r.log.Error("could not store event; asking the vendor to retry", "source", name, "event", env.Event, "id", env.ID, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "event could not be stored; retry later")
		return
	}
	if dup {
		outcome("duplicate")
	} else {
		outcome("accepted")
	}
	if h := r.log.Handler(); h.Enabled(req.Context(), slog.LevelInfo) {
		// As lazyLog does: no caller's program counter, which no handler
		// serve sets up prints and slog.Logger would walk the stack for.
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "event accepted", 0)
		rec.AddAttrs(slog.String("source", name), slog.String("event", env.Event), slog.String("id", env.ID), slog.Bool("duplicate", dup))
		_ = h.Handle(req.Context(), rec)
	}
	writeAccepted(w, env.ID, dup)
}

// bodyPool holds request body buffers. A buffer is back in the pool once
// the event is stored: the queue has copied the bytes by then, and no
// source keeps a slice of them.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse: bodies are usually a few
// KiB, and a rare large one should not pin a MiB per pooled buffer.
const maxPooled = 64 << 10

// getBuffer returns a pooled buffer with room for a body of n bytes (n < 0:
// unknown) and the stored headers after it.
func getBuffer(n int64) *[]byte {
	buf := bodyPool.Get().(*[]byte)
	want := int(max(n, 0)) + 1024 // + headers; + the read that sees EOF
	if cap(*buf) < want {
		*buf = make([]byte, 0, max(want, 4096))
	}
	return buf
}

func putBuffer(buf *[]byte) {
	if cap(*buf) > maxPooled {
		return
	}
	*buf = (*buf)[:0]
	bodyPool.Put(buf)
}

// readBody reads r to its end, appending to buf.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// appendHeadersJSON appends the stored request headers as a JSON object
// with sorted names, as json.Marshal writes a map[string]string.
func appendHeadersJSON(dst []byte, h map[string]string) []byte {
	names := make([]string, 0, 16) // on the stack for up to 16 headers
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	for i, k := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, h[k])
	}
	return append(dst, '}')
}

// writeAccepted writes the 202 exactly as writeJSON would encode
// ingestResponse, without reflection.
func writeAccepted(w http.ResponseWriter, id string, dup bool) {
	var arr [128]byte
	b := append(arr[:0], `{"id":`...)
	b = appendJSONString(b, id)
	if dup {
		b = append(b, `,"duplicate":true}`+"\n"...)
	} else {
		b = append(b, `,"duplicate":false}`+"\n"...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(b)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it by default: quotes, backslashes and control characters, <, >
// and & (for HTML), U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// publicReason is the part of an envelope error safe to show the sender:
// what is malformed, never a secret or an expected value.
func publicReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, sources.ErrMalformed.Error()+": ")
	if i := strings.LastIndex(msg, ": "+sources.ErrMalformed.Error()); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
