package router

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// lines are the JSON log lines with message msg, decoded.
func (b *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.b.Bytes()), []byte("\n")) {
		var l map[string]any
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// The README promises one log line per event accepted, per event matched
// and per delivery: each names the event, and none carries the source's
// secret.
func TestEachEventIsLoggedAcceptedMatchedDelivered(t *testing.T) {
	s := newSink(t)
	var logs lockedBuffer
	h := start(t, rulesFor(s.srv.URL, "{ attempts: 1 }"), func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	h.send(t, "log-1", "Dark mode")
	h.send(t, "log-1", "Dark mode") // the vendor's retry: a duplicate
	// A delivery the matcher makes itself is logged before the match.
	eventually(t, "a match and a delivery", func() bool {
		return len(logs.lines(t, "event matched")) == 1 && len(logs.lines(t, "delivered")) == 1
	})

	accepted := logs.lines(t, "event accepted")
	if len(accepted) != 2 {
		t.Fatalf("%d lines 'event accepted', want 2: %v", len(accepted), accepted)
	}
	for i, l := range accepted {
		want := map[string]any{"level": "INFO", "source": "productlift", "event": "vote.created", "id": "log-1", "duplicate": i == 1}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("accepted line %d: %s = %v, want %v (%v)", i, k, l[k], v, l)
			}
		}
		if _, ok := l["time"]; !ok {
			t.Errorf("accepted line %d has no time: %v", i, l)
		}
	}
	for _, msg := range []string{"event matched", "delivered"} {
		ls := logs.lines(t, msg)
		if len(ls) != 1 || ls[0]["id"] != "log-1" || ls[0]["source"] != "productlift" || ls[0]["event"] != "vote.created" {
			t.Errorf("lines %q: %v, want one for productlift vote.created log-1", msg, ls)
		}
	}
	logs.mu.Lock()
	all := logs.b.String()
	logs.mu.Unlock()
	if strings.Contains(all, testSecret) {
		t.Errorf("the log holds the source's secret:\n%s", all)
	}
}
