package slack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/router"
)

// TestLoadPositionsBlockErrors loads a rules file as `switchyard check`
// does: every mistake in blocks: comes back at the line and column of the
// value it concerns.
func TestLoadPositionsBlockErrors(t *testing.T) {
	src := `slack:
  token: xoxb-test
rules:
  - name: votes
    actions:
      - slack:
          channel: "#feedback"
          text: "{{ .data.vote.voter.name }} voted"
          blocks:
            - type: header
              text: "` + strings.Repeat("h", 151) + `"
            - type: section
              txt: typo
            - type: actions
              elements:
                - {type: button, text: Open, url: "javascript:alert(1)"}
`
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := router.Load(path, func(string) (string, bool) { return "", false }, router.BuildOptions{})
	if err == nil {
		t.Fatal("the file loads")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		path + `:11:15: rule "votes" action #1 (slack): block #1 (header) text: is at least 151 characters; Block Kit allows 150`,
		path + `:12:15: rule "votes" action #1 (slack): block #2 (section): a section needs text, fields or both`,
		path + `:13:15: rule "votes" action #1 (slack): block #2 (section) txt: unknown key "txt"`,
		path + `:16:46: rule "votes" action #1 (slack): block #3 (actions) elements #1 (button) url: "javascript:alert(1)" is not an http(s) URL`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}
