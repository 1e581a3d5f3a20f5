package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/secret"
)

// Headers a delivery carries. Idempotency-Key and Webhook-Id hold the
// delivery's stable id; the Standard Webhooks signature adds the others.
const (
	hdrIdempotencyKey   = "Idempotency-Key"
	hdrWebhookID        = "Webhook-Id"
	hdrWebhookTimestamp = "Webhook-Timestamp"
	hdrWebhookSignature = "Webhook-Signature"
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
	key    []byte
	secret secret.Secret
}

func newSigner(s Sign) (*signer, error) {
	if s.Secret.IsZero() {
		return nil, errors.New("sign: secret is required")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Secret.Reveal(), "whsec_"))
	if err != nil || len(key) == 0 {
		// Never quote the value: it is the secret.
		return nil, errors.New("sign: secret is not a Standard Webhooks secret (base64, optionally prefixed with whsec_)")
	}
	return &signer{key: key, secret: s.Secret}, nil
}

// signature is the webhook-signature value for one message.
func (s *signer) signature(id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// set adds the three Standard Webhooks headers for body, sent at now.
func (s *signer) set(h http.Header, id string, now time.Time, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(hdrWebhookID, id)
	h.Set(hdrWebhookTimestamp, ts)
	h.Set(hdrWebhookSignature, s.signature(id, ts, body))
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
