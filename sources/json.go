package sources

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth is how deeply the arrays and objects of a body may nest: a body
// whose brackets open more than MaxDepth levels deep is malformed (400).
// Real webhook bodies nest 3 to 6 levels; the limit keeps a hostile body
// from making the decoders and the condition evaluator recurse without
// bound.
const MaxDepth = 64

// member is a top-level body member that some source reads. Sources look
// members up by these constants, so a name nobody reads cannot be asked
// for.
type member int

const (
	memID member = iota
	memEvent
	memType
	memAction
	memPayload
	memSignature
	numMembers
)

var memberNames = [numMembers]string{"id", "event", "type", "action", "payload", "signature"}

// String is the member's name in the body.
func (m member) String() string { return memberNames[m] }

// members holds the raw values of the top-level members sources read, as
// readTop found them: slices of the body, without surrounding whitespace.
// A nil value is an absent member.
type members [numMembers][]byte

// readerOptions make readTop accept what Normalize decodes: invalid UTF-8
// in a string (a customer's mangled text), which becomes U+FFFD, and a
// name given twice in an object, of which the last one wins.
var readerOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// readTop is the one reader of a body's envelope, on the ack path. It
// checks that body is one JSON object, nested at most MaxDepth levels, with
// no number beyond a float64's range (which Normalize could not decode
// after the 202), and returns the raw values of the top-level members
// sources read. A member matches its name exactly, after unescaping, as a
// key of the map Normalize builds does.
func readTop(body []byte) (members, error) {
	var top members
	d := jsontext.NewDecoder(bytes.NewBuffer(body), readerOptions)
	if d.PeekKind() != '{' {
		return top, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if _, err := d.ReadToken(); err != nil {
		return top, malformed(err)
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadValue()
		if err != nil {
			return top, malformed(err)
		}
		m, known := memberNamed(name)
		start, end, err := readValue(d, body)
		if err != nil {
			return top, err
		}
		if known {
			top[m] = body[start:end]
		}
	}
	if _, err := d.ReadToken(); err != nil { // the closing brace
		return top, malformed(err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		if err == nil {
			return top, fmt.Errorf("%w: data after the object at offset %d", ErrMalformed, d.InputOffset()-1)
		}
		return top, malformed(err)
	}
	return top, nil
}

// readValue reads the next value from d, token by token so that its depth
// and numbers are checked, and returns where it starts and ends in the
// input. It starts reading after a member's name (or at the start of the
// input): what lies before the value is whitespace and a colon.
func readValue(d *jsontext.Decoder, input []byte) (start, end int64, err error) {
	from, depth := d.InputOffset(), d.StackDepth()
	for {
		tok, err := d.ReadToken()
		if err != nil {
			return 0, 0, malformed(err)
		}
		switch tok.Kind() {
		case '{', '[':
			if d.StackDepth() > MaxDepth {
				return 0, 0, fmt.Errorf("%w: nested more than %d levels deep at offset %d", ErrMalformed, MaxDepth, d.InputOffset()-1)
			}
		case '0':
			// Float clamps a number beyond float64's range to the largest
			// float64; only then is the number parsed again to tell.
			if f := tok.Float(); math.Abs(f) == math.MaxFloat64 {
				if _, err := strconv.ParseFloat(tok.String(), 64); err != nil {
					at := d.InputOffset() - int64(len(tok.String()))
					return 0, 0, fmt.Errorf("%w: number %.20s out of range at offset %d", ErrMalformed, tok.String(), at)
				}
			}
		}
		if d.StackDepth() == depth {
			end = d.InputOffset()
			return end - int64(len(bytes.TrimLeft(input[from:end], " \t\r\n:"))), end, nil
		}
	}
}

// malformed wraps a jsontext error, which says what and where ("invalid
// character 'x' ... after offset 12").
func malformed(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// memberNamed returns the member a top-level name (a JSON string, quotes
// included) stands for.
func memberNamed(name jsontext.Value) (member, bool) {
	var buf [16]byte
	s, err := jsontext.AppendUnquote(buf[:0], name)
	if err != nil {
		return 0, false // invalid UTF-8: no member's name
	}
	for m, n := range memberNames {
		if string(s) == n {
			return member(m), true
		}
	}
	return 0, false
}

// unquote decodes a JSON string (quotes included) as encoding/json does:
// invalid UTF-8 becomes U+FFFD.
func unquote(raw []byte) string {
	var buf [64]byte
	s, _ := jsontext.AppendUnquote(buf[:0], raw)
	return string(s)
}

// optString returns member m if it is a JSON string.
func optString(top members, m member) (string, bool) {
	raw := top[m]
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	return unquote(raw), true
}

// requireString returns member m, which must be a non-empty string.
func requireString(top members, m member) (string, error) {
	if top[m] == nil {
		return "", fmt.Errorf("%w: missing %q", ErrMalformed, m.String())
	}
	v, ok := optString(top, m)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a string", ErrMalformed, m.String())
	}
	if v == "" {
		return "", fmt.Errorf("%w: %q is empty", ErrMalformed, m.String())
	}
	return v, nil
}

// firstString returns the first of ms that is a non-empty string member.
func firstString(top members, ms ...member) (string, bool) {
	for _, m := range ms {
		if v, ok := optString(top, m); ok && v != "" {
			return v, true
		}
	}
	return "", false
}
