package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fuzzSecrets are the secrets of the fixtures' configs: no error may quote
// them.
var fuzzSecrets = []string{sleekplanKey, userbackKey, plSecret, leanbeSecret, hmacSecret,
	githubSecret, swSecret, stripeSecret, "pl-extra-key"}

// FuzzSource drives every source kind with an arbitrary body, an arbitrary
// signature header value and an arbitrary query. Invariants:
//   - a forged request (the fuzzer's header and query) never verifies;
//   - the same body signed with the source's secret always verifies,
//     whatever its bytes (Leanbe: whenever Sign accepts the body);
//   - Envelope and Normalize agree: both fail with ErrMalformed, or both
//     succeed with the same non-empty id and event name;
//   - a body nested deeper than MaxDepth never passes Envelope;
//   - no error quotes a secret.
func FuzzSource(f *testing.F) {
	fxs := fixtures()
	for i, fx := range fxs {
		body := fx.load(f)
		f.Add(uint8(i), body, "", "")
		f.Add(uint8(i), body, "sha256=00", "key=x&key=y")
		f.Add(uint8(i), []byte(`{"a":`+nest(70, false, "1")+`}`), "v1,AAAA", "key=%zz")
	}
	f.Add(uint8(0), []byte(`{"event":"","data":null}`), "t=1,v1=00", "")
	f.Add(uint8(5), []byte(`{"payload":{"a":"\u2028"},"event":"e","signature":"00"}`), "", "")
	f.Add(uint8(5), []byte(`{"payload":1,"payload":{},"signature":"00"}`), "", "")
	f.Fuzz(func(t *testing.T, which uint8, body []byte, sig, query string) {
		fx := fxs[int(which)%len(fxs)]
		src, err := New(fx.cfg, clock)
		if err != nil {
			t.Fatal(err)
		}
		noSecret := func(what string, err error) {
			if err == nil {
				return
			}
			for _, s := range fuzzSecrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("%s error quotes a secret: %v", what, err)
				}
			}
		}

		// A forged request.
		forged := request(Signed{Body: body}, fx.header)
		forged.URL.RawQuery = query
		if fx.sigHeader != "" {
			forged.Header.Set(fx.sigHeader, sig)
			if fx.cfg.Vendor == KindStandardWebhooks {
				forged.Header.Set("Webhook-Id", "msg_1")
				forged.Header.Set("Webhook-Timestamp", "1709294400")
			}
		}
		verr := src.Verify(forged, body)
		noSecret("Verify", verr)
		needsProof := fx.signed() || !fx.cfg.Key.IsZero()
		if needsProof && verr == nil {
			t.Fatalf("forged request verified: sig %q query %q", sig, query)
		}
		if verr != nil && !errors.Is(verr, ErrUnauthorized) && !errors.Is(verr, ErrMalformed) {
			t.Fatalf("Verify error %v wraps neither ErrUnauthorized nor ErrMalformed", verr)
		}

		// The same body, signed.
		signed, serr := Sign(fx.cfg, body, testNow)
		noSecret("Sign", serr)
		if serr == nil {
			req := request(signed, fx.header)
			if err := src.Verify(req, signed.Body); err != nil {
				t.Fatalf("signed body refused: %v\nbody %q", err, signed.Body)
			}
			body = signed.Body
		} else if fx.cfg.Vendor != VendorLeanbe {
			t.Fatalf("Sign: %v", serr)
		}

		// Normalize decodes every body Envelope accepts.
		req := request(Signed{Body: body}, fx.header)
		env, eerr := src.Envelope(req.Header, body)
		noSecret("Envelope", eerr)
		if eerr != nil {
			if !errors.Is(eerr, ErrMalformed) {
				t.Fatalf("Envelope error %v does not wrap ErrMalformed", eerr)
			}
			return
		}
		if env.ID == "" || env.Event == "" {
			t.Fatalf("Envelope %+v has an empty id or event", env)
		}
		ev, nerr := src.Normalize(env, body, Headers(req.Header))
		noSecret("Normalize", nerr)
		if nerr != nil {
			t.Fatalf("Envelope accepted the body, Normalize refused it: %v\nbody %q", nerr, body)
		}
		if ev.ID != env.ID || ev.Event != env.Event {
			t.Fatalf("Normalize %q/%q, Envelope %q/%q", ev.ID, ev.Event, env.ID, env.Event)
		}
		if ev.Data == nil || ev.Payload == nil || ev.Source != fx.cfg.Name || ev.Vendor != fx.cfg.Vendor {
			t.Fatalf("normalized event incomplete: %+v", ev)
		}
		if d := nesting(body); d > MaxDepth {
			t.Fatalf("a body nested %d levels deep passed Envelope", d)
		}
	})
}

// nesting returns how deeply the arrays and objects of body, well-formed
// JSON, nest.
func nesting(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, most := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}
