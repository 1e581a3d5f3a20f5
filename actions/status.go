package actions

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps the delay a receiver can ask for with Retry-After: a
// longer wish is treated as this long, so one receiver cannot park a job
// for days.
const MaxRetryAfter = 10 * time.Minute

// StatusError is an HTTP response that was not a success.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string {
	if text := http.StatusText(e.Code); text != "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, text)
	}
	return fmt.Sprintf("HTTP %d", e.Code)
}

// RetryableStatus reports whether a response with this status code is worth
// retrying: 408, 429 and every 5xx.
func RetryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || (code >= 500 && code <= 599)
}

// ClassifyStatus turns an HTTP response status into the error Do returns:
// nil for 2xx; retryable for 408, 429 and 5xx, honouring a Retry-After header
// (seconds or an HTTP date, capped at MaxRetryAfter); permanent for every
// other code, 3xx included since redirects are not followed.
func ClassifyStatus(code int, header http.Header, now time.Time) error {
	if code >= 200 && code <= 299 {
		return nil
	}
	err := &StatusError{Code: code}
	if !RetryableStatus(code) {
		return Permanent(err)
	}
	if d, ok := ParseRetryAfter(header.Get("Retry-After"), now); ok {
		return RetryAfter(err, d)
	}
	return err
}

// ParseRetryAfter reads a Retry-After value: a number of seconds or an HTTP
// date. A date in the past means no delay. The result is capped at
// MaxRetryAfter; ok is false when v is empty or malformed.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			// Digits only but too large for uint64: still a (huge) delay.
			if errors.Is(err, strconv.ErrRange) {
				return MaxRetryAfter, true
			}
			return 0, false
		}
		return CapRetryAfter(secondsToDuration(secs)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return CapRetryAfter(t.Sub(now)), true
}

// CapRetryAfter bounds a requested delay to [0, MaxRetryAfter].
func CapRetryAfter(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

func secondsToDuration(secs uint64) time.Duration {
	if secs > uint64(math.MaxInt64/int64(time.Second)) {
		return math.MaxInt64
	}
	return time.Duration(secs) * time.Second
}
