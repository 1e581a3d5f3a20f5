package router

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// checkStoredHeaders fails unless decodeStoredHeaders(s) is what
// json.Unmarshal into a map[string]string makes of s: the same map (nil or
// not), and an error exactly when it fails, the same error. It says
// whether s was decoded without json.Unmarshal.
func checkStoredHeaders(t *testing.T, s string) bool {
	t.Helper()
	var want map[string]string
	wantErr := json.Unmarshal([]byte(s), &want)
	got, err := decodeStoredHeaders(s)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("decodeStoredHeaders(%q): error %v, json.Unmarshal: %v", s, err, wantErr)
	}
	if (got == nil) != (want == nil) || !maps.Equal(got, want) {
		t.Fatalf("decodeStoredHeaders(%q) = %#v, json.Unmarshal: %#v", s, got, want)
	}
	_, fast := scanStringObject(s)
	return fast
}

func TestDecodeStoredHeaders(t *testing.T) {
	for _, c := range []struct {
		in   string
		fast bool // decoded without json.Unmarshal
	}{
		{`{}`, true},
		{`{"content-type":"application/json"}`, true},
		{`{"a":"1","b":"2","c":""}`, true},
		{`{"":""}`, true},
		{`{"a":"1","a":"2"}`, true}, // the last wins
		{`{"q":"\"\\\/\b\f\n\r\t"}`, true},
		{`{"lt":"\u003c\u003E\u0026","nul":"\u0000","e":"\u00e9\u00E9"}`, true},
		{`{"sep":"\u2028\u2029"}`, true},
		{`{"pair":"\ud83d\ude80","upper":"\uD83D\uDE80"}`, true},
		{`{"lone high":"\ud83d","then text":"\ud83dx","then escape":"\ud83d\n"}`, true},
		{`{"lone low":"\ude80","reversed":"\ude80\ud83d","two highs":"\ud83d\ud83d\ude80"}`, true},
		{`{"high then bmp":"\ud83d\u0041"}`, true},
		{`{"replacement":"\ufffd","literal":"` + "\ufffd" + `"}`, true},
		{`{"raw":"héllo ✓ 🚀` + "\u2028" + `"}`, true},
		{"{\"bad utf8\":\"a\xffb\xc3\",\"surrogate in utf8\":\"\xed\xa0\x80\"}", true},
		{"{\"bad\xfename\":\"v\",\"e\\u00e9\":\"v\"}", true},
		{`{"long":"` + strings.Repeat("x", 5000) + `"}`, true},
		{"{\"mixed\":\"\\n\xff\\ud83d\\ude80é\\\"\"}", true},

		// Left to json.Unmarshal.
		{``, false},
		{`null`, false},
		{` {}`, false},
		{`{ }`, false},
		{`{"a": "1"}`, false},
		{`{"a":"1" }`, false},
		{"{\"a\":\"1\"}\n", false},
		{`{"a":null}`, false},
		{`{"a":1}`, false},
		{`{"a":"1","b":2,"c":"3"}`, false}, // a map partly filled, and an error
		{`{"a":["x"]}`, false},
		{`{"a":{}}`, false},
		{`{"a":true,"b":"2"}`, false},
		{`[]`, false},
		{`"a"`, false},
		{`{`, false},
		{`}`, false},
		{`{"a"}`, false},
		{`{"a":}`, false},
		{`{"a":"1",}`, false},
		{`{"a":"1"`, false},
		{`{"a":"1"}}`, false},
		{`{"a":"1"}x`, false},
		{`{"a":"1""b":"2"}`, false},
		{`{"a:"1"}`, false},
		{`{"a":"1}`, false},
		{`{a:"1"}`, false},
		{"{\"tab\":\"a\tb\"}", false},
		{"{\"nul\":\"a\x00b\"}", false},
		{`{"bad escape":"\x"}`, false},
		{`{"quote escape":"\'"}`, false},
		{`{"short u":"\u12"}`, false},
		{`{"bad hex":"\u12g4"}`, false},
		{`{"high then bad u":"\ud83d\u12g4"}`, false},
		{`{"trailing backslash":"\`, false},
	} {
		t.Run(c.in, func(t *testing.T) {
			if fast := checkStoredHeaders(t, c.in); fast != c.fast {
				t.Errorf("decoded without json.Unmarshal: %v, want %v", fast, c.fast)
			}
		})
	}
}

// What the ack path stores is decoded without json.Unmarshal.
func TestDecodeStoredHeadersReadsAppendHeadersJSON(t *testing.T) {
	for _, s := range awkward {
		h := map[string]string{"content-type": "application/json", s: s, "x-" + s: "v", "user-agent": "Go-http-client/1.1"}
		in := string(appendHeadersJSON(nil, h))
		if !checkStoredHeaders(t, in) {
			t.Errorf("%s left to json.Unmarshal", in)
		}
	}
}

func FuzzDecodeStoredHeaders(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, `{"a":"b","c":"d"}`, `{"a":"\ud83d\ude80\u00e9\n"}`, `{"a":"\ud83dx"}`,
		`{"a":1}`, `{"a": "b"}`, `null`, "{\"a\":\"\xff\"}", `{"a":"\u12"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkStoredHeaders(t, s)
	})
}

// BenchmarkStoredHeaders decodes the headers the ack path stores for a
// typical request, by decodeStoredHeaders and by json.Unmarshal: the ratio
// is the figure to watch.
func BenchmarkStoredHeaders(b *testing.B) {
	in := string(appendHeadersJSON(nil, map[string]string{
		"accept": "*/*", "accept-encoding": "gzip", "content-length": "1534", "content-type": "application/json",
		"user-agent": "ProductLift-Webhooks/1.0 (+https://productlift.dev)", "x-forwarded-for": "203.0.113.7",
		"x-forwarded-proto": "https", "x-request-id": "5d0c1d7e-3b8a-4f57-9a3c-0b2f1c7a9e11",
	}))
	b.Run("decoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStoredHeaders(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var h map[string]string
			if err := json.Unmarshal([]byte(in), &h); err != nil {
				b.Fatal(err)
			}
		}
	})
}
