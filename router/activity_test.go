package router

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/queue"
)

// activityRules are two rules: votes, delivered to url, failed for good at
// the first refusal; posts, which no vote matches.
func activityRules(url string) string {
	return `
sources:
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
rules:
  - name: votes
    when: event == "vote.created"
    actions:
      - http: { url: "` + url + `/votes", json: { title: "{{ .data.post.title }}" } }
        retry: { attempts: 1 }
  - name: posts
    when: event == "post.created"
    actions:
      - http: { url: "` + url + `/posts" }
`
}

func TestRuleActivityCountsEachHour(t *testing.T) {
	s := newSink(t, status(http.StatusBadRequest)) // the first delivery fails for good
	clock := newFakeClock()                        // 2024-03-01 12:00 UTC
	h := start(t, activityRules(s.srv.URL), func(o *Options) { o.Now = clock.Now })

	// sendDelivered sends an event and waits for its delivery's record,
	// so that the record is written before the clock moves on.
	recorded := 0
	sendRecorded := func(t *testing.T, id string) {
		t.Helper()
		h.send(t, id, "T "+id)
		recorded++
		eventually(t, "the delivery record of "+id, func() bool {
			var d struct{ Deliveries []DeliveryRecord }
			h.api(t, "GET", "/api/deliveries?rule=votes", &d)
			return len(d.Deliveries) == recorded
		})
	}
	sendRecorded(t, "e1") // 12:00, refused: failed
	clock.Advance(20 * time.Minute)
	sendRecorded(t, "e2") // 12:20, delivered
	clock.Advance(2*time.Hour + 10*time.Minute)
	sendRecorded(t, "e3") // 14:30, delivered

	type counts struct{ matches, delivered, failed int }
	at := func(ra RuleActivity, i int) counts { return counts{ra.Matches[i], ra.Delivered[i], ra.Failed[i]} }
	for _, tc := range []struct {
		name  string
		query string
		hours int
		start time.Time
		// want: the votes rule's non-empty hours by index; every other
		// hour, and every hour of posts, is zero.
		want   map[int]counts
		totals counts
	}{
		{"default: the last 24 hours", "", 24, time.Date(2024, 2, 29, 15, 0, 0, 0, time.UTC),
			map[int]counts{21: {2, 1, 1}, 23: {1, 1, 0}}, counts{3, 2, 1}},
		{"the last 2 hours leave 12:00 out", "?hours=2", 2, time.Date(2024, 3, 1, 13, 0, 0, 0, time.UTC),
			map[int]counts{1: {1, 1, 0}}, counts{1, 1, 0}},
		{"a week", "?hours=168", 168, time.Date(2024, 2, 23, 15, 0, 0, 0, time.UTC),
			map[int]counts{165: {2, 1, 1}, 167: {1, 1, 0}}, counts{3, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Activity
			if code := h.api(t, "GET", "/api/rules/activity"+tc.query, &a); code != http.StatusOK {
				t.Fatalf("answered %d", code)
			}
			if a.Hours != tc.hours || !a.Start.Equal(tc.start) || a.Partial || len(a.Rules) != 2 ||
				a.Rules[0].Rule != "votes" || a.Rules[1].Rule != "posts" {
				t.Fatalf("activity %+v, want %d hours from %s, not partial, votes then posts", a, tc.hours, tc.start)
			}
			for _, ra := range a.Rules {
				if len(ra.Matches) != tc.hours || len(ra.Delivered) != tc.hours || len(ra.Failed) != tc.hours {
					t.Fatalf("%s: %d, %d, %d buckets, want %d", ra.Rule, len(ra.Matches), len(ra.Delivered), len(ra.Failed), tc.hours)
				}
				for i := range tc.hours {
					want := counts{}
					if ra.Rule == "votes" {
						want = tc.want[i]
					}
					if got := at(ra, i); got != want {
						t.Errorf("%s hour %d (%s): %+v, want %+v", ra.Rule, i, a.Start.Add(time.Duration(i)*time.Hour).Format("15:04"), got, want)
					}
				}
			}
			v := a.Rules[0].Totals
			if got := (counts{v.Matches, v.Delivered, v.Failed}); got != tc.totals {
				t.Errorf("votes totals %+v, want %+v", got, tc.totals)
			}
		})
	}

	for _, bad := range []string{"0", "169", "-1", "day"} {
		t.Run("hours="+bad, func(t *testing.T) {
			var e struct{ Error string }
			if code := h.api(t, "GET", "/api/rules/activity?hours="+bad, &e); code != http.StatusBadRequest || e.Error == "" {
				t.Fatalf("answered %d %q, want 400 saying what hours may be", code, e.Error)
			}
		})
	}
}

// A log longer than one scan may read gives the counts of what was read,
// marked partial, with the oldest time they cover.
func TestRuleActivityPartialAtMaxScan(t *testing.T) {
	if testing.Short() {
		t.Skip("writes queue.MaxScan records")
	}
	clock := newFakeClock()
	h := start(t, activityRules("http://127.0.0.1:1"), func(o *Options) { o.Now = clock.Now })
	first := clock.Now()
	const extra = 10
	for i := range queue.MaxScan + extra {
		// One second apart, the oldest first: 50,010 s is about 14 h,
		// all within the day the activity covers.
		h.r.send(matchSubject+".productlift", &EventRecord{At: first.Add(time.Duration(i) * time.Second), Rules: []string{"votes"}})
	}
	clock.Advance(time.Duration(queue.MaxScan+extra) * time.Second)
	eventually(t, "every record stored", func() bool {
		info, err := h.r.q.StreamInfo(t.Context(), queue.LogStream)
		return err == nil && info.State.Msgs == queue.MaxScan+extra
	})
	var a Activity
	began := time.Now()
	if code := h.api(t, "GET", "/api/rules/activity", &a); code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	t.Logf("GET /api/rules/activity read %d records in %s", queue.MaxScan, time.Since(began).Round(time.Millisecond))
	// The newest MaxScan records were read: the oldest extra were not.
	wantOldest := first.Add(extra * time.Second)
	if !a.Partial || !a.Oldest.Equal(wantOldest) || a.Rules[0].Totals.Matches != queue.MaxScan {
		t.Fatalf("partial %v, oldest %s, %d matches; want partial, oldest %s, %d matches",
			a.Partial, a.Oldest, a.Rules[0].Totals.Matches, wantOldest, queue.MaxScan)
	}
}
