package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/router"
)

// check validates rules files with exactly the code serve loads them with.
func check(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("check", `usage: switchyard check FILE...
Loads each rules file exactly as serve does and reports every problem with
its file, line and column. Exits 1 when a file has any.
`, stdout, stderr)
	files, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return fs.fail("name at least one rules file")
	}
	for _, path := range files {
		cfg, err := router.Load(path, nil, router.BuildOptions{})
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d sources, %d rules)\n", path, len(cfg.File.Sources), len(cfg.File.Rules))
	}
	return code
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// dryRun is `switchyard test`: it shows what serve would do with a payload
// and sends nothing.
func dryRun(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("test", `usage: switchyard test --rules FILE --source NAME [--header 'K: V']... [--query 'k=v']... [--json] PAYLOAD
Shows what serve would do with a request carrying PAYLOAD to /hooks/NAME:
whether it verifies, the normalized event, each rule matched or not and
why, and each action rendered. Sends nothing. Exits 1 when serve would
refuse the request (its signature or its body).
`, stdout, stderr)
	rulesPath := fs.String("rules", "", "rules file (required)")
	sourceName := fs.String("source", "", "source name, as in /hooks/NAME (required)")
	var headers, queries listFlag
	fs.Var(&headers, "header", "request header 'Name: value' (repeatable)")
	fs.Var(&queries, "query", "query parameter 'k=v' (repeatable)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rest, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if *rulesPath == "" || *sourceName == "" || len(rest) != 1 {
		return fs.fail("--rules, --source and one PAYLOAD file are required")
	}
	body, err := os.ReadFile(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	cfg, err := router.Load(*rulesPath, nil, router.BuildOptions{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	q := url.Values{}
	for _, kv := range queries {
		parsed, err := url.ParseQuery(kv)
		if err != nil {
			fmt.Fprintf(stderr, "switchyard: --query %q: %v\n", kv, err)
			return 2
		}
		for k, vs := range parsed {
			q[k] = append(q[k], vs...)
		}
	}
	req, err := http.NewRequest(http.MethodPost, "/hooks/"+url.PathEscape(*sourceName)+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(stderr, "switchyard: --header %q: want 'Name: value'\n", h)
			return 2
		}
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	d, err := cfg.DryRun(*sourceName, req, body)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			fmt.Fprintln(stderr, "switchyard:", err)
			return 1
		}
	} else {
		printDryRun(stdout, cfg, d)
	}
	if !d.Verified || d.EnvelopeError != "" {
		return 1 // serve would refuse the request
	}
	return 0
}

func printDryRun(w io.Writer, cfg *router.Config, d *router.DryRun) {
	fmt.Fprintf(w, "source:    %s (%s)\n", d.Source, d.Vendor)
	if d.Verified {
		fmt.Fprintln(w, "verified:  yes")
	} else {
		fmt.Fprintf(w, "verified:  NO (serve would answer 401): %s\n", d.VerifyError)
	}
	if d.EnvelopeError != "" {
		fmt.Fprintf(w, "body:      NO (serve would answer %d): %s\n", d.Refusal, d.EnvelopeError)
		return
	}
	ev := d.Event
	fmt.Fprintf(w, "event:     %s\ntopic:     %s\nid:        %s\ntime:      %s\n", ev.Event, firstNonEmpty(ev.Topic, "(none)"), ev.ID, ev.Time.Format("2006-01-02T15:04:05Z07:00"))
	subject, _ := json.MarshalIndent(ev.Subject, "           ", "  ")
	fmt.Fprintf(w, "subject:   %s\n", cfg.Redact(string(subject)))
	data, _ := json.MarshalIndent(ev.Data, "           ", "  ")
	fmt.Fprintf(w, "data:      %s\n", cfg.Redact(string(data)))
	fmt.Fprintln(w)
	for _, r := range d.Rules {
		if !r.Matched {
			fmt.Fprintf(w, "rule %-24s no match: %s\n", r.Name, r.Reason)
			continue
		}
		fmt.Fprintf(w, "rule %-24s MATCH\n", r.Name)
		for i, a := range r.Actions {
			if a.Error != "" {
				fmt.Fprintf(w, "  action %d (%s): cannot render: %s\n", i+1, a.Kind, a.Error)
				continue
			}
			fmt.Fprintf(w, "  action %d (%s) -> %s\n", i+1, a.Kind, a.Rendered.Target)
			keys := make([]string, 0, len(a.Rendered.Fields))
			for k := range a.Rendered.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.TrimSpace(a.Rendered.Fields[k]) == "" {
					continue
				}
				fmt.Fprintf(w, "    %s: %s\n", k, indent(a.Rendered.Fields[k], "      "))
			}
		}
	}
	if len(d.Rules) == 0 {
		fmt.Fprintln(w, "no rules")
	}
	fmt.Fprintln(w, "\n(dry run: nothing was sent)")
}

func indent(s, pre string) string {
	return strings.ReplaceAll(s, "\n", "\n"+pre)
}
