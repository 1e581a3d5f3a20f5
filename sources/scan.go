package sources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// member is a top-level body member that some source reads. Sources look
// members up by these constants, so a name nobody scans for cannot be
// asked for.
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

// String is the member's name in the body.
func (m member) String() string {
	switch m {
	case memID:
		return "id"
	case memEvent:
		return "event"
	case memType:
		return "type"
	case memAction:
		return "action"
	case memPayload:
		return "payload"
	case memSignature:
		return "signature"
	}
	return fmt.Sprintf("member(%d)", int(m))
}

// memberOf returns the member a top-level name (its bytes between the
// quotes, without escapes) stands for.
func memberOf(name []byte) (member, bool) {
	switch string(name) { // no allocation: the compiler compares in place
	case "id":
		return memID, true
	case "event":
		return memEvent, true
	case "type":
		return memType, true
	case "action":
		return memAction, true
	case "payload":
		return memPayload, true
	case "signature":
		return memSignature, true
	}
	return 0, false
}

// scanObject's stack of open containers is a uint64: one bit a level.
const _ = uint(64 - MaxDepth) // does not compile if MaxDepth > 64

// members holds the raw bytes of the top-level members sources read, as
// scanTop found them in a body: slices of the body, never copies.
type members struct {
	raw [numMembers][]byte // nil: absent (a present value is never empty)
}

// get returns the raw value of m, without surrounding whitespace, as
// encoding/json's RawMessage holds it. With duplicate names the last one
// wins, as in the map Normalize builds.
func (t *members) get(m member) ([]byte, bool) {
	v := t.raw[m]
	return v, v != nil
}

// scanTop checks, in one pass over body and without allocating, that it is
// one JSON object that encoding/json accepts, nested at most MaxDepth
// levels deep and with no number beyond a float64's range (which Normalize
// could not decode after the 202), and returns the raw values of the
// members sources read. Member names match exactly once unescaped
// (encoding/json's struct decoding would match them case-insensitively, and
// disagree with the map Normalize builds).
//
// It accepts exactly what checkDepth followed by json.Unmarshal accepted,
// and a refused body gets the same error they returned (see refusal): the
// tests and FuzzScanTop hold it to both.
func scanTop(body []byte) (members, error) {
	top, ok := scanObject(body)
	if !ok {
		return members{}, refusal(body)
	}
	return top, nil
}

// scanObject is scanTop's pass; ok is false for any body scanTop refuses.
//
// It walks the body iteratively: open containers are bits of stack (1: an
// object), which MaxDepth ≤ 64 lets a uint64 hold, so no body can make it
// recurse or allocate.
func scanObject(b []byte) (top members, ok bool) {
	n := len(b)
	i := skipSpace(b, 0)
	if i == n || b[i] != '{' {
		return top, false
	}
	var (
		stack    uint64 // bit d-1: the container at depth d is an object
		depth    int
		cur      = member(-1) // the top-level member whose value is being read
		valStart int
	)
	for {
		// A value starts at i, after optional whitespace.
		i = skipSpace(b, i)
		if i == n {
			return top, false
		}
		if depth == 1 {
			valStart = i
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth == MaxDepth {
				return top, false
			}
			depth++
			i = skipSpace(b, i+1)
			if c == '[' {
				stack &^= 1 << (depth - 1)
				if i < n && b[i] == ']' {
					i++
					depth--
					break // an empty array: a whole value
				}
				continue // its first element
			}
			stack |= 1 << (depth - 1)
			if i < n && b[i] == '}' {
				i++
				depth--
				break // an empty object: a whole value
			}
			var m member
			if i, m, ok = scanKey(b, i, depth); !ok {
				return top, false
			}
			if depth == 1 {
				cur = m
			}
			continue // its first member's value
		case '"':
			if i, _, ok = scanString(b, i); !ok {
				return top, false
			}
		case 't':
			if i, ok = scanLiteral(b, i, "true"); !ok {
				return top, false
			}
		case 'f':
			if i, ok = scanLiteral(b, i, "false"); !ok {
				return top, false
			}
		case 'n':
			if i, ok = scanLiteral(b, i, "null"); !ok {
				return top, false
			}
		default:
			if i, ok = scanNumber(b, i); !ok {
				return top, false
			}
		}
		// A value ended at i, inside the container at depth (0: the
		// top-level object itself). Close containers until the next value.
		for {
			if depth == 0 {
				return top, skipSpace(b, i) == n
			}
			if depth == 1 && cur >= 0 {
				top.raw[cur] = b[valStart:i]
			}
			i = skipSpace(b, i)
			if i == n {
				return top, false
			}
			object := stack&(1<<(depth-1)) != 0
			c := b[i]
			if c == ',' {
				i++
				if object {
					var m member
					if i, m, ok = scanKey(b, skipSpace(b, i), depth); !ok {
						return top, false
					}
					if depth == 1 {
						cur = m
					}
				}
				break
			}
			if object && c != '}' || !object && c != ']' {
				return top, false
			}
			i++
			depth-- // the container is a value that ended: record or close on
		}
	}
}

// scanKey reads an object member's name at i, then the colon after it,
// and returns where its value may start. At depth 1 it also says which
// member the name stands for (-1: one nobody reads).
func scanKey(b []byte, i, depth int) (next int, m member, ok bool) {
	m = -1
	if i == len(b) || b[i] != '"' {
		return i, m, false
	}
	end, escaped, ok := scanString(b, i)
	if !ok {
		return end, m, false
	}
	if depth == 1 {
		name := b[i+1 : end-1]
		var buf [16]byte
		if escaped {
			name = unescapeASCII(name, buf[:0])
		}
		if mm, known := memberOf(name); known {
			m = mm
		}
	}
	end = skipSpace(b, end)
	if end == len(b) || b[end] != ':' {
		return end, m, false
	}
	return end + 1, m, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString reads the string whose opening quote is at i and returns the
// index after its closing quote, and whether it holds an escape. Like
// encoding/json it refuses control characters and unknown escapes and
// lets any other byte through (invalid UTF-8 included).
func scanString(b []byte, i int) (next int, escaped, ok bool) {
	i++
	for i < len(b) {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1, escaped, true
		case '\\':
			escaped = true
			if i+1 == len(b) {
				return i, escaped, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, escaped, false
				}
				i += 6
			default:
				return i, escaped, false
			}
		default: // a control character
			return i, escaped, false
		}
	}
	return i, escaped, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber reads the number at i (JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?
// ([eE][+-]?\d+)?) and refuses one beyond a float64's range, checked when
// checkDepth checked it.
func scanNumber(b []byte, i int) (next int, ok bool) {
	start, n := i, len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && '1' <= b[i] && b[i] <= '9':
		for i++; i < n && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < n && b[i] == '.' {
		i++
		if i == n || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < n && isDigit(b[i]); i++ {
		}
	}
	exp := false
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == n || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < n && isDigit(b[i]); i++ {
		}
	}
	// Only an exponent or more than 300 characters can exceed float64's
	// range (about 1.8e308).
	if (exp || i-start > 300) && checkNumber(b[start:i]) != nil {
		return i, false
	}
	return i, true
}

// numberLit is what readNumber learns of a number literal on the way.
type numberLit struct {
	end    int    // the index after it
	mant   uint64 // its digits before any exponent, point left out (wrapped when digits > 19)
	digits int    // how many digits mant holds
	frac   int    // how many of them follow the point
	neg    bool   // it starts with a minus
	exp    bool   // it has an exponent
}

// readNumber reads the number at i by JSON's grammar, as scanNumber does,
// without checking its range. It is decodeTop's: scanNumber, on the ack
// path, is quicker for not gathering the digits (FuzzScanTop and
// FuzzDecodeTop hold both to encoding/json).
func readNumber(b []byte, i int) (lit numberLit, ok bool) {
	n := len(b)
	if b[i] == '-' {
		lit.neg = true
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
		lit.digits = 1
	case i < n && '1' <= b[i] && b[i] <= '9':
		for ; i < n && isDigit(b[i]); i++ {
			lit.mant = lit.mant*10 + uint64(b[i]-'0')
			lit.digits++
		}
	default:
		lit.end = i
		return lit, false
	}
	if i < n && b[i] == '.' {
		i++
		if i == n || !isDigit(b[i]) {
			lit.end = i
			return lit, false
		}
		start := i
		for ; i < n && isDigit(b[i]); i++ {
			lit.mant = lit.mant*10 + uint64(b[i]-'0')
		}
		lit.frac = i - start
		lit.digits += lit.frac
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		lit.exp = true
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == n || !isDigit(b[i]) {
			lit.end = i
			return lit, false
		}
		for i++; i < n && isDigit(b[i]); i++ {
		}
	}
	lit.end = i
	return lit, true
}

// scanLiteral reads true, false or null at i.
func scanLiteral(b []byte, i int, lit string) (next int, ok bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// unescapeASCII appends to dst the name s (a string's bytes between its
// quotes, well-formed) unescaped, as long as it stays ASCII and fits dst's
// capacity; otherwise it returns nil, which names no member (all member
// names are short and ASCII; encoding/json would decode the rest to
// something else, or to U+FFFD).
func unescapeASCII(s, dst []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			switch s[i] {
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'u':
				r := rune(0)
				for _, h := range s[i+1 : i+5] {
					r = r<<4 | rune(unhex(h))
				}
				if r >= utf8.RuneSelf {
					return nil
				}
				c = byte(r)
				i += 4
			default: // " \ /
				c = s[i]
			}
		} else if c >= utf8.RuneSelf {
			return nil
		}
		if len(dst) == cap(dst) {
			return nil
		}
		dst = append(dst, c)
	}
	return dst
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// refusal is the error for a body scanObject (or decodeTop, which accepts
// the same bodies) refused. Off the ack path's
// success, it runs the former checks (checkDepth, then encoding/json) so
// that the reason shown to the sender is the one it always was — which
// depends on the order in which those checks find things.
func refusal(body []byte) error {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if err := checkDepth(body[i:], MaxDepth); err != nil {
		return err
	}
	var v struct{}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// Unreachable while scanObject and encoding/json agree (FuzzScanTop).
	return fmt.Errorf("%w: body is not well-formed JSON", ErrMalformed)
}

// optString returns member m if it is a JSON string, decoded as
// encoding/json decodes it (invalid UTF-8 and lone surrogates become
// U+FFFD).
func optString(top members, m member) (string, bool) {
	raw, ok := top.get(m)
	if !ok || raw[0] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if plainString(s) {
		return string(s), true
	}
	return unquote(s), true
}

// plainString reports whether a string's bytes between its quotes decode to
// themselves: no escape, valid UTF-8 (scanString has refused control
// characters already).
func plainString(s []byte) bool {
	return bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// requireString returns member m, which must be a non-empty string.
func requireString(top members, m member) (string, error) {
	if _, ok := top.get(m); !ok {
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
