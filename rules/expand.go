package rules

import (
	"fmt"
	"strings"
)

// expansion is the result of expanding one scalar.
type expansion struct {
	value string
	// vars maps each variable taken from the environment (not from a
	// default) to its value, for the redactor.
	vars map[string]string
	// spans are the rune ranges [from, to) of value that came from the
	// environment.
	spans [][2]int
}

// expandError is a problem in one scalar; offset is the rune offset of the
// offending ${ within the scalar's value, for a precise column.
type expandError struct {
	offset int
	msg    string
}

// expand replaces ${VAR} and ${VAR:-default} in s with values from getenv.
// $${ is a literal ${. A missing variable with no default is an error that
// names the variable and never prints any value. Defaults are not expanded
// further.
func expand(s string, getenv func(string) (string, bool)) (expansion, []expandError) {
	if !strings.Contains(s, "${") {
		return expansion{value: s}, nil
	}
	var (
		b    strings.Builder
		errs []expandError
		out  = expansion{}
	)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			off := runeOffset(s, i)
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, expandError{off, "unterminated ${ (write $${ for a literal ${)"})
				return out, errs
			}
			body := s[i+2 : i+2+end]
			i += 2 + end + 1
			name, def, hasDef := strings.Cut(body, ":-")
			if !validVarName(name) {
				errs = append(errs, expandError{off, fmt.Sprintf("invalid variable name in ${%s} (want letters, digits and _; write $${ for a literal ${)", truncate(name, 40))})
				continue
			}
			v, ok := getenv(name)
			switch {
			case ok && (v != "" || !hasDef):
				from := len([]rune(b.String()))
				b.WriteString(v)
				out.spans = append(out.spans, [2]int{from, from + len([]rune(v))})
				if out.vars == nil {
					out.vars = map[string]string{}
				}
				out.vars[name] = v
			case hasDef:
				b.WriteString(def)
			default:
				errs = append(errs, expandError{off, fmt.Sprintf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)})
			}
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	out.value = b.String()
	return out, errs
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// runeOffset converts a byte offset in s to a rune offset.
func runeOffset(s string, byteOff int) int {
	return len([]rune(s[:byteOff]))
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
