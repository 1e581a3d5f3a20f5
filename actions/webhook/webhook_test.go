package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
)

// hostileStrings returns feedback written to break out of whatever it
// lands in.
func hostileStrings() map[string]any {
	return map[string]any{
		"quote":     `say "hi"`,
		"backslash": `C:\path\"\`,
		"newline":   "line1\nline2\r\n\ttabbed",
		"script":    "</script><script>alert(1)</script>",
		"invalid":   "bad\xff\xfeutf8",
		"nul":       "nul\x00byte",
		"crlf":      "Eve\r\nX-Injected: 1",
		"slug":      "../admin?x=1&y=2#frag",
		"amp":       "a&b=c d+e",
	}
}

func testEvent() *event.Event {
	data := map[string]any{"post": map[string]any{"id": float64(99), "title": "Dark mode"}}
	for k, v := range hostileStrings() {
		data[k] = v
	}
	return &event.Event{Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "d-1", Data: data}
}

type captured struct {
	method      string
	escapedPath string
	query       map[string][]string
	header      http.Header
	body        []byte
}

// server records requests and answers with the handler's status.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []captured
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, captured{r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone(), body})
		s.mu.Unlock()
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.reqs...)
}

func TestJSONBodySurvivesHostileValues(t *testing.T) {
	srv := newServer(t, nil)
	jsonSpec := map[string]any{
		"post":    "{{ .data.post.id }}",
		"literal": map[string]any{"n": 3, "f": 1.5, "b": true, "null": nil, "s": "plain <text>"},
		"list":    []any{"{{ .data.quote }}", 7, "{{ .event }}"},
	}
	for k := range hostileStrings() {
		jsonSpec[k] = "{{ .data." + k + " }}"
	}
	a, err := New(Spec{
		URL:     srv.URL + "/api/votes",
		Headers: map[string]string{"X-Voter": "{{ .data.crlf }}", "Authorization": "Bearer t0ken"},
		JSON:    jsonSpec,
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), testEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	reqs := srv.received()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.method != http.MethodPost {
		t.Errorf("method %s, want POST", got.method)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if v := got.header.Get("X-Voter"); v != "EveX-Injected: 1" {
		t.Errorf("X-Voter %q: CR/LF not stripped", v)
	}
	if v := got.header.Get("X-Injected"); v != "" {
		t.Errorf("header injected: X-Injected: %q", v)
	}
	if v := got.header.Get("Authorization"); v != "Bearer t0ken" {
		t.Errorf("Authorization %q", v)
	}
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatalf("server could not decode the body %q: %v", got.body, err)
	}
	want := map[string]any{
		"post":    "99",
		"literal": map[string]any{"n": float64(3), "f": 1.5, "b": true, "null": nil, "s": "plain <text>"},
		"list":    []any{`say "hi"`, float64(7), "vote.created"},
	}
	for k, v := range hostileStrings() {
		want[k] = v
	}
	// encoding/json replaces each invalid UTF-8 byte with U+FFFD.
	want["invalid"] = "bad\uFFFD\uFFFDutf8"
	if !reflect.DeepEqual(body, want) {
		t.Errorf("decoded body\n got  %#v\n want %#v", body, want)
	}
	if strings.Contains(string(got.body), "</script>") {
		t.Errorf("body contains a raw </script>: %s", got.body)
	}
}

func TestURLInsertedValuesStayInTheirComponent(t *testing.T) {
	srv := newServer(t, nil)
	a, err := New(Spec{Method: "put", URL: srv.URL + "/posts/{{ .data.slug }}?q={{ .data.amp }}&id={{ .data.post.id }}"}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), testEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	got := srv.received()[0]
	if got.method != http.MethodPut {
		t.Errorf("method %s, want PUT", got.method)
	}
	if want := "/posts/..%2Fadmin%3Fx%3D1%26y%3D2%23frag"; got.escapedPath != want {
		t.Errorf("path %q, want %q", got.escapedPath, want)
	}
	wantQuery := map[string][]string{"q": {"a&b=c d+e"}, "id": {"99"}}
	if !reflect.DeepEqual(got.query, wantQuery) {
		t.Errorf("query %v, want %v", got.query, wantQuery)
	}
	if len(got.body) != 0 {
		t.Errorf("body %q, want none", got.body)
	}
}

func TestRawBody(t *testing.T) {
	srv := newServer(t, nil)
	a, err := New(Spec{
		URL:     srv.URL + "/form",
		Headers: map[string]string{"content-type": "text/plain"},
		Body:    "vote {{ .data.post.id }} by {{ .data.quote }}",
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), testEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	got := srv.received()[0]
	if string(got.body) != `vote 99 by say "hi"` {
		t.Errorf("body %q", got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want the author's text/plain", ct)
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		wantErr    bool
		wantRetry  bool
		wantAfter  time.Duration
		wantInErr  string
	}{
		{"200", 200, "", "", false, false, 0, ""},
		{"204", 204, "", "", false, false, 0, ""},
		{"500 retryable", 500, "", "boom", true, true, 0, `"boom"`},
		{"503 with Retry-After seconds", 503, "30", "", true, true, 30 * time.Second, "503"},
		{"503 with Retry-After date", 503, "Mon, 06 May 2024 12:01:00 GMT", "", true, true, time.Minute, "503"},
		{"429 retryable", 429, "", "", true, true, 0, "429"},
		{"408 retryable", 408, "", "", true, true, 0, "408"},
		{"404 permanent", 404, "", "no such post", true, false, 0, "404 Not Found"},
		{"400 permanent", 400, "", `{"error":"bad"}`, true, false, 0, "400"},
		{"long body cut", 422, "", strings.Repeat("x", 10000), true, false, 0, "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			a, err := New(Spec{URL: srv.URL + "/hook?token=s3cr3t", JSON: map[string]any{"a": 1}}, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			a.now = func() time.Time { return time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC) }
			err = a.Do(context.Background(), testEvent())
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Do succeeded, want an error")
			}
			retry, after := actions.Classify(err)
			if retry != tc.wantRetry || after != tc.wantAfter {
				t.Errorf("Classify(%v) = %v, %v; want %v, %v", err, retry, after, tc.wantRetry, tc.wantAfter)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantInErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error reveals the query: %v", err)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	other := newServer(t, nil)
	t.Run("to another host is not followed", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
		})
		// Same address, another port: another host to the redirect check.
		a, err := New(Spec{URL: srv.URL + "/x", JSON: map[string]any{"secret": "body"}}, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		err = a.Do(context.Background(), testEvent())
		if retry, _ := actions.Classify(err); err == nil || retry {
			t.Fatalf("Do = %v, want a permanent error", err)
		}
		if !strings.Contains(err.Error(), "not followed") {
			t.Errorf("error %q does not say the redirect was not followed", err)
		}
		if n := len(other.received()); n != 0 {
			t.Errorf("the other host got %d requests", n)
		}
	})
	t.Run("within the same host is followed", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/old" {
				http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
			}
		})
		a, err := New(Spec{URL: srv.URL + "/old", JSON: map[string]any{"a": "b"}}, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := a.Do(context.Background(), testEvent()); err != nil {
			t.Fatalf("Do: %v", err)
		}
		reqs := srv.received()
		if len(reqs) != 2 || reqs[1].escapedPath != "/new" || string(reqs[1].body) != `{"a":"b"}` {
			t.Errorf("requests %+v, want /old then /new with the body", reqs)
		}
	})
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	a, err := New(Spec{URL: srv.URL + "/slow", Timeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = a.Do(context.Background(), testEvent())
	if err == nil {
		t.Fatal("Do succeeded against a server that never answers")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not a deadline", err)
	}
	if retry, _ := actions.Classify(err); !retry {
		t.Errorf("timeout %v classified permanent", err)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	a, err := New(Spec{URL: u + "/x?key=s3cr3t"}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = a.Do(context.Background(), testEvent())
	if retry, _ := actions.Classify(err); err == nil || !retry {
		t.Fatalf("Do = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error reveals the query: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"host from event data", Spec{URL: "https://{{ .data.host }}/x"}, "literally"},
		{"part of host from data", Spec{URL: "https://api.{{ .data.tenant }}.example.com/x"}, "literally"},
		{"host suffix from data", Spec{URL: "https://example.com{{ .data.path }}"}, "literally"},
		{"port from data", Spec{URL: "https://example.com:{{ .data.port }}/x"}, "literally"},
		{"whole url from data", Spec{URL: "{{ .data.url }}"}, "http"},
		{"scheme from data", Spec{URL: "{{ .data.scheme }}://example.com/"}, "literally"},
		{"file scheme", Spec{URL: "file:///etc/passwd"}, "scheme"},
		{"ftp scheme", Spec{URL: "ftp://example.com/x"}, "scheme"},
		{"no scheme", Spec{URL: "example.com/x"}, "http"},
		{"no host", Spec{URL: "https:///x"}, "no host"},
		{"empty url", Spec{}, "required"},
		{"bad url template", Spec{URL: "https://example.com/{{ .data"}, "url"},
		{"json and body", Spec{URL: "https://example.com/", JSON: map[string]any{"a": 1}, Body: "x"}, "mutually exclusive"},
		{"bad json template", Spec{URL: "https://example.com/", JSON: map[string]any{"a": []any{"{{ nope }}"}}}, "nope"},
		{"unsupported json value", Spec{URL: "https://example.com/", JSON: map[string]any{"a": make(chan int)}}, "unsupported"},
		{"non-string key", Spec{URL: "https://example.com/", JSON: map[any]any{1: "x"}}, "not a string"},
		{"bad method", Spec{URL: "https://example.com/", Method: "GE T"}, "method"},
		{"bad header name", Spec{URL: "https://example.com/", Headers: map[string]string{"X Bad": "1"}}, "header name"},
		{"host header", Spec{URL: "https://example.com/", Headers: map[string]string{"host": "evil.example"}}, "Host"},
		{"header with newline", Spec{URL: "https://example.com/", Headers: map[string]string{"X-A": "a\r\nB: c"}}, "control"},
		{"negative timeout", Spec{URL: "https://example.com/", Timeout: -time.Second}, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"yaml v2 style map", Spec{URL: "https://example.com/", JSON: map[any]any{"a": []any{map[any]any{"b": "{{ .id }}"}}}}},
		{"templated path and query", Spec{URL: "HTTPS://Example.com:8443/p/{{ .id }}?q={{ .event }}#{{ .id }}"}},
		{"userinfo", Spec{URL: "https://user:pass@example.com/"}},
		{"ipv6", Spec{URL: "http://[::1]:8080/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.spec, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if _, err := a.Render(testEvent()); err != nil {
				t.Fatalf("Render: %v", err)
			}
		})
	}
}

func TestRender(t *testing.T) {
	a, err := New(Spec{
		URL:     "https://crm.example.com/api/votes/{{ .data.post.id }}",
		Headers: map[string]string{"X-Event": "{{ .event }}"},
		JSON:    map[string]any{"title": "{{ .data.post.title }}", "n": 1},
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r, err := a.Render(testEvent())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := actions.Rendered{
		Kind:   "http",
		Target: "POST https://crm.example.com/api/votes/99",
		Fields: map[string]string{
			"method":  "POST",
			"url":     "https://crm.example.com/api/votes/99",
			"headers": "Content-Type: application/json\nX-Event: vote.created\n",
			"body":    `{"n":1,"title":"Dark mode"}`,
			// Only sending knows them.
			"delivery_headers": "Idempotency-Key: <delivery id>\nWebhook-Id: <delivery id>\n",
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Render\n got  %#v\n want %#v", r, want)
	}
}

func BenchmarkJSONBody(b *testing.B) {
	a, err := New(Spec{
		URL: "https://crm.example.com/api/votes",
		JSON: map[string]any{
			"post":  "{{ .data.post.id }}",
			"title": "{{ .data.post.title }}",
			"voter": map[string]any{"quote": "{{ .data.quote }}", "source": "{{ .source }}"},
			"n":     1,
		},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ev := testEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.render(actions.EventData(ev)); err != nil {
			b.Fatal(err)
		}
	}
}

// A grouped rule's firing sends one request: its json: strings render the
// group's names, each inserted value JSON-encoded.
func TestSendGroup(t *testing.T) {
	s := newServer(t, nil)
	a, err := New(Spec{
		URL:  s.URL + "/digest/{{ .key }}",
		JSON: map[string]any{"count": "{{ .count }}", "voters": "{{ range .events }}{{ .data.quote }};{{ end }}", "first": "{{ .first.id }}"},
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	one, two := testEvent(), testEvent()
	two.ID = "d-2"
	g := &actions.Group{Rule: "r", Key: "post 99", Count: 2, Events: []event.Event{*one, *two}}
	if err := a.DoData(context.Background(), g.Data()); err != nil {
		t.Fatalf("DoData: %v", err)
	}
	reqs := s.received()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	if reqs[0].escapedPath != "/digest/post%2099" {
		t.Errorf("path %q", reqs[0].escapedPath)
	}
	var body map[string]string
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, reqs[0].body)
	}
	quote := hostileStrings()["quote"].(string)
	if want := quote + ";" + quote + ";"; body["count"] != "2" || body["first"] != "d-1" || body["voters"] != want {
		t.Errorf("body = %q, want count 2, first d-1, voters %q", body, want)
	}
}
