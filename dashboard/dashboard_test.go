package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// mounted mounts the handler exactly as the admin listener does.
func mounted() http.Handler {
	mux := httprouter.New()
	mux.Handler(http.MethodGet, "/", Handler())
	mux.Handler(http.MethodGet, "/ui/*filepath", Handler())
	return mux
}

func get(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name        string
		handler     http.Handler
		method      string
		path        string
		wantStatus  int
		wantType    string
		wantCache   string
		wantContain string
	}{
		{"index", mounted(), "GET", "/", 200, "text/html; charset=utf-8", "no-store", `<script src="ui/app.js" defer></script>`},
		{"index HEAD", Handler(), "HEAD", "/", 200, "text/html; charset=utf-8", "no-store", ""},
		{"script", mounted(), "GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "no-cache", `"use strict";`},
		{"style", mounted(), "GET", "/ui/style.css", 200, "text/css; charset=utf-8", "no-cache", ":root"},
		{"unknown asset", mounted(), "GET", "/ui/nope.js", 404, "", "", ""},
		{"asset directory", mounted(), "GET", "/ui/", 404, "", "", ""},
		{"index is not an asset", mounted(), "GET", "/ui/index.html", 404, "", "", ""},
		{"embed directory name", mounted(), "GET", "/ui/static/app.js", 404, "", "", ""},
		{"escape attempt", Handler(), "GET", "/ui/../dashboard.go", 404, "", "", ""},
		{"other path", Handler(), "GET", "/api/events", 404, "", "", ""},
		{"post", Handler(), "POST", "/", 405, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.handler, tc.method, tc.path, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			// Every answer, errors included, carries the security headers.
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if tc.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control %q, want %q", got, tc.wantCache)
			}
			if !strings.Contains(body, tc.wantContain) {
				t.Errorf("body does not contain %q", tc.wantContain)
			}
			if tc.method == "HEAD" && body != "" {
				t.Errorf("HEAD has a body")
			}
		})
	}
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("policy lacks %q", want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("policy allows %q", bad)
		}
	}
}

func TestAssetRevalidation(t *testing.T) {
	h := mounted()
	resp, _ := get(t, h, "GET", "/ui/app.js", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on an asset")
	}
	resp, body := get(t, h, "GET", "/ui/app.js", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
	}
	resp, _ = get(t, h, "GET", "/ui/app.js", http.Header{"If-None-Match": {`"stale"`}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stale ETag: %d, want 200", resp.StatusCode)
	}
}

// TestPageKeepsToItsPolicy checks the page against what the policy forbids,
// so a change that the browser would silently block fails here: every file
// the page names is served, nothing is loaded from elsewhere, there is no
// inline script, handler or style, and the script never parses data as
// markup.
func TestPageKeepsToItsPolicy(t *testing.T) {
	h := mounted()
	_, index := get(t, h, "GET", "/", nil)
	refs := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 2 {
		t.Fatalf("found %d references in the page", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if ref == "data:," { // the empty favicon, so the browser asks for none
			continue
		}
		if !strings.HasPrefix(ref, "ui/") {
			t.Errorf("the page loads %q, not one of its own files", ref)
			continue
		}
		if resp, _ := get(t, h, "GET", "/"+ref, nil); resp.StatusCode != 200 {
			t.Errorf("the page names %q, which answers %d", ref, resp.StatusCode)
		}
	}
	for name, re := range map[string]string{
		"inline script":           `<script(?:\s[^>]*)?>\s*[^<\s]`,
		"event handler attribute": `\son[a-z]+\s*=`,
		"style attribute":         `\sstyle\s*=`,
		"style element":           `<style`,
		"javascript: URL":         `javascript:`,
	} {
		if loc := regexp.MustCompile(`(?i)` + re).FindStringIndex(index); loc != nil {
			t.Errorf("index.html has an %s: %q", name, index[loc[0]:min(loc[1]+20, len(index))])
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("index.html has a script without src: %s", tag)
		}
	}
	_, app := get(t, h, "GET", "/ui/app.js", nil)
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"style\"", ".style."} {
		if strings.Contains(app, sink) {
			t.Errorf("app.js uses %s: data must reach the page as text", sink)
		}
	}
}
