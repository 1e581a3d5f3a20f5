package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

const testToken = "xoxb-test-token-1234"

// hostileEvent carries feedback written by someone who would like to ping
// the whole channel and plant a phishing link.
func hostileEvent() *event.Event {
	return &event.Event{
		Source: "productlift",
		Vendor: "productlift",
		Event:  "vote.created",
		ID:     "d-1",
		Time:   time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Data: map[string]any{
			"post": map[string]any{"id": float64(99), "title": "<https://evil.example|click> & win"},
			"vote": map[string]any{"voter": map[string]any{"name": "<!channel> @channel Mallory"}},
		},
	}
}

// recorder is a chat.postMessage (or incoming webhook) endpoint that keeps
// what it received and answers as told.
type recorder struct {
	mu       sync.Mutex
	requests []map[string]string
	auth     []string

	status     int
	retryAfter string
	body       string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				got[k] = s
				continue
			}
			b, _ := json.Marshal(v) // blocks: JSON, as chat.postMessage's form carries them
			got[k] = string(b)
		}
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for k := range r.PostForm {
			got[k] = r.PostForm.Get(k)
		}
	}
	rec.mu.Lock()
	rec.requests = append(rec.requests, got)
	rec.auth = append(rec.auth, r.Header.Get("Authorization"))
	status, retryAfter, body := rec.status, rec.retryAfter, rec.body
	rec.mu.Unlock()

	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" {
		body = `{"ok":true,"channel":"C1","ts":"1.2"}`
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (rec *recorder) received() []map[string]string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]map[string]string(nil), rec.requests...)
}

func startSlack(t *testing.T, rec *recorder) *slacktest.Server {
	t.Helper()
	return startSlackWith(t, rec.ServeHTTP)
}

// startSlackWith starts slacktest with h as chat.postMessage.
func startSlackWith(t *testing.T, h http.HandlerFunc) *slacktest.Server {
	t.Helper()
	s := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", h)
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func TestPostMessageEscapesInsertedValuesOnly(t *testing.T) {
	rec := &recorder{}
	s := startSlack(t, rec)
	a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{
		Channel:   "#feedback",
		Text:      "*New vote* on <https://example.com/p/{{ .data.post.id }}|post {{ .data.post.id }}>: {{ .data.post.title }} by {{ .data.vote.voter.name }} & co",
		Username:  "Switchyard",
		IconEmoji: ":ballot_box:",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), hostileEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	reqs := rec.received()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	wantText := "*New vote* on <https://example.com/p/99|post 99>: &lt;https://evil.example|click&gt; &amp; win by &lt;!channel&gt; @channel Mallory & co"
	if got["text"] != wantText {
		t.Errorf("text\n got  %q\n want %q", got["text"], wantText)
	}
	if got["channel"] != "#feedback" || got["username"] != "Switchyard" || got["icon_emoji"] != ":ballot_box:" {
		t.Errorf("channel/username/icon_emoji = %q/%q/%q", got["channel"], got["username"], got["icon_emoji"])
	}
	// Plain "@channel" only notifies when Slack is asked to parse names.
	if got["parse"] == "full" || got["link_names"] == "1" || got["link_names"] == "true" {
		t.Errorf("message asks Slack to parse names: parse=%q link_names=%q", got["parse"], got["link_names"])
	}
	if tok := got["token"]; tok != testToken && rec.auth[0] != "Bearer "+testToken {
		t.Errorf("token not sent: form token %q, Authorization %q", tok, rec.auth[0])
	}
}

func TestPostMessageErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		wantRetry  bool
		wantAfter  time.Duration
		wantInErr  string
	}{
		{"rate limited with Retry-After", 429, "7", `{"ok":false,"error":"ratelimited"}`, true, 7 * time.Second, "rate limit"},
		{"rate limit Retry-After capped", 429, "100000", "", true, actions.MaxRetryAfter, "rate limit"},
		{"429 without Retry-After", 429, "", "", true, 0, "429"},
		{"channel_not_found", 200, "", `{"ok":false,"error":"channel_not_found"}`, false, 0, "channel_not_found"},
		{"invalid_auth", 200, "", `{"ok":false,"error":"invalid_auth"}`, false, 0, "invalid_auth"},
		{"not_in_channel", 200, "", `{"ok":false,"error":"not_in_channel"}`, false, 0, "not_in_channel"},
		{"is_archived", 200, "", `{"ok":false,"error":"is_archived"}`, false, 0, "is_archived"},
		{"msg_too_long", 200, "", `{"ok":false,"error":"msg_too_long"}`, false, 0, "msg_too_long"},
		{"internal_error is transient", 200, "", `{"ok":false,"error":"internal_error"}`, true, 0, "internal_error"},
		{"500", 500, "", "<html>oops</html>", true, 0, "500"},
		{"503", 503, "", "", true, 0, "503"},
		{"408", 408, "", "", true, 0, "408"},
		{"404", 404, "", "", false, 0, "404"},
		{"garbled 200 body", 200, "", "<html>proxy</html>", true, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{status: tc.status, retryAfter: tc.retryAfter, body: tc.body}
			s := startSlack(t, rec)
			a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{Channel: "#c", Text: "hi"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = a.Do(context.Background(), hostileEvent())
			if err == nil {
				t.Fatal("Do succeeded, want an error")
			}
			retry, after := actions.Classify(err)
			if retry != tc.wantRetry || after != tc.wantAfter {
				t.Errorf("Classify(%v) = %v, %v; want %v, %v", err, retry, after, tc.wantRetry, tc.wantAfter)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantInErr)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error reveals the token: %v", err)
			}
		})
	}
}

func TestPostMessageNetworkErrorIsRetryable(t *testing.T) {
	rec := &recorder{}
	s := startSlack(t, rec)
	a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{Channel: "#c", Text: "hi"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.Stop()
	err = a.Do(context.Background(), hostileEvent())
	if err == nil {
		t.Fatal("Do succeeded against a stopped server")
	}
	if retry, _ := actions.Classify(err); !retry {
		t.Errorf("network error %v classified permanent", err)
	}
}

func TestWebhookURL(t *testing.T) {
	const path = "/services/T000/B000/s3cr3tPart"
	tests := []struct {
		name      string
		status    int
		body      string
		wantErr   bool
		wantRetry bool
	}{
		{"ok", 200, "ok", false, false},
		{"channel_not_found", 404, "channel_not_found", true, false},
		{"invalid_payload", 400, "invalid_payload", true, false},
		{"channel_is_archived", 410, "channel_is_archived", true, false},
		{"server error", 500, "rollup_error", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{status: tc.status, body: tc.body}
			mux := http.NewServeMux()
			mux.Handle("POST "+path, rec)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			hook := secret.Secret(srv.URL + path)

			a, err := New(Config{WebhookURL: hook}, Spec{Text: "{{ .data.vote.voter.name }} voted *{{ .data.post.title }}*"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = a.Do(context.Background(), hostileEvent())
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				reqs := rec.received()
				if len(reqs) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(reqs))
				}
				want := "&lt;!channel&gt; @channel Mallory voted *&lt;https://evil.example|click&gt; &amp; win*"
				if reqs[0]["text"] != want {
					t.Errorf("text %q, want %q", reqs[0]["text"], want)
				}
				return
			}
			if err == nil {
				t.Fatal("Do succeeded, want an error")
			}
			if retry, _ := actions.Classify(err); retry != tc.wantRetry {
				t.Errorf("Classify(%v) retry = %v, want %v", err, retry, tc.wantRetry)
			}
			if strings.Contains(err.Error(), "s3cr3tPart") {
				t.Errorf("error reveals the webhook URL: %v", err)
			}
		})
	}

	t.Run("network error hides the URL", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		hook := secret.Secret(srv.URL + path)
		srv.Close()
		a, err := New(Config{WebhookURL: hook}, Spec{Text: "hi"})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		err = a.Do(context.Background(), hostileEvent())
		if err == nil {
			t.Fatal("Do succeeded against a closed server")
		}
		if retry, _ := actions.Classify(err); !retry {
			t.Errorf("network error %v classified permanent", err)
		}
		if strings.Contains(err.Error(), "s3cr3tPart") {
			t.Errorf("error reveals the webhook URL: %v", err)
		}
	})
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		spec Spec
		want string
	}{
		{"neither token nor webhook", Config{}, Spec{Channel: "#c", Text: "x"}, "exactly one"},
		{"both token and webhook", Config{Token: "t", WebhookURL: "https://hooks.slack.com/x"}, Spec{Channel: "#c", Text: "x"}, "exactly one"},
		{"no text", Config{Token: "t"}, Spec{Channel: "#c"}, "text is required"},
		{"no channel with token", Config{Token: "t"}, Spec{Text: "x"}, "channel is required"},
		{"bad text template", Config{Token: "t"}, Spec{Channel: "#c", Text: "{{ .data"}, "text"},
		{"bad channel template", Config{Token: "t"}, Spec{Channel: "{{ nope }}", Text: "x"}, "channel"},
		{"bad api url", Config{Token: "t", APIURL: "ftp://x"}, Spec{Channel: "#c", Text: "x"}, "api_url"},
		{"bad webhook url", Config{WebhookURL: "not a url s3cr3t"}, Spec{Text: "x"}, "webhook_url"},
		{"api url with webhook", Config{WebhookURL: "https://hooks.slack.com/x", APIURL: "https://x/"}, Spec{Text: "x"}, "api_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error reveals the webhook URL: %v", err)
			}
		})
	}
}

func TestRenderHidesSecrets(t *testing.T) {
	hook := secret.Secret("https://hooks.slack.com/services/T/B/s3cr3t")
	tests := []struct {
		name       string
		cfg        Config
		spec       Spec
		wantTarget string
		wantFields map[string]string
	}{
		{
			name:       "token",
			cfg:        Config{Token: testToken},
			spec:       Spec{Channel: "#{{ .source }}", Text: "{{ .data.vote.voter.name }}"},
			wantTarget: "#productlift",
			wantFields: map[string]string{"channel": "#productlift", "text": "&lt;!channel&gt; @channel Mallory"},
		},
		{
			name:       "webhook",
			cfg:        Config{WebhookURL: hook},
			spec:       Spec{Text: "hi {{ .event }}", Username: "bot"},
			wantTarget: "webhook <secret>",
			wantFields: map[string]string{"text": "hi vote.created", "username": "bot", "webhook_url": "<secret>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg, tc.spec)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			r, err := a.Render(hostileEvent())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if r.Kind != "slack" || r.Target != tc.wantTarget {
				t.Errorf("kind/target = %q/%q, want slack/%q", r.Kind, r.Target, tc.wantTarget)
			}
			if fmt.Sprint(r.Fields) != fmt.Sprint(tc.wantFields) {
				t.Errorf("fields = %v, want %v", r.Fields, tc.wantFields)
			}
			b, _ := json.Marshal(r)
			if strings.Contains(string(b), "s3cr3t") || strings.Contains(string(b), testToken) {
				t.Errorf("rendering reveals a secret: %s", b)
			}
		})
	}
}

func TestDoRefusesEmptyChannel(t *testing.T) {
	rec := &recorder{}
	s := startSlack(t, rec)
	a, err := New(Config{Token: testToken, APIURL: strings.TrimSuffix(s.GetAPIURL(), "/")}, Spec{Channel: "{{ .data.nope }}", Text: "x"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = a.Do(context.Background(), hostileEvent())
	if retry, _ := actions.Classify(err); err == nil || retry {
		t.Fatalf("Do = %v, want a permanent error", err)
	}
	if n := len(rec.received()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

// The API URL without its trailing slash still reaches chat.postMessage.
func TestAPIURLWithoutSlash(t *testing.T) {
	rec := &recorder{}
	s := startSlack(t, rec)
	u, _ := url.Parse(s.GetAPIURL())
	u.Path = ""
	a, err := New(Config{Token: testToken, APIURL: u.String()}, Spec{Channel: "#c", Text: "x"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Do(context.Background(), hostileEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if n := len(rec.received()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

// A grouped rule's firing posts one message for every event it collected,
// the values inserted from each event escaped.
func TestPostGroup(t *testing.T) {
	rec := &recorder{}
	s := startSlack(t, rec)
	a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{
		Channel: "#votes",
		Text:    "*{{ .count }} new votes* on {{ .first.data.post.title }}:{{ range .events }} {{ .data.vote.voter.name }}{{ end }}",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ev, other := hostileEvent(), hostileEvent()
	other.ID = "d-2"
	other.Data = map[string]any{"vote": map[string]any{"voter": map[string]any{"name": "Bob"}}}
	g := &actions.Group{Rule: "votes", Key: "99", Count: 12, Events: []event.Event{*ev, *other}}
	if err := a.DoData(context.Background(), g.Data()); err != nil {
		t.Fatalf("DoData: %v", err)
	}
	reqs := rec.received()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	want := "*12 new votes* on &lt;https://evil.example|click&gt; &amp; win: &lt;!channel&gt; @channel Mallory Bob"
	if got := reqs[0]["text"]; got != want {
		t.Errorf("text\n got  %q\n want %q", got, want)
	}
}
