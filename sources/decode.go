package sources

import (
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decoders lends decoders whose stacks have room already, so that decoding
// a body allocates little more than what it returns.
type decoders struct {
	pool sync.Pool // of *decoder
}

// maxStack is the most values a decoder's stack keeps room for while in
// the pool.
const maxStack = 4096

// decodeTop decodes body in one pass into what json.Unmarshal gives a
// map[string]any — objects as map[string]any, arrays as []any, numbers as
// float64 (strconv.ParseFloat of the literal), strings unescaped as
// encoding/json unescapes them, the last of duplicate names winning — and
// returns the members sources read, as scanTop finds them. It accepts
// exactly the bodies scanTop accepts (ok false: the caller asks refusal
// why), so that Normalize needs no second pass; FuzzDecodeTop holds it to
// encoding/json.
//
// It uses no reflection, and allocates each container once at its final
// size: members and elements wait on the decoder's stacks until their
// container closes. Every string it returns is a slice of one string that
// holds all the body's decoded strings, built for the call: none aliases
// body, whose buffer the caller may reuse.
func (p *decoders) decodeTop(body []byte) (payload map[string]any, top members, ok bool) {
	d, _ := p.pool.Get().(*decoder)
	if d == nil {
		d = &decoder{keys: make([]string, 0, 32), vals: make([]any, 0, 64)}
	}
	payload, top, ok = d.decodeTop(body)
	if cap(d.keys) <= maxStack && cap(d.vals) <= maxStack {
		p.pool.Put(d)
	}
	return payload, top, ok
}

// decoder is decodeTop's state. Its methods take the index of a value's
// first byte and return the index after it; ok false stops the decoding.
// Between calls its stacks are empty and zeroed, so that a pooled decoder
// holds on to nothing it returned.
type decoder struct {
	b    []byte
	strs strings.Builder // the decoded strings, one after another
	keys []string        // the open objects' member names so far, innermost last
	vals []any           // the open containers' values so far, innermost last
	top  members
}

func (d *decoder) decodeTop(body []byte) (payload map[string]any, top members, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return nil, top, false
	}
	d.b, d.top = body, members{}
	payload, i, ok = d.object(i, 1)
	ok = ok && skipSpace(body, i) == len(body)
	top = d.top
	// Let go of everything: the body, the strings, what a refused body
	// left on the stacks.
	clear(d.keys)
	clear(d.vals)
	d.b, d.strs, d.keys, d.vals, d.top = nil, strings.Builder{}, d.keys[:0], d.vals[:0], members{}
	if !ok {
		return nil, members{}, false
	}
	return payload, top, true
}

// value decodes the value at i, which holds no whitespace, inside a
// container at depth.
func (d *decoder) value(i, depth int) (any, int, bool) {
	b := d.b
	if i == len(b) {
		return nil, i, false
	}
	switch b[i] {
	case '{':
		if depth == MaxDepth {
			return nil, i, false
		}
		m, next, ok := d.object(i, depth+1)
		if !ok {
			return nil, next, false
		}
		return m, next, true
	case '[':
		if depth == MaxDepth {
			return nil, i, false
		}
		a, next, ok := d.array(i, depth+1)
		if !ok {
			return nil, next, false
		}
		return a, next, true
	case '"':
		s, next, ok := d.str(i)
		if !ok {
			return nil, next, false
		}
		return s, next, true
	case 't':
		next, ok := scanLiteral(b, i, "true")
		return true, next, ok
	case 'f':
		next, ok := scanLiteral(b, i, "false")
		return false, next, ok
	case 'n':
		next, ok := scanLiteral(b, i, "null")
		return nil, next, ok
	}
	f, next, ok := d.number(i)
	if !ok {
		return nil, next, false
	}
	return f, next, true
}

// object decodes the object whose opening brace is at i; it is at depth
// (1: the body itself, whose members it records in d.top).
func (d *decoder) object(i, depth int) (map[string]any, int, bool) {
	b := d.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return map[string]any{}, i + 1, true
	}
	kbase, vbase := len(d.keys), len(d.vals)
	for {
		if i == len(b) || b[i] != '"' {
			return nil, i, false
		}
		name, next, ok := d.str(i)
		if !ok {
			return nil, next, false
		}
		i = skipSpace(b, next)
		if i == len(b) || b[i] != ':' {
			return nil, i, false
		}
		i = skipSpace(b, i+1)
		v, next, ok := d.value(i, depth)
		if !ok {
			return nil, next, false
		}
		if depth == 1 {
			if m, known := memberNamed(name); known {
				d.top.raw[m] = b[i:next]
			}
		}
		d.keys = append(d.keys, name)
		d.vals = append(d.vals, v)
		i = skipSpace(b, next)
		if i == len(b) {
			return nil, i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			continue
		case '}':
		default:
			return nil, i, false
		}
		keys, vals := d.keys[kbase:], d.vals[vbase:]
		m := make(map[string]any, len(keys))
		for j, k := range keys {
			m[k] = vals[j] // in order: the last of duplicate names wins
		}
		clear(keys)
		clear(vals)
		d.keys, d.vals = d.keys[:kbase], d.vals[:vbase]
		return m, i + 1, true
	}
}

// array decodes the array whose opening bracket is at i; it is at depth.
func (d *decoder) array(i, depth int) ([]any, int, bool) {
	b := d.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []any{}, i + 1, true // empty, not nil, as encoding/json makes it
	}
	base := len(d.vals)
	for {
		v, next, ok := d.value(i, depth)
		if !ok {
			return nil, next, false
		}
		d.vals = append(d.vals, v)
		i = skipSpace(b, next)
		if i == len(b) {
			return nil, i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			continue
		case ']':
		default:
			return nil, i, false
		}
		a := make([]any, len(d.vals)-base)
		copy(a, d.vals[base:])
		clear(d.vals[base:])
		d.vals = d.vals[:base]
		return a, i + 1, true
	}
}

// str decodes the string whose opening quote is at i into d.strs and
// returns it.
func (d *decoder) str(i int) (string, int, bool) {
	end, escaped, ok := scanString(d.b, i)
	if !ok {
		return "", end, false
	}
	raw := d.b[i+1 : end-1]
	if len(raw) == 0 {
		return "", end, true
	}
	if d.strs.Cap() == 0 {
		// The body's length bounds its strings' unless invalid UTF-8
		// expands to U+FFFD (three bytes for one), when the builder grows.
		// Strings already returned keep the bytes they were cut from.
		d.strs.Grow(len(d.b))
	}
	start := d.strs.Len()
	if !escaped && utf8.Valid(raw) {
		d.strs.Write(raw)
	} else {
		unquoteTo(&d.strs, raw)
	}
	return d.strs.String()[start:], end, true
}

// number decodes the number at i as encoding/json does: the float64
// strconv.ParseFloat makes of the literal; a literal beyond float64's
// range is refused.
func (d *decoder) number(i int) (float64, int, bool) {
	lit, ok := readNumber(d.b, i)
	if !ok {
		return 0, lit.end, false
	}
	// No exponent, and either an integer of at most 19 digits, which
	// float64() rounds correctly, or at most 15 digits, exact in a float64
	// as is the power of ten that places the point, so that one division
	// rounds correctly: either way to what ParseFloat returns.
	if !lit.exp && (lit.digits <= 15 || lit.frac == 0 && lit.digits <= 19) {
		f := float64(lit.mant)
		if lit.frac > 0 {
			f /= pow10[lit.frac]
		}
		if lit.neg {
			f = -f
		}
		return f, lit.end, true
	}
	f, err := strconv.ParseFloat(string(d.b[i:lit.end]), 64)
	if err != nil { // out of range: the literal is well-formed
		return 0, lit.end, false
	}
	return f, lit.end, true
}

// memberNamed returns the member a decoded top-level name stands for.
func memberNamed(name string) (member, bool) {
	for m := range numMembers {
		if m.String() == name {
			return m, true
		}
	}
	return 0, false
}

// pow10 holds the powers of ten a float64 holds exactly and number divides
// by.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// unquote returns a string's bytes between its quotes (which scanString
// accepted) unescaped as encoding/json unescapes them, in a new string.
func unquote(s []byte) string {
	var w strings.Builder
	w.Grow(len(s))
	unquoteTo(&w, s)
	return w.String()
}

// unquoteTo writes to w a string's bytes between its quotes, which
// scanString accepted, unescaped as encoding/json unescapes them: invalid
// UTF-8 bytes and lone or mismatched surrogates become U+FFFD, a valid
// surrogate pair one rune.
func unquoteTo(w *strings.Builder, s []byte) {
	for i := 0; i < len(s); {
		// A run of ASCII that stands for itself.
		j := i
		for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
			j++
		}
		w.Write(s[i:j])
		if i = j; i == len(s) {
			return
		}
		if c := s[i]; c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				w.WriteRune(utf8.RuneError)
			} else {
				w.Write(s[i : i+size])
			}
			i += size
			continue
		}
		// An escape; scanString accepted it, so a \u has four hex digits.
		c := s[i+1]
		i += 2
		switch c {
		case 'b':
			w.WriteByte('\b')
		case 'f':
			w.WriteByte('\f')
		case 'n':
			w.WriteByte('\n')
		case 'r':
			w.WriteByte('\r')
		case 't':
			w.WriteByte('\t')
		case 'u':
			r := hex4(s[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				// Joined with a following \u escape if the two make a
				// pair; otherwise U+FFFD, and the next escape stands alone.
				r2 := rune(-1)
				if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					i += 6
					r = dec
				} else {
					r = unicode.ReplacementChar
				}
			}
			w.WriteRune(r)
		default: // " \ /
			w.WriteByte(c)
		}
	}
}

// hex4 reads the four hex digits at the start of s.
func hex4(s []byte) rune {
	return rune(unhex(s[0]))<<12 | rune(unhex(s[1]))<<8 | rune(unhex(s[2]))<<4 | rune(unhex(s[3]))
}
