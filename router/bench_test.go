package router

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/queue"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// benchBody is a ProductLift vote of about 1.5 KB; %s is the delivery id,
// so every request is a distinct event (no dedup shortcut).
const benchBody = `{"id":"%s","creation_time":"2022-06-01T18:17:37Z","event":"vote.created","data":{"vote":{"id":500,` +
	`"created_at":"2022-06-01T18:17:37.808782Z","voter":{"id":48,"name":"Rubenb","email":"ruben@abc.nl","role":"admin",` +
	`"counter_votes":2,"counter_comments":18,"counter_posts":12,"counter_comment_votes":0}},"post":{"id":99,` +
	`"title":"This is a great idea","description":"Wow. This is the best idea I have ever seen! It would save our team ` +
	`hours every week, and the customers who asked for it in the last quarter would be delighted to hear it is planned.",` +
	`"author":{"id":48,"name":"Rubenb","email":"ruben@abc.nl","role":"admin","counter_votes":2,"counter_comments":18,` +
	`"counter_posts":12,"counter_comment_votes":0},"tags":["integrations","webhooks","notifications","api"],` +
	`"status":{"id":3,"name":"Under review","color":"#f5a623"},"votes_count":118,"comments_count":27,` +
	`"url":"https://feedback.example.com/p/this-is-a-great-idea"},"portal":{"id":4,"title":"Test Portal",` +
	`"url":"https://feedback.example.com"}}}`

// benchRules is a rules file with n rules keyed on distinct event literals
// and sources, none of which matches the benchmark's events, plus one that
// does.
func benchRules(n int) string {
	var b strings.Builder
	b.WriteString("sources:\n  productlift: { vendor: productlift, secret: \"${PL_SECRET}\" }\n")
	b.WriteString("  sleekplan: { vendor: sleekplan, key: k }\nrules:\n")
	srcs := []string{"productlift", "sleekplan"}
	for i := range n - 1 {
		fmt.Fprintf(&b, "  - name: r%d\n    source: %s\n    when: event == \"bench.e%d\"\n    actions: [ { http: { url: \"http://127.0.0.1:9/r%d\" } } ]\n", i, srcs[i%2], i, i)
	}
	b.WriteString("  - name: votes\n    when: event == \"vote.created\"\n    actions: [ { http: { url: \"http://127.0.0.1:9/votes\", json: { id: \"{{ .id }}\" } } } ]\n")
	return b.String()
}

// benchRouter is a Router with 1,000 rules on an embedded queue in a temp
// dir. Its pipeline is not running: the benchmark measures the ack path.
func benchRouter(b *testing.B, log *slog.Logger) *Router {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(benchRules(1000)), 0o600); err != nil {
		b.Fatal(err)
	}
	q, err := queue.Open(context.Background(), queue.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(q.Close)
	r, err := New(Options{RulesPath: path, Queue: q, Logger: log, Getenv: func(k string) (string, bool) {
		if k == "PL_SECRET" {
			return testSecret, true
		}
		return "", false
	}})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkIngest serves signed, distinct ProductLift events through the
// public handler (verify, envelope, store, 202) with 1,000 rules loaded, and
// the same requests through a bare handler that only reads the body and
// answers 202: the ratio of the two is the figure to watch, not either
// alone. "parallel" runs GOMAXPROCS×8 requests at once, as concurrent
// vendors would, so that stores can be pipelined.
func BenchmarkIngest(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.WriteHeader(http.StatusAccepted)
	})
	handlers := []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"bare", func(*testing.B) http.Handler { return bare }},
		{"router", func(b *testing.B) http.Handler { return benchRouter(b, slog.New(slog.DiscardHandler)).PublicHandler() }},
		{"router-textlog", func(b *testing.B) http.Handler {
			return benchRouter(b, slog.New(slog.NewTextHandler(io.Discard, nil))).PublicHandler()
		}},
	}
	cfg := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(testSecret)}
	var seq atomic.Int64
	serve := func(b *testing.B, h http.Handler) {
		id := "bench-" + strconv.FormatInt(seq.Add(1), 36) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		s, err := sources.Sign(cfg, fmt.Appendf(nil, benchBody, id), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/hooks/productlift", bytes.NewReader(s.Body))
		for k, v := range s.Header {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	for _, hc := range handlers {
		b.Run(hc.name+"/serial", func(b *testing.B) {
			h := hc.h(b)
			b.SetBytes(int64(len(benchBody)))
			b.ReportAllocs()
			for b.Loop() {
				serve(b, h)
			}
		})
		b.Run(hc.name+"/parallel", func(b *testing.B) {
			h := hc.h(b)
			b.SetBytes(int64(len(benchBody)))
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serve(b, h)
				}
			})
		})
	}
}
