package router

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// preview posts a preview request to the admin API.
func (h *harness) preview(t *testing.T, p PreviewRequest, out any) int {
	t.Helper()
	body, _ := json.Marshal(p)
	resp, err := http.Post(h.admin+"/api/preview", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func TestPreview(t *testing.T) {
	s := newSink(t)
	inForce := `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    actions:
      - http: { url: "` + s.srv.URL + `/votes" }
  - name: old
    actions:
      - http: { url: "` + s.srv.URL + `/old" }
`
	h := start(t, inForce)
	h.send(t, "p1", "Dark mode")
	h.send(t, "p2", "Dark mode, please")
	h.send(t, "p3", "Crash on start")
	eventually(t, "the six deliveries", func() bool { return s.ok.Load() == 6 })

	candidate := `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: data.post.title contains "Dark"
    actions:
      - http: { url: "` + s.srv.URL + `/votes" }
  - name: crashes
    when: data.post.title contains "Crash"
    actions:
      - http:
          url: "` + s.srv.URL + `/crashes"
          headers: { Authorization: "Bearer ${PL_SECRET}" }
          json: { title: "{{ .data.post.title }}" }
  - name: broken
    when: data.post.nothing.deeper == 1
    actions:
      - http: { url: "` + s.srv.URL + `/broken" }
`
	var p Preview
	if code := h.preview(t, PreviewRequest{Name: "new.yaml", Rules: candidate, Since: "1h"}, &p); code != http.StatusOK {
		t.Fatalf("preview: %d", code)
	}
	if p.Bounds.Events != 10000 || p.Bounds.MS != 10000 {
		t.Errorf("bounds %+v, want 10,000 events and 10 s", p.Bounds)
	}
	if p.Window.Scanned != 3 || p.Window.Partial || p.Unreadable != 0 {
		t.Fatalf("window %+v, unreadable %d; want the 3 events, all of them", p.Window, p.Unreadable)
	}
	got := map[string]RulePreview{}
	for _, rp := range p.Rules {
		got[rp.Name] = rp
	}
	for _, tc := range []struct {
		rule              string
		change            string
		now, cand         int
		newly, noLonger   []string // event ids
		errors            int
		exampleRenderedIn string // a rendered action field that must hold this
	}{
		{"votes", "kept", 3, 2, nil, []string{"p3"}, 0, ""},
		{"crashes", "added", 0, 1, []string{"p3"}, nil, 0, "Crash on start"},
		{"broken", "added", 0, 0, nil, nil, 3, ""},
		{"old", "removed", 3, 0, nil, []string{"p3", "p2", "p1"}, 0, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			rp, ok := got[tc.rule]
			if !ok {
				t.Fatalf("no verdict for rule %s in %+v", tc.rule, p.Rules)
			}
			if rp.Change != tc.change || rp.MatchesNow != tc.now || rp.MatchesCandidate != tc.cand || rp.Errors != tc.errors {
				t.Fatalf("%+v; want %s, %d now, %d under the candidate, %d errors", rp, tc.change, tc.now, tc.cand, tc.errors)
			}
			if rp.Newly != len(tc.newly) || rp.NoLonger != len(tc.noLonger) {
				t.Errorf("counts %d newly, %d no longer; want %d, %d", rp.Newly, rp.NoLonger, len(tc.newly), len(tc.noLonger))
			}
			if ids := refIDs(rp.NewlyMatching); ids != strings.Join(tc.newly, ",") {
				t.Errorf("newly matching %s, want %v", ids, tc.newly)
			}
			if ids := refIDs(rp.NoLongerMatching); ids != strings.Join(tc.noLonger, ",") {
				t.Errorf("no longer matching %s, want %v", ids, tc.noLonger)
			}
			if tc.errors > 0 && (len(rp.ErrorSamples) == 0 || !strings.Contains(rp.ErrorSamples[0], "nothing")) {
				t.Errorf("error samples %q", rp.ErrorSamples)
			}
			if tc.exampleRenderedIn != "" {
				if len(rp.Actions) != 1 || rp.Actions[0].Rendered == nil {
					t.Fatalf("actions rendered: %+v", rp.Actions)
				}
				fields, _ := json.Marshal(rp.Actions[0].Rendered)
				if !strings.Contains(string(fields), tc.exampleRenderedIn) || !strings.Contains(string(fields), "${PL_SECRET}") || strings.Contains(string(fields), testSecret) {
					t.Errorf("rendered %s: want %q in it and the secret as ${PL_SECRET}", fields, tc.exampleRenderedIn)
				}
			}
		})
	}
	if n := s.ok.Load(); n != 6 || len(storedJobs(t, h.r)) != 0 {
		t.Fatalf("the preview sent or stored something: %d deliveries, %d jobs", n, len(storedJobs(t, h.r)))
	}

	// The window's bound on count.
	if code := h.preview(t, PreviewRequest{Rules: candidate, Last: 1}, &p); code != http.StatusOK || p.Window.Scanned != 1 || !p.Window.Partial {
		t.Fatalf("preview of the last event: %d %+v", code, p.Window)
	}

	// A candidate that does not load: its errors, positioned, and the
	// rules in force untouched.
	var e struct{ Error string }
	code := h.preview(t, PreviewRequest{Name: "new.yaml", Rules: strings.Replace(candidate, `contains "Dark"`, `contains`, 1)}, &e)
	if code != http.StatusUnprocessableEntity || !strings.Contains(e.Error, "new.yaml:6:34: rule \"votes\": when:") {
		t.Fatalf("preview of a bad file: %d %q; want 422 with new.yaml:6:34", code, e.Error)
	}
}

func refIDs(refs []EventRef) string {
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return strings.Join(ids, ",")
}
