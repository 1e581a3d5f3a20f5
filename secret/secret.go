// Package secret holds configuration values that must never be printed:
// a Secret formats as <secret> wherever it ends up, and a Redactor removes
// known secret values from text produced at run time.
package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// Redacted is what a Secret prints as.
const Redacted = "<secret>"

// Secret is a string that cannot print itself. Use Reveal where the plain
// value is needed (to sign, to authenticate), and nowhere else.
type Secret string

// Reveal returns the plain value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb print the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps encoding/json from printing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText keeps text encoders (and YAML) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Redactor replaces known secret values in text with a reference to them.
// It is built once at load and is safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
}

// MinLen is the shortest value a Redactor replaces: shorter values would
// redact ordinary words and make output unreadable.
const MinLen = 4

// NewRedactor returns a Redactor for the given values, keyed by the name to
// show in their place (a variable name such as CRM_TOKEN, shown as
// ${CRM_TOKEN}). Values shorter than MinLen are ignored.
func NewRedactor(values map[string]string) *Redactor {
	type pair struct{ name, value string }
	var ps []pair
	for name, v := range values {
		if len(v) >= MinLen {
			ps = append(ps, pair{name, v})
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(ps, func(i, j int) bool {
		if len(ps[i].value) != len(ps[j].value) {
			return len(ps[i].value) > len(ps[j].value)
		}
		return ps[i].name < ps[j].name
	})
	if len(ps) == 0 {
		return &Redactor{}
	}
	args := make([]string, 0, 2*len(ps))
	for _, p := range ps {
		args = append(args, p.value, "${"+p.name+"}")
	}
	return &Redactor{r: strings.NewReplacer(args...)}
}

// Redact returns s with every known secret value replaced by its reference.
// A nil Redactor returns s unchanged.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
