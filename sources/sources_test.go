package sources

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
)

var testNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// Secrets used by the tests; none may ever appear in an error.
const (
	sleekplanKey  = "sp-key-5b1f0c"
	userbackKey   = "ub-key-93ad1e"
	plSecret      = "pl-portal-secret-7e21"
	leanbeSecret  = "lb-webhook-secret-0c4d"
	hmacSecret    = "generic-secret-11aa"
	githubSecret  = "It's a Secret to Everybody"
	swSecret      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	stripeSecret  = "whsec_stripe_test_4242"
	swOtherSecret = "whsec_b3RoZXItc2VjcmV0LWJ5dGVz" // base64("other-secret-bytes")
)

var (
	githubBody = []byte(`{"action":"opened","issue":{"number":1347,"title":"Found a bug"},"repository":{"full_name":"octocat/Hello-World"}}`)
	swBody     = []byte(`{"type":"invoice.paid","timestamp":"2024-03-01T12:00:00Z","data":{"id":"inv_1","amount":1200}}`)
	stripeBody = []byte(`{"id":"evt_1OqXy2","object":"event","type":"invoice.paid","created":1709294400,"data":{"object":{"id":"in_1","amount_paid":1200}}}`)
	hmacBody   = []byte(`{"event":"order.created","data":{"id":7,"total":12.5}}`)
)

// fixture is one body a source must accept once signed.
type fixture struct {
	name      string
	cfg       Config
	file      string      // under ../examples, or
	body      []byte      // inline
	header    http.Header // extra headers the vendor sends (not signatures)
	sigHeader string      // where the signature is; "" if in the body (Leanbe) or none
}

func (f fixture) load(t testing.TB) []byte {
	t.Helper()
	if f.file == "" {
		return f.body
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", f.file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f fixture) signed() bool {
	return f.cfg.Vendor != VendorSleekplan && f.cfg.Vendor != VendorUserback
}

func fixtures() []fixture {
	return []fixture{
		{name: "sleekplan/item.create", file: "sleekplan/item.create.json",
			cfg: Config{Name: "sleekplan", Vendor: VendorSleekplan, Key: sleekplanKey}},
		{name: "userback/feedback.create", file: "userback/feedback.create.json",
			cfg:    Config{Name: "userback", Vendor: VendorUserback, Key: userbackKey},
			header: http.Header{"User-Agent": {"Userback-Webhook"}}},
		{name: "productlift/vote.created", file: "productlift/vote.created.json",
			cfg: Config{Name: "productlift", Vendor: VendorProductLift, Secret: plSecret}, sigHeader: "Signature"},
		{name: "productlift/post.created", file: "productlift/post.created.json",
			cfg: Config{Name: "productlift", Vendor: VendorProductLift, Secret: plSecret}, sigHeader: "Signature"},
		{name: "productlift/with-key", file: "productlift/vote.created.json",
			cfg: Config{Name: "pl-keyed", Vendor: VendorProductLift, Secret: plSecret, Key: "pl-extra-key"}, sigHeader: "Signature"},
		{name: "leanbe/customer.created", file: "leanbe/customer.created.json",
			cfg: Config{Name: "leanbe", Vendor: VendorLeanbe, Secret: leanbeSecret}},
		{name: "leanbe/idea.created", file: "leanbe/idea.created.json",
			cfg: Config{Name: "leanbe", Vendor: VendorLeanbe, Secret: leanbeSecret}},
		{name: "hmac", body: hmacBody,
			cfg:       Config{Name: "shop", Vendor: KindHMAC, Secret: hmacSecret, Signature: Signature{Header: "X-Shop-Signature"}},
			sigHeader: "X-Shop-Signature"},
		{name: "github", body: githubBody,
			cfg:       Config{Name: "gh", Vendor: KindGitHub, Secret: githubSecret},
			header:    http.Header{"X-Github-Event": {"issues"}, "X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
			sigHeader: "X-Hub-Signature-256"},
		{name: "standard-webhooks", body: swBody,
			cfg:       Config{Name: "sw", Vendor: KindStandardWebhooks, Secret: swSecret},
			sigHeader: "Webhook-Signature"},
		{name: "stripe", body: stripeBody,
			cfg:       Config{Name: "stripe", Vendor: KindStripe, Secret: stripeSecret},
			sigHeader: "Stripe-Signature"},
	}
}

// request builds the inbound request for a signed delivery.
func request(s Signed, extra http.Header) *http.Request {
	target := "/hooks/x"
	if q := s.Query.Encode(); q != "" {
		target += "?" + q
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(s.Body))
	for k, vs := range extra {
		r.Header[k] = vs
	}
	for k, vs := range s.Header {
		r.Header[k] = vs
	}
	return r
}

// normalize does what the router does with a body: Envelope on the ack
// path, then Normalize with the envelope it returned and the stored
// headers. The error is the first of the two.
func normalize(src Source, body []byte, headers map[string]string) (event.Event, error) {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	env, err := src.Envelope(h, body)
	if err != nil {
		return event.Event{}, err
	}
	return src.Normalize(env, body, headers)
}

func mustNew(t testing.TB, cfg Config) Source {
	t.Helper()
	s, err := New(cfg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustSign(t testing.TB, cfg Config, body []byte) Signed {
	t.Helper()
	s, err := Sign(cfg, body, testNow)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return s
}

func clone(s Signed) Signed {
	return Signed{Body: bytes.Clone(s.Body), Header: s.Header.Clone(), Query: url.Values(http.Header(s.Query).Clone())}
}

var leanbeSigRE = regexp.MustCompile(`,\s*"signature"\s*:\s*"[0-9a-f]*"`)

func TestFixturesAcceptedWhenSigned(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			src := mustNew(t, f.cfg)
			s := mustSign(t, f.cfg, f.load(t))
			r := request(s, f.header)
			if err := src.Verify(r, s.Body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			env, err := src.Envelope(r.Header, s.Body)
			if err != nil {
				t.Fatalf("Envelope: %v", err)
			}
			if env.ID == "" || env.Event == "" {
				t.Fatalf("Envelope = %+v, want an id and an event", env)
			}
			ev, err := src.Normalize(env, s.Body, Headers(r.Header))
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if ev.ID != env.ID || ev.Event != env.Event {
				t.Errorf("Normalize id/event = %q/%q, Envelope = %q/%q", ev.ID, ev.Event, env.ID, env.Event)
			}
		})
	}
}

func TestFixturesRefused(t *testing.T) {
	type mutation struct {
		name  string
		apply func(t *testing.T, f fixture, good Signed) Signed
		when  func(f fixture) bool
	}
	hasKey := func(f fixture) bool { return !f.cfg.Key.IsZero() }
	inHeader := func(f fixture) bool { return f.sigHeader != "" }
	inBody := func(f fixture) bool { return f.cfg.Vendor == VendorLeanbe }
	mutations := []mutation{
		{name: "wrong key", when: hasKey, apply: func(_ *testing.T, _ fixture, s Signed) Signed {
			s.Query.Set("key", "not-the-key")
			return s
		}},
		{name: "key prefix", when: hasKey, apply: func(_ *testing.T, _ fixture, s Signed) Signed {
			k := s.Query.Get("key")
			s.Query.Set("key", k[:len(k)-1])
			return s
		}},
		{name: "missing key", when: hasKey, apply: func(_ *testing.T, _ fixture, s Signed) Signed {
			s.Query.Del("key")
			return s
		}},
		{name: "key twice", when: hasKey, apply: func(_ *testing.T, _ fixture, s Signed) Signed {
			s.Query.Add("key", s.Query.Get("key"))
			return s
		}},
		{name: "wrong secret", when: fixture.signed, apply: func(t *testing.T, f fixture, s Signed) Signed {
			cfg := f.cfg
			cfg.Secret = "not-the-secret"
			if cfg.Vendor == KindStandardWebhooks {
				cfg.Secret = swOtherSecret
			}
			other := mustSign(t, cfg, f.load(t))
			other.Query = s.Query // keep a good key: only the signature is wrong
			return other
		}},
		{name: "another body", when: fixture.signed, apply: func(_ *testing.T, _ fixture, s Signed) Signed {
			// Change a value inside the first nested object: inside Leanbe's payload too.
			s.Body = bytes.Replace(s.Body, []byte("}"), []byte(`,"tampered":true}`), 1)
			return s
		}},
		{name: "truncated header signature", when: inHeader, apply: func(_ *testing.T, f fixture, s Signed) Signed {
			v := s.Header.Get(f.sigHeader)
			s.Header.Set(f.sigHeader, v[:len(v)-2])
			return s
		}},
		{name: "missing header signature", when: inHeader, apply: func(_ *testing.T, f fixture, s Signed) Signed {
			s.Header.Del(f.sigHeader)
			return s
		}},
		{name: "signature header twice", when: inHeader, apply: func(_ *testing.T, f fixture, s Signed) Signed {
			s.Header.Add(f.sigHeader, s.Header.Get(f.sigHeader))
			return s
		}},
		{name: "truncated body signature", when: inBody, apply: func(t *testing.T, _ fixture, s Signed) Signed {
			sig := leanbeSignature(t, s.Body)
			s.Body = bytes.Replace(s.Body, []byte(sig), []byte(sig[:len(sig)-2]), 1)
			return s
		}},
		{name: "missing body signature", when: inBody, apply: func(t *testing.T, _ fixture, s Signed) Signed {
			out := leanbeSigRE.ReplaceAll(s.Body, nil)
			if bytes.Equal(out, s.Body) {
				t.Fatal("no signature member to remove")
			}
			s.Body = out
			return s
		}},
	}
	for _, f := range fixtures() {
		src := mustNew(t, f.cfg)
		good := mustSign(t, f.cfg, f.load(t))
		var secrets []string
		for _, v := range []secret.Secret{f.cfg.Key, f.cfg.Secret} {
			if !v.IsZero() {
				secrets = append(secrets, v.Reveal())
			}
		}
		if f.sigHeader != "" {
			secrets = append(secrets, good.Header.Get(f.sigHeader))
		}
		if f.cfg.Vendor == VendorLeanbe {
			secrets = append(secrets, leanbeSignature(t, good.Body))
		}
		for _, m := range mutations {
			if !m.when(f) {
				continue
			}
			t.Run(f.name+"/"+m.name, func(t *testing.T) {
				bad := m.apply(t, f, clone(good))
				err := src.Verify(request(bad, f.header), bad.Body)
				if !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("Verify = %v, want ErrUnauthorized", err)
				}
				for _, s := range secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q reveals a secret or the expected signature", err)
					}
				}
			})
		}
	}
}

// leanbeSignature returns the top-level signature member of a Leanbe body.
func leanbeSignature(t testing.TB, body []byte) string {
	t.Helper()
	var b struct {
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Signature == "" {
		t.Fatalf("no signature in body: %v", err)
	}
	return b.Signature
}

func hmacHex(h func() hash.Hash, key, msg []byte) string {
	m := hmac.New(h, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func TestProductLiftIndependentHMAC(t *testing.T) {
	body, err := os.ReadFile("../examples/productlift/vote.created.json")
	if err != nil {
		t.Fatal(err)
	}
	src := mustNew(t, Config{Name: "productlift", Vendor: VendorProductLift, Secret: plSecret})
	r := httptest.NewRequest(http.MethodPost, "/hooks/productlift", bytes.NewReader(body))
	r.Header.Set("Signature", hmacHex(sha256.New, []byte(plSecret), body))
	if err := src.Verify(r, body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	r.Header.Set("Signature", strings.ToUpper(hmacHex(sha256.New, []byte(plSecret), body)))
	if err := src.Verify(r, body); err != nil {
		t.Fatalf("Verify with upper-case hex: %v", err)
	}
}

func TestSignatureOverride(t *testing.T) {
	body := []byte(`{"id":"abc","creation_time":"2022-06-01T18:17:37Z","event":"post.created","data":{}}`)
	key := []byte(plSecret)
	b64 := func(h func() hash.Hash) string {
		m := hmac.New(h, key)
		m.Write(body)
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name   string
		sig    Signature
		header string
		value  string
	}{
		{"header", Signature{Header: "X-ProductLift-Signature"}, "X-Productlift-Signature", hmacHex(sha256.New, key, body)},
		{"sha1", Signature{Algorithm: "sha1"}, "Signature", hmacHex(sha1.New, key, body)},
		{"sha512", Signature{Algorithm: "SHA512"}, "Signature", hmacHex(sha512.New, key, body)},
		{"base64", Signature{Encoding: "base64"}, "Signature", b64(sha256.New)},
		{"prefix", Signature{Prefix: "sha256="}, "Signature", "sha256=" + hmacHex(sha256.New, key, body)},
		{"all", Signature{Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Prefix: "v1="}, "X-Sig", "v1=" + b64(sha512.New)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Name: "pl", Vendor: VendorProductLift, Secret: plSecret, Signature: tt.sig}
			src := mustNew(t, cfg)
			r := httptest.NewRequest(http.MethodPost, "/hooks/pl", nil)
			r.Header.Set(tt.header, tt.value)
			if err := src.Verify(r, body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if s := mustSign(t, cfg, body); s.Header.Get(tt.header) != tt.value {
				t.Errorf("Sign header %s = %q, want %q", tt.header, s.Header.Get(tt.header), tt.value)
			}
			// Every case overrides something, so the default form (hex
			// HMAC-SHA256 in Signature, no prefix) must no longer pass.
			r = httptest.NewRequest(http.MethodPost, "/hooks/pl", nil)
			r.Header.Set("Signature", hmacHex(sha256.New, key, body))
			if err := src.Verify(r, body); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("default signature accepted by overridden source: %v", err)
			}
		})
	}
}

func TestKnownAnswerVectors(t *testing.T) {
	t.Run("github", func(t *testing.T) {
		cfg := Config{Name: "gh", Vendor: KindGitHub, Secret: "It's a Secret to Everybody"}
		body := []byte("Hello, World!")
		const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
		r := httptest.NewRequest(http.MethodPost, "/hooks/gh", nil)
		r.Header.Set("X-Hub-Signature-256", want)
		if err := mustNew(t, cfg).Verify(r, body); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got := mustSign(t, cfg, body).Header.Get("X-Hub-Signature-256"); got != want {
			t.Errorf("Sign = %q, want %q", got, want)
		}
	})
	t.Run("standard-webhooks", func(t *testing.T) {
		cfg := Config{Name: "sw", Vendor: KindStandardWebhooks, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
		src, err := New(cfg, func() time.Time { return time.Unix(1614265330, 0) })
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"test": 2432232314}`)
		r := httptest.NewRequest(http.MethodPost, "/hooks/sw", nil)
		r.Header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		r.Header.Set("webhook-timestamp", "1614265330")
		r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		if err := src.Verify(r, body); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		// Several signatures: an unknown version and a wrong v1 before the right one.
		r.Header.Set("webhook-signature", "v1a,AAAA v1,Zm9vYmFy v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		if err := src.Verify(r, body); err != nil {
			t.Fatalf("Verify with several signatures: %v", err)
		}
		r.Header.Set("webhook-signature", "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		if err := src.Verify(r, body); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("right MAC under another version accepted: %v", err)
		}
		r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		r.Header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJeK")
		if err := src.Verify(r, body); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("another webhook-id accepted: %v", err)
		}
	})
}

func TestStripeSeveralSignatures(t *testing.T) {
	cfg := Config{Name: "stripe", Vendor: KindStripe, Secret: stripeSecret}
	src := mustNew(t, cfg)
	ts := "1709294400" // testNow
	good := hmacHex(sha256.New, []byte(stripeSecret), []byte(ts+"."+string(stripeBody)))
	bad := hmacHex(sha256.New, []byte("old-secret"), []byte(ts+"."+string(stripeBody)))
	tests := []struct {
		name, header string
		ok           bool
	}{
		{"one", "t=" + ts + ",v1=" + good, true},
		{"rolled secret", "t=" + ts + ",v1=" + bad + ",v1=" + good, true},
		{"v0 ignored", "t=" + ts + ",v0=" + good, false},
		{"only old", "t=" + ts + ",v1=" + bad, false},
		{"no timestamp", "v1=" + good, false},
		{"two timestamps", "t=" + ts + ",t=" + ts + ",v1=" + good, false},
		{"timestamp not signed one", "t=1709294401,v1=" + good, false},
		{"spaces", "t=" + ts + ", v1=" + good, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/hooks/stripe", nil)
			r.Header.Set("Stripe-Signature", tt.header)
			err := src.Verify(r, stripeBody)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
	if got := mustSign(t, cfg, stripeBody).Header.Get("Stripe-Signature"); got != "t="+ts+",v1="+good {
		t.Errorf("Sign = %q", got)
	}
}

func TestTolerance(t *testing.T) {
	kinds := []struct {
		name string
		cfg  Config
		body []byte
	}{
		{"standard-webhooks", Config{Name: "sw", Vendor: KindStandardWebhooks, Secret: swSecret}, swBody},
		{"stripe", Config{Name: "stripe", Vendor: KindStripe, Secret: stripeSecret}, stripeBody},
		{"stripe/1h", Config{Name: "stripe", Vendor: KindStripe, Secret: stripeSecret, Tolerance: time.Hour}, stripeBody},
	}
	for _, k := range kinds {
		tol := k.cfg.Tolerance
		if tol == 0 {
			tol = 5 * time.Minute
		}
		tests := []struct {
			name   string
			signed time.Time
			ok     bool
		}{
			{"now", testNow, true},
			{"just stale enough", testNow.Add(-tol), true},
			{"stale", testNow.Add(-tol - time.Second), false},
			{"just early enough", testNow.Add(tol), true},
			{"future", testNow.Add(tol + time.Second), false},
			{"day old", testNow.Add(-24 * time.Hour), false},
		}
		src := mustNew(t, k.cfg)
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				s, err := Sign(k.cfg, k.body, tt.signed)
				if err != nil {
					t.Fatal(err)
				}
				err = src.Verify(request(s, nil), s.Body)
				if tt.ok && err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !tt.ok && !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("Verify = %v, want ErrUnauthorized", err)
				}
			})
		}
	}
}

// A payload as Node's JSON.stringify writes it: non-ASCII, <>& and U+2028
// raw (Go's encoder escapes all four), keys in insertion order, numbers in
// JavaScript's shortest form (JSON.stringify(-0) is "0").
var leanbePayloadJS = []byte(`{"title":"Zoë’s idea – 東京 🎉","html":"<p>Tom & Jerry</p>","sep":"a` + "\u2028" + `b","big":1.5e+21,"tenth":0.1,"zero":0,"tiny":1e-7,"quote":"say \"hi\"\n","upvotes":3,"author":{"name":"Åsa"}}`)

func leanbeBody(payload []byte, sig string) []byte {
	return []byte(`{"payload":` + string(payload) + `,"event":"idea.upVoted","triggeredAt":"2024-03-01T11:59:59.120Z","signature":"` + sig + `"}`)
}

func TestLeanbeJSONStringifyBytes(t *testing.T) {
	src := mustNew(t, Config{Name: "leanbe", Vendor: VendorLeanbe, Secret: leanbeSecret})
	sig := hmacHex(sha256.New, []byte(leanbeSecret), leanbePayloadJS)

	// The test is only worth something if re-marshalling would have failed.
	var m map[string]any
	if err := json.Unmarshal(leanbePayloadJS, &m); err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(m); bytes.Equal(again, leanbePayloadJS) {
		t.Fatal("json.Marshal reproduces the payload; the test proves nothing")
	}
	pretty := &bytes.Buffer{}
	if err := json.Indent(pretty, leanbePayloadJS, "    ", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pretty.Bytes(), []byte("\u2028")) || !bytes.Contains(pretty.Bytes(), []byte("<p>Tom & Jerry</p>")) {
		t.Fatal("json.Indent escaped the payload; write the pretty form by hand")
	}

	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"as sent", leanbeBody(leanbePayloadJS, sig), true},
		{"pretty-printed payload", leanbeBody(pretty.Bytes(), sig), true},
		{"whitespace around members", []byte("{\n  \"event\" : \"idea.upVoted\",\n  \"payload\" :  " + string(leanbePayloadJS) + " ,\n  \"signature\": \"" + sig + "\"\n}\n"), true},
		{"upper-case hex", leanbeBody(leanbePayloadJS, strings.ToUpper(sig)), true},
		{"changed value", leanbeBody(bytes.Replace(leanbePayloadJS, []byte("0.1"), []byte("0.2"), 1), sig), false},
		{"pretty and changed", leanbeBody(bytes.Replace(pretty.Bytes(), []byte(`"upvotes": 3`), []byte(`"upvotes": 4`), 1), sig), false},
		{"re-marshalled by Go", leanbeBody(mustMarshal(t, m), sig), false},
		{"case-variant member", []byte(`{"payload":{"title":"evil"},"PAYLOAD":` + string(leanbePayloadJS) + `,"event":"idea.upVoted","signature":"` + sig + `"}`), false},
		{"signature not a string", []byte(`{"payload":` + string(leanbePayloadJS) + `,"event":"idea.upVoted","signature":1}`), false},
		{"no payload", []byte(`{"event":"idea.upVoted","signature":"` + sig + `"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/hooks/leanbe", nil)
			err := src.Verify(r, tt.body)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		err := src.Verify(httptest.NewRequest(http.MethodPost, "/hooks/leanbe", nil), []byte(`payload=1`))
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify = %v, want ErrMalformed", err)
		}
	})
	t.Run("payload given twice", func(t *testing.T) {
		// The last payload is the one verified and the one normalized,
		// whole: nothing of the unsigned one leaks into the data.
		body := []byte(`{"payload":{"title":"evil","extra":1},"payload":` + string(leanbePayloadJS) + `,"event":"idea.upVoted","signature":"` + sig + `"}`)
		if err := src.Verify(httptest.NewRequest(http.MethodPost, "/hooks/leanbe", nil), body); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		ev, err := normalize(src, body, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, leaked := ev.Data["extra"]; leaked || ev.Data["title"] != "Zoë’s idea – 東京 🎉" {
			t.Errorf("data = %v, want the signed payload alone", ev.Data)
		}
		swapped := []byte(`{"payload":` + string(leanbePayloadJS) + `,"payload":{"title":"evil"},"event":"idea.upVoted","signature":"` + sig + `"}`)
		if err := src.Verify(httptest.NewRequest(http.MethodPost, "/hooks/leanbe", nil), swapped); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("Verify with the unsigned payload last = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("normalized", func(t *testing.T) {
		ev, err := normalize(src, leanbeBody(leanbePayloadJS, sig), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Data["html"] != "<p>Tom & Jerry</p>" || ev.Data["big"] != 1.5e21 || ev.Event != "idea.upVoted" {
			t.Errorf("Normalize = %+v", ev)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLeanbeSignEditsOnlyTheSignature(t *testing.T) {
	cfg := Config{Name: "leanbe", Vendor: VendorLeanbe, Secret: leanbeSecret}
	want := hmacHex(sha256.New, []byte(leanbeSecret), leanbePayloadJS)
	tests := []struct {
		name, body, signed string
	}{
		{"rewrite", string(leanbeBody(leanbePayloadJS, "00ff")), string(leanbeBody(leanbePayloadJS, want))},
		{"append", `{"payload":` + string(leanbePayloadJS) + `,"event":"e"}`,
			`{"payload":` + string(leanbePayloadJS) + `,"event":"e","signature":"` + want + `"}`},
		{"append after whitespace", "{\"payload\": " + string(leanbePayloadJS) + "\n}\n",
			"{\"payload\": " + string(leanbePayloadJS) + "\n,\"signature\":\"" + want + "\"}\n"},
		{"duplicates and odd types", `{"signature":1,"payload":` + string(leanbePayloadJS) + `, "signature" : null }`,
			`{"signature":"` + want + `","payload":` + string(leanbePayloadJS) + `, "signature" : "` + want + `" }`},
	}
	src := mustNew(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSign(t, cfg, []byte(tt.body))
			if string(s.Body) != tt.signed {
				t.Fatalf("Sign body =\n%s\nwant\n%s", s.Body, tt.signed)
			}
			if err := src.Verify(request(s, nil), s.Body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"event":"e"}`, `{"payload":{}} x`, `{"payload":`} {
		if _, err := Sign(cfg, []byte(bad), testNow); !errors.Is(err, ErrMalformed) {
			t.Errorf("Sign(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestEnvelopeMalformed(t *testing.T) {
	common := []string{``, `not json`, `[1,2]`, `null`, `"string"`, `{"event":`, `{} {}`}
	perVendor := map[string][]string{
		VendorProductLift:    {`{"event":"vote.created","data":{}}`, `{"id":"a","data":{}}`, `{"id":5,"event":"vote.created"}`, `{"id":"a","event":""}`, `{"ID":"a","event":"vote.created"}`},
		VendorSleekplan:      {`{"data":{}}`, `{"action":null}`, `{"Action":"item.create"}`},
		VendorUserback:       {`{"type":"feedback"}`, `{"action":"create"}`, `{"type":1,"action":"create"}`},
		VendorLeanbe:         {`{"payload":{}}`, `{"event":"e"}`, `{"event":"e","payload":[1]}`, `{"event":"e","payload":"x"}`},
		KindStripe:           {`{"type":"invoice.paid"}`, `{"id":"evt_1"}`},
		KindStandardWebhooks: {`{"type":"x"}`}, // no webhook-id header
		KindHMAC:             nil,
		KindGitHub:           nil,
	}
	for _, f := range fixtures() {
		if _, seen := perVendor[f.cfg.Vendor]; !seen {
			continue
		}
		src := mustNew(t, f.cfg)
		cases := append(slices.Clone(common), perVendor[f.cfg.Vendor]...)
		delete(perVendor, f.cfg.Vendor)
		for _, body := range cases {
			t.Run(f.cfg.Vendor+"/"+body, func(t *testing.T) {
				if _, err := src.Envelope(http.Header{}, []byte(body)); !errors.Is(err, ErrMalformed) {
					t.Fatalf("Envelope = %v, want ErrMalformed", err)
				}
			})
		}
	}
}

func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:32]
}

// leanbeID is the id of a Leanbe delivery: a hash of the event name and
// the payload member's bytes, so that triggeredAt (unsigned, the time of the
// request) does not make a retry look new.
func leanbeID(event string) func([]byte) string {
	return func(b []byte) string {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			panic(err)
		}
		return bodyHash(append([]byte(event+"\x00"), top["payload"]...))
	}
}

func TestLeanbeRetryWithNewTriggeredAtIsSameDelivery(t *testing.T) {
	cfg := Config{Name: "leanbe", Vendor: "leanbe", Secret: "s3cret-leanbe"}
	src := mustNew(t, cfg)
	ids := map[string]bool{}
	for _, at := range []string{"2023-06-29T06:55:00.566Z", "2023-06-29T07:05:00.000Z"} {
		body := []byte(`{"payload":{"_id":"1","title":"T"},"event":"idea.created","triggeredAt":"` + at + `"}`)
		s := mustSign(t, cfg, body)
		env, err := src.Envelope(http.Header{}, s.Body)
		if err != nil {
			t.Fatal(err)
		}
		ids[env.ID] = true
	}
	if len(ids) != 1 {
		t.Fatalf("a retry with a new triggeredAt got a new id: %v", ids)
	}
}

func TestNormalize(t *testing.T) {
	type check struct {
		path []string
		want any
	}
	tests := map[string]struct {
		event  string
		id     func(body []byte) string
		time   time.Time
		data   []check
		others []check // paths from the payload root
	}{
		"sleekplan/item.create": {event: "item.create", id: bodyHash,
			time:   time.UnixMilli(1506985999999).UTC(),
			data:   []check{{[]string{"feedback_id"}, "3"}, {[]string{"scoring"}, "0.55"}, {[]string{"user", "admin_id"}, 0.0}},
			others: []check{{[]string{"product_id"}, 5456534244.0}}},
		"userback/feedback.create": {event: "feedback.create", id: bodyHash,
			time: time.Unix(1667263011, 0).UTC(),
			data: []check{{[]string{"id"}, 2007850.0}, {[]string{"email"}, "john@example.com"}, {[]string{"priority"}, "Urgent"}}},
		"productlift/vote.created": {event: "vote.created", id: func([]byte) string { return "vg3EGg2wcHgd8nMl" },
			time: time.Date(2022, 6, 1, 18, 17, 37, 0, time.UTC),
			data: []check{{[]string{"post", "id"}, 99.0}, {[]string{"vote", "voter", "name"}, "Rubenb"}, {[]string{"portal", "title"}, "Test Portal"}}},
		"productlift/post.created": {event: "post.created", id: func([]byte) string { return "pQ7rT2mKx9LwB4sZ" },
			time: time.Date(2022, 6, 1, 18, 10, 2, 0, time.UTC),
			data: []check{{[]string{"post", "id"}, 99.0}}},
		"productlift/with-key": {event: "vote.created", id: func([]byte) string { return "vg3EGg2wcHgd8nMl" },
			time: time.Date(2022, 6, 1, 18, 17, 37, 0, time.UTC)},
		"leanbe/customer.created": {event: "customer.created", id: leanbeID("customer.created"),
			time: time.Date(2023, 6, 29, 6, 56, 57, 472e6, time.UTC),
			data: []check{{[]string{"firstName"}, "John"}, {[]string{"country", "countryCode"}, "US"}, {[]string{"confirmed"}, false}}},
		"leanbe/idea.created": {event: "idea.created", id: leanbeID("idea.created"),
			time: time.Date(2023, 6, 29, 6, 55, 0, 566e6, time.UTC),
			data: []check{{[]string{"title"}, "Dummy Title"}, {[]string{"upvotes"}, 0.0}, {[]string{"product", "name"}, "Dummy Product"}}},
		"hmac": {event: "order.created", id: bodyHash,
			data: []check{{[]string{"id"}, 7.0}, {[]string{"total"}, 12.5}}},
		"github": {event: "issues", id: func([]byte) string { return "72d3162e-cc78-11e3-81ab-4c9367dc0958" },
			data: []check{{[]string{"action"}, "opened"}, {[]string{"issue", "number"}, 1347.0}}},
		"standard-webhooks": {event: "invoice.paid", id: func(b []byte) string { return "msg_" + bodyHash(b) },
			time: testNow,
			data: []check{{[]string{"id"}, "inv_1"}}},
		"stripe": {event: "invoice.paid", id: func([]byte) string { return "evt_1OqXy2" },
			time: testNow,
			data: []check{{[]string{"object", "amount_paid"}, 1200.0}}},
	}
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			want, ok := tests[f.name]
			if !ok {
				t.Fatalf("no expectations for fixture %s", f.name)
			}
			src := mustNew(t, f.cfg)
			s := mustSign(t, f.cfg, f.load(t))
			r := request(s, f.header)
			headers := Headers(r.Header)
			ev, err := normalize(src, s.Body, headers)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Source != f.cfg.Name || ev.Vendor != f.cfg.Vendor {
				t.Errorf("source/vendor = %q/%q", ev.Source, ev.Vendor)
			}
			if ev.Event != want.event {
				t.Errorf("event = %q, want %q", ev.Event, want.event)
			}
			if wid := want.id(s.Body); ev.ID != wid {
				t.Errorf("id = %q, want %q", ev.ID, wid)
			}
			if !ev.Time.Equal(want.time) {
				t.Errorf("time = %v, want %v", ev.Time, want.time)
			}
			if !ev.Received.IsZero() {
				t.Errorf("received = %v, want zero (the router sets it)", ev.Received)
			}
			for _, c := range want.data {
				if got := lookup(ev.Data, c.path); got != c.want {
					t.Errorf("data.%s = %#v, want %#v", strings.Join(c.path, "."), got, c.want)
				}
			}
			for _, c := range want.others {
				if got := lookup(ev.Payload, c.path); got != c.want {
					t.Errorf("payload.%s = %#v, want %#v", strings.Join(c.path, "."), got, c.want)
				}
			}
			if len(ev.Payload) == 0 {
				t.Error("payload is empty")
			}
			if ev.Headers["content-type"] != "application/json" || len(ev.Headers) != len(headers) {
				t.Errorf("headers = %v, want %v", ev.Headers, headers)
			}
			for name := range ev.Headers {
				if strings.Contains(name, "signature") {
					t.Errorf("header %s kept", name)
				}
			}
		})
	}
}

func lookup(m map[string]any, path []string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func TestNormalizeEdges(t *testing.T) {
	sleek := mustNew(t, Config{Name: "s", Vendor: VendorSleekplan, Key: sleekplanKey})
	pl := mustNew(t, Config{Name: "p", Vendor: VendorProductLift, Secret: plSecret})
	gh := mustNew(t, Config{Name: "g", Vendor: KindGitHub, Secret: githubSecret})
	tests := []struct {
		name     string
		src      Source
		body     string
		data     map[string]any
		zeroTime bool
	}{
		{"data array", sleek, `{"action":"a","data":[1,"x"],"timestamp":"12"}`, map[string]any{"value": []any{1.0, "x"}}, false},
		{"data string", sleek, `{"action":"a","data":"hi"}`, map[string]any{"value": "hi"}, true},
		{"data null", sleek, `{"action":"a","data":null}`, map[string]any{"value": nil}, true},
		{"no data", sleek, `{"action":"a"}`, map[string]any{}, true},
		{"bad timestamp", sleek, `{"action":"a","data":{},"timestamp":"soon"}`, map[string]any{}, true},
		{"bad creation_time", pl, `{"id":"i","event":"e","creation_time":"yesterday","data":{}}`, map[string]any{}, true},
		{"numeric creation_time", pl, `{"id":"i","event":"e","creation_time":1654107457,"data":{}}`, map[string]any{}, true},
		{"github without headers", gh, `{"zen":"Keep it logically awesome."}`, map[string]any{"zen": "Keep it logically awesome."}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := normalize(tt.src, []byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mustMarshal(t, ev.Data), mustMarshal(t, tt.data); !bytes.Equal(got, want) {
				t.Errorf("data = %s, want %s", got, want)
			}
			if ev.Time.IsZero() != tt.zeroTime {
				t.Errorf("time = %v, want zero: %v", ev.Time, tt.zeroTime)
			}
		})
	}
	ev, err := normalize(gh, []byte(`{"zen":"x"}`), nil)
	if err != nil || ev.Event != "webhook" || ev.ID != bodyHash([]byte(`{"zen":"x"}`)) {
		t.Errorf("github without headers = %+v, %v", ev, err)
	}
}

func TestGenericHMACEventName(t *testing.T) {
	src := mustNew(t, Config{Name: "g", Vendor: KindHMAC, Secret: hmacSecret, Signature: Signature{Header: "X-Sig"}})
	tests := map[string]string{
		`{"event":"a","type":"b","action":"c"}`: "a",
		`{"event":"","type":"b","action":"c"}`:  "b",
		`{"event":1,"action":"c"}`:              "c",
		`{"foo":"bar"}`:                         "webhook",
	}
	for body, want := range tests {
		t.Run(body, func(t *testing.T) {
			env, err := src.Envelope(nil, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if env.Event != want || env.ID != bodyHash([]byte(body)) {
				t.Errorf("Envelope = %+v, want event %q", env, want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown vendor", Config{Name: "x", Vendor: "canny", Secret: "s"}, "known: sleekplan, userback, productlift, leanbe, hmac, github, standard-webhooks, stripe"},
		{"empty vendor", Config{Name: "x"}, "unknown vendor"},
		{"sleekplan without key", Config{Name: "x", Vendor: VendorSleekplan}, "key is required"},
		{"userback without key", Config{Name: "x", Vendor: VendorUserback}, "key is required"},
		{"sleekplan with secret", Config{Name: "x", Vendor: VendorSleekplan, Key: "k", Secret: "s"}, "secret is not used"},
		{"userback with signature", Config{Name: "x", Vendor: VendorUserback, Key: "k", Signature: Signature{Header: "S"}}, "signature cannot be configured"},
		{"productlift without secret", Config{Name: "x", Vendor: VendorProductLift, Key: "k"}, "secret is required"},
		{"leanbe without secret", Config{Name: "x", Vendor: VendorLeanbe}, "secret is required"},
		{"hmac without secret", Config{Name: "x", Vendor: KindHMAC, Signature: Signature{Header: "S"}}, "secret is required"},
		{"github without secret", Config{Name: "x", Vendor: KindGitHub}, "secret is required"},
		{"standard-webhooks without secret", Config{Name: "x", Vendor: KindStandardWebhooks}, "secret is required"},
		{"stripe without secret", Config{Name: "x", Vendor: KindStripe}, "secret is required"},
		{"hmac without header", Config{Name: "x", Vendor: KindHMAC, Secret: "s"}, "header is required"},
		{"bad algorithm", Config{Name: "x", Vendor: VendorProductLift, Secret: "s", Signature: Signature{Algorithm: "md5"}}, `unknown algorithm "md5"`},
		{"bad encoding", Config{Name: "x", Vendor: KindHMAC, Secret: "s", Signature: Signature{Header: "S", Encoding: "base32"}}, `unknown encoding "base32"`},
		{"leanbe signature", Config{Name: "x", Vendor: VendorLeanbe, Secret: "s", Signature: Signature{Algorithm: "sha1"}}, "signature cannot be configured"},
		{"github signature", Config{Name: "x", Vendor: KindGitHub, Secret: "s", Signature: Signature{Prefix: "x"}}, "signature cannot be configured"},
		{"standard-webhooks secret not base64", Config{Name: "x", Vendor: KindStandardWebhooks, Secret: "whsec_not*base64"}, "base64"},
		{"negative tolerance", Config{Name: "x", Vendor: KindStripe, Secret: "s", Tolerance: -time.Second}, "negative tolerance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
			if _, err := Sign(tt.cfg, []byte(`{}`), testNow); err == nil {
				t.Error("Sign accepted an invalid config")
			}
			if s := tt.cfg.Secret.Reveal(); s != "" && strings.Contains(err.Error(), s) && len(s) > 1 {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
	if got := len(Vendors()); got != 8 {
		t.Errorf("Vendors() has %d entries, want 8", got)
	}
	seen := map[string]bool{}
	for _, f := range fixtures() {
		seen[f.cfg.Vendor] = true
	}
	for _, v := range Vendors() {
		if !seen[v] {
			t.Errorf("vendor %s has no fixture", v)
		}
	}
}

func TestKeyQuery(t *testing.T) {
	src := mustNew(t, Config{Name: "s", Vendor: VendorSleekplan, Key: "k&y=1 %"})
	body := []byte(`{"action":"a"}`)
	tests := []struct {
		query string
		ok    bool
	}{
		{"key=" + url.QueryEscape("k&y=1 %"), true},
		{"other=1&key=" + url.QueryEscape("k&y=1 %"), true},
		{"key=k&y=1%20%25", false},
		{"", false},
		{"key=", false},
		{"Key=" + url.QueryEscape("k&y=1 %"), false},
		{"key=%zz", false},
		{"key=" + url.QueryEscape("k&y=1 %") + ";x=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/hooks/s?"+tt.query, nil)
			err := src.Verify(r, body)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{
		"Content-Type":        {"application/json", "text/plain"},
		"User-Agent":          {"Userback-Webhook"},
		"X-Github-Event":      {"issues"},
		"Webhook-Id":          {"msg_1"},
		"Authorization":       {"Bearer t"},
		"Proxy-Authorization": {"Basic x"},
		"Cookie":              {"a=b"},
		"Set-Cookie":          {"a=b"},
		"X-Hub-Signature-256": {"sha256=00"},
		"Stripe-Signature":    {"t=1,v1=00"},
		"X-Api-Key":           {"k"},
		"X-Webhook-Secret":    {"s"},
		"X-Auth-User":         {"u"},
		"X-Access-Token":      {"t"},
		"X-Empty":             {},
	}
	want := map[string]string{
		"content-type":   "application/json",
		"user-agent":     "Userback-Webhook",
		"x-github-event": "issues",
		"webhook-id":     "msg_1",
	}
	got := Headers(h)
	if string(mustMarshal(t, got)) != string(mustMarshal(t, want)) {
		t.Errorf("Headers = %v, want %v", got, want)
	}
	// Names net/http would refuse are lower-cased as strings.ToLower does,
	// long ones too.
	long := "X-" + strings.Repeat("Long-", 30) + "Name"
	odd := http.Header{"X-Ünïcode": {"u"}, "X-Bad-\xff": {"b"}, long: {"l"}, "X-Ünïcode-Token": {"t"}}
	want = map[string]string{"x-ünïcode": "u", strings.ToLower("X-Bad-\xff"): "b", strings.ToLower(long): "l"}
	if got := Headers(odd); !maps.Equal(got, want) {
		t.Errorf("Headers = %q, want %q", got, want)
	}
	// Two spellings of one name: the canonical one wins, whatever the map order.
	for range 20 {
		if got := Headers(http.Header{"X-Foo": {"canonical"}, "x-foo": {"raw"}}); got["x-foo"] != "canonical" {
			t.Fatalf("Headers = %v", got)
		}
	}
}

func BenchmarkVerifyNormalize(b *testing.B) {
	benchFixtures(b, func(b *testing.B, src Source, s Signed, r *http.Request) {
		if err := src.Verify(r, s.Body); err != nil {
			b.Fatal(err)
		}
		env, err := src.Envelope(r.Header, s.Body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.Normalize(env, s.Body, Headers(r.Header)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkAckPath is what the ack path asks of a source for each request:
// Verify and Envelope, without Normalize (which runs after the 202).
func BenchmarkAckPath(b *testing.B) {
	benchFixtures(b, func(b *testing.B, src Source, s Signed, r *http.Request) {
		if err := src.Verify(r, s.Body); err != nil {
			b.Fatal(err)
		}
		if _, err := src.Envelope(r.Header, s.Body); err != nil {
			b.Fatal(err)
		}
	})
}

// normalizeBenchFixtures are the fixtures BenchmarkNormalize decodes: one
// of each kind, and one larger body of the usual shapes.
func normalizeBenchFixtures() []fixture {
	var out []fixture
	for _, f := range fixtures() {
		if strings.Contains(f.name, "with-key") || f.name == "productlift/post.created" || f.name == "leanbe/idea.created" {
			continue
		}
		out = append(out, f)
	}
	// A 64 KiB body: many records of strings (some escaped), numbers,
	// booleans and nulls.
	rec := `{"id":1234567,"name":"Ada Lovelace","email":"ada@example.com","score":12.75,"ratio":-0.003,` +
		`"big":1.5e21,"tags":["a","b\n","caf\u00e9"],"active":true,"deleted":false,"parent":null,` +
		`"note":"She wrote \"the first program\" \u2014 in 1843.","n":0}`
	big := `{"event":"bulk.export","data":{"items":[` + strings.Repeat(rec+",", 64<<10/len(rec)) + rec + `]}}`
	out = append(out, fixture{name: "hmac/64KiB", body: []byte(big),
		cfg: Config{Name: "shop", Vendor: KindHMAC, Secret: hmacSecret, Signature: Signature{Header: "X-Shop-Signature"}}})
	return out
}

// BenchmarkNormalize is the decode after the 202: Normalize alone, on a
// verified body.
func BenchmarkNormalize(b *testing.B) {
	for _, f := range normalizeBenchFixtures() {
		name, _, _ := strings.Cut(f.name, "/")
		if strings.HasSuffix(f.name, "64KiB") {
			name = "64KiB"
		}
		b.Run(name, func(b *testing.B) {
			src := mustNew(b, f.cfg)
			s := mustSign(b, f.cfg, f.load(b))
			r := request(s, f.header)
			env, err := src.Envelope(r.Header, s.Body)
			if err != nil {
				b.Fatal(err)
			}
			headers := Headers(r.Header)
			b.SetBytes(int64(len(s.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Normalize(env, s.Body, headers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnvelope is the envelope check alone, on a verified body.
func BenchmarkEnvelope(b *testing.B) {
	benchFixtures(b, func(b *testing.B, src Source, s Signed, r *http.Request) {
		if _, err := src.Envelope(r.Header, s.Body); err != nil {
			b.Fatal(err)
		}
	})
}

// benchFixtures runs step in a loop on one signed fixture of each kind.
func benchFixtures(b *testing.B, step func(b *testing.B, src Source, s Signed, r *http.Request)) {
	for _, f := range fixtures() {
		if strings.Contains(f.name, "with-key") || f.name == "productlift/post.created" || f.name == "leanbe/idea.created" {
			continue
		}
		name, _, _ := strings.Cut(f.name, "/")
		b.Run(name, func(b *testing.B) {
			src := mustNew(b, f.cfg)
			s := mustSign(b, f.cfg, f.load(b))
			r := request(s, f.header)
			b.SetBytes(int64(len(s.Body)))
			b.ReportAllocs()
			for b.Loop() {
				step(b, src, s, r)
			}
		})
	}
}
