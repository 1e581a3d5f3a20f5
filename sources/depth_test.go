package sources

import (
	"errors"
	"os"
	"path/filepath"
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

func TestCheckDepth(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"empty", ``, true},
		{"flat object", `{"a":1}`, true},
		{"64 arrays", nest(64, false, "1"), true},
		{"65 arrays", nest(65, false, "1"), false},
		{"64 objects", nest(64, true, "1"), true},
		{"65 objects", nest(65, true, "1"), false},
		{"64 mixed", `{"a":` + nest(62, false, `{"b":2}`) + `}`, true},
		{"65 mixed", `{"a":` + nest(63, false, `{"b":2}`) + `}`, false},
		{"siblings do not add up", `{"a":` + nest(60, false, "1") + `,"b":` + nest(60, false, "2") + `}`, true},
		{"brackets in a string do not count", `{"a":"` + strings.Repeat("[{", 200) + `"}`, true},
		{"escaped quote does not end the string", `{"a":"\"` + strings.Repeat("[", 100) + `"}`, true},
		{"escaped backslash ends the escape", `{"a":"\\"` + `,"b":` + nest(65, false, "1") + `}`, false},
		{"escaped backslash then quote", `{"a":"x\\\\\"[[[["}`, true},
		{"key with brackets", `{"[[[[":` + nest(63, false, "1") + `}`, true},
		{"deep after a string with brackets", `{"a":"]]]]]]]]","b":` + nest(64, false, "1") + `}`, false},
		{"unicode escape", `{"a":"\u005b\u005b"}`, true},
		{"unbalanced close cannot hide depth", `{"a":]]]]]` + strings.Repeat("[", 70) + `}`, false},
		{"unterminated string", `{"a":"[[[[`, true}, // not deep; the decoder refuses it
		{"very deep", strings.Repeat("[", 100000), false},
		{"ordinary numbers", `{"a":[1,-2.5,3e10,4E-3,1e308,-1.7e308,123456789012345678901234567890]}`, true},
		{"number over float64", `{"a":1e309}`, false},
		{"negative number over float64", `{"a":-2E400}`, false},
		{"400 digits", `{"a":` + strings.Repeat("9", 400) + `}`, false},
		{"number tiny", `{"a":1e-400}`, true},
		{"number-like text in a string", `{"a":"1e999"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDepth([]byte(tc.body), MaxDepth)
			if tc.ok && err != nil {
				t.Fatalf("checkDepth = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("checkDepth = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestCheckDepthAllocates(t *testing.T) {
	body := []byte(`{"a":"` + strings.Repeat(`[\"{`, 100) + `",` + `"b":` + nest(63, false, "1") + `,"c":[1.5e300,-2E-300,12345]}`)
	if n := testing.AllocsPerRun(100, func() { _ = checkDepth(body, MaxDepth) }); n != 0 {
		t.Fatalf("checkDepth allocates %v times per call", n)
	}
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
				_, eerr := s.Envelope(req.Header, signedReq.Body)
				if tc.ok {
					if verr != nil || eerr != nil {
						t.Fatalf("depth %d: Verify = %v, Envelope = %v; want both nil", tc.depth, verr, eerr)
					}
					if _, err := s.Normalize(signedReq.Body, Headers(req.Header)); err != nil {
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
				if _, err := s.Normalize(signedReq.Body, Headers(req.Header)); !errors.Is(err, ErrMalformed) {
					t.Fatalf("depth %d: Normalize = %v, want ErrMalformed", tc.depth, err)
				}
			}
		})
	}
}

func BenchmarkCheckDepth(b *testing.B) {
	example, err := os.ReadFile(filepath.Join("..", "examples", "productlift", "vote.created.json"))
	if err != nil {
		b.Fatal(err)
	}
	bodies := []struct {
		name string
		body []byte
	}{
		{"example", example},
		{"1MiB strings", []byte(`{"a":"` + strings.Repeat(`x\"[{`, (1<<20)/5) + `"}`)},
		{"1MiB nested 64", []byte(`{"a":[` + strings.Repeat(nest(62, false, "1")+",", (1<<20)/130) + `1]}`)},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkDepth(bb.body, MaxDepth); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
