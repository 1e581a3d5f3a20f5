package sources

import (
	"errors"
	"maps"
	"math"
	"net/http"
	"strings"
	"testing"
)

// nest wraps inner in n arrays (or objects when obj), alternating nothing.
func nest(n int, obj bool, inner string) string {
	open, close := "[", "]"
	if obj {
		open, close = `{"a":`, "}"
	}
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

// TestEnvelopeDepth: every vendor's ack-path check refuses a body nested
// more than MaxDepth levels and accepts one nested exactly MaxDepth levels.
func TestEnvelopeDepth(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			base := string(f.load(t))
			// Replace the body's first member value's container: add one
			// member holding the nested value. The top-level object is
			// level 1, so the member nests n-1 more.
			deepen := func(body string, n int) []byte {
				i := strings.Index(body, "{")
				return []byte(body[:i+1] + `"x_deep":` + nest(n-1, false, "0") + "," + body[i+1:])
			}
			// sign signs the deepened body; Leanbe signs only its payload
			// member (and Sign parses the body), so there the signed body
			// is deepened afterwards, outside the payload.
			sign := func(n int) (Signed, error) {
				if f.cfg.Vendor != VendorLeanbe {
					return Sign(f.cfg, deepen(base, n), testNow)
				}
				s, err := Sign(f.cfg, []byte(base), testNow)
				s.Body = deepen(string(s.Body), n)
				return s, err
			}
			for _, tc := range []struct {
				depth int
				ok    bool
			}{{MaxDepth, true}, {MaxDepth + 1, false}} {
				s, err := New(f.cfg, clock)
				if err != nil {
					t.Fatal(err)
				}
				signedReq, err := sign(tc.depth)
				if err != nil {
					t.Fatal(err)
				}
				req := request(signedReq, f.header)
				verr := s.Verify(req, signedReq.Body)
				env, eerr := s.Envelope(req.Header, signedReq.Body)
				if tc.ok {
					if verr != nil || eerr != nil {
						t.Fatalf("depth %d: Verify = %v, Envelope = %v; want both nil", tc.depth, verr, eerr)
					}
					if _, err := s.Normalize(env, signedReq.Body, Headers(req.Header)); err != nil {
						t.Fatalf("depth %d: Normalize = %v", tc.depth, err)
					}
					continue
				}
				if verr != nil && !errors.Is(verr, ErrMalformed) {
					t.Fatalf("depth %d: Verify = %v, want nil or ErrMalformed", tc.depth, verr)
				}
				if !errors.Is(eerr, ErrMalformed) {
					t.Fatalf("depth %d: Envelope = %v, want ErrMalformed", tc.depth, eerr)
				}
			}
		})
	}
}

// TestBodies: what a body may be. Every source reads its envelope with the
// same reader, so the generic hmac kind, which requires no member, stands
// for all: a body it refuses is a 400 for every source.
func TestBodies(t *testing.T) {
	src := mustNew(t, Config{Name: "g", Vendor: KindHMAC, Secret: hmacSecret, Signature: Signature{Header: "X-Sig"}})
	deep := func(n int) string { return `{"a":` + nest(n-1, false, "0") + `}` }
	tests := []struct {
		name string
		body string
		want string // "": accepted; else a part of the error
	}{
		{"empty object", `{}`, ""},
		{"spaces", " \t{ \"a\" : [ 1 , 2 ] }\r\n", ""},
		{"a name twice", `{"a":1,"a":{"b":2}}`, ""},
		{"a name twice in a nested object", `{"o":{"k":{"x":1},"k":{"y":2}}}`, ""},
		{"all kinds", `{"s":"x","n":-1.5e-3,"t":true,"f":false,"z":null,"a":[],"o":{}}`, ""},
		{"invalid UTF-8 in a string", "{\"a\":\"x\xffy\"}", ""},
		{"lone surrogate", `{"a":"\ud800"}`, ""},
		{"64 levels", deep(64), ""},
		{"64 levels of objects", nest(64, true, "1"), ""},
		{"siblings do not add up", `{"a":` + nest(60, false, "1") + `,"b":` + nest(60, false, "2") + `}`, ""},
		{"brackets in a string", `{"a":"` + strings.Repeat("[{", 100) + `"}`, ""},
		{"largest float64", `{"a":1.7976931348623157e308}`, ""},
		{"tiny number", `{"a":1e-400}`, ""},
		{"300 digits", `{"a":` + strings.Repeat("9", 300) + `}`, ""},
		{"long fraction", `{"a":0.` + strings.Repeat("3", 400) + `}`, ""},

		{"empty", ``, "not a JSON object"},
		{"spaces only", " \n", "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"BOM", "\xef\xbb\xbf{}", "not a JSON object"},
		{"65 levels", deep(65), "nested more than 64 levels deep at offset 68"},
		{"65 levels of objects", nest(65, true, "1"), "nested more than 64 levels deep at offset 320"},
		{"very deep", strings.Repeat("[", 100000), "not a JSON object"},
		{"very deep objects", strings.Repeat(`{"a":`, 100000), "nested more than 64 levels deep"},
		{"number over float64", `{"a":1e309}`, "number 1e309 out of range at offset 5"},
		{"negative number over float64", `{"id":"a","b":-2E400}`, "out of range at offset 14"},
		{"400 digits", `{"a":` + strings.Repeat("9", 400) + `}`, "out of range at offset 5"},
		{"cut short", `{"event":`, "unexpected EOF within \"/event\" after offset 9"},
		{"unclosed string", `{"a":"x`, "unexpected EOF"},
		{"trailing comma", `{"a":[1,]}`, "at start of value within \"/a\""},
		{"missing comma", `{"a":1 "b":2}`, "invalid character '\"' after object value (expecting ',' or '}') after offset 7"},
		{"bad literal", `{"a":tru}`, "invalid character '}' in literal true"},
		{"leading zero", `{"a":01}`, "invalid character '1' after object value"},
		{"unquoted name", `{a:1}`, "invalid character 'a'"},
		{"control character in a string", "{\"a\":\"x\ny\"}", "invalid character '\\n' in string"},
		{"bad escape", `{"a":"\x"}`, "invalid escape sequence"},
		{"mismatched close", `{"a":[1}`, "invalid character '}'"},
		{"two objects", `{} {}`, "data after the object at offset 3"},
		{"trailing text", `{"a":1} x`, "invalid character 'x'"},
		{"a deep value after a syntax error", `{"a":x,"b":` + nest(70, false, "0") + `}`, "invalid character 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := src.Envelope(nil, []byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Envelope = %v, want it accepted", err)
				}
				// What the ack path accepts, Normalize decodes after the 202.
				if _, err := src.Normalize(env, []byte(tt.body), nil); err != nil {
					t.Fatalf("Normalize = %v of a body Envelope accepted", err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Envelope = %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
}

// TestEnvelopeMembers: the members a source reads are the top-level ones,
// matched by their exact name once unescaped, the last of a name given
// twice winning; their string values are unescaped.
func TestEnvelopeMembers(t *testing.T) {
	src := mustNew(t, Config{Name: "p", Vendor: VendorProductLift, Secret: plSecret})
	tests := []struct {
		name, body string
		want       Envelope // zero: refused
	}{
		{"plain", `{"id":"a","event":"e"}`, Envelope{ID: "a", Event: "e"}},
		{"escaped names", `{"\u0069d":"a","ev\u0065nt":"e"}`, Envelope{ID: "a", Event: "e"}},
		{"escaped values", `{"id":"a\"b\\c\/d\n\u00e9","event":"\ud83d\ude80"}`, Envelope{ID: "a\"b\\c/d\né", Event: "🚀"}},
		{"invalid UTF-8 in a value", "{\"id\":\"a\xffb\",\"event\":\"e\"}", Envelope{ID: "a\ufffdb", Event: "e"}},
		{"the last wins", `{"id":"a","id":"b","event":1,"event":"e"}`, Envelope{ID: "b", Event: "e"}},
		{"spaces around", "{ \"id\" :\t\"a\" , \"event\"\n:\"e\" }", Envelope{ID: "a", Event: "e"}},
		{"nested names do not count", `{"data":{"id":"x","event":"y"}}`, Envelope{}},
		{"case matters", `{"ID":"a","Event":"e"}`, Envelope{}},
		{"a name with an escape that is not the member", `{"id\u0000":"a","event":"e"}`, Envelope{}},
		{"the last is not a string", `{"id":"a","id":5,"event":"e"}`, Envelope{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := src.Envelope(http.Header{}, []byte(tt.body))
			if tt.want == (Envelope{}) {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Envelope = %+v, %v; want ErrMalformed", env, err)
				}
				return
			}
			if err != nil || env != tt.want {
				t.Fatalf("Envelope = %+v, %v; want %+v", env, err, tt.want)
			}
		})
	}
}

// TestNormalizeValues: the payload is what encoding/json makes of the
// body: numbers float64, strings unescaped, invalid UTF-8 made U+FFFD, the
// last of a name given twice winning whole. json v2 decodes the usual body
// and encoding/json the others; both must give these values.
func TestNormalizeValues(t *testing.T) {
	src := mustNew(t, Config{Name: "g", Vendor: KindHMAC, Secret: hmacSecret, Signature: Signature{Header: "X-Sig"}})
	const values = `"n":[0,-0,42,12.75,1e21,9007199254740993,1e-400],"s":"a\u00e9\ud83d\ude80\n"`
	want := map[string]any{
		"data": map[string]any{"kept": true},
		"n":    []any{0.0, math.Copysign(0, -1), 42.0, 12.75, 1e21, 9007199254740992.0, 0.0},
		"s":    "aé🚀\n",
		"o":    map[string]any{"k": map[string]any{"y": 2.0}},
	}
	tests := []struct {
		name, body string
		bad        bool // the body has "bad":"x\xffy"
	}{
		{"unique names, valid UTF-8", `{` + values + `,"o":{"k":{"y":2}},"data":{"kept":true}}`, false},
		{"names given twice", `{"data":{"gone":1},` + values + `,"o":{"k":{"x":1},"k":{"y":2}},"data":{"kept":true}}`, false},
		{"invalid UTF-8", `{` + values + `,"o":{"k":{"y":2}},"bad":"x` + "\xff" + `y","data":{"kept":true}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := normalize(src, []byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			w := maps.Clone(want)
			if tt.bad {
				w["bad"] = "x\ufffdy"
			}
			if got, w := mustMarshal(t, ev.Payload), mustMarshal(t, w); string(got) != string(w) {
				t.Errorf("payload = %s, want %s", got, w)
			}
			if n := ev.Payload["n"].([]any)[1].(float64); !math.Signbit(n) {
				t.Errorf("-0 decoded as %v", n)
			}
			if got := mustMarshal(t, ev.Data); string(got) != `{"kept":true}` {
				t.Errorf("data = %s, want the last data member whole", got)
			}
		})
	}
}
