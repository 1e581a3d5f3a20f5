package sources

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// formerDecode is the decoding decodeTop replaced, kept as its oracle:
// the former envelope check (formerDecodeTop), then json.Unmarshal into a
// map[string]any.
func formerDecode(body []byte) (map[string]any, error) {
	if _, err := formerDecodeTop(body); err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// sameValue reports whether a and b are the same decoded JSON: what
// reflect.DeepEqual says, and stricter on what it lets pass — a float64's
// bits (-0 is not 0) and an empty slice's being nil or not.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !sameValue(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	default: // string, bool, nil
		return a == b
	}
}

// agreeDecode fails t unless decodeTop and the oracle accept and refuse
// body alike; where they accept, the values are the same, they stay the
// same when body's buffer is overwritten (no string aliases it), and the
// members are scanTop's. It returns what decodeTop returned.
func agreeDecode(t *testing.T, p *decoders, body []byte) map[string]any {
	t.Helper()
	buf := bytes.Clone(body)
	got, top, ok := p.decodeTop(buf)
	want, wantErr := formerDecode(body)
	if ok != (wantErr == nil) {
		t.Fatalf("decodeTop ok = %v, former err = %v\nbody %q", ok, wantErr, body)
	}
	if !ok {
		if got != nil || !reflect.DeepEqual(top, members{}) {
			t.Fatalf("decodeTop refused body %q but returned %v, %v", body, got, top)
		}
		// Normalize returns refusal's error: the former one.
		if err := refusal(body); err.Error() != wantErr.Error() {
			t.Fatalf("refusal = %q, former %q\nbody %q", err, wantErr, body)
		}
		return nil
	}
	wantTop, err := scanTop(buf)
	if err != nil {
		t.Fatalf("scanTop refused a body decodeTop accepted: %v\nbody %q", err, body)
	}
	for m := range numMembers {
		raw, _ := top.get(m)
		wantRaw, _ := wantTop.get(m)
		if !bytes.Equal(raw, wantRaw) || len(raw) > 0 && !aliases(buf, raw) {
			t.Fatalf("member %s = %q, scanTop %q\nbody %q", m, raw, wantRaw, body)
		}
	}
	for i := range buf {
		buf[i] = '#'
	}
	if !reflect.DeepEqual(got, want) || !sameValue(got, want) {
		t.Fatalf("decodeTop = %#v\nencoding/json %#v\nbody %q", got, want, body)
	}
	return got
}

// decodeCases are bodies for decodeTop beyond those TestScanTopAgreesWith-
// EncodingJSON holds scanTop to; want, where set, is the value spelled out.
var decodeCases = []struct {
	name string
	body string
	want map[string]any
}{
	{"empty object", `{}`, map[string]any{}},
	{"all kinds", ` {"s":"x","n":1.5,"t":true,"f":false,"z":null,"a":[],"o":{},"e":""} `,
		map[string]any{"s": "x", "n": 1.5, "t": true, "f": false, "z": nil, "a": []any{}, "o": map[string]any{}, "e": ""}},
	{"nested", `{"a":[1,[2,[3,{"b":[{}]}]],{"c":{"d":"e"}}]}`,
		map[string]any{"a": []any{1.0, []any{2.0, []any{3.0, map[string]any{"b": []any{map[string]any{}}}}}, map[string]any{"c": map[string]any{"d": "e"}}}}},
	{"duplicates: the last wins whole", `{"a":{"x":1},"b":1,"a":{"y":2},"b":[1],"b":"s"}`,
		map[string]any{"a": map[string]any{"y": 2.0}, "b": "s"}},
	{"duplicate nested names", `{"o":{"k":1,"k":2,"k":[3]}}`, map[string]any{"o": map[string]any{"k": []any{3.0}}}},
	{"escapes", `{"a":"q\"b\\s\/b\bf\fn\nr\rt\t","\u0041\u00e9\u2028":"\u0000\u001f"}`,
		map[string]any{"a": "q\"b\\s/b\bf\fn\nr\rt\t", "A\u00e9\u2028": "\x00\x1f"}},
	{"surrogate pair", `{"a":"\ud83d\ude80","b":"x\uD83D\uDE80y"}`, map[string]any{"a": "🚀", "b": "x🚀y"}},
	{"lone surrogates", `{"a":"\ud800","b":"\udc00\ud800x","c":"\ud800\u0041","d":"\ud800\ud800\udc00","e":"\ud800\n"}`,
		map[string]any{"a": "\ufffd", "b": "\ufffd\ufffdx", "c": "\ufffdA", "d": "\ufffd\U00010000", "e": "\ufffd\n"}},
	{"surrogate then U+FFFD escape", `{"a":"\ud800\ufffd"}`, map[string]any{"a": "\ufffd\ufffd"}},
	{"invalid UTF-8", "{\"a\":\"x\xffy\xc3\",\"\xed\xa0\x80\":\"\xf4\x90\x80\x80\"}",
		map[string]any{"a": "x\ufffdy\ufffd", "\ufffd\ufffd\ufffd": "\ufffd\ufffd\ufffd\ufffd"}},
	{"invalid UTF-8 with an escape", "{\"a\":\"\\n\xff\xfe é\"}", map[string]any{"a": "\n\ufffd\ufffd é"}},
	{"valid UTF-8", `{"héllo":"✓ 🚀 ü"}`, map[string]any{"héllo": "✓ 🚀 ü"}},
	{"strings outgrow the body", "{\"a\":\"kept\",\"b\":\"" + strings.Repeat("\xff", 200) + "\",\"c\":\"after\"}",
		map[string]any{"a": "kept", "b": strings.Repeat("\ufffd", 200), "c": "after"}},
	{"integers", `{"a":[0,-0,1,-1,42,123456789012345,-999999999999999,1234567890123456,9007199254740993,-9007199254740995,` +
		`1234567890123456789,9223372036854775807,9223372036854776833,9999999999999999999,18446744073709551617]}`,
		map[string]any{"a": []any{0.0, math.Copysign(0, -1), 1.0, -1.0, 42.0, 123456789012345.0, -999999999999999.0,
			1234567890123456.0, 9007199254740992.0, -9007199254740996.0,
			1234567890123456789.0, 9223372036854775807.0, 9223372036854777856.0, 1e19, 18446744073709551616.0}}},
	{"fractions", `{"a":[0.1,-0.0,0.5,12.75,-0.003,3.14159265358979,0.000000000000001,1.00000000000000011,1.0000000000000002]}`,
		map[string]any{"a": []any{0.1, math.Copysign(0, -1), 0.5, 12.75, -0.003, 3.14159265358979, 1e-15, 1.0, 1.0000000000000002}}},
	{"16 digits and a point", `{"a":[988161340340747.5,9273.437427453111,-982649268.3309335,9007199254740993.1]}`,
		map[string]any{"a": []any{988161340340747.5, 9273.437427453111, -982649268.3309335, 9007199254740993.1}}},
	{"exponents", `{"a":[1e0,1E2,-2.5e-3,1e22,1e23,4.9e-324,1e-400,1.7976931348623157e308,0e500]}`,
		map[string]any{"a": []any{1.0, 100.0, -0.0025, 1e22, 1e23, 5e-324, 0.0, math.MaxFloat64, 0.0}}},
	{"long numbers", `{"a":[` + strings.Repeat("1", 300) + `,0.` + strings.Repeat("3", 400) + `]}`, nil},
	{"number out of range", `{"a":1.8e308}`, nil},
	{"64 deep", `{"a":` + nest(63, false, `"x"`) + `}`, nil},
	{"65 deep", `{"a":` + nest(64, false, `"x"`) + `}`, nil},
	{"65 deep objects", nest(65, true, "1"), nil},
	{"many members", `{` + strings.Repeat(`"k":1,`, 5000) + `"last":[` + strings.Repeat(`"v",`, 5000) + `0]}`, nil},
	{"members", `{"id":"a","\u0069d":"b","event":"e","payload":{"id":1},"signature":"s","type":5,"action":null}`, nil},
	{"refused after strings", `{"a":"x","b":[1,2,{"c":"d"}],"e":tru}`, nil},
	{"refused inside", `{"a":[1,2,{"c":"d",}]}`, nil},
	{"not an object", `["a"]`, nil},
	{"null", `null`, nil},
	{"trailing", `{"a":"b"}x`, nil},
}

func TestDecodeTop(t *testing.T) {
	var p decoders // one pool throughout: a reused decoder must not leak one body into another
	type kept struct {
		name string
		body string
		got  map[string]any
	}
	var all []kept
	check := func(name, body string, want map[string]any) {
		t.Run(name, func(t *testing.T) {
			got := agreeDecode(t, &p, []byte(body))
			if want != nil && !sameValue(got, want) {
				t.Fatalf("decodeTop = %#v, want %#v", got, want)
			}
			all = append(all, kept{name, body, got})
		})
	}
	for _, tc := range decodeCases {
		check(tc.name, tc.body, tc.want)
	}
	for _, f := range fixtures() {
		body := f.load(t)
		check(f.name, string(body), nil)
		for i := range body {
			check(f.name+"/prefix", string(body[:i]), nil)
		}
	}
	// What each call returned is intact after all the others.
	for _, k := range all {
		want, _ := formerDecode([]byte(k.body))
		if !sameValue(k.got, want) {
			t.Errorf("%s: the value decoded first changed later: %#v", k.name, k.got)
		}
	}
}

// TestDecoderLetsGo: between calls a decoder holds nothing of the last
// body, decoded or refused halfway.
func TestDecoderLetsGo(t *testing.T) {
	for _, body := range []string{
		`{"a":[1,"x",{"b":[true,"y"]}],"c":"z"}`,
		`{"a":[1,"x",{"b":[true,"y",tru`,
		`{"a":{"b":{"c":"x","d":[1,2,3,`,
	} {
		d := &decoder{}
		d.decodeTop([]byte(body))
		for _, v := range d.vals[:cap(d.vals)] {
			if v != nil {
				t.Fatalf("%s: a value stays on the stack: %#v", body, v)
			}
		}
		for _, k := range d.keys[:cap(d.keys)] {
			if k != "" {
				t.Fatalf("%s: a name stays on the stack: %q", body, k)
			}
		}
		if d.b != nil || d.strs.Cap() != 0 || !reflect.DeepEqual(d.top, members{}) || len(d.vals) != 0 || len(d.keys) != 0 {
			t.Fatalf("%s: the decoder keeps state: %+v", body, d)
		}
	}
}

// FuzzDecodeTop holds decodeTop to encoding/json on arbitrary bodies: the
// same bodies accepted (and refused with the former error), the same
// values, scanTop's members, no string aliasing the body. One pool serves
// every input, as in a source.
func FuzzDecodeTop(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.load(f))
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.body))
	}
	var p decoders
	f.Fuzz(func(t *testing.T, body []byte) {
		agreeDecode(t, &p, body)
	})
}

// TestDecodeTopAllocates: decoding allocates what it returns and the one
// string that holds all the body's strings, nothing per member or element
// besides: a box for each non-empty string value and each non-zero number
// (encoding/json's conversion to any; one more for the text of a number
// longer than 32 bytes), a slice and its box for each non-empty array, at
// most three allocations for each object's map (members of duplicate
// names, dropped, count too).
func TestDecodeTopAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop decoders")
	}
	// budget walks body's tokens.
	budget := func(body []byte) int {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		n := 1 // the strings
		strs := 0
		type open struct{ object, key bool } // key: the next string is a name
		var stack []open
		value := func() { // a value ended: a name comes next in an object
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].key = true
			}
		}
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch tok := tok.(type) {
			case json.Delim:
				switch tok {
				case '{':
					n += 3
					stack = append(stack, open{object: true, key: true})
				case '[':
					n += 2
					stack = append(stack, open{})
				default:
					stack = stack[:len(stack)-1]
					value()
				}
			case string:
				strs += len(tok)
				if len(stack) > 0 && stack[len(stack)-1].key {
					stack[len(stack)-1].key = false
					continue
				}
				if tok != "" {
					n++
				}
				value()
			case json.Number:
				if f, _ := tok.Float64(); f != 0 {
					n++
				}
				if len(tok) > 32 {
					n++
				}
				value()
			default:
				value()
			}
		}
		if strs > len(body) {
			n += 2 // invalid UTF-8 grew into U+FFFD: the string outgrew its first space
		}
		return n
	}
	bodies := map[string][]byte{}
	for _, tc := range decodeCases {
		bodies[tc.name] = []byte(tc.body)
	}
	for _, fx := range fixtures() {
		bodies[fx.name] = fx.load(t)
	}
	var p decoders
	for name, body := range bodies {
		if _, err := formerDecode(body); err != nil || len(body) > 8<<10 {
			continue // refused; or big enough for maps of several tables and stacks the pool drops
		}
		t.Run(name, func(t *testing.T) {
			max := float64(budget(body))
			n := testing.AllocsPerRun(50, func() { _, _, _ = p.decodeTop(body) })
			if n > max {
				t.Fatalf("decodeTop allocates %v times, more than %v", n, max)
			}
		})
	}
}

// normalizeBenchBodies are the bodies BenchmarkNormalize decodes: the
// fixtures, and one larger body of the usual shapes.
func normalizeBenchFixtures(b *testing.B) []fixture {
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
	for _, f := range normalizeBenchFixtures(b) {
		name, _, _ := strings.Cut(f.name, "/")
		if strings.HasSuffix(f.name, "64KiB") {
			name = "64KiB"
		}
		b.Run(name, func(b *testing.B) {
			src := mustNew(b, f.cfg)
			s := mustSign(b, f.cfg, f.load(b))
			headers := Headers(request(s, f.header).Header)
			b.SetBytes(int64(len(s.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Normalize(s.Body, headers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeTop compares decodeTop with what it replaced, encoding/json
// into a map[string]any after the scanTop pass, in the same run.
func BenchmarkDecodeTop(b *testing.B) {
	for _, f := range normalizeBenchFixtures(b) {
		body := f.load(b)
		b.Run(f.name+"/decodeTop", func(b *testing.B) {
			var p decoders
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := p.decodeTop(body); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(f.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scanTop(body); err != nil {
					b.Fatal(err)
				}
				var v map[string]any
				if err := json.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
