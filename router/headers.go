package router

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeStoredHeaders decodes the request headers stored with an event (see
// appendHeadersJSON) into what json.Unmarshal into a map[string]string
// makes of them, errors included. The form appendHeadersJSON writes, an
// object of strings without whitespace, is decoded here without
// reflection; anything else (whitespace, null, a value that is not a
// string, a syntax error) is left to json.Unmarshal, whose error is
// returned as it is, with the map it may have partly filled.
func decodeStoredHeaders(s string) (map[string]string, error) {
	if h, ok := scanStringObject(s); ok {
		return h, nil
	}
	var h map[string]string
	err := json.Unmarshal([]byte(s), &h)
	return h, err
}

// scanStringObject decodes s if it is a JSON object of string values with
// no whitespace between tokens; ok is false for anything else. Later
// duplicate names win, as with json.Unmarshal.
func scanStringObject(s string) (h map[string]string, ok bool) {
	if len(s) < 2 || s[0] != '{' {
		return nil, false
	}
	h = make(map[string]string, countMembers(s))
	i := 1
	if s[i] == '}' {
		return h, i+1 == len(s)
	}
	for {
		var k, v string
		if k, i, ok = scanString(s, i); !ok || i >= len(s) || s[i] != ':' {
			return nil, false
		}
		if v, i, ok = scanString(s, i+1); !ok || i >= len(s) {
			return nil, false
		}
		h[k] = v
		switch s[i] {
		case ',':
			i++
		case '}':
			return h, i+1 == len(s)
		default:
			return nil, false
		}
	}
}

// countMembers guesses how many members the object s has, for the map's
// size: the number of `":"` in it, at least the number of members in the
// form appendHeadersJSON writes, at most a few more.
func countMembers(s string) int {
	n := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '"' && s[i+1] == ':' && s[i+2] == '"' {
			n++
		}
	}
	return n
}

// scanString decodes the JSON string at s[i:] and returns it and the index
// after its closing quote; ok is false if there is no valid string there.
// A string without escapes or invalid UTF-8 is a substring of s, not a
// copy.
func scanString(s string, i int) (v string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	for i = start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return s[start:i], i + 1, true
		case c == '\\' || c < ' ':
			return unquoteFrom(s, start, i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return unquoteFrom(s, start, i)
			}
			i += size
		}
	}
	return "", 0, false
}

// unquoteFrom decodes the JSON string opened at s[start-1], whose bytes up
// to i need no decoding, as encoding/json does: each escape, including a
// \u surrogate pair; a \u escape of a lone or mismatched surrogate, and
// each byte of invalid UTF-8, as U+FFFD. A control character is invalid.
func unquoteFrom(s string, start, i int) (v string, next int, ok bool) {
	b := make([]byte, 0, len(s)-start+utf8.UTFMax)
	b = append(b, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return string(b), i + 1, true
		case c < ' ':
			return "", 0, false
		case c == '\\':
			if b, i, ok = unescape(b, s, i); !ok {
				return "", 0, false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // U+FFFD for invalid UTF-8
			i += size
		}
	}
	return "", 0, false
}

// unescape appends the character of the escape at s[i] (a backslash) to b
// and returns the index after the escape.
func unescape(b []byte, s string, i int) ([]byte, int, bool) {
	if i+1 >= len(s) {
		return b, 0, false
	}
	switch s[i+1] {
	case '"', '\\', '/':
		return append(b, s[i+1]), i + 2, true
	case 'b':
		return append(b, '\b'), i + 2, true
	case 'f':
		return append(b, '\f'), i + 2, true
	case 'n':
		return append(b, '\n'), i + 2, true
	case 'r':
		return append(b, '\r'), i + 2, true
	case 't':
		return append(b, '\t'), i + 2, true
	case 'u':
		r := hex4(s, i)
		if r < 0 {
			return b, 0, false
		}
		i += 6
		if utf16.IsSurrogate(r) {
			// A valid pair is one character; anything else makes the
			// first half U+FFFD, and what follows is decoded on its own.
			if dec := utf16.DecodeRune(r, hex4(s, i)); dec != utf8.RuneError {
				return utf8.AppendRune(b, dec), i + 6, true
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(b, r), i, true
	}
	return b, 0, false
}

// hex4 is the code unit of the \uXXXX escape at s[i:], or -1 if there is
// none there.
func hex4(s string, i int) rune {
	if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i+2 : i+6]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
