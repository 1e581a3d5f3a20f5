package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const canary = "s3cr3t-canary-value"
	s := Secret(canary)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("msg", "secret", s, "in", struct{ S Secret }{s})
	js, err := json.Marshal(map[string]any{"s": s})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := s.MarshalText()
	for name, out := range map[string]string{
		"%v":        fmt.Sprintf("%v", s),
		"%s":        fmt.Sprintf("%s", s),
		"%q":        fmt.Sprintf("%q", s),
		"%#v":       fmt.Sprintf("%#v", s),
		"%+v":       fmt.Sprintf("%+v", struct{ S Secret }{s}),
		"%x":        fmt.Sprintf("%x", s),
		"wrapped":   fmt.Errorf("connect with %v: %w", s, errors.New("refused")).Error(),
		"json":      string(js),
		"text":      string(text),
		"slog json": logBuf.String(),
	} {
		if strings.Contains(out, canary) || !strings.Contains(out, "secret") {
			t.Errorf("%s printed %q", name, out)
		}
	}
	if s.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
	if Secret("").String() != "" {
		t.Fatal("an empty secret prints as empty, so that 'not set' stays visible")
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor(map[string]string{"CRM_TOKEN": "tok-123456", "LONG": "tok-123456-and-more", "SHORT": "ab"})
	for _, tc := range []struct{ in, want string }{
		{"Bearer tok-123456", "Bearer ${CRM_TOKEN}"},
		{"x=tok-123456-and-more", "x=${LONG}"},
		{"ab stays: too short to redact", "ab stays: too short to redact"},
	} {
		if got := r.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilR *Redactor
	if nilR.Redact("x") != "x" {
		t.Fatal("a nil Redactor changes text")
	}
}
