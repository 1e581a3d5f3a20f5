package sources

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (standardwebhooks.com): webhook-id, webhook-timestamp
// (Unix seconds) and webhook-signature, a space-separated list of
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>". The secret is base64,
// optionally prefixed with whsec_. The event name is the body's type.
func setupStandardWebhooks(s *source, cfg Config, now func() time.Time) error {
	if cfg.Secret.IsZero() {
		return errors.New("secret is required")
	}
	if err := noSignature(cfg); err != nil {
		return err
	}
	key, err := ParseStandardWebhooksKey(cfg.Secret.Reveal())
	if err != nil {
		return err
	}
	tol := tolerance(cfg)
	s.verify = func(r *http.Request, body []byte) error {
		id, err := singleHeader(r.Header, "Webhook-Id")
		if err != nil {
			return err
		}
		ts, err := singleHeader(r.Header, "Webhook-Timestamp")
		if err != nil {
			return err
		}
		sigs, err := singleHeader(r.Header, "Webhook-Signature")
		if err != nil {
			return err
		}
		if err := checkTimestamp(ts, now(), tol); err != nil {
			return err
		}
		want := key.mac(id, ts, body)
		for f := range strings.FieldsSeq(sigs) {
			ver, sig, ok := strings.Cut(f, ",")
			if !ok || ver != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
		return fmt.Errorf("%w: no v1 signature in webhook-signature matches", ErrUnauthorized)
	}
	s.sign = func(body []byte, at time.Time) (Signed, error) {
		id := "msg_" + bodyID(body)
		h := http.Header{}
		key.Sign(h, id, at, body)
		return Signed{Body: body, Header: h}, nil
	}
	s.envelope = func(h http.Header, top members, _ []byte) (Envelope, error) {
		id := h.Get("Webhook-Id")
		if id == "" {
			return Envelope{}, fmt.Errorf("%w: missing webhook-id", ErrMalformed)
		}
		ev, ok := optString(top, memType)
		if !ok || ev == "" {
			ev = defaultEventName
		}
		return Envelope{ID: id, Event: ev}, nil
	}
	s.timeOf = timeHeaderUnix("Webhook-Timestamp")
	return nil
}

// StandardWebhooksKey is a Standard Webhooks signing key: the scheme's one
// owner, for the source that verifies it and the http action that signs.
type StandardWebhooksKey []byte

// ParseStandardWebhooksKey decodes a Standard Webhooks secret: base64, with
// an optional whsec_ prefix. Its error never quotes the secret.
func ParseStandardWebhooksKey(secret string) (StandardWebhooksKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(b) == 0 {
		return nil, errors.New("secret is not a Standard Webhooks secret (base64, optionally prefixed with whsec_)")
	}
	return b, nil
}

// mac is the HMAC-SHA256 of "id.timestamp.body".
func (k StandardWebhooksKey) mac(id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Sign sets a message's webhook-id, webhook-timestamp (Unix seconds of at)
// and webhook-signature ("v1,<base64 mac>") headers.
func (k StandardWebhooksKey) Sign(h http.Header, id string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("Webhook-Id", id)
	h.Set("Webhook-Timestamp", ts)
	h.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(k.mac(id, ts, body)))
}

// Stripe: Stripe-Signature is "t=<unix>,v1=<hex>[,v1=...]" (other schemes
// ignored), v1 = hex HMAC-SHA256 of "t.body" keyed with the whole secret
// string (whsec_... included). Body {id, type, created, data}.
func setupStripe(s *source, cfg Config, now func() time.Time) error {
	secret, err := requireSecret(cfg)
	if err != nil {
		return err
	}
	if err := noSignature(cfg); err != nil {
		return err
	}
	spec, err := newHMACSpec(Signature{Header: "Stripe-Signature", Algorithm: "sha256", Encoding: "hex"}, Signature{}, secret)
	if err != nil {
		return err
	}
	tol := tolerance(cfg)
	s.verify = func(r *http.Request, body []byte) error {
		v, err := singleHeader(r.Header, "Stripe-Signature")
		if err != nil {
			return err
		}
		var ts string
		sigs := make([]string, 0, 4)
		for item := range strings.SplitSeq(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(item), "=")
			switch k {
			case "t":
				if ts != "" {
					return fmt.Errorf("%w: Stripe-Signature has several timestamps", ErrUnauthorized)
				}
				ts = val
			case "v1":
				sigs = append(sigs, val)
			}
		}
		if ts == "" {
			return fmt.Errorf("%w: Stripe-Signature has no timestamp", ErrUnauthorized)
		}
		if len(sigs) == 0 {
			return fmt.Errorf("%w: Stripe-Signature has no v1 signature", ErrUnauthorized)
		}
		if err := checkTimestamp(ts, now(), tol); err != nil {
			return err
		}
		want := spec.mac([]byte(ts+"."), body)
		for _, sig := range sigs {
			got, err := spec.decode(sig)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
		return fmt.Errorf("%w: no v1 signature in Stripe-Signature matches", ErrUnauthorized)
	}
	s.sign = func(body []byte, at time.Time) (Signed, error) {
		ts := strconv.FormatInt(at.Unix(), 10)
		h := http.Header{}
		h.Set("Stripe-Signature", "t="+ts+",v1="+spec.encode(spec.mac([]byte(ts+"."), body)))
		return Signed{Body: body, Header: h}, nil
	}
	s.envelope = func(_ http.Header, top members, _ []byte) (Envelope, error) {
		id, err := requireString(top, memID)
		if err != nil {
			return Envelope{}, err
		}
		ev, err := requireString(top, memType)
		if err != nil {
			return Envelope{}, err
		}
		return Envelope{ID: id, Event: ev}, nil
	}
	s.timeOf = timeUnix("created", 1)
	s.mapping = &stripeMapping
	return nil
}

func tolerance(cfg Config) time.Duration {
	if cfg.Tolerance > 0 {
		return cfg.Tolerance
	}
	return defaultTolerance
}

// checkTimestamp refuses a signed Unix timestamp further than tol from now,
// in either direction: stale ones are replays, future ones pre-signed.
func checkTimestamp(ts string, now time.Time, tol time.Duration) error {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not an integer", ErrUnauthorized)
	}
	d := now.Sub(time.Unix(n, 0))
	switch {
	case d > tol:
		return fmt.Errorf("%w: timestamp %s older than the %s tolerance", ErrUnauthorized, d.Round(time.Second), tol)
	case d < -tol:
		return fmt.Errorf("%w: timestamp %s in the future, beyond the %s tolerance", ErrUnauthorized, (-d).Round(time.Second), tol)
	}
	return nil
}
