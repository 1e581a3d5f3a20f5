package event

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Names lists exactly the names Env gives.
func TestNamesMatchEnv(t *testing.T) {
	got := slices.Sorted(maps.Keys((&Event{}).Env()))
	want := slices.Sorted(slices.Values(Names))
	if !slices.Equal(got, want) {
		t.Errorf("Env names %v, Names %v", got, want)
	}
}

// The subject conditions and templates see has the names and values of its
// JSON form: author a nested map, votes a float64 like every JSON number.
func TestSubjectMapIsItsJSON(t *testing.T) {
	for name, s := range map[string]Subject{
		"zero": {},
		"full": {Title: "Dark mode", Description: "Please", URL: "https://x.example/1", Status: "open",
			Author: Author{Name: "Ada", Email: "ada@example.com"}, Votes: 9},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			ev := Event{Subject: s}
			if got := ev.Env()["subject"]; !reflect.DeepEqual(got, want) {
				t.Errorf("Env subject = %#v\nits JSON     %#v", got, want)
			}
		})
	}
}

// Topic and subject survive a JSON round trip (delivery jobs store events
// as JSON), and an event stored before they existed decodes with both
// empty.
func TestEventJSON(t *testing.T) {
	ev := Event{
		Source:  "sleekplan",
		Vendor:  "sleekplan",
		Event:   "vote.create",
		Topic:   "vote.created",
		Subject: Subject{Title: "Dark mode", Author: Author{Name: "nightowl"}, Votes: 15},
		ID:      "abc",
		Time:    time.Unix(1591797780, 0).UTC(),
		Data:    map[string]any{"title": "Dark mode"},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ev) {
		t.Errorf("round trip = %+v, want %+v", back, ev)
	}

	old := `{"source":"s","vendor":"sleekplan","event":"item.create","id":"x","time":"2020-05-22T16:49:00Z","received":"0001-01-01T00:00:00Z","data":{},"payload":{},"headers":{}}`
	var got Event
	if err := json.Unmarshal([]byte(old), &got); err != nil {
		t.Fatal(err)
	}
	if got.Topic != "" || got.Subject != (Subject{}) || got.Event != "item.create" {
		t.Errorf("old event decoded as %+v", got)
	}
	env := got.Env()
	if env["topic"] != "" || env["subject"].(map[string]any)["votes"] != 0.0 {
		t.Errorf("old event's env: topic %#v, subject %#v", env["topic"], env["subject"])
	}
}

// Topics are distinct, each "noun.verb".
func TestTopics(t *testing.T) {
	seen := map[string]bool{}
	for _, topic := range Topics() {
		if seen[topic] {
			t.Errorf("topic %s twice", topic)
		}
		seen[topic] = true
		if n, v, ok := strings.Cut(topic, "."); !ok || n == "" || v == "" || strings.Contains(v, ".") {
			t.Errorf("topic %q is not noun.verb", topic)
		}
	}
}
