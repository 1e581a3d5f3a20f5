package actions

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"empty", "", 0, false},
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"spaces", " 7 ", 7 * time.Second, true},
		{"capped", "86400", MaxRetryAfter, true},
		{"overflowing digits capped", "99999999999999999999999", MaxRetryAfter, true},
		{"negative", "-5", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
		{"HTTP date", "Mon, 06 May 2024 12:01:30 GMT", 90 * time.Second, true},
		{"HTTP date in the past", "Mon, 06 May 2024 11:00:00 GMT", 0, true},
		{"HTTP date far away", "Tue, 07 May 2024 12:00:00 GMT", MaxRetryAfter, true},
		{"RFC 850 date", "Monday, 06-May-24 12:00:10 GMT", 10 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	now := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		code       int
		retryAfter string
		wantNil    bool
		wantRetry  bool
		wantAfter  time.Duration
	}{
		{"200", 200, "", true, false, 0},
		{"204", 204, "", true, false, 0},
		{"301 not followed", 301, "", false, false, 0},
		{"302 not followed", 302, "", false, false, 0},
		{"400", 400, "", false, false, 0},
		{"401", 401, "", false, false, 0},
		{"404", 404, "", false, false, 0},
		{"404 ignores Retry-After", 404, "30", false, false, 0},
		{"408", 408, "", false, true, 0},
		{"429", 429, "", false, true, 0},
		{"429 with seconds", 429, "30", false, true, 30 * time.Second},
		{"429 with bad Retry-After", 429, "later", false, true, 0},
		{"500", 500, "", false, true, 0},
		{"502", 502, "", false, true, 0},
		{"503 with date", 503, "Mon, 06 May 2024 12:00:45 GMT", false, true, 45 * time.Second},
		{"503 capped", 503, "100000", false, true, MaxRetryAfter},
		{"101 unexpected", 101, "", false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			err := ClassifyStatus(tc.code, h, now)
			if tc.wantNil {
				if err != nil {
					t.Fatalf("ClassifyStatus(%d) = %v, want nil", tc.code, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ClassifyStatus(%d) = nil, want an error", tc.code)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Errorf("error %v does not carry status %d", err, tc.code)
			}
			retry, after := Classify(err)
			if retry != tc.wantRetry || after != tc.wantAfter {
				t.Errorf("Classify(%v) = %v, %v; want %v, %v", err, retry, after, tc.wantRetry, tc.wantAfter)
			}
		})
	}
}
