package sources

import "fmt"

// MaxDepth is how deeply the arrays and objects of a body may nest: a body
// whose brackets open more than MaxDepth levels deep is malformed (400).
// Real webhook bodies nest 3 to 6 levels; the limit keeps a hostile body
// from making the decoders and the condition evaluator recurse without
// bound.
const MaxDepth = 64

// checkDepth returns an error wrapping ErrMalformed when body nests arrays
// and objects more than max levels deep. It is one pass over the bytes,
// aware of strings (brackets inside a string, escaped quotes), and does not
// allocate. It does not validate the JSON: the decoder that runs next does.
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
		}
	}
	return nil
}
