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
	"sync"
)

// hmacSpec is a resolved Signature: where an HMAC of the raw body is found
// and how it is written.
type hmacSpec struct {
	header  string
	newHash func() hash.Hash
	base64  bool
	prefix  string
}

// newHMACSpec resolves sig, taking each empty field from def.
func newHMACSpec(sig, def Signature) (hmacSpec, error) {
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
	spec := hmacSpec{header: http.CanonicalHeaderKey(strings.TrimSpace(sig.Header)), prefix: sig.Prefix}
	if spec.header == "" {
		return hmacSpec{}, errors.New("signature: header is required")
	}
	switch strings.ToLower(sig.Algorithm) {
	case "sha1":
		spec.newHash = sha1.New
	case "sha256", "":
		spec.newHash = sha256.New
	case "sha512":
		spec.newHash = sha512.New
	default:
		return hmacSpec{}, fmt.Errorf("signature: unknown algorithm %q (want sha1, sha256 or sha512)", sig.Algorithm)
	}
	switch strings.ToLower(sig.Encoding) {
	case "hex", "":
	case "base64":
		spec.base64 = true
	default:
		return hmacSpec{}, fmt.Errorf("signature: unknown encoding %q (want hex or base64)", sig.Encoding)
	}
	return spec, nil
}

// mac returns the HMAC of the concatenated parts.
func (h hmacSpec) mac(secret []byte, parts ...[]byte) []byte {
	m := hmac.New(h.newHash, secret)
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

// keyedMAC is an hmacSpec with its secret. It keeps keyed HMAC states for
// reuse: keying one costs two hash blocks and five allocations, and the ack
// path needs one for every request.
type keyedMAC struct {
	hmacSpec
	states sync.Pool // of *macState
}

func newKeyedMAC(spec hmacSpec, secret []byte) *keyedMAC {
	k := &keyedMAC{hmacSpec: spec}
	k.states.New = func() any { return &macState{h: hmac.New(spec.newHash, secret)} }
	return k
}

// macState is a keyed HMAC with room for a MAC, a decoded signature and a
// signed prefix, so that checking a signature allocates nothing.
type macState struct {
	h      hash.Hash
	sum    [sha512.Size]byte
	sig    [sha512.Size]byte
	prefix []byte
}

// maxPrefix is the largest signed prefix a pooled state keeps room for.
const maxPrefix = 512

func (k *keyedMAC) get() *macState { return k.states.Get().(*macState) }

func (k *keyedMAC) put(st *macState) {
	if cap(st.prefix) > maxPrefix {
		st.prefix = nil
	}
	k.states.Put(st)
}

// mac returns the HMAC of the concatenated parts, in st's room: valid
// until the next mac or until st is put back. It leaves the hash reset.
func (st *macState) mac(parts ...[]byte) []byte {
	for _, p := range parts {
		st.h.Write(p)
	}
	sum := st.h.Sum(st.sum[:0])
	st.h.Reset()
	return sum
}

// decodeSig decodes a MAC as written in a header (prefix already removed)
// into st's room when it fits, as decode would.
func (k *keyedMAC) decodeSig(st *macState, s string) ([]byte, error) {
	if k.base64 || len(s)/2 > len(st.sig) {
		return k.decode(s)
	}
	return appendHexString(st.sig[:0], s)
}

// appendHexString appends the bytes of the hex string s to dst, failing
// where hex.DecodeString fails.
func appendHexString(dst []byte, s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, hex.ErrLength
	}
	for i := 0; i < len(s); i += 2 {
		hi, ok := fromHex(s[i])
		if !ok {
			return nil, hex.InvalidByteError(s[i])
		}
		lo, ok := fromHex(s[i+1])
		if !ok {
			return nil, hex.InvalidByteError(s[i+1])
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst, nil
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// verify checks the header against an HMAC of the raw body.
func (k *keyedMAC) verify(header http.Header, body []byte) error {
	v, err := singleHeader(header, k.header)
	if err != nil {
		return err
	}
	if k.prefix != "" {
		rest, ok := strings.CutPrefix(v, k.prefix)
		if !ok {
			return fmt.Errorf("%w: %s lacks its prefix", ErrUnauthorized, k.header)
		}
		v = rest
	}
	st := k.get()
	defer k.put(st)
	got, err := k.decodeSig(st, v)
	if err != nil {
		return fmt.Errorf("%w: %s is not valid %s", ErrUnauthorized, k.header, k.encodingName())
	}
	if !hmac.Equal(got, st.mac(body)) {
		return fmt.Errorf("%w: %s does not match the body", ErrUnauthorized, k.header)
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
