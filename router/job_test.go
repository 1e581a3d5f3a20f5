package router

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/sources"
)

// A job survives the jobs stream unchanged, for every vendor's example
// payloads, whether its data is a member of the payload (stored once), the
// payload itself, or neither.
func TestStoredJobRoundTrip(t *testing.T) {
	var evs []event.Event
	payloads, _ := filepath.Glob("../examples/*/*.json")
	for _, p := range payloads {
		vendor := filepath.Base(filepath.Dir(p))
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		src, err := sources.New(sources.Config{Name: vendor, Vendor: vendor, Secret: "s"}, nil)
		if err != nil {
			src, err = sources.New(sources.Config{Name: vendor, Vendor: vendor, Key: "k"}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		env, err := src.Envelope(http.Header{"Content-Type": {"application/json"}}, body)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ev, err := src.Normalize(env, body, map[string]string{"content-type": "application/json"})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		evs = append(evs, ev)
	}
	whole := map[string]any{"a": 1.0}
	evs = append(evs,
		event.Event{Source: "s", ID: "whole", Payload: whole, Data: whole},
		event.Event{Source: "s", ID: "apart", Payload: map[string]any{"data": map[string]any{"x": "y"}}, Data: map[string]any{"x": "y"}},
		event.Event{Source: "s", ID: "value", Payload: map[string]any{"data": "text"}, Data: map[string]any{"value": "text"}},
		event.Event{Source: "s", ID: "empty"},
	)
	shared := 0
	for i, ev := range evs {
		t.Run(ev.Source+"/"+ev.ID, func(t *testing.T) {
			j := Job{ID: ev.Key() + "/r/0", Event: ev, Rule: "r", Kind: "http", Matched: time.Unix(1700000000, 0).UTC()}
			data, err := encodeJob(&j)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeJobData(data)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(j)
			back, _ := json.Marshal(got)
			if string(back) != string(want) {
				t.Fatalf("after the jobs stream:\n%s\nwant\n%s", back, want)
			}
			if _, ok := dataMember(&ev); ok {
				shared++
				if i < len(payloads) && len(data) >= len(want) {
					t.Errorf("the stored job is %d bytes, the job %d: its data is stored twice", len(data), len(want))
				}
			}
		})
	}
	if shared < len(payloads) {
		t.Errorf("only %d of %d vendor events had their data found in the payload", shared, len(payloads))
	}
}
