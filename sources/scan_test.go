package sources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// formerDecodeTop is the envelope check scanTop replaced, kept as the
// oracle it must agree with: checkDepth, then encoding/json decoding the
// top level into raw members.
func formerDecodeTop(body []byte) (map[string]json.RawMessage, error) {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	if i == len(body) || body[i] != '{' {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if err := checkDepth(body[i:], MaxDepth); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return top, nil
}

// formerOptString is the former optString over the oracle's map.
func formerOptString(top map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := top[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// agreeWithFormer fails t unless scanTop and the oracle accept and refuse
// body alike, with the same error, the same raw member values (slices of
// body) and the same decoded strings.
func agreeWithFormer(t *testing.T, body []byte) {
	t.Helper()
	top, err := scanTop(body)
	want, wantErr := formerDecodeTop(body)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("scanTop err = %v, former = %v\nbody %q", err, wantErr, body)
	}
	if err != nil {
		if err.Error() != wantErr.Error() {
			t.Fatalf("scanTop err = %q, former = %q\nbody %q", err, wantErr, body)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("scanTop accepted a body json.Valid refuses: %q", body)
	}
	for m := range numMembers {
		raw, ok := top.get(m)
		wantRaw, wantOK := want[m.String()]
		if ok != wantOK || !bytes.Equal(raw, wantRaw) {
			t.Fatalf("member %s = %q (%v), former %q (%v)\nbody %q", m, raw, ok, wantRaw, wantOK, body)
		}
		if ok && !aliases(body, raw) {
			t.Fatalf("member %s = %q is not a slice of the body", m, raw)
		}
		s, ok := optString(top, m)
		wantS, wantOK := formerOptString(want, m.String())
		if s != wantS || ok != wantOK {
			t.Fatalf("optString(%s) = %q, %v; former %q, %v\nbody %q", m, s, ok, wantS, wantOK, body)
		}
	}
}

// aliases reports whether sub is a non-empty slice of b's memory (the
// same backing array, so the same last byte of capacity).
func aliases(b, sub []byte) bool {
	if len(sub) == 0 || cap(b) == 0 {
		return false
	}
	return &sub[:cap(sub)][cap(sub)-1] == &b[:cap(b)][cap(b)-1]
}

func TestScanTopAgreesWithEncodingJSON(t *testing.T) {
	deep := func(n int) string { return nest(n, false, "0") }
	tests := []struct {
		name string
		body string
	}{
		{"empty", ``},
		{"spaces only", " \t\r\n"},
		{"not an object", `[1]`},
		{"string", `"x"`},
		{"null", `null`},
		{"empty object", `{}`},
		{"empty object, spaces", " \t{ \n}\r\n"},
		{"members", `{"id":"a","event":"vote.created","data":{"x":[1,2,{"id":"nested"}]}}`},
		{"nested names do not count", `{"data":{"id":"x","event":"y"},"payload":[{"signature":"z"}]}`},
		{"spaces everywhere", " { \"id\" : \"a\" , \"event\"\t:\n\"e\" , \"data\" : { \"a\" : [ 1 , 2 ] } } "},
		{"duplicates: last wins", `{"id":"a","id":"b","event":1,"event":"e"}`},
		{"duplicate after nested", `{"payload":{"a":1},"x":2,"payload":[3]}`},
		{"escaped names", `{"\u0069d":"a","ev\u0065nt":"e","\u0074\u0079\u0070\u0065":"t","act\/ion":"x"}`},
		{"escape that is not the name", `{"i\u0064\u0000":"a","\u00e9vent":"e","id\n":"b"}`},
		{"case matters", `{"ID":"a","Event":"e","TYPE":"t"}`},
		{"escaped values", `{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\u2028","event":"\ud83d\ude80"}`},
		{"lone surrogate", `{"id":"\ud800","event":"\udc00x"}`},
		{"invalid utf-8 value", "{\"id\":\"a\xffb\",\"event\":\"\xc3\"}"},
		{"invalid utf-8 name", "{\"i\xffd\":\"a\",\"event\":\"e\"}"},
		{"valid utf-8", `{"id":"héllo ✓ 🚀","event":"ü"}`},
		{"empty string", `{"id":"","event":""}`},
		{"non-string members", `{"id":5,"event":null,"type":true,"action":false,"payload":{},"signature":[]}`},
		{"numbers", `{"a":[0,-0,1,-1,10,1.5,-0.25,1e5,1E+5,1e-5,-1.5e300,1.7976931348623157e308,1e-400]}`},
		{"number over float64", `{"a":1e309}`},
		{"negative number over float64", `{"id":"a","b":-2E400}`},
		{"long number", `{"a":` + strings.Repeat("9", 400) + `}`},
		{"long number, in range", `{"a":` + strings.Repeat("9", 300) + `}`},
		{"long fraction", `{"a":0.` + strings.Repeat("9", 400) + `}`},
		{"leading zero", `{"a":01}`},
		{"lone minus", `{"a":-}`},
		{"dot without digits", `{"a":1.}`},
		{"dot first", `{"a":.5}`},
		{"exponent without digits", `{"a":1e}`},
		{"exponent sign only", `{"a":1e+}`},
		{"plus sign", `{"a":+1}`},
		{"hex", `{"a":0x10}`},
		{"NaN", `{"a":NaN}`},
		{"literals", `{"a":true,"b":false,"c":null}`},
		{"bad literal", `{"a":tru}`},
		{"literal prefix", `{"a":nulll}`},
		{"literal at end", `{"a":nul`},
		{"trailing comma in object", `{"a":1,}`},
		{"trailing comma in array", `{"a":[1,]}`},
		{"missing comma", `{"a":1 "b":2}`},
		{"missing colon", `{"a" 1}`},
		{"missing value", `{"a":}`},
		{"unquoted name", `{a:1}`},
		{"single quotes", `{'a':1}`},
		{"number as name", `{1:1}`},
		{"mismatched close", `{"a":[1}`},
		{"mismatched close 2", `{"a":{"b":1]}`},
		{"unclosed", `{"a":1`},
		{"unclosed array", `{"a":[1,2`},
		{"unclosed string", `{"a":"x`},
		{"extra close", `{"a":1}}`},
		{"two objects", `{} {}`},
		{"trailing text", `{"a":1} x`},
		{"trailing spaces", "{\"a\":1} \n\t\r"},
		{"control character in string", "{\"a\":\"x\ny\"}"},
		{"tab in string", "{\"a\":\"x\ty\"}"},
		{"DEL in string", "{\"a\":\"x\x7fy\"}"},
		{"bad escape", `{"a":"\x"}`},
		{"short unicode escape", `{"a":"\u12"}`},
		{"bad unicode escape", `{"a":"\u12g4"}`},
		{"escape at end", `{"a":"\`},
		{"BOM", "\xef\xbb\xbf{}"},
		{"NUL after", "{}\x00"},
		{"vertical tab", "{\v}"},
		{"64 deep", `{"a":` + deep(63) + `}`},
		{"65 deep", `{"a":` + deep(64) + `}`},
		{"65 deep, then a syntax error", `{"a":` + deep(64) + `,}`},
		{"syntax error, then 65 deep", `{"a":x,"b":` + deep(64) + `}`},
		{"syntax error, then a big number", `{"a":x,"b":1e999}`},
		{"64 deep objects", nest(64, true, "1")},
		{"65 deep objects", nest(65, true, "1")},
		{"deep member value", `{"payload":` + nest(62, true, `"x"`) + `,"event":"e"}`},
		{"very deep", strings.Repeat("[", 100000)},
		{"very deep objects", strings.Repeat(`{"a":`, 100000)},
		{"brackets in strings", `{"a":"` + strings.Repeat("[{", 200) + `","id":"]}"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agreeWithFormer(t, []byte(tc.body))
		})
	}
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			body := f.load(t)
			agreeWithFormer(t, body)
			// Every proper prefix is refused, with the same error.
			for i := range body {
				agreeWithFormer(t, body[:i])
			}
		})
	}
}

// FuzzScanTop holds scanTop to the former check on arbitrary bodies: the
// same bodies accepted, the same errors, the same members.
func FuzzScanTop(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.load(f))
	}
	for _, s := range []string{
		`{}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a"}`, `{"a":1e309}`, `{"a":[1,]}`, `{"a":"\ud800"}`,
		"{\"id\":\"a\xffb\"}", `{"a":` + nest(64, false, "0") + `}`, `{"payload":{"id":1},"event":"e"}`,
		` {"type" : "x" , "action" : [true,false,null,-0.5e-3]} `, `{"a":tru}`, `{"a":01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		agreeWithFormer(t, body)
	})
}

// TestScanTopAllocates: the ack path's check allocates nothing, however
// large or deep the body.
func TestScanTopAllocates(t *testing.T) {
	bodies := map[string][]byte{
		"escaped": []byte(`{"\u0069d":"a\"b","event":"e","data":{"a":[1.5e300,-2E-300,12345,true,null]},"x":"` +
			strings.Repeat(`[\"{`, 100) + `","b":` + nest(62, false, "1") + `}`),
		"deep":     []byte(`{"a":` + nest(63, false, "1") + `}`),
		"too deep": []byte(`{"a":` + nest(64, false, "1") + `}`),
	}
	for _, fx := range fixtures() {
		bodies[fx.name] = fx.load(t)
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _, _ = scanObject(body) }); n != 0 {
				t.Fatalf("scanObject allocates %v times per call", n)
			}
		})
	}
}

func BenchmarkScanTop(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"1MiB strings", []byte(`{"a":"` + strings.Repeat(`x\"[{`, (1<<20)/5) + `"}`)},
		{"1MiB nested 64", []byte(`{"a":[` + strings.Repeat(nest(62, false, "1")+",", (1<<20)/130) + `1]}`)},
	}
	for _, fx := range fixtures() {
		if fx.name == "productlift/vote.created" || fx.name == "leanbe/customer.created" {
			bodies = append(bodies, struct {
				name string
				body []byte
			}{fx.name, fx.load(b)})
		}
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scanTop(bb.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
