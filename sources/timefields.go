package sources

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Times are the vendor's word, not ours: a missing or unparseable one is
// the zero time, never an error.

func zeroTime(map[string]any, map[string]string) time.Time { return time.Time{} }

// timeRFC3339 reads an RFC 3339 string member.
func timeRFC3339(name string) func(map[string]any, map[string]string) time.Time {
	return func(payload map[string]any, _ map[string]string) time.Time {
		s, ok := payload[name].(string)
		if !ok {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}
		}
		return t.UTC()
	}
}

// timeUnix reads a Unix time member, a number or a string of digits, in
// units of perSecond (1: seconds, 1000: milliseconds).
func timeUnix(name string, perSecond int64) func(map[string]any, map[string]string) time.Time {
	return func(payload map[string]any, _ map[string]string) time.Time {
		n, ok := integer(payload[name])
		if !ok {
			return time.Time{}
		}
		return unixTime(n, perSecond)
	}
}

// timeHeaderUnix reads a Unix time in seconds from a header.
func timeHeaderUnix(name string) func(map[string]any, map[string]string) time.Time {
	return func(_ map[string]any, header map[string]string) time.Time {
		n, ok := integer(header[strings.ToLower(name)])
		if !ok {
			return time.Time{}
		}
		return unixTime(n, 1)
	}
}

func unixTime(n, perSecond int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(n/perSecond, (n%perSecond)*(int64(time.Second)/perSecond)).UTC()
}

// integer reads a JSON number (float64) or a string of digits.
func integer(v any) (int64, bool) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) || v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}
