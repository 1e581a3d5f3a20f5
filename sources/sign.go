package sources

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Signed is a request a source accepts: the body to send (Leanbe's carries
// its signature, so it may differ from the input), the headers to set and
// the query to add.
type Signed struct {
	Body   []byte
	Header http.Header
	Query  url.Values
}

// Sign produces a request that the source built from cfg accepts at time
// now: it adds ?key= where cfg has a key and computes the vendor's
// signature (for Leanbe, rewriting the body's top-level signature member
// over the payload's bytes as they appear). The header always carries
// Content-Type: application/json. For tests, the end-to-end test and load
// harnesses.
func Sign(cfg Config, body []byte, now time.Time) (Signed, error) {
	s, err := newSource(cfg, func() time.Time { return now })
	if err != nil {
		return Signed{}, err
	}
	signed, err := s.sign(body, now)
	if err != nil {
		return Signed{}, fmt.Errorf("source %q: sign: %w", cfg.Name, err)
	}
	if signed.Header == nil {
		signed.Header = http.Header{}
	}
	signed.Header.Set("Content-Type", "application/json")
	signed.Query = url.Values{}
	if !cfg.Key.IsZero() {
		signed.Query.Set("key", cfg.Key.Reveal())
	}
	return signed, nil
}
