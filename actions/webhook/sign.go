package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// Headers a delivery carries. Idempotency-Key and Webhook-Id hold the
// delivery's stable id; the Standard Webhooks signature adds the others.
const (
	hdrIdempotencyKey = "Idempotency-Key"
	hdrWebhookID      = "Webhook-Id"
)

// Sign makes an http action sign its requests the Standard Webhooks way
// (standardwebhooks.com): webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
type Sign struct {
	// Secret is the signing secret as receivers hand it out: base64,
	// optionally prefixed with whsec_.
	Secret secret.Secret
}

// signer signs with a decoded key. The key never prints: errors and
// renderings name the secret, never show it.
type signer struct {
	key    sources.StandardWebhooksKey
	secret secret.Secret
}

func newSigner(s Sign) (*signer, error) {
	if s.Secret.IsZero() {
		return nil, errors.New("sign: secret is required")
	}
	key, err := sources.ParseStandardWebhooksKey(s.Secret.Reveal())
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return &signer{key: key, secret: s.Secret}, nil
}

// set adds the three Standard Webhooks headers for body, sent at now.
func (s *signer) set(h http.Header, id string, now time.Time, body []byte) {
	s.key.Sign(h, id, now, body)
}

// headerID turns a delivery id into a header value that stands for it
// alone: bytes outside visible ASCII, and '%' itself, are percent-encoded.
// Ids made of letters, digits and punctuation (the router's are) pass
// unchanged; the mapping is one-to-one, so distinct deliveries never share
// a key.
func headerID(id string) string {
	return actions.PercentEncode(id, func(c byte) bool { return c > ' ' && c < 0x7f && c != '%' })
}

// randomID is the webhook-id of a signed request made with no delivery id
// in its context (not through the router's delivery loop): unique, so a
// receiver never drops it as a duplicate of another message.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "msg_" + hex.EncodeToString(b[:])
}
