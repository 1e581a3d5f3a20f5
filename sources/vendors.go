package sources

import (
	"errors"
	"net/http"
	"time"
)

// Sleekplan signs nothing: the secret ?key= in the URL is the only proof.
// Body {product_id, action, data, timestamp}; timestamp is milliseconds as
// a string. It sends no delivery id.
func setupSleekplan(s *source, cfg Config) error {
	if err := keyOnly(cfg); err != nil {
		return err
	}
	s.envelope = func(_ http.Header, top members, body []byte) (Envelope, error) {
		ev, err := requireString(top, memAction)
		if err != nil {
			return Envelope{}, err
		}
		return Envelope{ID: bodyID(body), Event: ev}, nil
	}
	s.timeOf = timeUnix("timestamp", 1000)
	s.sign = bodyOnly
	s.mapping = &sleekplanMapping
	return nil
}

// Userback documents no signature: ?key= is required. Body {action, type,
// data, timestamp, url}; the event is type.action; timestamp is Unix
// seconds. It sends no delivery id.
func setupUserback(s *source, cfg Config) error {
	if err := keyOnly(cfg); err != nil {
		return err
	}
	s.envelope = func(_ http.Header, top members, body []byte) (Envelope, error) {
		typ, err := requireString(top, memType)
		if err != nil {
			return Envelope{}, err
		}
		action, err := requireString(top, memAction)
		if err != nil {
			return Envelope{}, err
		}
		return Envelope{ID: bodyID(body), Event: typ + "." + action}, nil
	}
	s.timeOf = timeUnix("timestamp", 1)
	s.sign = bodyOnly
	s.mapping = &userbackMapping
	return nil
}

// ProductLift signs with the portal secret; the public documents show
// neither header nor algorithm, so the default (hex HMAC-SHA256 of the raw
// body in Signature) can be overridden. Body {id, creation_time, event,
// data}; id is the delivery id.
func setupProductLift(s *source, cfg Config) error {
	secret, err := requireSecret(cfg)
	if err != nil {
		return err
	}
	spec, err := newHMACSpec(cfg.Signature, Signature{Header: "Signature", Algorithm: "sha256", Encoding: "hex"}, secret)
	if err != nil {
		return err
	}
	s.verify = func(r *http.Request, body []byte) error { return spec.verify(r.Header, body) }
	s.sign = headerSigner(spec)
	s.envelope = func(_ http.Header, top members, _ []byte) (Envelope, error) {
		id, err := requireString(top, memID)
		if err != nil {
			return Envelope{}, err
		}
		ev, err := requireString(top, memEvent)
		if err != nil {
			return Envelope{}, err
		}
		return Envelope{ID: id, Event: ev}, nil
	}
	s.timeOf = timeRFC3339("creation_time")
	s.mapping = &productLiftMapping
	return nil
}

// The generic hmac kind: an HMAC of the raw body in a configured header.
// The event name is the body's event, type or action, else "webhook"; the
// id is a hash of the body. When the body has no data member, data is the
// whole body.
func setupHMAC(s *source, cfg Config) error {
	secret, err := requireSecret(cfg)
	if err != nil {
		return err
	}
	if cfg.Signature.Header == "" {
		return errors.New("signature: header is required for the hmac kind")
	}
	spec, err := newHMACSpec(cfg.Signature, Signature{Algorithm: "sha256", Encoding: "hex"}, secret)
	if err != nil {
		return err
	}
	s.verify = func(r *http.Request, body []byte) error { return spec.verify(r.Header, body) }
	s.sign = headerSigner(spec)
	s.envelope = func(_ http.Header, top members, body []byte) (Envelope, error) {
		ev, ok := firstString(top, memEvent, memType, memAction)
		if !ok {
			ev = defaultEventName
		}
		return Envelope{ID: bodyID(body), Event: ev}, nil
	}
	s.wholeBody = true
	return nil
}

// keyOnly validates the config of a vendor that has no signature.
func keyOnly(cfg Config) error {
	if cfg.Key.IsZero() {
		return errors.New("key is required: the vendor signs nothing, so ?key= is the only check")
	}
	if !cfg.Secret.IsZero() {
		return errors.New("secret is not used: the vendor signs nothing (use key)")
	}
	return noSignature(cfg)
}

// bodyOnly signs nothing.
func bodyOnly(body []byte, _ time.Time) (Signed, error) {
	return Signed{Body: body, Header: http.Header{}}, nil
}

// headerSigner puts the body's HMAC in the spec's header.
func headerSigner(spec hmacSpec) func([]byte, time.Time) (Signed, error) {
	return func(body []byte, _ time.Time) (Signed, error) {
		h := http.Header{}
		h.Set(spec.header, spec.encode(spec.mac(body)))
		return Signed{Body: body, Header: h}, nil
	}
}
