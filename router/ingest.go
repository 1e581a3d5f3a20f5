package router

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

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

	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			outcome("unsupported_media_type")
			writeError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
			return
		}
	}
	if req.ContentLength > src.maxBody {
		outcome("too_large")
		refuseTooLarge(w, req)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, src.maxBody+1))
	switch {
	case stalled(err):
		outcome("stalled")
		writeError(w, http.StatusRequestTimeout, "the body stopped arriving")
		return
	case err != nil:
		outcome("malformed")
		writeError(w, http.StatusBadRequest, "could not read body")
		return
	case int64(len(body)) > src.maxBody:
		outcome("too_large")
		refuseTooLarge(w, req)
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
	// travels in the message's headers.
	stored, err := json.Marshal(sources.Headers(req.Header))
	if err != nil {
		outcome("malformed")
		writeError(w, http.StatusBadRequest, "malformed headers")
		return
	}
	h := nats.Header{
		hdrSource:   {name},
		hdrVendor:   {src.Vendor()},
		hdrEvent:    {env.Event},
		hdrID:       {env.ID},
		hdrReceived: {r.opts.Now().UTC().Format(time.RFC3339Nano)},
		hdrHeaders:  {string(stored)},
	}
	dup, err := r.q.Publish(req.Context(), queue.EventsSubject+"."+name, name+"/"+env.ID, h, body)
	if errors.Is(err, queue.ErrStoreFull) {
		// Said once a refusal by /readyz and the log of the store's guard;
		// not an error per request.
		outcome("store_full")
		r.log.Warn("store full; asking the vendor to retry", "source", name, "event", env.Event, "id", env.ID)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "event could not be stored; retry later")
		return
	}
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
	r.log.LogAttrs(req.Context(), slog.LevelInfo, "event accepted",
		slog.String("source", name), slog.String("event", env.Event), slog.String("id", env.ID), slog.Bool("duplicate", dup))
	writeJSON(w, http.StatusAccepted, ingestResponse{ID: env.ID, Duplicate: dup})
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
