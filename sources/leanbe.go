package sources

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Leanbe puts the signature in the body: {payload, event, triggeredAt,
// signature}, signature = hex HMAC-SHA256 of JSON.stringify(payload).
// The payload is verified over its raw bytes as sent, then over their
// json.Compact form (a payload re-indented on the way); it is never
// re-marshalled from Go values, whose key order, escaping (<>& and U+2028)
// and number formatting differ from JavaScript's. event and triggeredAt are
// not signed: they are untrusted labels. Leanbe sends no delivery id: the
// id is a hash of the event name and the payload bytes.
func setupLeanbe(s *source, cfg Config) error {
	secret, err := requireSecret(cfg)
	if err != nil {
		return err
	}
	if err := noSignature(cfg); err != nil {
		return err
	}
	spec, err := newHMACSpec(Signature{Header: "Signature", Algorithm: "sha256", Encoding: "hex"}, Signature{}, secret)
	if err != nil {
		return err
	}
	s.verify = func(_ *http.Request, body []byte) error { return leanbeVerify(spec, body) }
	s.sign = func(body []byte, _ time.Time) (Signed, error) {
		signed, err := leanbeSign(spec, body)
		if err != nil {
			return Signed{}, err
		}
		return Signed{Body: signed, Header: http.Header{}}, nil
	}
	s.envelope = func(_ http.Header, top members, body []byte) (Envelope, error) {
		ev, err := requireString(top, memEvent)
		if err != nil {
			return Envelope{}, err
		}
		p := top[memPayload]
		if p == nil {
			return Envelope{}, fmt.Errorf("%w: missing \"payload\"", ErrMalformed)
		}
		if p[0] != '{' {
			return Envelope{}, fmt.Errorf("%w: \"payload\" is not an object", ErrMalformed)
		}
		// The id hashes the event name and the payload bytes, not the whole
		// body: a retry that carries a new triggeredAt is still the same
		// delivery. The payload holds updatedAt, so two real changes differ.
		return Envelope{ID: payloadID(ev, p), Event: ev}, nil
	}
	s.dataKey = "payload"
	s.timeOf = timeRFC3339("triggeredAt")
	s.mapping = &leanbeMapping
	return nil
}

// payloadID hashes the event name, a NUL and the payload's bytes.
func payloadID(event string, payload []byte) string {
	h := sha256.New()
	_, _ = io.WriteString(h, event)
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(payload)
	return hashID(h.Sum(nil))
}

func leanbeVerify(spec hmacSpec, body []byte) error {
	top, err := readTop(body)
	if err != nil {
		return err // ErrMalformed: the signature lives in a body that is not JSON
	}
	payload := top[memPayload]
	if payload == nil {
		return fmt.Errorf("%w: no payload to verify", ErrUnauthorized)
	}
	if top[memSignature] == nil {
		return fmt.Errorf("%w: missing signature member", ErrUnauthorized)
	}
	sigHex, ok := optString(top, memSignature)
	if !ok {
		return fmt.Errorf("%w: signature member is not a string", ErrUnauthorized)
	}
	sig, err := spec.decode(sigHex)
	if err != nil {
		return fmt.Errorf("%w: signature member is not hex", ErrUnauthorized)
	}
	if hmac.Equal(sig, spec.mac(payload)) {
		return nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, payload); err == nil && !bytes.Equal(compact.Bytes(), payload) {
		if hmac.Equal(sig, spec.mac(compact.Bytes())) {
			return nil
		}
	}
	return fmt.Errorf("%w: signature does not match the payload", ErrUnauthorized)
}

// leanbeSign rewrites every top-level signature member (or appends one)
// with the HMAC of the payload's bytes exactly as they appear in body. It
// edits bytes in place of decoding and re-encoding, so nothing else in the
// body changes.
func leanbeSign(spec hmacSpec, body []byte) ([]byte, error) {
	top, err := readTop(body)
	if err != nil {
		return nil, err
	}
	if top[memPayload] == nil {
		return nil, fmt.Errorf("%w: missing \"payload\"", ErrMalformed)
	}
	sig := `"` + spec.encode(spec.mac(top[memPayload])) + `"`
	// readTop accepted body: reading its members again cannot fail.
	d := jsontext.NewDecoder(bytes.NewBuffer(body), readerOptions)
	_, _ = d.ReadToken()
	out := make([]byte, 0, len(body)+len(sig)+16)
	at, found := 0, false
	for d.PeekKind() != '}' {
		name, _ := d.ReadValue()
		m, known := memberNamed(name)
		v, _ := d.ReadValue()
		if known && m == memSignature {
			end := int(d.InputOffset())
			out = append(append(out, body[at:end-len(v)]...), sig...)
			at, found = end, true
		}
	}
	if !found {
		_, _ = d.ReadToken()
		closing := int(d.InputOffset()) - 1
		out = append(append(append(out, body[:closing]...), `,"signature":`...), sig...)
		at = closing
	}
	return append(out, body[at:]...), nil
}
