package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (h *harness) addMute(t *testing.T, m MuteRequest) (int, Mute, string) {
	t.Helper()
	body, _ := json.Marshal(m)
	resp, err := http.Post(h.admin+"/api/mutes", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out Mute
	_ = json.Unmarshal(b, &out)
	var e struct{ Error string }
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return resp.StatusCode, out, e.Error
	}
	return resp.StatusCode, out, string(b)
}

// eventRecord waits for the match record of the event with id and returns it.
func (h *harness) eventRecord(t *testing.T, id string) EventRecord {
	t.Helper()
	var rec EventRecord
	eventually(t, "the match record of "+id, func() bool {
		var list struct{ Events []EventRecord }
		h.api(t, "GET", "/api/events?limit=1000", &list)
		for _, e := range list.Events {
			if e.ID == id {
				rec = e
				return true
			}
		}
		return false
	})
	return rec
}

func TestMutes(t *testing.T) {
	s := newSink(t)
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 1 }"))

	for _, tc := range []struct {
		name string
		req  MuteRequest
		want string
	}{
		{"unknown rule", MuteRequest{Rule: "nope", For: "1h", Comment: "c"}, `no rule "nope"`},
		{"no comment", MuteRequest{Rule: "votes", For: "1h"}, "comment"},
		{"too long", MuteRequest{Rule: "votes", For: "2000h", Comment: "c"}, "at most 720h"},
		{"bad condition", MuteRequest{Rule: "votes", For: "1h", Comment: "c", When: "data.post.id =="}, "when:"},
		{"bad duration", MuteRequest{Rule: "votes", For: "soon", Comment: "c"}, "for:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, body := h.addMute(t, tc.req); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want 400 saying %q", code, body, tc.want)
			}
		})
	}

	code, mute, body := h.addMute(t, MuteRequest{Rule: "votes", For: "1h", Comment: "launch day", When: `data.post.title contains "Dark"`})
	if code != http.StatusCreated || mute.ID == "" {
		t.Fatalf("add mute: %d %s", code, body)
	}
	// A second replica on the same store sees the mute.
	other, err := New(Options{RulesPath: h.rules, Queue: h.r.q, Getenv: h.r.opts.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = other.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the other replica to see the mute", func() bool { return len(other.Mutes()) == 1 })

	h.send(t, "m1", "Dark mode")
	h.send(t, "m2", "Export to CSV")
	rec := h.eventRecord(t, "m1")
	if len(rec.Held) != 1 || rec.Held[0].By != mute.ID || rec.Held[0].How != "muted" || !strings.Contains(rec.Held[0].Reason, "launch day") || rec.Jobs != 0 {
		t.Fatalf("muted event's record %+v: want it held by mute %s, no jobs", rec, mute.ID)
	}
	eventually(t, "the unmuted event's delivery", func() bool { return s.ok.Load() == 1 })

	var list struct{ Mutes []Mute }
	if h.api(t, "GET", "/api/mutes", &list); len(list.Mutes) != 1 || list.Mutes[0].Comment != "launch day" {
		t.Fatalf("mutes listed: %+v", list.Mutes)
	}
	if code := h.api(t, "DELETE", "/api/mutes/"+mute.ID, nil); code != http.StatusNoContent {
		t.Fatalf("expire: %d", code)
	}
	if code := h.api(t, "DELETE", "/api/mutes/"+mute.ID, nil); code != http.StatusNotFound {
		t.Fatalf("expire again: %d, want 404", code)
	}
	eventually(t, "the other replica to see the mute end", func() bool { return len(other.Mutes()) == 0 })
	h.send(t, "m3", "Dark mode again")
	eventually(t, "the delivery once the mute ended", func() bool { return s.ok.Load() == 2 })

	// A mute ends by itself.
	if code, _, body := h.addMute(t, MuteRequest{Rule: "votes", For: "1s", Comment: "brief"}); code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, body)
	}
	eventually(t, "the mute to end by itself on both replicas", func() bool {
		return len(h.r.Mutes()) == 0 && len(other.Mutes()) == 0
	})
	time.Sleep(100 * time.Millisecond)
	h.send(t, "m4", "After")
	eventually(t, "the delivery after the mute ended by itself", func() bool { return s.ok.Load() == 3 })

	var metrics string
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics = string(b)
	if !strings.Contains(metrics, `switchyard_rule_firings_held_total{how="muted",rule="votes"} 1`) {
		t.Error("the muted firing is not counted in the metrics")
	}
}
