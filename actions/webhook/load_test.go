package webhook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/router"
)

// TestLoadSign loads rules files as `switchyard check` does: a sign:
// secret that is not a Standard Webhooks secret fails at the action's
// position, and never shows its value.
func TestLoadSign(t *testing.T) {
	src := `rules:
  - name: crm
    actions:
      - http:
          url: https://crm.example.com/hook
          body: "{{ .event }}"
          sign: { secret: "${WH_SECRET}" }
`
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ secret, err string }{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"not base64 at all", path + `:4:9: rule "crm" action #1 (http): http: sign: secret is not a Standard Webhooks secret`},
	} {
		getenv := func(string) (string, bool) { return tc.secret, true }
		_, err := router.Load(path, getenv, router.BuildOptions{})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("secret %q: %v", tc.secret, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("secret %q: err = %v, want %s", tc.secret, err, tc.err)
		case err != nil && strings.Contains(err.Error(), tc.secret):
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
