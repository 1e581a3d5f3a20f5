package sources

import (
	"net/http"
)

// GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the
// raw body. The delivery id and event name are headers (X-GitHub-Delivery,
// X-GitHub-Event); where a GitHub-compatible sender omits them, the id is a
// hash of the body and the event "webhook". The body is the event object
// itself, so data is the whole body.
func setupGitHub(s *source, cfg Config) error {
	secret, err := requireSecret(cfg)
	if err != nil {
		return err
	}
	if err := noSignature(cfg); err != nil {
		return err
	}
	spec, err := newHMACSpec(Signature{Header: "X-Hub-Signature-256", Algorithm: "sha256", Encoding: "hex", Prefix: "sha256="}, Signature{}, secret)
	if err != nil {
		return err
	}
	s.verify = func(r *http.Request, body []byte) error { return spec.verify(r.Header, body) }
	s.sign = headerSigner(spec)
	s.envelope = func(h http.Header, _ members, body []byte) (Envelope, error) {
		env := Envelope{ID: h.Get("X-GitHub-Delivery"), Event: h.Get("X-GitHub-Event")}
		if env.ID == "" {
			env.ID = bodyID(body)
		}
		if env.Event == "" {
			env.Event = defaultEventName
		}
		return env, nil
	}
	s.wholeBody = true
	s.mapping = &githubMapping
	return nil
}
