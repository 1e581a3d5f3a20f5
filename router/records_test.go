package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/event"
)

// jsonRecord is a record with an appender.
type jsonRecord interface {
	appendJSON(dst []byte) ([]byte, error)
}

// checkRecordJSON fails unless rec's appender writes exactly what
// json.Marshal writes, or leaves to json.Marshal a record it cannot encode.
// It says whether the appender encoded the record itself.
func checkRecordJSON(t *testing.T, rec jsonRecord) bool {
	t.Helper()
	want, wantErr := json.Marshal(rec)
	got, err := rec.appendJSON([]byte("prefix"))
	switch {
	case errors.Is(err, errUseMarshal):
		return false
	case err != nil:
		t.Fatalf("appendJSON: %v", err)
	case wantErr != nil:
		t.Fatalf("appendJSON wrote %s, json.Marshal failed: %v", got, wantErr)
	case !strings.HasPrefix(string(got), "prefix"):
		t.Fatalf("appendJSON did not append: %s", got)
	case string(got[len("prefix"):]) != string(want):
		t.Fatalf("appendJSON:\n got %s\nwant %s", got[len("prefix"):], want)
	}
	return true
}

// checkEncodable is checkRecordJSON for a record without a field left to
// json.Marshal: the appender encodes it whenever json.Marshal can.
func checkEncodable(t *testing.T, rec jsonRecord) {
	t.Helper()
	if !checkRecordJSON(t, rec) {
		if b, err := json.Marshal(rec); err == nil {
			t.Fatalf("left to json.Marshal, which encodes it: %s", b)
		}
	}
}

// awkward strings, each a case encoding/json escapes in its own way.
var awkward = []string{
	"", "plain", `quo"te`, `back\slash`, "new\nline\r\t\b\f", "\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"héllo ✓ 🚀", "line\u2028sep\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80", "\ufffd", strings.Repeat("x", 1500),
}

func TestRecordAppendersMatchJSONMarshal(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	times := []time.Time{
		{},
		time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC),
		time.Date(2024, 3, 1, 12, 0, 0, 120000000, paris),
		time.Date(2024, 7, 1, 12, 0, 0, 1, paris),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(9*3600+30*60))),
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 5*3600+30*60+17)), // seconds in the offset
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local),
		time.Now(), // with a monotonic reading
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),                      // json.Marshal fails
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),                         // json.Marshal fails
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600)), // json.Marshal fails
	}
	floats := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.001, 1.5, -273.15, 123456.789, 1e-6, 9.99e-7, 1e-7, -1e-7, 1.2345e-10,
		1e20, 1e21, -1e21, 1.5e300, math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1), // json.Marshal fails
	}
	type tc struct {
		name string
		rec  jsonRecord
	}
	var cases []tc
	cases = append(cases,
		tc{"event/zero", &EventRecord{}},
		tc{"delivery/zero", &DeliveryRecord{}},
		tc{"event/empty slices", &EventRecord{Rules: []string{}, Errors: []RuleError{}}},
		tc{"event/full", &EventRecord{
			Seq: math.MaxUint64, At: times[2], Key: "src/id", Source: "src", Vendor: "productlift", Event: "vote.created",
			ID: "id", Time: times[3], Received: times[4], Rules: []string{"a", "b<c>"},
			Errors: []RuleError{{Rule: "a", Error: `no field "x"`}, {}}, Jobs: -3, EventSeq: 42,
		}},
		tc{"delivery/full", &DeliveryRecord{
			Seq: 7, At: times[2], JobID: "src/id/rule/0", EventKey: "src/id", Source: "src", Event: "vote.created",
			EventID: "id", Rule: "rule", Action: 1, Kind: "http", Outcome: "retrying", Attempt: 3, LatencyMS: 12.345,
			Error: "503 Service Unavailable", NextInMS: math.MinInt64,
		}},
		tc{"event/normalized", &EventRecord{Key: "k", Full: &event.Event{Source: "s", Headers: map[string]string{"a": "b"}}}},
	)
	for i, s := range awkward {
		cases = append(cases,
			tc{fmt.Sprintf("event/string %d", i), &EventRecord{Key: s, Source: s, Vendor: s, Event: s, ID: s,
				Rules: []string{s, s}, Errors: []RuleError{{Rule: s, Error: s}}}},
			tc{fmt.Sprintf("delivery/string %d", i), &DeliveryRecord{JobID: s, EventKey: s, Source: s, Event: s,
				EventID: s, Rule: s, Kind: s, Outcome: s, Error: s}})
	}
	for i, at := range times {
		cases = append(cases,
			tc{fmt.Sprintf("event/time %d", i), &EventRecord{At: at, Time: at, Received: at}},
			tc{fmt.Sprintf("event/one time %d", i), &EventRecord{Received: at}},
			tc{fmt.Sprintf("delivery/time %d", i), &DeliveryRecord{At: at}})
	}
	for _, f := range floats {
		cases = append(cases, tc{fmt.Sprintf("delivery/float %g", f), &DeliveryRecord{LatencyMS: f}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "event/normalized" {
				checkRecordJSON(t, c.rec)
			} else {
				checkEncodable(t, c.rec)
			}
		})
	}
}

// Only records json.Marshal can encode, other than the old ones holding the
// normalized event, are left to it.
func TestRecordAppendersLeaveOnlyTheAwkwardToJSONMarshal(t *testing.T) {
	for _, rec := range []jsonRecord{
		&EventRecord{Rules: []string{"r"}, Errors: []RuleError{{"r", "e"}}, EventSeq: 1, Jobs: 2},
		&DeliveryRecord{LatencyMS: 1e-9, NextInMS: 5, Error: "e"},
	} {
		if !checkRecordJSON(t, rec) {
			t.Errorf("%T left to json.Marshal", rec)
		}
	}
	for _, rec := range []jsonRecord{
		&EventRecord{Full: &event.Event{}},
		&EventRecord{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		&DeliveryRecord{LatencyMS: math.NaN()},
	} {
		if _, err := rec.appendJSON(nil); !errors.Is(err, errUseMarshal) {
			t.Errorf("%+v: appendJSON = %v, want errUseMarshal", rec, err)
		}
	}
}

// leftToMarshal are the fields an appender does not encode: a record with
// one of them set goes to json.Marshal.
var leftToMarshal = map[string]bool{"EventRecord.Full": true}

// Every exported field of the records, set, is encoded as json.Marshal
// encodes it: a field added to a record but not to its appender fails here.
func TestRecordAppendersEncodeEveryField(t *testing.T) {
	for _, rec := range []jsonRecord{&EventRecord{}, &DeliveryRecord{}} {
		v := reflect.ValueOf(rec).Elem()
		n := 0
		fillFields(t, v, &n)
		t.Run(v.Type().Name(), func(t *testing.T) {
			if !checkRecordJSON(t, rec) {
				t.Fatalf("%+v left to json.Marshal", rec)
			}
		})
		// Each field on its own too, so that omitempty is checked.
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || leftToMarshal[v.Type().Name()+"."+f.Name] {
				continue
			}
			one := reflect.New(v.Type())
			one.Elem().Field(i).Set(v.Field(i))
			t.Run(v.Type().Name()+"/"+f.Name, func(t *testing.T) {
				if !checkRecordJSON(t, one.Interface().(jsonRecord)) {
					t.Fatalf("%+v left to json.Marshal", one)
				}
			})
		}
	}
}

// fillFields sets every exported field of the struct v to a non-zero value
// distinct from the others' (n counts the values made), except those left
// to json.Marshal.
func fillFields(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || leftToMarshal[v.Type().Name()+"."+f.Name] {
			continue
		}
		fillValue(t, v.Field(i), f.Name, n)
	}
}

func fillValue(t *testing.T, v reflect.Value, name string, n *int) {
	t.Helper()
	*n++
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2000+*n, 1, 2, 3, 4, 5, *n*1000, time.FixedZone("", *n*60))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d <&>\"", name, *n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillValue(t, s.Index(i), name, n)
		}
		v.Set(s)
	case reflect.Struct:
		fillFields(t, v, n)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(t, v.Elem(), name, n)
	default:
		t.Fatalf("field %s: cannot fill a %s; teach fillValue and the appender", name, v.Type())
	}
}

func FuzzRecordAppenders(f *testing.F) {
	f.Add("src", "id", "rule<&>", "bad\xff\u2028", uint64(1), int64(3), 12.5, int64(1700000000), int64(123456789), 3600)
	f.Add("", "", "", "", uint64(0), int64(0), 0.0, int64(0), int64(0), 0)
	f.Add("a\"b", "\\", "\x00", "é", uint64(math.MaxUint64), int64(math.MinInt64), 1e-7, int64(-62135596801), int64(0), -86400)
	f.Add("x", "y", "z", "w", uint64(5), int64(-1), 1e21, int64(253402300800), int64(999999999), 59)
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4 string, u uint64, i int64, fl float64, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone(s4, offset))
		rules := []string{s1, s2}
		if i%3 == 0 {
			rules = nil
		} else if i%3 == 1 {
			rules = rules[:0]
		}
		var errs []RuleError
		if u%2 == 1 {
			errs = []RuleError{{Rule: s3, Error: s4}}
		}
		checkEncodable(t, &EventRecord{Seq: u, At: at, Key: s1, Source: s2, Vendor: s3, Event: s4, ID: s1 + s2,
			Time: at.UTC(), Received: at.Add(time.Duration(i)), Rules: rules, Errors: errs, Jobs: int(i), EventSeq: u / 2})
		checkEncodable(t, &DeliveryRecord{Seq: u, At: at, JobID: s1, EventKey: s2, Source: s3, Event: s4, EventID: s1 + s3,
			Rule: s2 + s4, Action: int(i), Kind: s3, Outcome: s4, Attempt: int(u), LatencyMS: fl, Error: s1, NextInMS: i})
	})
}

// benchRecords are a match and a delivery record as the pipeline writes
// them for a ProductLift vote.
var benchRecords = []struct {
	name string
	rec  jsonRecord
}{
	{"event", &EventRecord{
		Seq: 0, At: time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC), Key: "productlift/7c1e2b9a-5f0d-4d1e-9a57-2f3c9d1e8b40",
		Source: "productlift", Vendor: "productlift", Event: "vote.created", ID: "7c1e2b9a-5f0d-4d1e-9a57-2f3c9d1e8b40",
		Time: time.Date(2022, 6, 1, 18, 17, 37, 0, time.UTC), Received: time.Date(2024, 3, 1, 12, 0, 0, 98765432, time.UTC),
		Rules: []string{"votes"}, Jobs: 1, EventSeq: 123456,
	}},
	{"delivery", &DeliveryRecord{
		At: time.Date(2024, 3, 1, 12, 0, 0, 223456789, time.UTC), JobID: "productlift/7c1e2b9a-5f0d-4d1e-9a57-2f3c9d1e8b40/votes/0",
		EventKey: "productlift/7c1e2b9a-5f0d-4d1e-9a57-2f3c9d1e8b40", Source: "productlift", Event: "vote.created",
		EventID: "7c1e2b9a-5f0d-4d1e-9a57-2f3c9d1e8b40", Rule: "votes", Action: 1, Kind: "http", Outcome: "delivered",
		Attempt: 1, LatencyMS: 1.234,
	}},
}

// BenchmarkRecord encodes the records the pipeline writes for each event,
// by their appenders and by json.Marshal: the ratio is the figure to watch.
func BenchmarkRecord(b *testing.B) {
	for _, br := range benchRecords {
		b.Run(br.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			var buf [recordBufSize]byte
			for b.Loop() {
				if _, err := br.rec.appendJSON(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(br.name+"/marshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(br.rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
