package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/router"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// noiseRules has one rule per noise control, each on its own source so
// that the subtests' events do not meet: a digest per post, a throttle
// per post, and a rule to mute; pl-warm's events match no rule. The
// streams and buckets are R3.
const noiseRules = `
queue:
  replicas: 3
sources:
  pl-group:    { vendor: productlift, secret: "${PL_SECRET}" }
  pl-throttle: { vendor: productlift, secret: "${PL_SECRET}" }
  pl-mute:     { vendor: productlift, secret: "${PL_SECRET}" }
  pl-warm:     { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes-digest
    source: pl-group
    when: event == "vote.created"
    group: { by: "{{ .data.post.id }}", wait: 2s, interval: 1h }
    actions:
      - http:
          url: ${SINK}/digest
          json: { count: "{{ .count }}", key: "{{ .key }}", ids: "{{ range .events }}{{ .id }} {{ end }}" }
  - name: votes-throttled
    source: pl-throttle
    when: event == "vote.created"
    throttle: { key: "{{ .data.post.id }}", per: 1h }
    actions:
      - http:
          url: ${SINK}/throttled
          json: { id: "{{ .id }}" }
  - name: votes-muted
    source: pl-mute
    when: event == "vote.created"
    actions:
      - http:
          url: ${SINK}/muted
          json: { id: "{{ .id }}" }
`

// TestClusterNoiseControl runs two switchyard replicas on a three-node
// JetStream cluster and sends each noise control's events to both: a
// group fires once per window, with every event; a throttle lets one
// firing through whichever replica matches; a mute added on one replica
// holds back the firings the other matches, and expired on the other it
// holds back nothing.
func TestClusterNoiseControl(t *testing.T) {
	bin := buildBinary(t)
	sink := newRecorder(t)
	const plSecret, token = "noise-secret", "noise-admin-token"
	env := []string{"PL_SECRET=" + plSecret, "SINK=" + sink.url, "SWITCHYARD_ADMIN_TOKEN=" + token}
	start := time.Now()
	_, a, b := startReplicas(t, bin, noiseRules, env)
	t.Logf("three NATS nodes and two replicas up in %s", time.Since(start).Round(time.Millisecond))
	replicas := []*proc{a, b}
	source := func(name string) sources.Config {
		return sources.Config{Name: name, Vendor: "productlift", Secret: secret.Secret(plSecret)}
	}
	// received is what the sink got at path, decoded.
	received := func(path string) []map[string]string {
		var out []map[string]string
		for _, r := range sink.requests() {
			if r.Path != path {
				continue
			}
			var m map[string]string
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatalf("the sink got %s %q: %v", path, r.Body, err)
			}
			out = append(out, m)
		}
		return out
	}
	// send posts one vote per id, alternately to a and b, from a few
	// goroutines, and fails unless each is stored (202).
	send := func(t *testing.T, src string, ids []string, to func(i int) *proc) {
		t.Helper()
		var accepted atomic.Int64
		res := sendVotes(t, source(src), ids, 4, func(i int) string { return to(i).public }, &accepted, nil)
		for _, r := range res {
			if r.status != http.StatusAccepted || r.duplicate {
				t.Fatalf("%s answered %d (duplicate %v), want 202 for a new delivery", r.id, r.status, r.duplicate)
			}
		}
	}
	alternately := func(i int) *proc { return replicas[i%2] }
	// matchedBy says how many of ids each replica matched (a and b: both
	// take stored events from one consumer, whichever was sent them).
	matchedBy := func(ids []string) (onA, onB int) {
		count := func(p *proc) int {
			n := 0
			for _, l := range p.logs.find("event matched") {
				if id, _ := l["id"].(string); slices.Contains(ids, id) {
					n++
				}
			}
			return n
		}
		return count(a), count(b)
	}
	// records waits until p's /api/events lists a match record of each
	// of ids (from source src), and returns those by id.
	records := func(t *testing.T, p *proc, src string, ids []string) map[string]router.EventRecord {
		t.Helper()
		var byID map[string]router.EventRecord
		waitFor(t, fmt.Sprintf("the match records of %d events from %s", len(ids), src), 30*time.Second, func() bool {
			var res struct{ Events []router.EventRecord }
			getJSON(t, p.admin+"/api/events?limit=1000&source="+src, token, &res)
			byID = map[string]router.EventRecord{}
			for _, r := range res.Events {
				if slices.Contains(ids, r.ID) {
					byID[r.ID] = r
				}
			}
			return len(byID) == len(ids)
		})
		return byID
	}

	// bothMatched waits until ids are matched, and fails the test unless
	// each replica matched some: otherwise it did not test what it says.
	bothMatched := func(t *testing.T, ids []string) {
		t.Helper()
		var onA, onB int
		waitFor(t, "the votes matched", 30*time.Second, func() bool {
			onA, onB = matchedBy(ids)
			return onA+onB >= len(ids)
		})
		t.Logf("a matched %d of %d votes, b %d", onA, len(ids), onB)
		if onA == 0 || onB == 0 {
			t.Fatalf("a matched %d of the votes, b %d: the test needs both replicas matching", onA, onB)
		}
	}
	// A replica takes stored events to match once its pull on the shared
	// consumer is in place, which can be seconds after it serves; until
	// then the other matches every event. Wait until both match.
	var warm []string
	waitFor(t, "both replicas matching events", 30*time.Second, func() bool {
		ids := voteIDs(fmt.Sprintf("warm-%03d", len(warm)/2), 2)
		warm = append(warm, ids...)
		send(t, "pl-warm", ids, alternately)
		time.Sleep(100 * time.Millisecond) // time to match them: a pause between rounds, no deadline
		onA, onB := matchedBy(warm)
		return onA > 0 && onB > 0
	})
	t.Logf("both replicas matching after %d votes", len(warm))

	t.Run("a group sent to both replicas fires one digest per window", func(t *testing.T) {
		ids := voteIDs("grp", 10)
		sent := time.Now()
		send(t, "pl-group", ids, alternately)
		waitFor(t, "the digest", 30*time.Second, func() bool { return len(received("/digest")) > 0 })
		t.Logf("the digest came %s after the first vote was sent (wait: 2s)", time.Since(sent).Round(time.Millisecond))
		d := received("/digest")[0]
		if d["count"] != fmt.Sprint(len(ids)) || d["key"] != "99" {
			t.Errorf("digest counts %s events of key %q, want %d of key 99", d["count"], d["key"], len(ids))
		}
		got := strings.Fields(d["ids"])
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("digest lists the events %v, want each of %v once", got, ids)
		}
		bothMatched(t, ids)
		t.Logf("the group fired %d times on a, %d on b", len(a.logs.find("group fired")), len(b.logs.find("group fired")))
		// Every event's record, whichever replica matched it, says it
		// waited for that one firing.
		for _, p := range replicas {
			for id, r := range records(t, p, "pl-group", ids) {
				if len(r.Held) != 1 || r.Held[0].How != "grouped" || r.Held[0].By != "votes-digest" || r.Jobs != 0 {
					t.Errorf("%s's record on %s: held %+v, jobs %d; want grouped by votes-digest, no job", id, p.admin, r.Held, r.Jobs)
				}
			}
		}

		// The group's next firing is an interval away, as both replicas
		// see it: votes that come now wait for it.
		fired := time.Now()
		late := voteIDs("grp-late", 2)
		send(t, "pl-group", late, alternately)
		for _, p := range replicas {
			waitFor(t, "the late votes pending, an interval away, on "+p.admin, 30*time.Second, func() bool {
				var res struct{ Groups []router.PendingGroup }
				getJSON(t, p.admin+"/api/groups", token, &res)
				return len(res.Groups) == 1 && res.Groups[0].Count == len(late) && res.Groups[0].Firing == "" &&
					res.Groups[0].Due.After(fired.Add(55*time.Minute))
			})
		}
		// A second firing (a replica firing a group the other fired, or
		// the late votes fired before their time) would come within a
		// few scheduler ticks of the first.
		time.Sleep(2 * time.Second)
		if ds := received("/digest"); len(ds) != 1 {
			t.Fatalf("%d digests, want one per window: %v", len(ds), ds)
		}
	})

	t.Run("a throttle lets one firing through both replicas", func(t *testing.T) {
		ids := voteIDs("thr", 8)
		sent := time.Now()
		send(t, "pl-throttle", ids, alternately)
		var through []string
		for _, p := range replicas {
			through = through[:0]
			for id, r := range records(t, p, "pl-throttle", ids) {
				switch {
				case len(r.Held) == 0 && r.Jobs == 1:
					through = append(through, id)
				case len(r.Held) == 1 && r.Held[0].How == "throttled" && r.Held[0].By == "votes-throttled" && r.Jobs == 0:
					if !r.Held[0].Until.After(sent.Add(55*time.Minute)) || !strings.HasPrefix(r.Held[0].Reason, "throttled by votes-throttled until ") {
						t.Errorf("%s is held until %s (%q); want the end of an hour's window", id, r.Held[0].Until, r.Held[0].Reason)
					}
				default:
					t.Errorf("%s's record on %s: held %+v, jobs %d; want either delivered or throttled by votes-throttled", id, p.admin, r.Held, r.Jobs)
				}
			}
			if len(through) != 1 {
				t.Fatalf("%d of %d votes let through by the throttle (%v), want one", len(through), len(ids), through)
			}
		}
		bothMatched(t, ids)
		// The others made no job (their records say so), so the one
		// delivery is all there will be.
		waitFor(t, "the delivery let through", 30*time.Second, func() bool { return len(received("/throttled")) > 0 })
		if got := received("/throttled"); len(got) != 1 || got[0]["id"] != through[0] {
			t.Fatalf("the sink got %v, want only %s", got, through[0])
		}
	})

	t.Run("a mute added on one replica holds on the other, and expired there holds on neither", func(t *testing.T) {
		out, errOut, code := runBin(t, bin, env, "mute", "add", "--admin", a.admin,
			"--rule", "votes-muted", "--for", "1h", "--comment", "cluster test")
		m := regexp.MustCompile(`\(mute ([0-9a-f]+)\)\n$`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("mute add on a: exit %d\n%s%s", code, out, errOut)
		}
		id := m[1]
		// The mute is in force where each replica says so.
		mutesOn := func(p *proc) []string {
			var res struct{ Mutes []router.Mute }
			getJSON(t, p.admin+"/api/mutes", token, &res)
			var ids []string
			for _, m := range res.Mutes {
				ids = append(ids, m.ID)
			}
			return ids
		}
		for _, p := range replicas {
			waitFor(t, "mute "+id+" listed by "+p.admin, 10*time.Second, func() bool { return slices.Equal(mutesOn(p), []string{id}) })
		}

		muted := voteIDs("mute", 6)
		send(t, "pl-mute", muted, func(int) *proc { return b })
		for _, p := range replicas {
			for eid, r := range records(t, p, "pl-mute", muted) {
				if len(r.Held) != 1 || r.Held[0].How != "muted" || r.Held[0].By != id || r.Jobs != 0 {
					t.Errorf("%s's record on %s: held %+v, jobs %d; want muted by %s, no job", eid, p.admin, r.Held, r.Jobs, id)
				}
			}
		}
		bothMatched(t, muted)
		if got := received("/muted"); len(got) != 0 {
			t.Fatalf("muted firings were delivered: %v", got)
		}

		if code, body := adminCall(t, http.MethodDelete, b.admin+"/api/mutes/"+id, token, nil); code != http.StatusNoContent {
			t.Fatalf("DELETE /api/mutes/%s on b answered %d %s", id, code, body)
		}
		for _, p := range replicas {
			waitFor(t, "no mute listed by "+p.admin, 10*time.Second, func() bool { return len(mutesOn(p)) == 0 })
		}
		unmuted := voteIDs("unmute", 6)
		send(t, "pl-mute", unmuted, func(int) *proc { return a })
		waitFor(t, "the votes after the mute delivered", 30*time.Second, func() bool { return len(received("/muted")) >= len(unmuted) })
		bothMatched(t, unmuted)
		for eid, r := range records(t, b, "pl-mute", unmuted) {
			if len(r.Held) != 0 || r.Jobs != 1 {
				t.Errorf("%s's record after the mute ended: held %+v, jobs %d; want one delivery", eid, r.Held, r.Jobs)
			}
		}
		var got []string
		for _, d := range received("/muted") {
			got = append(got, d["id"])
		}
		slices.Sort(got)
		if !slices.Equal(got, unmuted) {
			t.Errorf("delivered %v, want each of %v once", got, unmuted)
		}
	})
}

// voteIDs is n vote ids prefix-000, prefix-001, …, in sorted order.
func voteIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return ids
}

// getJSON reads an admin API answer into out; an answer other than 200
// fails the test.
func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	code, body := adminCall(t, http.MethodGet, url, token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s answered %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}
