package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

const deadLettersUsage = `usage: switchyard dead-letters list|replay|drop [flags] [SEQ...]
  list                 list dead letters (filters below)
  replay SEQ...        replay these; or, with no SEQ, every dead letter the filters select
  drop SEQ...          delete these; or, with no SEQ, every dead letter the filters select
A bulk replay or drop needs at least one filter, or --all. It talks to a
running serve's admin listener: --admin, or $SWITCHYARD_ADMIN.
`

// defaultAdmin is the admin listener serve binds by default.
const defaultAdmin = "http://127.0.0.1:8081"

// deadLetters is a thin client of the admin API's dead-letter endpoints.
func deadLetters(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newCommand("dead-letters", deadLettersUsage, stdout, stderr)
	client := adminFlags(fs)
	rule := fs.String("rule", "", "only this rule's dead letters")
	kind := fs.String("kind", "", "only this action kind (slack, http, email)")
	source := fs.String("source", "", "only this source's dead letters")
	since := fs.String("since", "", "only dead letters since this RFC 3339 time or duration ago (1h)")
	all := fs.Bool("all", false, "with replay or drop and no SEQ: every dead letter")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	rest, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return fs.fail("name a verb: list, replay or drop")
	}
	verb, seqs := rest[0], rest[1:]
	for _, seq := range seqs {
		if n, err := strconv.ParseUint(seq, 10, 64); err != nil || n == 0 {
			return fs.fail("%q is not a dead letter's sequence number (a whole number from 1, as list shows)", seq)
		}
	}
	filtered := false
	c := client()
	q := url.Values{}
	for k, v := range map[string]string{"rule": *rule, "kind": *kind, "source": *source, "since": *since} {
		if v != "" {
			q.Set(k, v)
			filtered = true
		}
	}
	if *all {
		q.Set("all", "true")
	}
	var (
		out any
		err error
	)
	switch verb {
	case "list":
		if len(seqs) > 0 {
			return fs.fail("list takes no SEQ: it lists what the filters select")
		}
		var res struct {
			DeadLetters []struct {
				Seq      uint64    `json:"seq"`
				At       time.Time `json:"at"`
				Attempts int       `json:"attempts"`
				Error    string    `json:"error"`
				Job      struct {
					Rule   string `json:"rule"`
					Action int    `json:"action"`
					Kind   string `json:"kind"`
					Event  struct {
						Source string `json:"source"`
						Event  string `json:"event"`
						ID     string `json:"id"`
					} `json:"event"`
				} `json:"job"`
			} `json:"dead_letters"`
		}
		q.Set("limit", "1000")
		if err = c.do(ctx, http.MethodGet, "/api/dead-letters?"+q.Encode(), nil, &res); err == nil && !*asJSON {
			if len(res.DeadLetters) == 0 {
				if filtered {
					fmt.Fprintln(stdout, "No dead letters match these filters.")
				} else {
					fmt.Fprintln(stdout, "No dead letters: every delivery was made or is still being tried.")
				}
				return 0
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tAT\tRULE\tACTION\tEVENT\tATTEMPTS\tERROR")
			for _, d := range res.DeadLetters {
				fmt.Fprintf(tw, "%d\t%s\t%s\t#%d %s\t%s %s/%s\t%d\t%s\n", d.Seq, d.At.Format(time.RFC3339), d.Job.Rule,
					d.Job.Action+1, d.Job.Kind, d.Job.Event.Event, d.Job.Event.Source, d.Job.Event.ID, d.Attempts, oneLine(d.Error, 100))
			}
			_ = tw.Flush()
			return 0
		}
		out = res
	case "replay", "drop":
		method, suffix := http.MethodPost, "/replay"
		if verb == "drop" {
			method, suffix = http.MethodDelete, ""
		}
		var res map[string]any
		if len(seqs) == 0 {
			path := "/api/dead-letters"
			if verb == "replay" {
				path += "/replay"
			}
			err = c.do(ctx, method, path+"?"+q.Encode(), nil, &res)
			out = res
			break
		}
		done, failed := []string{}, []string{}
		for _, seq := range seqs {
			if e := c.do(ctx, method, "/api/dead-letters/"+url.PathEscape(seq)+suffix, nil, nil); e != nil {
				failed = append(failed, seq+": "+e.Error())
				continue
			}
			done = append(done, seq)
		}
		if len(done) > 0 {
			fmt.Fprintf(stdout, "%s: %s\n", map[string]string{"replay": "replayed", "drop": "dropped"}[verb], strings.Join(done, " "))
		}
		for _, f := range failed {
			fmt.Fprintln(stderr, "failed:", f)
		}
		if len(failed) > 0 {
			return 1
		}
		return 0
	default:
		return fs.fail("unknown verb %q: list, replay or drop", verb)
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// adminFlags adds --admin and --token to a command that talks to a running
// serve's admin listener, and returns the client they make.
func adminFlags(c *command) func() *adminClient {
	admin := c.String("admin", firstNonEmpty(os.Getenv("SWITCHYARD_ADMIN"), defaultAdmin), "serve's admin listener URL; $SWITCHYARD_ADMIN sets the default")
	token := c.String("token", "", "admin token (default: $SWITCHYARD_ADMIN_TOKEN)")
	return func() *adminClient {
		return &adminClient{base: strings.TrimRight(*admin, "/"), token: firstNonEmpty(*token, os.Getenv("SWITCHYARD_ADMIN_TOKEN"))}
	}
}

type adminClient struct {
	base, token string
}

// do calls the admin API with in (if not nil) as the JSON body and decodes
// the answer into out (if not nil). An answer other than 2xx is an error
// with the API's message.
func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(answer, &e) == nil && e.Error != "" {
			return &apiError{Code: resp.StatusCode, Msg: e.Error}
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(answer, out)
	}
	return nil
}

// apiError is the admin API's answer to a request it refused.
type apiError struct {
	Code int
	Msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d)", e.Msg, e.Code) }
