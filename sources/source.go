// Package sources verifies and normalizes inbound webhooks, one Source per
// configured /hooks/:source. Every Source verifies the raw bytes before
// anything parses them.
package sources

import (
	"errors"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

// Errors a Source returns, wrapped with detail for the log. The HTTP layer
// maps them to status codes and never shows the detail to the caller.
var (
	// ErrUnauthorized: missing or wrong key, signature or timestamp (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrMalformed: the body is not well-formed JSON or lacks its vendor's envelope (400).
	ErrMalformed = errors.New("malformed body")
)

// Source is one configured webhook source.
type Source interface {
	// Name is the configured name, the :source in /hooks/:source.
	Name() string
	// Vendor is the source's kind (productlift, sleekplan, ...).
	Vendor() string
	// Verify checks the request against the raw body. It is called before
	// anything parses the body and compares secrets in constant time.
	// It returns an error wrapping ErrUnauthorized (or ErrMalformed where the
	// signature lives in a body that is not JSON).
	Verify(r *http.Request, body []byte) error
	// Envelope is the cheap check on the ack path: the verified body is
	// well-formed JSON with its vendor's envelope. It returns the delivery id
	// (the vendor's, or a hash of the verified bytes where it has none) and
	// the event name, or an error wrapping ErrMalformed. header is the
	// request's header: some kinds (github, standard-webhooks) carry the id
	// and event name there.
	Envelope(header http.Header, body []byte) (Envelope, error)
	// Normalize decodes a verified body that Envelope accepted into the
	// normalized event, whose id and event name are env, what Envelope
	// returned. It runs after the 202, off the ack path. header holds the
	// stored request headers (lower-cased names).
	Normalize(env Envelope, body []byte, header map[string]string) (event.Event, error)
}

// Envelope is what the ack path needs to know about a verified body.
type Envelope struct {
	ID    string
	Event string
}

// Signature overrides how an HMAC signature is found and checked.
type Signature struct {
	Header    string // header carrying the signature, e.g. Signature
	Algorithm string // sha1, sha256 (default) or sha512
	Encoding  string // hex (default) or base64
	Prefix    string // stripped before decoding, e.g. "sha256="
}

// Config configures one source. It is built by the rules loader from the
// rules file; secrets are already expanded.
type Config struct {
	Name      string
	Vendor    string
	Key       secret.Secret // checked against ?key= where set; required for sleekplan and userback
	Secret    secret.Secret // HMAC secret for signing vendors
	Signature Signature     // zero: the vendor's default
	// Tolerance is how far a signed timestamp may be from now (default 5m).
	Tolerance time.Duration
}
