package sources

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// hmacAlgorithms is the one list of the hashes a signature may use, by the
// name Signature.Algorithm gives (lower-cased).
var hmacAlgorithms = []struct {
	name string
	new  func() hash.Hash
}{
	{"sha1", sha1.New},
	{"sha256", sha256.New},
	{"sha512", sha512.New},
}

// signatureEncodings are the values of Signature.Encoding.
var signatureEncodings = []string{"hex", "base64"}

// HMACAlgorithms returns the values Signature.Algorithm may take (case
// does not matter; empty is the vendor's default).
func HMACAlgorithms() []string {
	names := make([]string, len(hmacAlgorithms))
	for i, a := range hmacAlgorithms {
		names[i] = a.name
	}
	return names
}

// SignatureEncodings returns the values Signature.Encoding may take (case
// does not matter; empty is the vendor's default).
func SignatureEncodings() []string { return append([]string(nil), signatureEncodings...) }

// hmacSpec is a resolved Signature with its secret: where an HMAC is found
// and how it is written.
type hmacSpec struct {
	header  string
	newHash func() hash.Hash
	base64  bool
	prefix  string
	secret  []byte
}

// newHMACSpec resolves sig, taking each empty field from def.
func newHMACSpec(sig, def Signature, secret []byte) (hmacSpec, error) {
	if sig.Header == "" {
		sig.Header = def.Header
	}
	if sig.Algorithm == "" {
		sig.Algorithm = def.Algorithm
	}
	if sig.Encoding == "" {
		sig.Encoding = def.Encoding
	}
	if sig.Prefix == "" {
		sig.Prefix = def.Prefix
	}
	spec := hmacSpec{header: http.CanonicalHeaderKey(strings.TrimSpace(sig.Header)), prefix: sig.Prefix, secret: secret}
	if spec.header == "" {
		return hmacSpec{}, errors.New("signature: header is required")
	}
	algorithm := strings.ToLower(sig.Algorithm)
	for _, a := range hmacAlgorithms {
		if a.name == algorithm {
			spec.newHash = a.new
		}
	}
	if spec.newHash == nil {
		return hmacSpec{}, fmt.Errorf("signature: unknown algorithm %q (want %s)", sig.Algorithm, strings.Join(HMACAlgorithms(), ", "))
	}
	switch strings.ToLower(sig.Encoding) {
	case "hex":
	case "base64":
		spec.base64 = true
	default:
		return hmacSpec{}, fmt.Errorf("signature: unknown encoding %q (want %s)", sig.Encoding, strings.Join(signatureEncodings, ", "))
	}
	return spec, nil
}

// mac returns the HMAC of the concatenated parts.
func (h hmacSpec) mac(parts ...[]byte) []byte {
	m := hmac.New(h.newHash, h.secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// encode writes a MAC as the header carries it, prefix included.
func (h hmacSpec) encode(mac []byte) string {
	if h.base64 {
		return h.prefix + base64.StdEncoding.EncodeToString(mac)
	}
	return h.prefix + hex.EncodeToString(mac)
}

// decode reads a MAC as written in the header (prefix already removed).
func (h hmacSpec) decode(s string) ([]byte, error) {
	if h.base64 {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return base64.RawStdEncoding.DecodeString(s)
	}
	return hex.DecodeString(s)
}

// verify checks the header against an HMAC of the raw body.
func (h hmacSpec) verify(header http.Header, body []byte) error {
	v, err := singleHeader(header, h.header)
	if err != nil {
		return err
	}
	if h.prefix != "" {
		rest, ok := strings.CutPrefix(v, h.prefix)
		if !ok {
			return fmt.Errorf("%w: %s lacks its prefix", ErrUnauthorized, h.header)
		}
		v = rest
	}
	got, err := h.decode(v)
	if err != nil {
		return fmt.Errorf("%w: %s is not valid %s", ErrUnauthorized, h.header, h.encodingName())
	}
	if !hmac.Equal(got, h.mac(body)) {
		return fmt.Errorf("%w: %s does not match the body", ErrUnauthorized, h.header)
	}
	return nil
}

func (h hmacSpec) encodingName() string {
	if h.base64 {
		return "base64"
	}
	return "hex"
}

// singleHeader returns the one non-empty value of name. A header given
// several times is refused: which one counts would be ambiguous.
func singleHeader(header http.Header, name string) (string, error) {
	vs := header.Values(name)
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w: missing %s", ErrUnauthorized, name)
	case 1:
	default:
		return "", fmt.Errorf("%w: %s given %d times", ErrUnauthorized, name, len(vs))
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		return "", fmt.Errorf("%w: empty %s", ErrUnauthorized, name)
	}
	return v, nil
}

// requireSecret returns the HMAC secret, which the vendor requires.
func requireSecret(cfg Config) ([]byte, error) {
	if cfg.Secret.IsZero() {
		return nil, errors.New("secret is required")
	}
	return []byte(cfg.Secret.Reveal()), nil
}

// noSignature refuses a signature override on kinds whose scheme is fixed.
func noSignature(cfg Config) error {
	if cfg.Signature != (Signature{}) {
		return fmt.Errorf("signature cannot be configured for %s (its scheme is fixed)", cfg.Vendor)
	}
	return nil
}
