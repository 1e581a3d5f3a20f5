package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runBin runs the binary with args and extra environment, and returns its
// stdout, stderr and exit status.
func runBin(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// Every command answers --help (and -h, and `help COMMAND`) with its usage
// on stdout and exit status 0; `dead-letters --help` was "unknown verb".
func TestEveryCommandHasHelp(t *testing.T) {
	bin := buildBinary(t)
	for _, name := range []string{"serve", "check", "test", "sign", "dead-letters", "preview", "mute", "events", "bench"} {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				stdout, stderr, code := runBin(t, bin, nil, args...)
				if code != 0 || !strings.HasPrefix(stdout, "usage: switchyard "+name) || !strings.Contains(stdout, "flags (before, between or after the arguments):") {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
			})
		}
	}
	// Flags given after the arguments, or a mistake, still say what is wrong.
	t.Run("a help flag after the arguments", func(t *testing.T) {
		if stdout, _, code := runBin(t, bin, nil, "dead-letters", "replay", "7", "--help"); code != 0 || !strings.HasPrefix(stdout, "usage: switchyard dead-letters") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
	})
	t.Run("an unknown flag", func(t *testing.T) {
		_, stderr, code := runBin(t, bin, nil, "check", "--frobnicate", "x.yaml")
		if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -frobnicate") || !strings.Contains(stderr, "usage: switchyard check") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})
}

// `switchyard test` exits 1 when serve would refuse the request: a wrong
// signature (401) or a body that is not the vendor's (400). It exited 0.
func TestTestCommandExitStatus(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(storeRules), 0o600); err != nil {
		t.Fatal(err)
	}
	vote := filepath.Join("..", "..", "examples", "productlift", "vote.created.json")
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("this is not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tooLarge := filepath.Join(dir, "large.json")
	if err := os.WriteFile(tooLarge, []byte(`{"id":"x","event":"vote.created","data":{"pad":"`+strings.Repeat("x", 1<<20)+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The signature a vendor would send, from `sign`.
	signature := func(payload string) string {
		curl, stderr, code := runBin(t, bin, []string{"PL_SECRET=exit-secret"}, "sign", "--rules", rulesPath, "--source", "productlift", payload)
		if code != 0 {
			t.Fatalf("sign: exit %d\n%s", code, stderr)
		}
		m := regexp.MustCompile(`-H 'Signature: ([0-9a-f]+)'`).FindStringSubmatch(curl)
		if m == nil {
			t.Fatalf("no Signature header in\n%s", curl)
		}
		return m[1]
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"signed as the vendor signs", []string{"--header", "Signature: " + signature(vote), vote}, 0, "verified:  yes"},
		{"a wrong signature", []string{"--header", "Signature: 00", vote}, 1, "verified:  NO (serve would answer 401)"},
		{"no signature", []string{vote}, 1, "verified:  NO"},
		{"a wrong signature, as JSON", []string{"--json", "--header", "Signature: 00", vote}, 1, `"verified": false`},
		{"a signed body that is not JSON", []string{"--header", "Signature: " + signature(notJSON), notJSON}, 1, "body:      NO (serve would answer 400)"},
		{"a signed body over max_body", []string{"--header", "Signature: " + signature(tooLarge), tooLarge}, 1, "over the source's max_body of 1048576"},
		{"the topic and subject", []string{"--header", "Signature: " + signature(vote), vote}, 0, "topic:     vote.created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"test", "--rules", rulesPath, "--source", "productlift"}, tc.args...)
			stdout, stderr, code := runBin(t, bin, []string{"PL_SECRET=exit-secret"}, args...)
			if code != tc.code || !strings.Contains(stdout, tc.output) {
				t.Fatalf("exit %d, want %d; want %q in stdout:\n%s\nstderr:\n%s", code, tc.code, tc.output, stdout, stderr)
			}
		})
	}
}

// signRules has a source of every way of signing: a key in the URL, an
// HMAC header, a signature inside the body, GitHub's, and a signed
// timestamp (Stripe).
const signRules = `
sources:
  sleekplan: { vendor: sleekplan, key: "${SP_KEY}" }
  productlift: { vendor: productlift, secret: "${PL_SECRET}" }
  leanbe: { vendor: leanbe, secret: "${LB_SECRET}" }
  gh: { vendor: github, secret: "${GH_SECRET}" }
  billing: { vendor: stripe, secret: "${STRIPE_SECRET}" }
rules:
  - name: all
    when: "true"
    actions:
      - http: { url: "http://127.0.0.1:9/all", json: { id: "{{ .id }}" } }
`

// The curl that `switchyard sign` prints, run by a shell, is accepted by
// serve, for every way of signing; and the id serve answers is the one
// `switchyard test` shows for the same file (the body is sent byte for
// byte: --data would strip its newlines).
func TestSignPrintsAnAcceptedCurl(t *testing.T) {
	bin := buildBinary(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(signRules), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SP_KEY=sp-key", "PL_SECRET=pl-secret", "LB_SECRET=lb-secret", "GH_SECRET=gh-secret", "STRIPE_SECRET=whsec_test"}
	p := startServe(t, bin, rulesPath, filepath.Join(dir, "data"), env)
	stripe := filepath.Join(dir, "stripe.json")
	if err := os.WriteFile(stripe, []byte("{\n  \"id\": \"evt_1\",\n  \"type\": \"invoice.paid\",\n  \"created\": 1700000000,\n  \"data\": {\"object\": {}}\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fixture := func(rel string) string { return filepath.Join("..", "..", "examples", rel) }
	for _, tc := range []struct {
		source, payload string
		extra           []string
	}{
		{"sleekplan", fixture("sleekplan/item.create.json"), nil},
		{"productlift", fixture("productlift/vote.created.json"), nil},
		{"leanbe", fixture("leanbe/idea.created.json"), []string{"--out", filepath.Join(dir, "leanbe-signed.json")}},
		{"gh", fixture("productlift/post.created.json"), []string{"--header", "X-GitHub-Event: issues", "--header", "X-GitHub-Delivery: d-1"}},
		{"billing", stripe, nil},
	} {
		t.Run(tc.source, func(t *testing.T) {
			args := append([]string{"sign", "--rules", rulesPath, "--source", tc.source, "--url", p.public}, tc.extra...)
			curl, stderr, code := runBin(t, bin, env, append(args, tc.payload)...)
			if code != 0 || !strings.HasPrefix(curl, "curl -i ") || !strings.Contains(curl, "--data-binary ") {
				t.Fatalf("sign: exit %d\n%s\n%s", code, curl, stderr)
			}
			out, err := exec.Command("sh", "-c", curl).CombinedOutput()
			if err != nil || !strings.Contains(string(out), " 202 ") {
				t.Fatalf("the printed curl was not accepted (%v):\n%s\n%s", err, curl, out)
			}
			test, _, code := runBin(t, bin, env, "test", "--rules", rulesPath, "--source", tc.source,
				"--header", "X-GitHub-Delivery: d-1", "--header", "X-GitHub-Event: issues", tc.payload)
			id := regexp.MustCompile(`(?m)^id:\s+(\S+)`).FindStringSubmatch(test)
			if id == nil {
				t.Fatalf("no id in `switchyard test` output (exit %d):\n%s", code, test)
			}
			if !strings.Contains(string(out), `"id":"`+id[1]+`"`) {
				t.Errorf("serve answered %s; switchyard test shows id %s", out[strings.LastIndex(string(out), "\n{")+1:], id[1])
			}
		})
	}
	t.Run("leanbe without --out", func(t *testing.T) {
		_, stderr, code := runBin(t, bin, env, "sign", "--rules", rulesPath, "--source", "leanbe", fixture("leanbe/idea.created.json"))
		if code != 2 || !strings.Contains(stderr, "--out FILE") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})
	t.Run("an unknown source", func(t *testing.T) {
		_, stderr, code := runBin(t, bin, env, "sign", "--rules", rulesPath, "--source", "nope", fixture("leanbe/idea.created.json"))
		if code != 1 || !strings.Contains(stderr, `no source "nope"`) {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})
}
