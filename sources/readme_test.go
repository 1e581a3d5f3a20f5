package sources

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/event"
)

// The README's mapping tables are these tables, rendered.
func TestREADMEMappingTables(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{topicTable(), subjectTable()} {
		if !bytes.Contains(readme, []byte(table)) {
			t.Errorf("README.md lacks this table (or it differs from sources/mappings.go):\n%s", table)
		}
	}
}

func code(s string) string { return "`" + s + "`" }

func row(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |\n" }

// topicTable has a row per topic and a column per vendor with topics: the
// vendor's events that map to it; the last row lists the events listed
// with no counterpart.
func topicTable() string {
	var vs []vendorMapping
	for _, v := range mappingsByVendor() {
		if len(v.m.topics) > 0 {
			vs = append(vs, v)
		}
	}
	head := []string{"topic"}
	for _, v := range vs {
		head = append(head, v.title)
	}
	var b strings.Builder
	b.WriteString(row(head...))
	b.WriteString(row(slices.Repeat([]string{"---"}, len(head))...))
	for _, topic := range append(event.Topics(), "") {
		cells := []string{code(topic)}
		if topic == "" {
			cells[0] = "none (empty)"
		}
		for _, v := range vs {
			var names []string
			for name, to := range v.m.topics {
				if to == topic {
					names = append(names, code(name))
				}
			}
			slices.Sort(names)
			if len(names) == 0 {
				names = []string{"—"}
			}
			cells = append(cells, strings.Join(names, ", "))
		}
		b.WriteString(row(cells...))
	}
	return b.String()
}

// subjectTable has a row per subject field and a column per vendor: where
// the field is found.
func subjectTable() string {
	vs := mappingsByVendor()
	head := []string{"field"}
	for _, v := range vs {
		head = append(head, v.title)
	}
	var b strings.Builder
	b.WriteString(row(head...))
	b.WriteString(row(slices.Repeat([]string{"---"}, len(head))...))
	fields := []struct {
		name   string
		places func(subjectPaths) []string
	}{
		{"title", func(p subjectPaths) []string { return p.title }},
		{"description", func(p subjectPaths) []string { return p.description }},
		{"url", func(p subjectPaths) []string { return p.url }},
		{"status", func(p subjectPaths) []string { return p.status }},
		{"author.name", func(p subjectPaths) []string { return p.authorName }},
		{"author.email", func(p subjectPaths) []string { return p.authorEmail }},
		{"votes", func(p subjectPaths) []string { return p.votes }},
	}
	for _, f := range fields {
		cells := []string{code("subject." + f.name)}
		for _, v := range vs {
			var places []string
			for _, place := range f.places(v.m.subject) {
				var paths []string
				for _, path := range strings.Fields(place) {
					paths = append(paths, code(path))
				}
				places = append(places, strings.Join(paths, " + "))
			}
			if len(places) == 0 {
				places = []string{"—"}
			}
			cells = append(cells, strings.Join(places, " or "))
		}
		b.WriteString(row(cells...))
	}
	return b.String()
}
