package sources

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxDepth is how deeply the arrays and objects of a body may nest: a body
// whose brackets open more than MaxDepth levels deep is malformed (400).
// Real webhook bodies nest 3 to 6 levels; the limit keeps a hostile body
// from making the decoders and the condition evaluator recurse without
// bound.
const MaxDepth = 64

// checkDepth returns an error wrapping ErrMalformed when body nests arrays
// and objects more than max levels deep, or holds a number too large for a
// float64 (which Normalize could not decode after the 202: the envelope
// check must refuse what Normalize would). It is one pass over the bytes,
// aware of strings (brackets inside a string, escaped quotes), and does not
// allocate. It does not validate the JSON. scanTop makes the same checks in
// its own pass; refusal runs this one again, then encoding/json, so that a
// refused body gets the error it always got.
func checkDepth(body []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: nested more than %d levels deep", ErrMalformed, max)
			}
		case '}', ']':
			if depth == 0 {
				return fmt.Errorf("%w: unbalanced %q", ErrMalformed, c)
			}
			depth--
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			j := i + 1
			exp := false
			for j < len(body) && isNumberByte(body[j]) {
				exp = exp || body[j] == 'e' || body[j] == 'E'
				j++
			}
			// Only an exponent or more than 300 digits can exceed
			// float64's range (about 1.8e308).
			if exp || j-i > 300 {
				if err := checkNumber(body[i:j]); err != nil {
					return err
				}
			}
			i = j - 1
		}
	}
	return nil
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// checkNumber refuses a number literal that overflows a float64, the type
// Normalize decodes numbers into. Malformed literals are left to the
// decoder.
func checkNumber(lit []byte) error {
	var buf [64]byte
	s := lit
	if len(s) <= len(buf) {
		s = buf[:copy(buf[:], lit)]
	}
	_, err := strconv.ParseFloat(string(s), 64)
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%w: a number is out of range", ErrMalformed)
	}
	return nil
}
