package sources

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	jsonv1 "encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/switchyard/switchyard/event"
)

// Vendor and generic kinds, the values of Config.Vendor.
const (
	VendorSleekplan      = "sleekplan"
	VendorUserback       = "userback"
	VendorProductLift    = "productlift"
	VendorLeanbe         = "leanbe"
	KindHMAC             = "hmac"
	KindGitHub           = "github"
	KindStandardWebhooks = "standard-webhooks"
	KindStripe           = "stripe"
	defaultTolerance     = 5 * time.Minute
	defaultEventName     = "webhook"
	bodyIDHexChars       = 32
)

// Vendors returns the known values of Config.Vendor: the four first-class
// vendors, then the generic kinds.
func Vendors() []string {
	return []string{
		VendorSleekplan, VendorUserback, VendorProductLift, VendorLeanbe,
		KindHMAC, KindGitHub, KindStandardWebhooks, KindStripe,
	}
}

// source is the one Source implementation; each vendor's setup function
// fills in the parts that differ.
type source struct {
	name    string
	vendor  string
	keyHash []byte // sha256 of cfg.Key; nil when the source has no key

	// verify checks the vendor's signature (nil: key only).
	verify func(r *http.Request, body []byte) error
	// sign produces the header (and, for Leanbe, the body) verify accepts.
	sign func(body []byte, now time.Time) (Signed, error)
	// envelope extracts the id and event name from the members readTop
	// found (and, for some kinds, the request's header).
	envelope func(h http.Header, top members, body []byte) (Envelope, error)
	// timeOf reads when the vendor says the event happened (zero if
	// unknown), from the payload or the stored headers.
	timeOf func(payload map[string]any, header map[string]string) time.Time
	// dataKey is the body member holding the vendor's event object.
	dataKey string
	// wholeBody makes the whole body the data when dataKey is absent
	// (generic kinds whose bodies have no envelope, e.g. GitHub).
	wholeBody bool
	// mapping gives the event its topic and subject (mappings.go).
	mapping *mapping
}

// New builds the Source described by cfg. now is the clock used for signed
// timestamps (nil: time.Now). Errors do not repeat the source's name: the
// caller, which knows where the source was defined, adds it.
func New(cfg Config, now func() time.Time) (Source, error) {
	s, err := newSource(cfg, now)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newSource(cfg Config, now func() time.Time) (*source, error) {
	if now == nil {
		now = time.Now
	}
	s := &source{name: cfg.Name, vendor: cfg.Vendor, dataKey: "data", timeOf: zeroTime, mapping: &noMapping}
	if !cfg.Key.IsZero() {
		h := sha256.Sum256([]byte(cfg.Key.Reveal()))
		s.keyHash = h[:]
	}
	if cfg.Tolerance < 0 {
		return nil, fmt.Errorf("negative tolerance %s", cfg.Tolerance)
	}
	var err error
	switch cfg.Vendor {
	case VendorSleekplan:
		err = setupSleekplan(s, cfg)
	case VendorUserback:
		err = setupUserback(s, cfg)
	case VendorProductLift:
		err = setupProductLift(s, cfg)
	case VendorLeanbe:
		err = setupLeanbe(s, cfg)
	case KindHMAC:
		err = setupHMAC(s, cfg)
	case KindGitHub:
		err = setupGitHub(s, cfg)
	case KindStandardWebhooks:
		err = setupStandardWebhooks(s, cfg, now)
	case KindStripe:
		err = setupStripe(s, cfg, now)
	default:
		return nil, fmt.Errorf("unknown vendor %q (known: %s)", cfg.Vendor, strings.Join(Vendors(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Vendor, err)
	}
	return s, nil
}

func (s *source) Name() string   { return s.name }
func (s *source) Vendor() string { return s.vendor }

// Verify checks ?key= when the source has one, then the vendor's signature.
func (s *source) Verify(r *http.Request, body []byte) error {
	if r == nil {
		return fmt.Errorf("%w: no request", ErrUnauthorized)
	}
	if s.keyHash != nil {
		if err := s.checkKey(r); err != nil {
			return err
		}
	}
	if s.verify != nil {
		return s.verify(r, body)
	}
	return nil
}

// checkKey requires exactly one ?key= equal to the configured key. Both
// sides are hashed first so that the comparison is constant-time and does
// not reveal the key's length.
func (s *source) checkKey(r *http.Request) error {
	if r.URL == nil {
		return fmt.Errorf("%w: no URL", ErrUnauthorized)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: malformed query string", ErrUnauthorized)
	}
	vs := q["key"]
	switch len(vs) {
	case 0:
		return fmt.Errorf("%w: missing ?key=", ErrUnauthorized)
	case 1:
	default:
		return fmt.Errorf("%w: ?key= given %d times", ErrUnauthorized, len(vs))
	}
	got := sha256.Sum256([]byte(vs[0]))
	if subtle.ConstantTimeCompare(got[:], s.keyHash) != 1 {
		return fmt.Errorf("%w: wrong ?key=", ErrUnauthorized)
	}
	return nil
}

// Envelope reads the body's envelope (readTop) and the id and event name
// from the members it found.
func (s *source) Envelope(header http.Header, body []byte) (Envelope, error) {
	top, err := readTop(body)
	if err != nil {
		return Envelope{}, err
	}
	return s.envelope(header, top, body)
}

// Normalize builds the normalized event of a body that Envelope accepted,
// with the envelope it returned: the body is decoded once, and the
// vendor's mapping gives the event its topic and subject.
func (s *source) Normalize(env Envelope, body []byte, header map[string]string) (event.Event, error) {
	// json v2 decodes the usual body fastest (9 us for 1.5 KB, against
	// 14 us for encoding/json) when its names are unique and its strings
	// valid UTF-8. A body readTop accepted that is neither is decoded by
	// encoding/json, as the ack path read it: the last of a name given
	// twice wins whole (v2 would merge two objects, letting an unsigned
	// Leanbe payload leak into the signed one) and invalid UTF-8 becomes
	// U+FFFD.
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		payload = nil
		if err := jsonv1.Unmarshal(body, &payload); err != nil {
			return event.Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	ev := event.Event{
		Source:  s.name,
		Vendor:  s.vendor,
		Event:   env.Event,
		ID:      env.ID,
		Time:    s.timeOf(payload, header),
		Data:    s.dataOf(payload),
		Payload: payload,
		Headers: header,
	}
	ev.Topic, ev.Subject = s.mapping.apply(ev.Event, ev.Data, ev.Payload)
	return ev, nil
}

// dataOf returns the vendor's event object: an object as is, anything else
// under "value".
func (s *source) dataOf(payload map[string]any) map[string]any {
	v, ok := payload[s.dataKey]
	if !ok {
		if s.wholeBody {
			return payload
		}
		return map[string]any{}
	}
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{"value": v}
}

// bodyID is the delivery id of vendors that send none: a hash of the
// verified bytes, so that a retry of the same bytes deduplicates.
func bodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return hashID(sum[:])
}

// hashID is the first bodyIDHexChars hex digits of a hash.
func hashID(sum []byte) string {
	return hex.EncodeToString(sum[:bodyIDHexChars/2])
}
