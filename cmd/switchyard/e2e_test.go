package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

const e2eRules = `
sources:
  productlift:
    vendor: productlift
    secret: ${PL_SECRET}
  sleekplan:
    vendor: sleekplan
    key: ${SP_KEY}
  leanbe:
    vendor: leanbe
    secret: ${LB_SECRET}
  userback:
    vendor: userback
    key: ${UB_KEY}
slack:
  token: ${SLACK_TOKEN}
  api_url: ${SLACK_API}
smtp:
  host: 127.0.0.1
  port: ${SMTP_PORT}
  tls: none
  from: "Feedback bot <bot@example.com>"
rules:
  - name: vote-on-99
    source: productlift
    when: event == "vote.created" && data.post.id == 99
    actions:
      - slack:
          channel: "#feedback"
          text: "%s {{ .data.vote.voter.name }} voted for *{{ .data.post.title }}*"
      - http:
          url: ${SINK}/votes
          headers: { Authorization: "Bearer ${CRM_TOKEN}" }
          json: { post: "{{ .data.post.id }}", voter: "{{ .data.vote.voter.email }}", title: "{{ .data.post.title }}" }
      - email:
          to: [pm@example.com]
          subject: "New vote on {{ .data.post.title }}"
          text: "{{ .data.vote.voter.name }} voted."
  - name: sleekplan-items
    when: source == "sleekplan" && event == "item.create"
    actions:
      - slack: { channel: "#sleekplan", text: "item {{ .data.title }}" }
  - name: leanbe-ideas
    source: leanbe
    when: event == "idea.created"
    actions:
      - http: { url: "${SINK}/leanbe", json: { title: "{{ .data.title }}" } }
  - name: userback-urgent
    source: userback
    when: event == "feedback.create" && data.priority == "Urgent"
    actions:
      - http: { url: "${SINK}/userback", json: { name: "{{ .data.name }}" } }
`

// TestEndToEnd builds the binary and drives it as a user would: signed
// payloads from all four vendors, bad requests, deliveries to real Slack,
// HTTP and SMTP servers, SIGHUP reloads good and bad, and SIGTERM.
func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	s := startSinks(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	write := func(prefix string) {
		if err := os.WriteFile(rulesPath, []byte(fmt.Sprintf(e2eRules, prefix)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("v1:")
	const (
		plSecret = "pl-canary-secret-4f1d"
		spKey    = "sp-canary-key-77aa"
		lbSecret = "lb-canary-secret-9c2e"
		ubKey    = "ub-canary-key-3b3b"
		crmToken = "crm-canary-token-5e5e"
	)
	env := []string{
		"PL_SECRET=" + plSecret, "SP_KEY=" + spKey, "LB_SECRET=" + lbSecret, "UB_KEY=" + ubKey,
		"SLACK_TOKEN=xoxb-canary-slack-token", "SLACK_API=" + s.slack.GetAPIURL(),
		fmt.Sprintf("SMTP_PORT=%d", s.smtp.Port), "SINK=" + s.http.url, "CRM_TOKEN=" + crmToken,
	}
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), env)

	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
	sp := sources.Config{Name: "sleekplan", Vendor: "sleekplan", Key: secret.Secret(spKey)}
	lb := sources.Config{Name: "leanbe", Vendor: "leanbe", Secret: secret.Secret(lbSecret)}
	ub := sources.Config{Name: "userback", Vendor: "userback", Key: secret.Secret(ubKey)}

	vote := readFixture(t, "productlift/vote.created.json")
	// Feedback text is hostile: it tries to ping the channel and forge a link.
	hostile := bytes.Replace(vote, []byte(`"This is a great idea"`), []byte(`"Great <!channel> idea <https://evil.example|click> \"q\" \\ end"`), 1)

	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cfg  sources.Config
			body []byte
		}{
			{"productlift", pl, hostile},
			{"sleekplan", sp, readFixture(t, "sleekplan/item.create.json")},
			{"leanbe", lb, readFixture(t, "leanbe/idea.created.json")},
			{"userback", ub, readFixture(t, "userback/feedback.create.json")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u, h, b := signed(t, p.public, tc.cfg, tc.body)
				code, resp := post(t, u, "application/json", h, b)
				if code != http.StatusAccepted || resp["duplicate"] != false || resp["id"] == "" {
					t.Fatalf("got %d %v, want 202 with an id, not a duplicate", code, resp)
				}
			})
		}
	})

	t.Run("vendor retry is stored once", func(t *testing.T) {
		u, h, b := signed(t, p.public, pl, hostile)
		code, resp := post(t, u, "application/json", h, b)
		if code != http.StatusAccepted || resp["duplicate"] != true {
			t.Fatalf("got %d %v, want 202 duplicate", code, resp)
		}
	})

	t.Run("refused", func(t *testing.T) {
		u, h, b := signed(t, p.public, pl, vote)
		forged := h.Clone()
		forged.Set("Signature", strings.Repeat("0", 64))
		spURL, _, spBody := signed(t, p.public, sp, readFixture(t, "sleekplan/item.create.json"))
		big := append([]byte(`{"action":"item.create","data":{"x":"`), bytes.Repeat([]byte("a"), 2<<20)...)
		big = append(big, `"}}`...)
		for _, tc := range []struct {
			name   string
			method string
			url    string
			ct     string
			header http.Header
			body   []byte
			want   int
		}{
			{"forged signature", "POST", u, "application/json", forged, b, 401},
			{"missing signature", "POST", u, "application/json", nil, b, 401},
			{"signature for another body", "POST", u, "application/json", h, append(b, ' '), 401},
			{"wrong key", "POST", p.public + "/hooks/sleekplan?key=wrong", "application/json", nil, spBody, 401},
			{"unknown source", "POST", p.public + "/hooks/nope", "application/json", nil, spBody, 404},
			{"malformed body", "POST", spURL, "application/json", nil, []byte(`{"action": "item.create",`), 400},
			{"no envelope", "POST", spURL, "application/json", nil, []byte(`{"data": {}}`), 400},
			{"oversized body", "POST", spURL, "application/json", nil, big, 413},
			{"not JSON", "POST", spURL, "text/plain", nil, spBody, 415},
			{"wrong method", "GET", spURL, "", nil, nil, 405},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
				for k, vs := range tc.header {
					req.Header[k] = vs
				}
				if tc.ct != "" {
					req.Header.Set("Content-Type", tc.ct)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("got %d %s, want %d", resp.StatusCode, msg, tc.want)
				}
				for _, canary := range []string{plSecret, spKey, lbSecret, ubKey} {
					if strings.Contains(string(msg), canary) {
						t.Fatalf("answer leaks a secret: %s", msg)
					}
				}
			})
		}
	})

	t.Run("delivered once each", func(t *testing.T) {
		waitFor(t, "2 slack posts, 3 http requests, 1 email", 30*time.Second, func() bool {
			return len(s.slackPosts()) >= 2 && len(s.http.requests()) >= 3 && len(s.smtp.Messages()) >= 1
		})
		time.Sleep(500 * time.Millisecond) // would a duplicate follow?
		posts := s.slackPosts()
		if len(posts) != 2 {
			t.Fatalf("slack got %d posts, want 2: %v", len(posts), posts)
		}
		byChannel := map[string]string{}
		for _, f := range posts {
			byChannel[f.Get("channel")] = f.Get("text")
		}
		wantVote := "v1: Rubenb voted for *Great &lt;!channel&gt; idea &lt;https://evil.example|click&gt; \"q\" \\ end*"
		if got := byChannel["#feedback"]; got != wantVote {
			t.Errorf("vote message = %q\nwant          %q", got, wantVote)
		}
		if got := byChannel["#sleekplan"]; got != "item Show/search for similar ideas as you type" {
			t.Errorf("sleekplan message = %q", got)
		}
		reqs := s.http.requests()
		if len(reqs) != 3 {
			t.Fatalf("http sink got %d requests, want 3", len(reqs))
		}
		paths := map[string]recorded{}
		for _, r := range reqs {
			paths[r.Path] = r
		}
		var votes map[string]string
		if err := json.Unmarshal(paths["/votes"].Body, &votes); err != nil {
			t.Fatalf("vote body is not JSON: %v: %s", err, paths["/votes"].Body)
		}
		if votes["post"] != "99" || votes["voter"] != "ruben@abc.nl" || votes["title"] != `Great <!channel> idea <https://evil.example|click> "q" \ end` {
			t.Errorf("vote body = %v", votes)
		}
		if got := paths["/votes"].Header.Get("Authorization"); got != "Bearer "+crmToken {
			t.Errorf("Authorization = %q", got)
		}
		if !bytes.Contains(paths["/leanbe"].Body, []byte(`"Dummy Title"`)) {
			t.Errorf("leanbe body = %s", paths["/leanbe"].Body)
		}
		if !bytes.Contains(paths["/userback"].Body, []byte(`"John Doe"`)) {
			t.Errorf("userback body = %s", paths["/userback"].Body)
		}
		msgs := s.smtp.Messages()
		if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "pm@example.com" {
			t.Fatalf("smtp got %v", msgs)
		}
		if !bytes.Contains(msgs[0].Data, []byte("Rubenb voted.")) {
			t.Errorf("email body: %s", msgs[0].Data)
		}
	})

	sendVote := func(t *testing.T, id string) {
		t.Helper()
		body := bytes.Replace(vote, []byte(`"vg3EGg2wcHgd8nMl"`), []byte(`"`+id+`"`), 1)
		u, h, b := signed(t, p.public, pl, body)
		if code, resp := post(t, u, "application/json", h, b); code != http.StatusAccepted {
			t.Fatalf("got %d %v", code, resp)
		}
	}
	lastVoteText := func() string {
		var last string
		for _, f := range s.slackPosts() {
			if f.Get("channel") == "#feedback" {
				last = f.Get("text")
			}
		}
		return last
	}

	t.Run("SIGHUP applies a good file", func(t *testing.T) {
		write("v2:")
		p.signal(t, syscall.SIGHUP)
		waitFor(t, "the reload", 10*time.Second, func() bool { return len(p.logs.find("rules reloaded")) == 1 })
		sendVote(t, "after-good-reload")
		waitFor(t, "a v2 message", 20*time.Second, func() bool { return strings.HasPrefix(lastVoteText(), "v2:") })
	})

	t.Run("SIGHUP keeps the old rules on a bad file", func(t *testing.T) {
		good, _ := os.ReadFile(rulesPath)
		bad := strings.Replace(string(good), `data.post.id == 99`, `data.post.id == `, 1)
		bad = strings.Replace(bad, "v2:", "v3:", 1)
		if err := os.WriteFile(rulesPath, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		p.signal(t, syscall.SIGHUP)
		waitFor(t, "the failed reload", 10*time.Second, func() bool {
			return len(p.logs.find("reload failed; keeping the running rules")) == 1
		})
		errText := fmt.Sprint(p.logs.find("reload failed; keeping the running rules")[0]["err"])
		if !strings.Contains(errText, rulesPath+":") || !strings.Contains(errText, "data.post.id ==") {
			t.Errorf("reload error lacks the position or the expression: %s", errText)
		}
		// The admin endpoint answers with the same error.
		code, resp := post(t, p.admin+"/-/reload", "", nil, nil)
		if code != http.StatusInternalServerError || !strings.Contains(fmt.Sprint(resp["error"]), rulesPath) {
			t.Errorf("POST /-/reload = %d %v", code, resp)
		}
		n := len(s.slackPosts())
		sendVote(t, "after-bad-reload")
		waitFor(t, "a message under the old rules", 20*time.Second, func() bool { return len(s.slackPosts()) > n && lastVoteText() != "" })
		if got := lastVoteText(); !strings.HasPrefix(got, "v2:") {
			t.Fatalf("after a bad reload the message is %q; want the v2 rules still running", got)
		}
	})

	t.Run("secrets never logged", func(t *testing.T) {
		logs := p.logs.String()
		for _, canary := range []string{plSecret, spKey, lbSecret, ubKey, crmToken, "xoxb-canary-slack-token"} {
			if strings.Contains(logs, canary) {
				t.Errorf("log contains secret %q", canary)
			}
		}
	})

	t.Run("SIGTERM drains and exits 0", func(t *testing.T) {
		p.signal(t, syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("exit: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("did not exit within 30s of SIGTERM")
		}
	})
}
