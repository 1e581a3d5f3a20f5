package router

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard/switchyard/dashboard"
)

// AdminHandler serves the admin listener: health, readiness, metrics,
// reload, the admin API and the dashboard. Bind it to loopback, or set
// Options.AdminToken.
func (r *Router) AdminHandler() http.Handler {
	mux := httprouter.New()
	mux.GET("/healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.GET("/readyz", r.readyz)
	mux.Handler(http.MethodGet, "/metrics", promhttp.HandlerFor(r.opts.Registry, promhttp.HandlerOpts{}))
	mux.POST("/-/reload", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		if err := r.Reload(); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		cfg := r.Config()
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "rules": len(cfg.File.Rules), "hash": cfg.File.Hash})
	})
	r.apiRoutes(mux)
	mux.Handler(http.MethodGet, "/", dashboard.Handler())
	mux.Handler(http.MethodGet, "/ui/*filepath", dashboard.Handler())
	mux.NotFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	if r.opts.AdminToken != "" {
		return tokenAuth(r.opts.AdminToken.Reveal(), mux)
	}
	return mux
}

// readyz answers 200 when rules are loaded and the queue answers and
// takes writes (not while its disk is full).
func (r *Router) readyz(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	if r.Config() == nil {
		writeError(w, http.StatusServiceUnavailable, "rules not loaded")
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	if err := r.q.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "queue unreachable")
		return
	}
	if err := r.q.Writable(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "the store refuses writes: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
