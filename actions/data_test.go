package actions

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

// votes returns n vote events on post 99, a minute apart, the voters named
// v1..vn, the first one hostile.
func votes(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		name := "v" + string(rune('1'+i))
		if i == 0 {
			name = "<!channel> v1"
		}
		evs[i] = event.Event{
			Source: "productlift", Vendor: "productlift", Event: "vote.created",
			ID:   "d-" + string(rune('1'+i)),
			Time: time.Date(2024, 5, 6, 7, i, 0, 0, time.UTC),
			Data: map[string]any{
				"post": map[string]any{"id": float64(99), "title": "Dark <mode>"},
				"vote": map[string]any{"voter": map[string]any{"name": name}},
			},
		}
	}
	return evs
}

func TestGroupData(t *testing.T) {
	evs := votes(3)
	tests := []struct {
		name      string
		g         Group
		count     int
		first     string // .first.id
		last      string // .last.id
		numEvents int
	}{
		{"every event kept", Group{Rule: "r", Key: "99", Count: 3, Events: evs}, 3, "d-1", "d-3", 3},
		{"more counted than kept", Group{Count: 250, Events: evs[:2], Last: &evs[2]}, 250, "d-1", "d-3", 2},
		{"Last nil: the last kept", Group{Count: 250, Events: evs[:2]}, 250, "d-1", "d-2", 2},
		{"count under the events kept", Group{Count: 1, Events: evs}, 3, "d-1", "d-3", 3},
		{"one event", Group{Count: 1, Events: evs[1:2]}, 1, "d-2", "d-2", 1},
		{"no events", Group{}, 0, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.g.Data()
			if got, want := slices.Sorted(maps.Keys(d)), slices.Sorted(slices.Values(GroupNames)); !slices.Equal(got, want) {
				t.Fatalf("names %v, GroupNames %v", got, want)
			}
			if d["count"] != tt.count {
				t.Errorf(".count = %v, want %d", d["count"], tt.count)
			}
			first, last := d["first"].(map[string]any), d["last"].(map[string]any)
			if first["id"] != tt.first || last["id"] != tt.last {
				t.Errorf(".first.id, .last.id = %v, %v; want %s, %s", first["id"], last["id"], tt.first, tt.last)
			}
			// Every event name is there, even in an empty group, so that
			// .first.data.x renders empty instead of failing.
			for _, e := range []map[string]any{first, last} {
				for _, n := range event.Names {
					if _, ok := e[n]; !ok {
						t.Errorf("event name %s missing", n)
					}
				}
			}
			if n := len(d["events"].([]any)); n != tt.numEvents {
				t.Errorf("len .events = %d, want %d", n, tt.numEvents)
			}
		})
	}
}

// A grouped rule's templates render once for the firing, inserted values
// escaped as in any template.
func TestGroupTemplates(t *testing.T) {
	evs := votes(3)
	g := &Group{Rule: "votes-per-post", Key: "99", Count: 7, Events: evs}
	tests := []struct{ name, text, want string }{
		{"count and first", "{{ .count }} new votes on {{ .first.data.post.title }}", "7 new votes on Dark &lt;mode&gt;"},
		{"index", "{{ (index .events 0).data.post.id }}", "99"},
		{"range", "{{ range .events }}{{ .data.vote.voter.name }};{{ end }}", "&lt;!channel&gt; v1;v2;v3;"},
		{"range with $", "{{ range .events }}{{ $.key }}:{{ .id }} {{ end }}", "99:d-1 99:d-2 99:d-3 "},
		{"len and count", "{{ len .events }} of {{ .count }}", "3 of 7"},
		{"rule, key, last", "{{ .rule }}/{{ .key }}/{{ .last.id }} at {{ date \"15:04\" .last.time }}", "votes-per-post/99/d-3 at 07:02"},
		{"with first", "{{ with .first }}{{ .event }}{{ end }}", "vote.created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustTemplate(tt.name, tt.text, SlackEscape).Execute(g.Data())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTopNames(t *testing.T) {
	tests := []struct {
		name, text string
		want       []NameUse
	}{
		{"none", "plain text", nil},
		{"field", "a {{ .data.post.id }}", []NameUse{{"data", ".data.post.id", 5}}},
		{"two", "{{ .event }}{{ .count }}", []NameUse{{"event", ".event", 3}, {"count", ".count", 15}}},
		{"pipeline and function", `{{ .data.x | default .id | upper }}`, []NameUse{{"data", ".data.x", 3}, {"id", ".id", 21}}},
		{"function argument", `{{ json .payload }}`, []NameUse{{"payload", ".payload", 8}}},
		{"if condition and body", "{{ if .count }}{{ .key }}{{ else }}{{ .rule }}{{ end }}",
			[]NameUse{{"count", ".count", 6}, {"key", ".key", 18}, {"rule", ".rule", 38}}},
		{"range body is not the root", "{{ range .events }}{{ .data.x }}{{ end }}", []NameUse{{"events", ".events", 9}}},
		{"range else is the root", "{{ range .events }}{{ .id }}{{ else }}{{ .data.x }}{{ end }}",
			[]NameUse{{"events", ".events", 9}, {"data", ".data.x", 41}}},
		{"with body is not the root", "{{ with .first }}{{ .data.x }}{{ end }}", []NameUse{{"first", ".first", 8}}},
		{"else with", "{{ with .first }}{{ .id }}{{ else with .last }}{{ .id }}{{ end }}",
			[]NameUse{{"first", ".first", 8}, {"last", ".last", 39}}},
		{"dollar anywhere", "{{ range .events }}{{ $.data.x }}{{ end }}", []NameUse{{"events", ".events", 9}, {"data", "$.data.x", 22}}},
		{"dollar alone", "{{ $ }}", nil},
		{"variable", "{{ $e := .first }}{{ $e.data.x }}", []NameUse{{"first", ".first", 9}}},
		{"variable holding the data", "{{ $e := .data }}{{ $e.x }}", []NameUse{{"data", ".data", 9}}},
		{"chain", "{{ (.first).data.x }}", []NameUse{{"first", ".first", 4}}},
		{"index", `{{ index .events 0 }}`, []NameUse{{"events", ".events", 9}}},
		{"template argument", `{{ define "t" }}{{ .data.x }}{{ end }}{{ template "t" .data }}`, []NameUse{{"data", ".data", 54}}},
		{"offset in bytes after a rune", "é{{ .id }}", []NameUse{{"id", ".id", 5}}},
		{"second line", "a\n{{ .id }}", []NameUse{{"id", ".id", 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := NewTemplate(tt.name, tt.text, SlackEscape)
			if err != nil {
				t.Fatal(err)
			}
			got := tmpl.TopNames()
			if !slices.Equal(got, tt.want) {
				t.Errorf("TopNames(%q)\n got  %v\n want %v", tt.text, got, tt.want)
			}
			for _, u := range got {
				if tt.text[u.Offset:u.Offset+len(u.Text)] != u.Text {
					t.Errorf("offset %d of %q does not hold %q", u.Offset, tt.text, u.Text)
				}
			}
		})
	}
}
