package sources

import (
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/event"
)

// mapping is how one vendor's events become a topic and a subject. Each
// vendor's mapping is one table in mappings.go; the code here only reads
// it.
type mapping struct {
	// topics maps the vendor's event name to its topic. A name mapped to
	// "" has no counterpart in the other tools (it is listed so that the
	// README can say so); a name not listed has no topic either.
	topics map[string]string
	// topicKey is the name topics is keyed by, from the event name and
	// data (nil: the event name).
	topicKey func(name string, data map[string]any) string
	// subject says where each subject field is found.
	subject subjectPaths
}

// subjectPaths lists, for each subject field, where it is found, tried in
// order: the first that gives a value wins; none gives "" (0 for votes).
// A place is a dotted path from the names a condition sees, e.g.
// "data.post.title" or "payload.url". A string field's place may be
// several paths separated by spaces, e.g. "data.firstName data.lastName":
// their values joined by a space, the missing ones left out.
type subjectPaths struct {
	title, description, url, status []string
	authorName, authorEmail         []string
	// votes are read as numbers: a JSON number, or a string holding one
	// (Sleekplan sends "9").
	votes []string
}

// apply returns the topic and subject of an event from its name, data and
// payload. It never fails: what the payload lacks stays empty.
func (m *mapping) apply(name string, data, payload map[string]any) (string, event.Subject) {
	key := name
	if m.topicKey != nil {
		key = m.topicKey(name, data)
	}
	r := roots{data: data, payload: payload}
	p := &m.subject
	return m.topics[key], event.Subject{
		Title:       r.firstText(p.title),
		Description: r.firstText(p.description),
		URL:         r.firstText(p.url),
		Status:      r.firstText(p.status),
		Author: event.Author{
			Name:  r.firstText(p.authorName),
			Email: r.firstText(p.authorEmail),
		},
		Votes: r.firstNumber(p.votes),
	}
}

// roots are what a path starts from: data or payload.
type roots struct {
	data, payload map[string]any
}

// firstText returns the first non-empty text found at places.
func (r roots) firstText(places []string) string {
	for _, place := range places {
		joined := ""
		for path := range strings.FieldsSeq(place) {
			s := text(r.find(path))
			switch {
			case s == "":
			case joined == "":
				joined = s
			default:
				joined += " " + s
			}
		}
		if joined != "" {
			return joined
		}
	}
	return ""
}

// firstNumber returns the first number found at places.
func (r roots) firstNumber(places []string) float64 {
	for _, path := range places {
		if n, ok := number(r.find(path)); ok {
			return n
		}
	}
	return 0
}

// find follows a dotted path, from data or payload through nested objects;
// nil where it leads nowhere.
func (r roots) find(path string) any {
	root, rest, _ := strings.Cut(path, ".")
	var v any
	switch root {
	case "data":
		v = r.data
	case "payload":
		v = r.payload
	default:
		return nil
	}
	for key := range strings.SplitSeq(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// text reads a string field: a JSON string as sent, a number in its
// shortest form (an id a vendor sends as a number); anything else (an
// object, a list, true, null) is no text.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return ""
	}
}

// number reads subject.votes: a JSON number, or a string holding a decimal
// number (Sleekplan's "9"). Anything else, "NaN" and "Inf" included, is no
// number.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		// Decimal digits only: strconv.ParseFloat would also take NaN,
		// Inf, hex and underscores. A number beyond float64 is an error.
		if strings.ContainsFunc(v, func(c rune) bool { return !strings.ContainsRune("0123456789+-.eE", c) }) {
			return 0, false
		}
		n, err := strconv.ParseFloat(v, 64)
		return n, err == nil
	default:
		return 0, false
	}
}
