package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

const dashboardRules = `
sources:
  productlift:
    vendor: productlift
    secret: ${PL_SECRET}
rules:
  - name: vote-to-crm
    source: productlift
    when: event == "vote.created" && data.post.id == 99
    actions:
      - http:
          url: ${SINK}/votes
          json: { title: "{{ .data.post.title }}" }
        retry: { attempts: 1 }
  - name: posts-only
    when: event == "post.created"
    actions:
      - http: { url: "${SINK}/posts", json: { id: "{{ .id }}" } }
`

// previewCandidate is the rules file the preview subtest pastes: one rule
// widened, one removed, one added whose example renders hostile text, and
// one whose condition fails at run time.
const previewCandidate = `
sources:
  productlift:
    vendor: productlift
    secret: ${PL_SECRET}
rules:
  - name: vote-to-crm
    source: productlift
    when: event == "vote.created"
    actions:
      - http:
          url: ${SINK}/votes
          json: { title: "{{ .data.post.title }}" }
  - name: pwned-titles
    when: data.post.title contains "pwned"
    actions:
      - http: { url: "${SINK}/pwned", json: { title: "{{ .data.post.title }}" } }
  - name: broken
    when: data.post.nothing.deeper == 1
    actions:
      - http: { url: "${SINK}/broken" }
`

// flakySink answers 400 until ok is set, then 204, and counts what it
// accepted.
type flakySink struct {
	ok       atomic.Bool
	mu       sync.Mutex
	accepted [][]byte
	refused  int
}

func (s *flakySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ok.Load() {
		s.refused++
		http.Error(w, "<b>no</b>", http.StatusBadRequest)
		return
	}
	s.accepted = append(s.accepted, body)
	w.WriteHeader(http.StatusNoContent)
}

func (s *flakySink) counts() (accepted, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted), s.refused
}

func (s *flakySink) body(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.accepted[i])
}

// chromiumPath finds Debian's chromium. CI installs it (.ci/run), so there
// its absence fails the test; elsewhere it skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it with apt-get")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// browser is a headless chromium tab that fails the test on any script
// exception, console error or Content-Security-Policy violation on the page.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		// With disable-dev-shm-usage Chromium keeps its shared memory in
		// org.chromium.Chromium.* under $TMPDIR, and leaves the directory.
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{ctx: ctx}
	// The first Do starts chromium and must not carry a deadline (it would
	// end the browser); a slow start on a loaded machine is bounded by the
	// test's own timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problem = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				problem += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				problem = "console error:"
				for _, a := range ev.Args {
					problem += " " + string(a.Value) + a.Description
				}
			}
		case *cdplog.EventEntryAdded:
			// CSP violations are reported here. Failed requests (the 401s
			// before the token is given) come from "network": expected.
			if e := ev.Entry; e.Source == cdplog.EntrySourceSecurity ||
				(e.Source == cdplog.EntrySourceJavascript && e.Level == cdplog.EntryLevelError) {
				problem = string(e.Source) + ": " + e.Text
			}
		}
		if problem != "" {
			b.mu.Lock()
			b.problems = append(b.problems, problem)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the log domain: %v", err)
	}
	return b
}

// do runs actions with a generous deadline.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, b.pageText())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

func (b *browser) pageText() string {
	s, err := eval[string](b, `document.body ? document.body.innerText : ""`)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// waitJS waits until a JavaScript expression is true in the page.
func (b *browser) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := eval[bool](b, `!!(`+expr+`)`)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)\npage:\n%s", what, err, b.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminCall calls the admin API as a script would, with the token.
func adminCall(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// text returns the text of the first element matching a CSS selector, or
// "" when there is none.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// value evaluates a JavaScript expression that yields a string.
func (b *browser) value(t *testing.T, expr string) string {
	t.Helper()
	s, err := eval[string](b, expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// screenshot saves the whole page as NAME.png in $SWITCHYARD_SCREENSHOTS,
// when that is set, for a person to look at.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) checkProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("the page reported %s", p)
	}
}

// TestDashboardInBrowser drives the dashboard in headless chromium against
// the built binary: the token prompt, an event posted through /hooks that
// shows up with its matched rule and how its delivery went, a refresh that
// keeps the keyboard focus and announces only what changed, its failed
// delivery, the dead letter, replay with the button once the receiver works
// again, the rules view and its reload (good and bad, with the failed reload
// shown on every tab), the "Try an event" form, the preview of a candidate
// rules file, the replay of stored events, and bulk replay saying how many
// it will replay.
func TestDashboardInBrowser(t *testing.T) {
	bin := buildBinary(t)
	b := startBrowser(t)
	sink := &flakySink{}
	sinkURL := newHTTPTestServer(t, sink)

	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(dashboardRules), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		plSecret = "pl-dash-secret-51c0"
		token    = "admin-dash-token-8e21"
	)
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"),
		[]string{"PL_SECRET=" + plSecret, "SINK=" + sinkURL}, "--admin-token", token)
	defer b.checkProblems(t)

	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
	// Feedback text is hostile: if the page ever parsed it as markup, an
	// <img> element would appear.
	const hostile = `<img src=x id=pwned> & "quotes"`
	vote := strings.Replace(string(readFixture(t, "productlift/vote.created.json")),
		`"This is a great idea"`, `"`+strings.ReplaceAll(hostile, `"`, `\"`)+`"`, 1)
	// A vote on another post: no rule in force matches it.
	unmatched := strings.Replace(strings.Replace(vote, "vg3EGg2wcHgd8nMl", "unmatched-vote-1", 1), `"id": 99,`, `"id": 100,`, 1)
	send := func(t *testing.T, body string) {
		t.Helper()
		u, h, b := signed(t, p.public, pl, []byte(body))
		if code, resp := post(t, u, "application/json", h, b); code != http.StatusAccepted {
			t.Fatalf("hook answered %d %v", code, resp)
		}
	}

	t.Run("token prompt", func(t *testing.T) {
		b.do(t, "load the dashboard", chromedp.Navigate(p.admin+"/"))
		b.waitJS(t, "the token prompt", `!document.getElementById("token-panel").hidden`)
		b.do(t, "enter a wrong token",
			chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong-token"),
			chromedp.Click(chromedp.CSS("#token-submit")))
		b.waitJS(t, "the prompt again, saying the token was refused",
			`!document.getElementById("token-panel").hidden && document.getElementById("token-error").textContent.includes("refused")`)
		b.do(t, "enter the token",
			chromedp.SendKeys(chromedp.CSS("#token-input"), token),
			chromedp.Click(chromedp.CSS("#token-submit")))
		b.waitJS(t, "the prompt to close", `document.getElementById("token-panel").hidden`)
		b.waitJS(t, "the empty events list", `!document.getElementById("events-empty").hidden`)
		if stored := b.value(t, `sessionStorage.getItem("switchyard.adminToken") || ""`); stored != token {
			t.Fatalf("session storage holds %q, want the token", stored)
		}
	})

	var eventSeq string
	t.Run("event appears with its matched rule", func(t *testing.T) {
		u, h, body := signed(t, p.public, pl, []byte(vote))
		if code, resp := post(t, u, "application/json", h, body); code != http.StatusAccepted {
			t.Fatalf("hook answered %d %v", code, resp)
		}
		// No click: the list refreshes itself.
		b.waitJS(t, "the event in the list", `document.querySelector('[data-testid="event-row"]')`)
		row := b.text(t, `[data-testid="event-row"]`)
		for _, want := range []string{"productlift", "vote.created", "vg3EGg2wcHgd8nMl", "vote-to-crm"} {
			if !strings.Contains(row, want) {
				t.Errorf("event row %q lacks %q", row, want)
			}
		}
		if strings.Contains(row, "posts-only") {
			t.Errorf("event row %q names a rule that did not match", row)
		}
		if eventSeq = b.value(t, `document.querySelector('[data-testid="event-row"]').dataset.seq`); eventSeq == "" {
			t.Fatal("event row has no seq")
		}
		// The list says how its delivery went, not only that there was
		// one: the sink refuses it for good.
		b.waitJS(t, "the event's delivery shown dead", `(document.querySelector('[data-testid="event-row"][data-seq="`+eventSeq+`"] [data-testid="event-deliveries"]') || {}).textContent === "1 dead"`)
	})

	t.Run("refresh keeps focus and announces only changes", func(t *testing.T) {
		// Count what reaches the live region, and the list's reads: once the
		// second read starts, a whole refresh has run.
		b.do(t, "watch the live region", chromedp.Evaluate[chromedp.Void](`
			window.liveChanges = 0;
			new MutationObserver((ms) => { window.liveChanges += ms.length; })
				.observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
			window.eventReads = 0;
			const realFetch = window.fetch;
			window.fetch = (...args) => {
				if (String(args[0]).startsWith("api/events?")) window.eventReads++;
				return realFetch(...args);
			};`))
		b.waitJS(t, "a refresh with nothing new", `window.eventReads >= 2`)
		if n, err := eval[int](b, `window.liveChanges`); err != nil || n != 0 {
			t.Errorf("a refresh that changed nothing changed the live region %d times (%v): %q", n, err, b.text(t, "#status"))
		}

		rowLink := `[data-testid="event-row"][data-seq="` + eventSeq + `"] a`
		b.do(t, "focus the event's link", chromedp.Focus(chromedp.CSS(rowLink)))
		focused := `(document.activeElement.closest('[data-testid="event-row"]') || { dataset: { seq: document.activeElement.tagName } }).dataset.seq`
		if got := b.value(t, focused); got != eventSeq {
			t.Fatalf("focus is on %q before the refresh", got)
		}
		send(t, unmatched)
		b.waitJS(t, "the new event in the list", `document.querySelectorAll('[data-testid="event-row"]').length === 2`)
		if got := b.value(t, focused); got != eventSeq {
			t.Errorf("after the refresh, focus is on %q, want the link of event %s", got, eventSeq)
		}
		if got := b.text(t, "#status"); !strings.Contains(got, "1 new event") || strings.Contains(got, "Updated") {
			t.Errorf("the live region says %q, want the new event and nothing else", got)
		}
		if got := b.text(t, `[data-testid="event-row"]:not([data-seq="`+eventSeq+`"]) [data-testid="event-deliveries"]`); got != "none" {
			t.Errorf("an event that matched nothing shows deliveries %q", got)
		}
	})

	t.Run("filters", func(t *testing.T) {
		b.waitJS(t, "the rule menu to be filled", `[...document.querySelectorAll("#filter-rule option")].some(o => o.value === "posts-only")`)
		b.do(t, "filter on a rule the event did not match",
			chromedp.SetValue(chromedp.CSS("#filter-rule"), "posts-only"),
			chromedp.Click(chromedp.CSS(`#events-filter button[type="submit"]`)))
		b.waitJS(t, "no events for posts-only", `location.hash.includes("rule=posts-only") && !document.getElementById("events-empty").hidden && !document.querySelector('[data-testid="event-row"]')`)
		b.do(t, "filter on the rule it matched",
			chromedp.SetValue(chromedp.CSS("#filter-rule"), "vote-to-crm"),
			chromedp.Click(chromedp.CSS(`#events-filter button[type="submit"]`)))
		b.waitJS(t, "the event under vote-to-crm", `location.hash.includes("rule=vote-to-crm") && document.querySelector('[data-testid="event-row"]')`)
	})

	t.Run("event detail shows the failed delivery", func(t *testing.T) {
		b.do(t, "open the event", chromedp.Click(chromedp.CSS(`[data-testid="event-row"] a`)))
		b.waitJS(t, "the dead delivery", `document.querySelector('[data-testid="delivery-row"][data-outcome="dead"]')`)
		row := b.text(t, `[data-testid="delivery-row"][data-outcome="dead"]`)
		for _, want := range []string{"vote-to-crm", "#1 http", "dead", "400"} {
			if !strings.Contains(row, want) {
				t.Errorf("delivery row %q lacks %q", row, want)
			}
		}
		if got := b.text(t, "#event-rules"); !strings.Contains(got, "vote-to-crm") {
			t.Errorf("matched rules %q", got)
		}
		b.waitJS(t, "the normalized event", `document.getElementById("event-json").textContent.includes("vote.created")`)
		if got := b.text(t, "#event-json"); !strings.Contains(got, `"title": "<img src=x id=pwned> & \"quotes\""`) {
			t.Errorf("normalized event does not show the title as text: %s", got)
		}
		if imgs, err := eval[int](b, `document.querySelectorAll("img, #pwned").length`); err != nil || imgs != 0 {
			t.Errorf("hostile text became markup: %d elements (%v)", imgs, err)
		}
	})

	var deadSeq string
	t.Run("dead letter replayed with the button", func(t *testing.T) {
		b.do(t, "open dead letters", chromedp.Click(chromedp.CSS("#nav-dead-letters")))
		b.waitJS(t, "the dead letter", `document.querySelector('[data-testid="dead-letter"]')`)
		card := b.text(t, `[data-testid="dead-letter"]`)
		for _, want := range []string{"vote-to-crm", "http", "400", "/votes"} {
			if !strings.Contains(card, want) {
				t.Errorf("dead letter %q lacks %q", card, want)
			}
		}
		if deadSeq = b.value(t, `document.querySelector('[data-testid="dead-letter"]').dataset.seq`); deadSeq == "" {
			t.Fatal("dead letter has no seq")
		}
		_, refusedBefore := sink.counts()
		sink.ok.Store(true)
		b.do(t, "click Replay", chromedp.Click(chromedp.CSS(`[data-testid="dead-letter"] [data-testid="replay"]`)))
		b.waitJS(t, "the replay confirmation", `document.getElementById("dl-message").textContent.includes("Replayed #`+deadSeq+`")`)
		waitFor(t, "the sink to accept the replayed delivery", 60*time.Second, func() bool {
			accepted, _ := sink.counts()
			return accepted == 1
		})
		accepted, refused := sink.counts()
		if accepted != 1 || refused != refusedBefore {
			t.Errorf("sink accepted %d and refused %d more, want 1 and 0", accepted, refused-refusedBefore)
		}
		if body := sink.body(0); !strings.Contains(body, `\u003cimg`) && !strings.Contains(body, `<img`) {
			t.Errorf("replayed body %s lacks the title", body)
		}
		b.waitJS(t, "the dead letter to leave the list", `!document.querySelector('[data-testid="dead-letter"][data-seq="`+deadSeq+`"]') && !document.getElementById("dl-empty").hidden`)
	})

	t.Run("event shows it delivered", func(t *testing.T) {
		b.do(t, "open the event again", chromedp.Evaluate[chromedp.Void](`location.hash = "#/events/`+eventSeq+`"`))
		b.waitJS(t, "a delivered row", `document.querySelector('[data-testid="delivery-row"][data-outcome="delivered"]')`)
		row := b.text(t, `[data-testid="delivery-row"][data-outcome="delivered"]`)
		if !strings.Contains(row, "vote-to-crm") || !strings.Contains(row, "delivered") || !strings.Contains(row, "ms") {
			t.Errorf("delivered row %q", row)
		}
		if got := b.text(t, `[data-testid="delivery-row"][data-outcome="dead"]`); got == "" {
			t.Errorf("the first, failed attempt is gone from the history")
		}
		b.do(t, "open the events list", chromedp.Click(chromedp.CSS("#nav-events")))
		b.waitJS(t, "the event shown delivered in the list", `(document.querySelector('[data-testid="event-row"][data-seq="`+eventSeq+`"] [data-testid="event-deliveries"]') || {}).textContent === "1 delivered"`)
	})

	t.Run("rules and reload", func(t *testing.T) {
		b.do(t, "open rules", chromedp.Click(chromedp.CSS("#nav-rules")))
		b.waitJS(t, "the rule with its match", `(document.querySelector('[data-testid="rule-row"][data-rule="vote-to-crm"] [data-testid="rule-matches"]') || {}).textContent === "1"`)
		if got := b.text(t, `[data-testid="rule-row"][data-rule="posts-only"] [data-testid="rule-matches"]`); got != "0" {
			t.Errorf("posts-only matches %q, want 0", got)
		}
		if got := b.text(t, `[data-testid="source-row"][data-source="productlift"]`); !strings.Contains(got, "/hooks/productlift") {
			t.Errorf("source row %q", got)
		}
		b.do(t, "click Reload", chromedp.Click(chromedp.CSS("#reload-button")))
		b.waitJS(t, "the reload answer", `(document.getElementById("reload-ok") || {}).textContent`)
		if got := b.text(t, "#reload-ok"); !strings.Contains(got, "2 rules") {
			t.Errorf("reload said %q", got)
		}
		broken := strings.Replace(dashboardRules, `data.post.id == 99`, `data.post.id ==`, 1)
		if err := os.WriteFile(rulesPath, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		b.do(t, "click Reload on a broken file", chromedp.Click(chromedp.CSS("#reload-button")))
		b.waitJS(t, "the reload error", `document.getElementById("reload-error")`)
		if got := b.text(t, "#reload-error"); !strings.Contains(got, "rules.yaml:") {
			t.Errorf("reload error %q lacks file:line:col", got)
		}
		b.waitJS(t, "the last reload marked failed", `(document.getElementById("last-reload") || {}).textContent.includes("failed")`)
		// Every tab says so while it lasts, not only this one.
		banner := `(document.getElementById("reload-banner") || { hidden: true })`
		for _, tab := range []string{"#nav-events", "#nav-try", "#nav-dead-letters", "#nav-preview"} {
			b.do(t, "open "+tab, chromedp.Click(chromedp.CSS(tab)))
			b.waitJS(t, "the failed reload on "+tab, `!`+banner+`.hidden && `+banner+`.textContent.includes("rules.yaml:")`)
		}
		b.screenshot(t, "reload-banner")
		if err := os.WriteFile(rulesPath, []byte(dashboardRules), 0o600); err != nil {
			t.Fatal(err)
		}
		b.do(t, "reload the mended file", chromedp.Click(chromedp.CSS("#nav-rules")), chromedp.Click(chromedp.CSS("#reload-button")))
		b.waitJS(t, "the reload answer", `document.getElementById("reload-ok")`)
		b.do(t, "open events", chromedp.Click(chromedp.CSS("#nav-events")))
		b.waitJS(t, "the banner gone", banner+`.hidden && document.querySelector('[data-testid="event-row"]')`)
	})

	t.Run("try an event", func(t *testing.T) {
		s, err := sources.Sign(pl, []byte(vote), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(t, "open the form", chromedp.Click(chromedp.CSS("#nav-try")))
		b.waitJS(t, "the source menu", `document.getElementById("try-source").value === "productlift"`)
		for _, tc := range []struct {
			name, signature string
			verified        bool
		}{
			{"signed", s.Header.Get("Signature"), true},
			{"forged", strings.Repeat("0", 64), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b.do(t, "fill and run",
					chromedp.SetValue(chromedp.CSS("#try-headers"), "Signature: "+tc.signature),
					chromedp.SetValue(chromedp.CSS("#try-payload"), vote),
					chromedp.Evaluate[chromedp.Void](`document.getElementById("try-result").hidden = true`),
					chromedp.Click(chromedp.CSS("#try-run")))
				b.waitJS(t, "the dry run", `!document.getElementById("try-result").hidden`)
				if verified := b.value(t, `document.getElementById("try-verified").dataset.verified`); verified != fmt.Sprint(tc.verified) {
					t.Errorf("verified = %q, want %v: %s", verified, tc.verified, b.text(t, "#try-verified"))
				}
				matched := b.text(t, `[data-testid="try-rule"][data-rule="vote-to-crm"][data-matched="true"]`)
				// The target is shown as written, ${SINK} unexpanded; the
				// title inside the JSON body is JSON-encoded.
				if !strings.Contains(matched, "matched") || !strings.Contains(matched, "POST ${SINK}/votes") || !strings.Contains(matched, `id=pwned`) {
					t.Errorf("vote-to-crm verdict %q lacks the match, the target or the rendered title", matched)
				}
				if got := b.text(t, `[data-testid="try-rule"][data-rule="posts-only"][data-matched="false"]`); !strings.Contains(got, "not matched") {
					t.Errorf("posts-only verdict %q", got)
				}
				if stray := b.value(t, `[...document.getElementById("try-result").childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join("|")`); stray != "" {
					t.Errorf("stray text in the result: %q", stray)
				}
				if got := b.text(t, "#try-event"); !strings.Contains(got, `"vote.created"`) {
					t.Errorf("dry-run event %q", got)
				}
			})
		}
		if accepted, _ := sink.counts(); accepted != 1 {
			t.Errorf("the dry run sent something: the sink has %d deliveries", accepted)
		}
	})

	t.Run("preview a rules file", func(t *testing.T) {
		acceptedBefore, _ := sink.counts()
		b.do(t, "open the preview", chromedp.Click(chromedp.CSS("#nav-preview")))
		b.waitJS(t, "the preview form", `document.getElementById("preview-rules")`)
		b.do(t, "paste a candidate and run it on the last hour",
			chromedp.SetValue(chromedp.CSS("#preview-rules"), previewCandidate),
			chromedp.Click(chromedp.CSS("#preview-by-since")),
			chromedp.SetValue(chromedp.CSS("#preview-since"), "1h"),
			chromedp.Click(chromedp.CSS("#preview-run")))
		b.waitJS(t, "the preview's verdict", `!document.getElementById("preview-result").hidden`)
		if got := b.text(t, "#preview-window"); !strings.Contains(got, "read 2 stored events") || !strings.Contains(got, "since 1h") {
			t.Errorf("window %q, want the two events received since 1h", got)
		}
		// The bounds are the server's, as its answer states them.
		if got := b.text(t, "#preview-bounds"); !strings.Contains(got, "10,000 events") || !strings.Contains(got, "10 s") {
			t.Errorf("the page does not state the preview's bounds: %q", got)
		}
		for _, tc := range []struct {
			rule, change, now, candidate, errors, differs string
		}{
			{"vote-to-crm", "kept", "1", "2", "0", "true"},
			{"pwned-titles", "added", "0", "2", "0", "true"},
			{"broken", "added", "0", "0", "2", "true"},
			{"posts-only", "removed", "0", "0", "0", "true"},
		} {
			row := `document.querySelector('[data-testid="preview-row"][data-rule="` + tc.rule + `"]')`
			got := b.value(t, `(r => r ? [r.dataset.change, r.dataset.now, r.dataset.candidate, r.querySelector('[data-testid="preview-errors"]').textContent, r.dataset.differs].join(" ") : "no row")(`+row+`)`)
			if want := strings.Join([]string{tc.change, tc.now, tc.candidate, tc.errors, tc.differs}, " "); got != want {
				t.Errorf("rule %s: change, now, candidate, errors, differs = %q, want %q", tc.rule, got, want)
			}
		}
		if got := b.text(t, `[data-testid="preview-row"][data-rule="vote-to-crm"] [data-testid="preview-counts"]`); !strings.Contains(got, "1") || !strings.Contains(got, "2") || !strings.Contains(got, "+1") {
			t.Errorf("vote-to-crm's counts read %q, want 1 → 2 (+1)", got)
		}
		if got := b.text(t, `[data-testid="preview-rule"][data-rule="vote-to-crm"] [data-testid="preview-newly"]`); !strings.Contains(got, "1 event would newly match:") || !strings.Contains(got, "unmatched-vote-1") {
			t.Errorf("vote-to-crm would newly match %q, want the vote on post 100, counted", got)
		}
		if got := b.text(t, `[data-testid="preview-rule"][data-rule="posts-only"]`); strings.Contains(got, "no longer match") {
			t.Errorf("posts-only, which matched nothing, would no longer match something: %q", got)
		}
		pw := b.text(t, `[data-testid="preview-rule"][data-rule="pwned-titles"]`)
		if !strings.Contains(pw, "POST ${SINK}/pwned") || !strings.Contains(pw, "id=pwned") {
			t.Errorf("pwned-titles' example %q lacks its rendered target or title", pw)
		}
		if imgs, err := eval[int](b, `document.querySelectorAll("img, #pwned").length`); err != nil || imgs != 0 {
			t.Errorf("hostile text became markup: %d elements (%v)", imgs, err)
		}
		if got := b.text(t, `[data-testid="preview-rule"][data-rule="broken"] [data-testid="preview-error-sample"]`); !strings.Contains(got, "nothing") {
			t.Errorf("broken's condition error %q", got)
		}
		b.screenshot(t, "preview")

		// A file that does not load, uploaded: its errors, positioned, shown
		// exactly as the API gives them, and nothing run.
		bad := strings.Replace(previewCandidate, `when: event == "vote.created"`, `when: event ==`, 1)
		badPath := filepath.Join(t.TempDir(), "broken.yaml")
		if err := os.WriteFile(badPath, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		b.do(t, "upload a candidate that does not load", chromedp.SetUploadFiles(chromedp.CSS("#preview-file"), []string{badPath}))
		b.waitJS(t, "the file read into the form", `document.getElementById("preview-name").value === "broken.yaml" && document.getElementById("preview-rules").value.includes("when: event ==\n")`)
		b.do(t, "run it", chromedp.Click(chromedp.CSS("#preview-run")))
		b.waitJS(t, "the load error", `!document.getElementById("preview-error").hidden`)
		req, err := json.Marshal(map[string]any{"name": "broken.yaml", "rules": bad, "since": "1h"})
		if err != nil {
			t.Fatal(err)
		}
		code, body := adminCall(t, http.MethodPost, p.admin+"/api/preview", token, req)
		var apiErr struct{ Error string }
		if err := json.Unmarshal(body, &apiErr); err != nil || code != http.StatusUnprocessableEntity {
			t.Fatalf("the API answered %d %s", code, body)
		}
		line := strings.Count(bad[:strings.Index(bad, "when: event ==\n")], "\n") + 1
		got := b.text(t, "#preview-error-text")
		// The API names the candidate as if it sat beside the rules file in
		// force: a path ending in broken.yaml.
		if !strings.Contains(got, fmt.Sprintf("/broken.yaml:%d:", line)) || !strings.Contains(got, `rule "vote-to-crm"`) || got != apiErr.Error {
			t.Errorf("load error shown as %q, want the API's %q, at broken.yaml:%d", got, apiErr.Error, line)
		}
		b.screenshot(t, "preview-error")
		if hidden := b.value(t, `String(document.getElementById("preview-result").hidden)`); hidden != "true" {
			t.Errorf("the previous verdict is still shown beside the load error")
		}
		if accepted, _ := sink.counts(); accepted != acceptedBefore {
			t.Errorf("the preview sent %d deliveries", accepted-acceptedBefore)
		}
	})

	t.Run("replay stored events", func(t *testing.T) {
		// A rule added after the fact: the vote on post 100 came in before it.
		withRule := dashboardRules + `
  - name: votes-for-100
    when: data.post.id == 100
    actions:
      - http: { url: "${SINK}/for-100", json: { id: "{{ .id }}" } }
`
		if err := os.WriteFile(rulesPath, []byte(withRule), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, body := adminCall(t, http.MethodPost, p.admin+"/-/reload", token, nil); code != http.StatusOK {
			t.Fatalf("reload: %d %s", code, body)
		}
		acceptedBefore, _ := sink.counts()
		b.do(t, "open events", chromedp.Click(chromedp.CSS("#nav-events")))
		b.waitJS(t, "the rule in the replay's menu", `[...document.querySelectorAll("#replay-rule option")].some(o => o.value === "votes-for-100")`)
		if got := b.text(t, "#replay-events"); !strings.Contains(got, "not made again") {
			t.Errorf("the replay does not say what it leaves alone: %q", got)
		}
		replay := func(t *testing.T) map[string]string {
			t.Helper()
			b.do(t, "ask to replay",
				chromedp.Evaluate[chromedp.Void](`document.getElementById("replay-events").open = true; document.getElementById("replay-events-result").replaceChildren()`),
				chromedp.SetValue(chromedp.CSS("#replay-since"), "1h"),
				chromedp.SetValue(chromedp.CSS("#replay-rule"), "votes-for-100"),
				chromedp.Click(chromedp.CSS("#replay-events-run")))
			if got := b.text(t, "#replay-events-run"); !strings.Contains(got, "since 1h") || !strings.Contains(got, "votes-for-100") || !strings.Contains(got, "Click again") {
				t.Fatalf("the replay did not ask to confirm what it will do: %q", got)
			}
			b.do(t, "confirm", chromedp.Click(chromedp.CSS("#replay-events-run")))
			b.waitJS(t, "the replay's counts", `document.querySelector('[data-testid="replay-stored"]')`)
			got := map[string]string{}
			for _, k := range []string{"scanned", "planned", "already", "pending", "stored"} {
				got[k] = b.text(t, `[data-testid="replay-`+k+`"]`)
			}
			return got
		}
		got := replay(t)
		b.screenshot(t, "replay-events")
		if want := map[string]string{"scanned": "2", "planned": "1", "already": "0", "pending": "0", "stored": "1"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("first replay shows %v, want %v", got, want)
		}
		waitFor(t, "the replayed delivery", 60*time.Second, func() bool {
			accepted, _ := sink.counts()
			return accepted == acceptedBefore+1
		})
		if body := sink.body(acceptedBefore); !strings.Contains(body, "unmatched-vote-1") {
			t.Errorf("the sink got %s, want the vote on post 100", body)
		}
		// Again: the delivery is made (or on its way), so nothing is queued.
		got = replay(t)
		if made := got["already"] + "/" + got["pending"]; got["planned"] != "1" || got["stored"] != "0" || (made != "1/0" && made != "0/1") {
			t.Errorf("second replay shows %v, want the one delivery already made or pending and none stored", got)
		}
	})

	t.Run("drop and replay all", func(t *testing.T) {
		sink.ok.Store(false)
		acceptedBefore, _ := sink.counts()
		for _, id := range []string{"to-drop-1", "to-replay-1"} {
			body := strings.Replace(vote, "vg3EGg2wcHgd8nMl", id, 1)
			u, h, b := signed(t, p.public, pl, []byte(body))
			if code, resp := post(t, u, "application/json", h, b); code != http.StatusAccepted {
				t.Fatalf("hook answered %d %v", code, resp)
			}
		}
		b.do(t, "open dead letters", chromedp.Click(chromedp.CSS("#nav-dead-letters")))
		b.waitJS(t, "two dead letters", `document.querySelectorAll('[data-testid="dead-letter"]').length === 2`)
		seqOf := func(id string) string {
			return b.value(t, `[...document.querySelectorAll('[data-testid="dead-letter"]')].find(c => c.textContent.includes(`+fmt.Sprintf("%q", id)+`)).dataset.seq`)
		}
		dropSeq, replaySeq := seqOf("to-drop-1"), seqOf("to-replay-1")
		drop := chromedp.CSS(`[data-testid="dead-letter"][data-seq="` + dropSeq + `"] [data-testid="drop"]`)
		b.do(t, "click Drop once", chromedp.Click(drop))
		if got := b.text(t, `[data-testid="dead-letter"][data-seq="`+dropSeq+`"] [data-testid="drop"]`); !strings.Contains(got, "?") {
			t.Errorf("Drop did not ask to confirm: %q", got)
		}
		if n, err := eval[int](b, `document.querySelectorAll('[data-testid="dead-letter"]').length`); err != nil || n != 2 {
			t.Fatalf("one click dropped something: %d dead letters (%v)", n, err)
		}
		b.do(t, "confirm Drop", chromedp.Click(drop))
		b.waitJS(t, "the drop confirmation", `document.getElementById("dl-message").textContent.includes("Dropped #`+dropSeq+`")`)
		b.waitJS(t, "one dead letter left", `document.querySelectorAll('[data-testid="dead-letter"]').length === 1`)
		sink.ok.Store(true)
		b.do(t, "click Replay all twice", chromedp.Click(chromedp.CSS("#replay-all")), chromedp.Click(chromedp.CSS("#replay-all")))
		b.waitJS(t, "the replay confirmation", `document.getElementById("dl-message").textContent.includes("Replayed #`+replaySeq+`")`)
		waitFor(t, "the replayed delivery", 60*time.Second, func() bool {
			accepted, _ := sink.counts()
			return accepted == acceptedBefore+1
		})
		if body := sink.body(acceptedBefore); !strings.Contains(body, "pwned") {
			t.Errorf("replayed body %s", body)
		}
		b.waitJS(t, "no dead letters", `!document.getElementById("dl-empty").hidden`)
	})

	t.Run("bulk replay says how many", func(t *testing.T) {
		// More dead letters than the list shows: the question must give the
		// number the replay will act on, not "100+".
		const n = 101
		sink.ok.Store(false)
		for i := range n {
			send(t, strings.Replace(vote, "vg3EGg2wcHgd8nMl", fmt.Sprintf("bulk-%d", i), 1))
		}
		waitFor(t, "the dead letters", 60*time.Second, func() bool {
			code, body := adminCall(t, http.MethodGet, p.admin+"/api/dead-letters?limit=1000", token, nil)
			var res struct {
				DeadLetters []json.RawMessage `json:"dead_letters"`
			}
			return code == http.StatusOK && json.Unmarshal(body, &res) == nil && len(res.DeadLetters) == n
		})
		acceptedBefore, _ := sink.counts()
		b.do(t, "open dead letters", chromedp.Click(chromedp.CSS("#nav-dead-letters")))
		b.waitJS(t, "the list", `document.querySelectorAll('[data-testid="dead-letter"]').length === 100`)
		b.do(t, "click Replay all once", chromedp.Click(chromedp.CSS("#replay-all")))
		b.waitJS(t, "the question", `document.getElementById("replay-all").textContent.includes("Click again")`)
		if got := b.text(t, "#replay-all"); !strings.Contains(got, fmt.Sprint(n)) || strings.Contains(got, "+") {
			t.Errorf("Replay all asks %q, want the exact %d", got, n)
		}
		sink.ok.Store(true)
		b.do(t, "confirm", chromedp.Click(chromedp.CSS("#replay-all")))
		b.waitJS(t, "the replay confirmation", `document.getElementById("dl-message").textContent.includes("Replayed ")`)
		waitFor(t, "the replayed deliveries", 60*time.Second, func() bool {
			accepted, _ := sink.counts()
			return accepted == acceptedBefore+n
		})
		b.waitJS(t, "no dead letters", `!document.getElementById("dl-empty").hidden`)
	})

	t.Run("preview counts past its examples", func(t *testing.T) {
		// Every bulk vote's title says "pwned": far more events would newly
		// match pwned-titles than the answer lists. The page gives the
		// API's count and says it shows the first few.
		req, err := json.Marshal(map[string]any{"name": "candidate.yaml", "rules": previewCandidate, "since": "1h", "last": 10000})
		if err != nil {
			t.Fatal(err)
		}
		code, body := adminCall(t, http.MethodPost, p.admin+"/api/preview", token, req)
		var res struct {
			Rules []struct {
				Name          string
				Newly         int
				NewlyMatching []json.RawMessage `json:"newly_matching"`
			}
		}
		if err := json.Unmarshal(body, &res); err != nil || code != http.StatusOK {
			t.Fatalf("the API answered %d %s", code, body)
		}
		newly, listed := -1, 0
		for _, r := range res.Rules {
			if r.Name == "pwned-titles" {
				newly, listed = r.Newly, len(r.NewlyMatching)
			}
		}
		if newly <= listed {
			t.Fatalf("the API says %d events would newly match pwned-titles and lists %d: the test needs more than it lists", newly, listed)
		}
		b.do(t, "open the preview", chromedp.Click(chromedp.CSS("#nav-preview")))
		b.waitJS(t, "the preview form", `document.getElementById("preview-rules")`)
		b.do(t, "run the candidate on the last hour",
			chromedp.SetValue(chromedp.CSS("#preview-rules"), previewCandidate),
			chromedp.SetValue(chromedp.CSS("#preview-name"), "candidate.yaml"),
			chromedp.Click(chromedp.CSS("#preview-by-since")),
			chromedp.SetValue(chromedp.CSS("#preview-since"), "1h"),
			chromedp.Click(chromedp.CSS("#preview-run")))
		b.waitJS(t, "the verdict", `!document.getElementById("preview-result").hidden`)
		if got := b.value(t, `document.querySelector('[data-testid="preview-row"][data-rule="pwned-titles"]').dataset.newly`); got != fmt.Sprint(newly) {
			t.Errorf("the table says %s would newly match pwned-titles, the API %d", got, newly)
		}
		want := fmt.Sprintf("%d events would newly match; the first %d:", newly, listed)
		if got := b.text(t, `[data-testid="preview-rule"][data-rule="pwned-titles"] [data-testid="preview-newly"] h5`); got != want {
			t.Errorf("pwned-titles' examples are headed %q, want %q", got, want)
		}
		if n, err := eval[int](b, `document.querySelectorAll('[data-testid="preview-rule"][data-rule="pwned-titles"] [data-testid="preview-newly"] li').length`); err != nil || n != listed {
			t.Errorf("%d examples listed (%v), want %d", n, err, listed)
		}
	})

	t.Run("mute a rule from the page", func(t *testing.T) {
		b.do(t, "open mutes", chromedp.Click(chromedp.CSS("#nav-mutes")))
		b.waitJS(t, "no mutes, and the rules in the menu", `!document.getElementById("mutes-empty").hidden && [...document.querySelectorAll("#mute-rule option")].some(o => o.value === "vote-to-crm")`)
		mutesInForce := func(t *testing.T) []struct{ ID, Rule, When, Comment string } {
			t.Helper()
			code, body := adminCall(t, http.MethodGet, p.admin+"/api/mutes", token, nil)
			var res struct {
				Mutes []struct{ ID, Rule, When, Comment string }
			}
			if err := json.Unmarshal(body, &res); err != nil || code != http.StatusOK {
				t.Fatalf("GET /api/mutes answered %d %s", code, body)
			}
			return res.Mutes
		}

		// A mistake gets the API's own answer, word for word, and adds nothing.
		const comment = `launch day <img src=x id=pwned> & "quotes"`
		const when = `data.post.id == 99`
		for _, tc := range []struct{ name, dur, when string }{
			{"duration", "2 hours", when},
			{"condition", "2h", "data.post.id =="},
		} {
			t.Run("refused "+tc.name, func(t *testing.T) {
				b.do(t, "ask for a mute the API refuses",
					chromedp.Evaluate[chromedp.Void](`document.getElementById("mute-form-error").hidden = true`),
					chromedp.SetValue(chromedp.CSS("#mute-rule"), "vote-to-crm"),
					chromedp.SetValue(chromedp.CSS("#mute-for"), tc.dur),
					chromedp.SetValue(chromedp.CSS("#mute-comment"), comment),
					chromedp.SetValue(chromedp.CSS("#mute-when"), tc.when),
					chromedp.Click(chromedp.CSS("#mute-add")))
				b.waitJS(t, "the refusal", `!document.getElementById("mute-form-error").hidden`)
				req, err := json.Marshal(map[string]string{"rule": "vote-to-crm", "for": tc.dur, "comment": comment, "when": tc.when})
				if err != nil {
					t.Fatal(err)
				}
				code, body := adminCall(t, http.MethodPost, p.admin+"/api/mutes", token, req)
				var apiErr struct{ Error string }
				if err := json.Unmarshal(body, &apiErr); err != nil || code != http.StatusBadRequest {
					t.Fatalf("the API answered %d %s", code, body)
				}
				if got := b.text(t, "#mute-form-error"); got != apiErr.Error {
					t.Errorf("the page says %q, the API %q", got, apiErr.Error)
				}
				if n := len(mutesInForce(t)); n != 0 {
					t.Fatalf("a refused mute was added: %d in force", n)
				}
			})
		}
		b.screenshot(t, "mutes-refused")

		b.do(t, "ask for two hours", chromedp.SetValue(chromedp.CSS("#mute-when"), when), chromedp.Click(chromedp.CSS("#mute-add")))
		b.waitJS(t, "the mute listed", `document.querySelector('[data-testid="mute-row"]')`)
		ms := mutesInForce(t)
		if len(ms) != 1 || ms[0].Rule != "vote-to-crm" || ms[0].When != when || ms[0].Comment != comment {
			t.Fatalf("mutes in force: %+v", ms)
		}
		id := ms[0].ID
		muteRow := `[data-testid="mute-row"][data-id="` + id + `"]`
		got := b.text(t, muteRow)
		for _, want := range []string{"vote-to-crm", when, comment, id} {
			if !strings.Contains(got, want) {
				t.Errorf("the mute's row %q lacks %q", got, want)
			}
		}
		if ends := b.text(t, muteRow+` [data-testid="mute-ends"]`); !regexp.MustCompile(`\(in (2h|1h 5\dm)\)$`).MatchString(ends) {
			t.Errorf("the mute ends %q, want it in 2h", ends)
		}
		if got := b.text(t, "#mute-form-status"); !strings.Contains(got, "Muted vote-to-crm") || !strings.Contains(got, id) {
			t.Errorf("the form says %q", got)
		}
		if hidden := b.value(t, `String(document.getElementById("mute-form-error").hidden)`); hidden != "true" {
			t.Errorf("the earlier refusal is still shown: %q", b.text(t, "#mute-form-error"))
		}
		if left := b.value(t, `document.getElementById("mute-comment").value`); left != "" {
			t.Errorf("the comment %q is left in the form", left)
		}
		if imgs, err := eval[int](b, `document.querySelectorAll("img, #pwned").length`); err != nil || imgs != 0 {
			t.Errorf("hostile text became markup: %d elements (%v)", imgs, err)
		}
		b.screenshot(t, "mutes")

		// A vote on post 99: vote-to-crm matches it, and the mute holds it.
		send(t, strings.Replace(vote, "vg3EGg2wcHgd8nMl", "muted-vote-1", 1))
		b.do(t, "open events", chromedp.Click(chromedp.CSS("#nav-events")))
		heldRow := `[...document.querySelectorAll('[data-testid="event-row"]')].find(r => r.textContent.includes("muted-vote-1"))`
		b.waitJS(t, "the held event", heldRow)
		badge := b.value(t, `(h => h ? [h.textContent, h.dataset.by, h.title].join("|") : "no badge")(`+heldRow+`.querySelector('[data-testid="event-rules"] [data-testid="held"]'))`)
		reason := "muted by mute " + id + " until "
		if !strings.HasPrefix(badge, "muted") || !strings.Contains(badge, "|"+id+"|"+reason) || !strings.HasSuffix(badge, ": "+comment) {
			t.Errorf("the event's rule is badged %q, want muted by %s with the reason", badge, id)
		}
		if got := b.value(t, heldRow+`.querySelector('[data-testid="event-deliveries"]').textContent`); got != "none" {
			t.Errorf("a muted firing shows deliveries %q", got)
		}
		b.screenshot(t, "events-muted")
		seq := b.value(t, heldRow+`.dataset.seq`)
		b.do(t, "open the held event", chromedp.Click(chromedp.CSS(`[data-testid="event-row"][data-seq="`+seq+`"] a`)))
		b.waitJS(t, "the reason in full", `document.querySelector('[data-testid="held-reason"][data-rule="vote-to-crm"]')`)
		if got := b.text(t, `[data-testid="held-reason"]`); !strings.Contains(got, reason) || !strings.Contains(got, ": "+comment) {
			t.Errorf("the event's detail says %q, want %q… and the comment", got, reason)
		}
		if imgs, err := eval[int](b, `document.querySelectorAll("img, #pwned").length`); err != nil || imgs != 0 {
			t.Errorf("hostile text became markup: %d elements (%v)", imgs, err)
		}
		b.screenshot(t, "event-muted")

		b.do(t, "follow the link to the mute", chromedp.Click(chromedp.CSS(`[data-testid="held-reason"] a[href="#/mutes"]`)))
		expire := muteRow + ` [data-testid="expire"]`
		b.waitJS(t, "the mute", `document.querySelector('`+expire+`')`)
		b.do(t, "click Expire once", chromedp.Click(chromedp.CSS(expire)))
		b.waitJS(t, "the question", `document.querySelector('`+expire+`').textContent.includes("Click again")`)
		if n := len(mutesInForce(t)); n != 1 {
			t.Fatalf("one click expired the mute: %d in force", n)
		}
		b.do(t, "confirm", chromedp.Click(chromedp.CSS(expire)))
		b.waitJS(t, "the list empty", `!document.getElementById("mutes-empty").hidden && !document.querySelector('[data-testid="mute-row"]')`)
		if got := b.text(t, "#mutes-message"); !strings.Contains(got, "Expired mute "+id) {
			t.Errorf("the page says %q", got)
		}
		if got := b.value(t, `document.activeElement.id`); got != "mutes-title" {
			t.Errorf("with its row gone, the focus is on %q, want the list's title", got)
		}
		if n := len(mutesInForce(t)); n != 0 {
			t.Errorf("%d mutes in force after Expire", n)
		}

		// A mute added and expired elsewhere (the command line, a script)
		// shows up by itself, and the live region says so, once each.
		req, err := json.Marshal(map[string]string{"rule": "posts-only", "for": "1h", "comment": "from a script"})
		if err != nil {
			t.Fatal(err)
		}
		code, body := adminCall(t, http.MethodPost, p.admin+"/api/mutes", token, req)
		var added struct{ ID string }
		if err := json.Unmarshal(body, &added); err != nil || code != http.StatusCreated {
			t.Fatalf("POST /api/mutes answered %d %s", code, body)
		}
		b.waitJS(t, "the mute added elsewhere", `document.querySelector('[data-testid="mute-row"][data-id="`+added.ID+`"]') && document.getElementById("status").textContent.includes("1 new mute: posts-only")`)
		if code, body := adminCall(t, http.MethodDelete, p.admin+"/api/mutes/"+added.ID, token, nil); code != http.StatusNoContent {
			t.Fatalf("DELETE /api/mutes/%s answered %d %s", added.ID, code, body)
		}
		b.waitJS(t, "the mute gone", `!document.querySelector('[data-testid="mute-row"]') && document.getElementById("status").textContent.includes("1 mute ended: posts-only (`+added.ID+`)")`)
	})

	t.Run("narrow window", func(t *testing.T) {
		b.do(t, "resize", chromedp.EmulateViewport(380, 800), chromedp.Evaluate[chromedp.Void](`location.hash = "#/events/`+eventSeq+`"`))
		b.waitJS(t, "the event at 380px", `document.querySelector('[data-testid="delivery-row"]')`)
		if overflow, err := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); err != nil || overflow > 0 {
			t.Errorf("the page is %dpx wider than a 380px window (%v)", overflow, err)
		}
		b.do(t, "open the preview", chromedp.Evaluate[chromedp.Void](`location.hash = "#/preview"`))
		b.waitJS(t, "the preview's last answer at 380px", `!document.getElementById("preview-result").hidden`)
		if overflow, err := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); err != nil || overflow > 0 {
			t.Errorf("the preview is %dpx wider than a 380px window (%v)", overflow, err)
		}
		b.do(t, "open the mutes", chromedp.Evaluate[chromedp.Void](`location.hash = "#/mutes"`))
		b.waitJS(t, "the mutes at 380px", `!document.getElementById("mutes-empty").hidden`)
		if overflow, err := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); err != nil || overflow > 0 {
			t.Errorf("the mutes page is %dpx wider than a 380px window (%v)", overflow, err)
		}
	})
}

const groupsRules = `
sources:
  productlift:
    vendor: productlift
    secret: ${PL_SECRET}
rules:
  - name: votes-per-post
    when: event == "vote.created"
    group: { by: "{{ .data.post.id }}", wait: 30s, interval: 1h, max: 100 }
    actions:
      - http:
          url: ${SINK}/digest
          json: { text: "{{ .count }} new votes on {{ (index .events 0).data.post.title }}" }
  - name: every-vote
    when: event == "vote.created"
    actions:
      - http: { url: "${SINK}/votes", json: { title: "{{ .data.post.title }}" } }
        retry: { attempts: 1 }
`

// refusingSink answers 400 to a body that asks for it ("refuse"), 204 to
// the rest.
type refusingSink struct{}

func (refusingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if bytes.Contains(body, []byte("refuse")) {
		http.Error(w, "refused", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestDashboardGroupsAndActivityInBrowser drives the Groups tab (pending
// groups with their count, first event and a countdown to their firing
// that moves without touching the live region), the grouped badge of an
// event, and the Rules tab's chart of each rule's last 24 hours, whose
// text alternative states the totals.
func TestDashboardGroupsAndActivityInBrowser(t *testing.T) {
	bin := buildBinary(t)
	b := startBrowser(t)
	sinkURL := newHTTPTestServer(t, refusingSink{})
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(groupsRules), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		plSecret = "pl-groups-secret-77a1"
		token    = "admin-groups-token-3f9c"
	)
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"),
		[]string{"PL_SECRET=" + plSecret, "SINK=" + sinkURL}, "--admin-token", token)
	defer b.checkProblems(t)
	pl := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
	tmpl := string(readFixture(t, "productlift/vote.created.json"))
	const hostile = `<img src=x id=pwned> & "quotes"`
	vote := func(t *testing.T, id string, postID int, title string) {
		t.Helper()
		body := strings.Replace(tmpl, "vg3EGg2wcHgd8nMl", id, 1)
		body = strings.Replace(body, `"id": 99,`, fmt.Sprintf(`"id": %d,`, postID), 1)
		body = strings.Replace(body, `"This is a great idea"`, strconv.Quote(title), 1)
		u, h, sb := signed(t, p.public, pl, []byte(body))
		if code, resp := post(t, u, "application/json", h, sb); code != http.StatusAccepted {
			t.Fatalf("hook answered %d %v", code, resp)
		}
	}

	b.do(t, "load the dashboard", chromedp.Navigate(p.admin+"/#/groups"))
	b.waitJS(t, "the token prompt", `!document.getElementById("token-panel").hidden`)
	b.do(t, "enter the token",
		chromedp.SendKeys(chromedp.CSS("#token-input"), token),
		chromedp.Click(chromedp.CSS("#token-submit")))
	b.waitJS(t, "no pending groups yet", `!document.getElementById("groups-empty").hidden`)

	// Three votes on post 99 (one the receiver refuses), one on post 100:
	// votes-per-post holds them in two groups; every-vote delivers each.
	vote(t, "g-1", 99, hostile)
	vote(t, "g-2", 99, "refuse this one")
	vote(t, "g-3", 99, "Another")
	vote(t, "g-4", 100, "Elsewhere")

	var groups struct {
		Groups []struct {
			Rule, Key  string
			Count      int
			First, Due time.Time
		}
	}
	waitFor(t, "two pending groups", 30*time.Second, func() bool {
		code, body := adminCall(t, http.MethodGet, p.admin+"/api/groups", token, nil)
		return code == http.StatusOK && json.Unmarshal(body, &groups) == nil && len(groups.Groups) == 2 &&
			groups.Groups[0].Count+groups.Groups[1].Count == 4
	})
	groupRow := func(key string) string {
		return `[data-testid="group-row"][data-rule="votes-per-post"][data-group="` + key + `"]`
	}

	t.Run("pending groups with their count and when they fire", func(t *testing.T) {
		// No click: the list refreshes itself.
		b.waitJS(t, "both groups with their counts",
			`(document.querySelector('`+groupRow("99")+` [data-testid="group-count"]') || {}).textContent === "3" && `+
				`(document.querySelector('`+groupRow("100")+` [data-testid="group-count"]') || {}).textContent === "1"`)
		for _, g := range groups.Groups {
			row := groupRow(g.Key)
			if got := b.text(t, row+` [data-testid="group-state"]`); got != "waiting" {
				t.Errorf("group %s is %q, want waiting", g.Key, got)
			}
			// The page shows the API's times, and how long until the firing.
			if got := b.value(t, `document.querySelector('`+row+` [data-testid="group-due"] time').getAttribute("datetime")`); got != g.Due.Format(time.RFC3339Nano) {
				t.Errorf("group %s fires at %s on the page, at %s by the API", g.Key, got, g.Due.Format(time.RFC3339Nano))
			}
			if got := b.value(t, `document.querySelector('`+row+` [data-testid="group-first"] time').getAttribute("datetime")`); got != g.First.Format(time.RFC3339Nano) {
				t.Errorf("group %s's first event at %s on the page, at %s by the API", g.Key, got, g.First.Format(time.RFC3339Nano))
			}
			due := b.text(t, row+` [data-due]`)
			m := regexp.MustCompile(`^\(in (\d+)s\)$`).FindStringSubmatch(due)
			if m == nil {
				t.Fatalf("group %s fires %q, want (in Ns)", g.Key, due)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > 30 {
				t.Errorf("group %s fires in %ds, want within its 30s wait", g.Key, n)
			}
		}
		if got := b.value(t, `[...document.querySelectorAll('[data-testid="group-row"]')].map(r => r.dataset.group).join(",")`); got != groups.Groups[0].Key+","+groups.Groups[1].Key {
			t.Errorf("groups listed %s, want the API's order, soonest first", got)
		}
		b.screenshot(t, "groups")
	})

	t.Run("the countdown moves without a word to the live region", func(t *testing.T) {
		b.do(t, "watch the live region", chromedp.Evaluate[chromedp.Void](`
			window.liveChanges = 0;
			new MutationObserver((ms) => { window.liveChanges += ms.length; })
				.observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
			window.groupReads = 0;
			const realFetch = window.fetch;
			window.fetch = (...args) => {
				if (String(args[0]).startsWith("api/groups")) window.groupReads++;
				return realFetch(...args);
			};
			window.dueBefore = document.querySelector('`+groupRow("99")+` [data-due]').textContent;`))
		// Two reads: a whole refresh has run since, and the seconds moved.
		b.waitJS(t, "the countdown to move and a refresh to run",
			`window.groupReads >= 2 && document.querySelector('`+groupRow("99")+` [data-due]').textContent !== window.dueBefore`)
		if n, err := eval[int](b, `window.liveChanges`); err != nil || n != 0 {
			t.Errorf("the live region changed %d times (%v) while only the countdown moved: %q", n, err, b.text(t, "#status"))
		}
		if in, err := eval[bool](b, `!!document.querySelector('`+groupRow("99")+` [data-due]').closest('[aria-live], [role="status"], [role="alert"]')`); err != nil || in {
			t.Errorf("the countdown is inside a live region (%v)", err)
		}
		// A group that starts is announced, once.
		vote(t, "g-5", 101, "A third post")
		b.waitJS(t, "the new group announced", `document.querySelector('`+groupRow("101")+`') && document.getElementById("status").textContent.includes("1 new group: votes-per-post (101)")`)
	})

	t.Run("an event says which group holds it", func(t *testing.T) {
		b.do(t, "open events", chromedp.Click(chromedp.CSS("#nav-events")))
		row := `[...document.querySelectorAll('[data-testid="event-row"]')].find(r => r.textContent.includes("g-3"))`
		b.waitJS(t, "the grouped event", row+` && `+row+`.querySelector('[data-testid="held"][data-how="grouped"]')`)
		if got := b.value(t, row+`.querySelector('[data-testid="held"]').title`); !strings.Contains(got, `grouped by votes-per-post (key "99") until its firing at`) {
			t.Errorf("the grouped badge's reason is %q", got)
		}
		seq := b.value(t, row+`.dataset.seq`)
		b.do(t, "open it", chromedp.Click(chromedp.CSS(`[data-testid="event-row"][data-seq="`+seq+`"] a`)))
		b.waitJS(t, "the group it waits in", `document.querySelector('[data-testid="held-reason"][data-how="grouped"] a[href="#/groups"]')`)
		if got := b.text(t, `[data-testid="held-reason"][data-how="grouped"]`); !strings.Contains(got, "Waits in a pending group · fires with it at") {
			t.Errorf("the event's detail says %q", got)
		}
		b.screenshot(t, "event-grouped")
	})

	t.Run("each rule's last 24 hours", func(t *testing.T) {
		// every-vote's five deliveries are recorded before the chart is read.
		waitFor(t, "every-vote's deliveries", 30*time.Second, func() bool {
			_, body := adminCall(t, http.MethodGet, p.admin+"/api/deliveries?rule=every-vote", token, nil)
			var d struct{ Deliveries []struct{ Outcome string } }
			return json.Unmarshal(body, &d) == nil && len(d.Deliveries) == 5
		})
		b.do(t, "open rules", chromedp.Click(chromedp.CSS("#nav-rules")))
		chart := func(rule string) string {
			return `[data-testid="rule-row"][data-rule="` + rule + `"] [data-testid="rule-chart"]`
		}
		b.waitJS(t, "the charts", `document.querySelector('`+chart("every-vote")+`') && document.querySelector('`+chart("votes-per-post")+`')`)
		for _, tc := range []struct {
			rule, label string
			bars        int
		}{
			{"every-vote", "Last 24 hours: 5 matches, 4 delivered, 1 failed; busiest hour from ", 1},
			{"votes-per-post", "Last 24 hours: 5 matches, ", 1},
		} {
			label := b.value(t, `document.querySelector('`+chart(tc.rule)+` svg').getAttribute("aria-label")`)
			if !strings.HasPrefix(label, tc.label) || !strings.HasSuffix(label, ", 5 matches") {
				t.Errorf("%s's chart is labelled %q, want %q… with its busiest hour's 5 matches", tc.rule, label, tc.label)
			}
			if role := b.value(t, `document.querySelector('`+chart(tc.rule)+` svg').getAttribute("role")`); role != "img" {
				t.Errorf("%s's chart has role %q, want img", tc.rule, role)
			}
			if n, err := eval[int](b, `document.querySelectorAll('`+chart(tc.rule)+` rect.matches').length`); err != nil || n != tc.bars {
				t.Errorf("%s's chart has %d hours with matches (%v), want %d", tc.rule, n, err, tc.bars)
			}
			if n, err := eval[int](b, `document.querySelectorAll('`+chart(tc.rule)+` rect.hour').length`); err != nil || n != 24 {
				t.Errorf("%s's chart has %d hours (%v), want 24", tc.rule, n, err)
			}
		}
		if n, err := eval[int](b, `document.querySelectorAll('`+chart("every-vote")+` rect.failed').length`); err != nil || n != 1 {
			t.Errorf("every-vote's chart has %d hours with failures (%v), want 1", n, err)
		}
		// The page draws what the API counts.
		code, body := adminCall(t, http.MethodGet, p.admin+"/api/rules/activity", token, nil)
		var a struct {
			Partial bool
			Rules   []struct {
				Rule   string
				Totals struct{ Matches, Delivered, Failed int }
			}
		}
		if err := json.Unmarshal(body, &a); err != nil || code != http.StatusOK || a.Partial {
			t.Fatalf("GET /api/rules/activity answered %d %s", code, body)
		}
		for _, ra := range a.Rules {
			got := b.value(t, `(c => [c.dataset.matches, c.dataset.delivered, c.dataset.failed].join(" "))(document.querySelector('`+chart(ra.Rule)+`'))`)
			if want := fmt.Sprintf("%d %d %d", ra.Totals.Matches, ra.Totals.Delivered, ra.Totals.Failed); got != want {
				t.Errorf("%s's chart shows %s, the API %s", ra.Rule, got, want)
			}
		}
		if imgs, err := eval[int](b, `document.querySelectorAll("img, #pwned").length`); err != nil || imgs != 0 {
			t.Errorf("hostile text became markup: %d elements (%v)", imgs, err)
		}
		b.screenshot(t, "rules-activity")
	})

	t.Run("narrow window", func(t *testing.T) {
		for _, tab := range []string{"#/groups", "#/rules"} {
			b.do(t, "open "+tab+" at 380px", chromedp.EmulateViewport(380, 800), chromedp.Evaluate[chromedp.Void](`location.hash = "`+tab+`"`))
			b.waitJS(t, tab+" at 380px", `document.querySelector('[data-testid="group-row"], [data-testid="rule-chart"]')`)
			if overflow, err := eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); err != nil || overflow > 0 {
				t.Errorf("%s is %dpx wider than a 380px window (%v)", tab, overflow, err)
			}
		}
		b.screenshot(t, "rules-narrow")
	})
}
