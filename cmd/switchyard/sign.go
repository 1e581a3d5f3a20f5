package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/router"
	"github.com/switchyard/switchyard/sources"
)

// signCmd is `switchyard sign`: it prints the curl command that sends a
// payload to serve signed as the source's vendor signs it.
func signCmd(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("sign", `usage: switchyard sign --rules FILE --source NAME [--url URL] [--header 'K: V']... [--out FILE] PAYLOAD
Prints a curl command that sends PAYLOAD, byte for byte, to serve's
/hooks/NAME as the source's vendor would: the key in the URL and the
signature headers, made with the rules file's secrets (so the command shows
them). A signature over a timestamp is accepted within the source's
tolerance (5m unless set) of now. A vendor that signs inside the body
(leanbe) needs --out FILE: the signed body is written there and sent.
`, stdout, stderr)
	rulesPath := fs.String("rules", "", "rules file (required)")
	sourceName := fs.String("source", "", "source name, as in /hooks/NAME (required)")
	base := fs.String("url", "http://localhost:8080", "serve's public listener")
	out := fs.String("out", "", "where to write the signed body, for a vendor that signs inside it")
	var headers listFlag
	fs.Var(&headers, "header", "another header to send, 'Name: value' (repeatable; e.g. 'X-GitHub-Event: issues')")
	rest, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if *rulesPath == "" || *sourceName == "" || len(rest) != 1 {
		return fs.fail("--rules, --source and one PAYLOAD file are required")
	}
	payload := rest[0]
	extra := http.Header{}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fs.fail("--header %q: want 'Name: value'", h)
		}
		extra.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	body, err := os.ReadFile(payload)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	// Loaded as serve loads it: a file serve would refuse is refused here.
	cfg, err := router.Load(*rulesPath, nil, router.BuildOptions{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	spec, ok := cfg.File.Source(*sourceName)
	if !ok {
		var names []string
		for _, s := range cfg.File.Sources {
			names = append(names, s.Name)
		}
		fmt.Fprintf(stderr, "switchyard: %s has no source %q (it has %s)\n", *rulesPath, *sourceName, strings.Join(names, ", "))
		return 1
	}
	signed, err := sources.Sign(router.SourceConfig(spec), body, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", cfg.Redact(err.Error()))
		return 1
	}
	send := payload
	if !bytes.Equal(signed.Body, body) {
		if *out == "" {
			return fs.fail("source %q (%s) carries its signature inside the body: give --out FILE for the signed body, which the command then sends", spec.Name, spec.Vendor)
		}
		if err := os.WriteFile(*out, signed.Body, 0o600); err != nil {
			fmt.Fprintln(stderr, "switchyard:", err)
			return 1
		}
		send = *out
	}
	for k, vs := range extra {
		signed.Header[k] = vs
	}
	u := strings.TrimRight(*base, "/") + "/hooks/" + url.PathEscape(spec.Name)
	if len(signed.Query) > 0 {
		u += "?" + signed.Query.Encode()
	}
	fmt.Fprintf(stdout, "curl -i %s", shellQuote(u))
	for _, k := range slices.Sorted(maps.Keys(signed.Header)) {
		for _, v := range signed.Header[k] {
			fmt.Fprintf(stdout, " \\\n  -H %s", shellQuote(k+": "+v))
		}
	}
	fmt.Fprintf(stdout, " \\\n  --data-binary %s\n", shellQuote("@"+send))
	return 0
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
