// Package dashboard serves the operator's page of the admin listener: a
// hand-written HTML, JavaScript and CSS bundle embedded in the binary, with
// no build step and nothing fetched from elsewhere. The page reads the admin
// API (events, deliveries, dead letters, rules, mutes, the dry run and the
// preview) with fetch from the same origin; it holds no data of its own, so serving it needs no
// authentication. The API it calls does.
//
// Mount it on the admin router at both of its paths:
//
//	mux.Handler("GET", "/", dashboard.Handler())
//	mux.Handler("GET", "/ui/*filepath", dashboard.Handler())
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// AssetPrefix is the path under which the page's scripts and styles are served.
const AssetPrefix = "/ui/"

// ContentSecurityPolicy allows the page only its own scripts, styles and
// fetches: no inline script or style, no frames, no plugins, no forms posted
// elsewhere. Event data the page shows is hostile text; even if it reached
// the DOM as markup it could not run.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes is fixed here rather than read from the system's MIME tables,
// so a host's /etc/mime.types cannot change what the browser is told.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	index  asset
	assets map[string]asset // by name under AssetPrefix
}

// Handler serves the page at / and its files under /ui/. Anything else,
// including a directory or an unknown file, is a 404; methods other than
// GET and HEAD are refused.
func Handler() http.Handler {
	h := &handler{assets: map[string]asset{}}
	// The files are compiled into the binary: reading them cannot fail
	// unless the embed directive itself is broken, which the tests catch.
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := asset{body: body, contentType: contentTypes[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		name := strings.TrimPrefix(p, "static/")
		if name == "index.html" {
			h.index = a
			return nil
		}
		h.assets[name] = a
		return nil
	})
	if err != nil {
		panic("dashboard: embedded files unreadable: " + err.Error())
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var a asset
	switch p := r.URL.Path; {
	case p == "/":
		a = h.index
		// The page names its assets without a version: never keep it, so
		// a new binary's page always loads with its own scripts.
		hdr.Set("Cache-Control", "no-store")
	case strings.HasPrefix(p, AssetPrefix):
		var ok bool
		if a, ok = h.assets[strings.TrimPrefix(p, AssetPrefix)]; !ok {
			http.NotFound(w, r)
			return
		}
		// Keep, but ask each time: the ETag makes that a 304.
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("ETag", a.etag)
	default:
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
