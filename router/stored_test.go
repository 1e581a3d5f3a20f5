package router

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Replaying stored events makes the deliveries that were never made, under
// the rules in force, and not those made already or still waiting.
func TestReplayEvents(t *testing.T) {
	ok := newSink(t)
	down := newSink(t, status(500), status(500), status(500), status(500))
	rulesYAML := `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    actions:
      - http: { url: "` + ok.srv.URL + `/votes" }
  - name: crm
    when: data.post.title == "Waiting"
    actions:
      - http: { url: "` + down.srv.URL + `/crm" }
        retry: { attempts: 5, initial: 1h }
`
	h := start(t, rulesYAML)
	h.send(t, "r1", "Dark mode")
	h.send(t, "r2", "Dark mode")
	h.send(t, "r3", "Waiting")
	eventually(t, "three deliveries logged and one waiting", func() bool {
		var d struct{ Deliveries []DeliveryRecord }
		h.api(t, "GET", "/api/deliveries?outcome=delivered", &d)
		return len(d.Deliveries) == 3 && len(storedJobs(t, h.r)) == 1
	})

	// A rule that was missing when the events came is added; replaying
	// makes its deliveries only.
	late := newSink(t)
	added := rulesYAML + `
  - name: dark-mode
    when: data.post.title == "Dark mode"
    actions:
      - http: { url: "` + late.srv.URL + `/late" }
`
	if err := os.WriteFile(h.rules, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Reload(); err != nil {
		t.Fatal(err)
	}
	var res ReplayResult
	if code := h.api(t, "POST", "/api/events/replay?since=1h", &res); code != http.StatusOK {
		t.Fatalf("replay: %d", code)
	}
	if res.Scanned != 3 || res.Planned != 6 || res.Pending != 1 || res.Stored != 2 || res.Partial {
		t.Fatalf("replay = %+v; want 3 events, 6 deliveries planned: 3 made, 1 waiting, the 2 of the new rule stored", res)
	}
	eventually(t, "the new rule's deliveries", func() bool { return late.ok.Load() == 2 })
	time.Sleep(200 * time.Millisecond)
	if n := ok.ok.Load(); n != 3 {
		t.Fatalf("the deliveries already made were made again: %d", n)
	}
	if n := len(down.times()); n != 1 {
		t.Fatalf("the waiting delivery was attempted again: %d attempts", n)
	}

	// Only one rule, and a rule that does not exist.
	if code := h.api(t, "POST", "/api/events/replay?since=1h&rule=dark-mode", &res); code != http.StatusOK || res.Planned != 2 || res.Stored != 0 {
		t.Fatalf("replay of rule dark-mode: %d %+v; want its 2 deliveries, made already", code, res)
	}
	var e struct{ Error string }
	if code := h.api(t, "POST", "/api/events/replay?since=1h&rule=nope", &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "nope") {
		t.Fatalf("replay of an unknown rule: %d %q", code, e.Error)
	}
	if code := h.api(t, "POST", "/api/events/replay", &e); code != http.StatusBadRequest {
		t.Fatalf("replay without since: %d", code)
	}
}
