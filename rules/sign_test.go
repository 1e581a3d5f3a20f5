package rules

import (
	"strings"
	"testing"
)

// TestHTTPSign: sign: takes a secret or secret_file, is a secret (known to
// the redactor, never in errors), and is positioned when wrong.
func TestHTTPSign(t *testing.T) {
	const head = "rules:\n  - name: a\n    actions:\n      - http:\n          url: https://example.com/\n"
	tests := []struct {
		name, src, want string // want: an error line, "" for a valid file
	}{
		{"secret from the environment", head + "          sign: { secret: \"${WH_SECRET}\" }\n", ""},
		{"no secret", head + "          sign: {}\n", `s.yaml:6:11: rule "a" action #1 (http): sign needs a secret (or secret_file)`},
		{"empty variable", head + "          sign: { secret: \"${EMPTY}\" }\n", `s.yaml:6:11: rule "a" action #1 (http): sign needs a secret`},
		{"unknown key", head + "          sign: { key: x }\n", `s.yaml:6:19: unknown key "key" in rule "a" action #1 (http) sign`},
		{"not a mapping", head + "          sign: whsec_abc\n", `s.yaml:6:17: rule "a" action #1 (http) sign must be a mapping`},
	}
	getenv := env(map[string]string{"WH_SECRET": "whsec_c2VjcmV0LWJ5dGVz", "EMPTY": ""})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("s.yaml", []byte(tt.src), getenv)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v\nwant %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := f.Rules[0].Actions[0].HTTP
			if h.Sign == nil || h.Sign.Secret.Reveal() != "whsec_c2VjcmV0LWJ5dGVz" {
				t.Fatalf("sign = %+v", h.Sign)
			}
			if f.Secrets["WH_SECRET"] != "whsec_c2VjcmV0LWJ5dGVz" {
				t.Errorf("the signing secret is not among the file's secrets: %v", f.Secrets)
			}
		})
	}
	t.Run("inline secret is redacted", func(t *testing.T) {
		f, err := Parse("s.yaml", []byte(head+"          sign: { secret: whsec_aW5saW5lLXNlY3JldA== }\n"), env(nil))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range f.Secrets {
			found = found || v == "whsec_aW5saW5lLXNlY3JldA=="
		}
		if !found {
			t.Errorf("an inline signing secret is not among the file's secrets: %v", f.Secrets)
		}
	})
}
