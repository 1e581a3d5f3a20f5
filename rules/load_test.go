package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
)

// env returns a getenv over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		file string
		want []string // each a prefix of one line of the error, in order
	}{
		{"when_syntax.yaml", []string{
			`when_syntax.yaml:3:36: rule "broken": when: unexpected token EOF`,
			`    event == "vote.created" &&`,
			`                             ^`,
		}},
		{"when_unknown_name.yaml", []string{
			`when_unknown_name.yaml:3:11: rule "typo": when: unknown name evnt`,
			`    evnt == "vote.created"`,
			`    ^`,
		}},
		{"when_quoted.yaml", []string{
			`when_quoted.yaml:3:29: rule "quoted": when: unknown name evnt`,
			`    source == 'a' && evnt == 'b'`,
			`                     ^`,
		}},
		{"when_block.yaml", []string{
			`when_block.yaml:5:27: rule "block": when: unexpected token Operator("=")`,
			`      && data.post.id === 99`,
			`                        ^`,
		}},
		{"when_not_bool.yaml", []string{
			`when_not_bool.yaml:3:11: rule "not-bool": when: must be a boolean condition (expected bool, but got string)`,
			`    event`,
			`    ^`,
		}},
		{"unknown_key.yaml", []string{
			`unknown_key.yaml:6:9: rule "typo" action #1 (slack) needs a channel`,
			`unknown_key.yaml:7:11: unknown key "chanel" in rule "typo" action #1 (slack) (did you mean "channel"?)`,
		}},
		{"missing_var.yaml", []string{
			`missing_var.yaml:4:14: environment variable PRODUCTLIFT_SECRET is not set (use ${PRODUCTLIFT_SECRET:-default} to give a default)`,
		}},
		{"duplicate_rule.yaml", []string{`duplicate_rule.yaml:5:11: duplicate rule name "same" (first at line 2)`}},
		{"unknown_source.yaml", []string{
			`unknown_source.yaml:7:27: rule "wrong-source": unknown source "prodctlift" (did you mean "productlift"?)`,
		}},
		{"two_kinds.yaml", []string{
			`two_kinds.yaml:7:9: rule "both" action #1 has more than one kind (slack, http)`,
		}},
		{"no_kind.yaml", []string{`no_kind.yaml:4:9: rule "nothing" action #1 needs one of slack, http or email`}},
		{"no_actions.yaml", []string{`no_actions.yaml:2:5: rule "idle" has no actions`}},
		{"no_name.yaml", []string{`no_name.yaml:2:5: rule #1 needs a name`}},
		{"no_vendor.yaml", []string{`no_vendor.yaml:2:3: source "mystery" needs a vendor`}},
		{"slack_missing.yaml", []string{`slack_missing.yaml:4:9: rule "needs-slack" action #1 (slack): a slack action needs a top-level slack: block`}},
		{"smtp_missing.yaml", []string{`smtp_missing.yaml:4:9: rule "needs-smtp" action #1 (email): an email action needs a top-level smtp: block`}},
		{"json_and_body.yaml", []string{`json_and_body.yaml:7:11: rule "both-bodies" action #1 (http): give json or body, not both`}},
		{"bad_tls.yaml", []string{`bad_tls.yaml:3:8: smtp tls "ssl": want starttls`}},
		{"bad_duration.yaml", []string{`bad_duration.yaml:5:18: timeout: "5 seconds" is not a duration`}},
		{"templated_host.yaml", []string{`templated_host.yaml:4:22: rule "ssrf" action #1 (http): the url's host must be written literally`}},
		{"yaml_syntax.yaml", []string{`yaml_syntax.yaml:3: YAML: did not find expected node content`}},
		// A grouped rule's templates render the firing, its key templates
		// one event: each name used where it is not set, at its position.
		{"group_templates.yaml", []string{
			`group_templates.yaml:5:42: rule "votes" group: by: template: .count is a name of a grouped rule's actions; this template renders one event`,
			`group_templates.yaml:7:69: rule "votes" action #1 (slack): text: template: .data.post.title is a field of one event, but a grouped rule's templates render the whole firing: write .first.data.post.title, or {{ range .events }}{{ .data.post.title }}{{ end }}`,
			`group_templates.yaml:9:51: rule "votes" action #2 (http): url: template: .id is a field of one event`,
			`group_templates.yaml:10:100: rule "votes" action #2 (http): json: template: .payload is a field of one event`,
			`group_templates.yaml:13:24: rule "votes" action #3 (email): subject: template: .cuont is not a name of a grouped rule's templates (.rule .key .count .events .first .last) (did you mean .count?)`,
			`group_templates.yaml:16:22: rule "votes" action #3 (email): text: template: $.event is a field of one event, but a grouped rule's templates render the whole firing: write $.first.event`,
		}},
		{"group_schedule.yaml", []string{
			`group_schedule.yaml:3:33: rule "digest" group schedule "0 9 * * MON-FRY": day of week (0-6 or SUN-SAT) field "MON-FRY": "FRY" is not a number or a name`,
			`group_schedule.yaml:3:53: rule "digest" group timezone "Europe/Berln" is not a time zone`,
			`group_schedule.yaml:6:25: rule "never" group schedule "0 0 31 2 *": never fires (no such date)`,
			`group_schedule.yaml:9:25: rule "fields" group schedule "0 9 * *": has 4 fields, want 5`,
		}},
		{"group_and_throttle.yaml", []string{`group_and_throttle.yaml:4:5: rule "both": throttle and group do not mix`}},
		{"group_interval_and_schedule.yaml", []string{
			`group_interval_and_schedule.yaml:3:34: rule "both" group: give wait and interval, or schedule, not both`,
			`group_interval_and_schedule.yaml:3:45: rule "both" group: give wait and interval, or schedule, not both`,
		}},
		{"bad_rate.yaml", []string{
			`bad_rate.yaml:1:31: slack: "fast" is not a rate: write a count per unit or duration, such as 1/s, 30/m or 5/10s`,
			`bad_rate.yaml:6:15: rule "paced" action #1 (http): rate "0/s": the count "0" is not a whole number from 1`,
		}},
		{"throttle_no_per.yaml", []string{`throttle_no_per.yaml:3:5: rule "throttled" throttle needs per: the window, such as 1h`}},
		// A condition's error does not hide the templates' (nor the source
		// name that serve would refuse), each at the offending token or the
		// line the parser stopped at; a broken anchor is reported once.
		{"every_stage.yaml", []string{
			`every_stage.yaml:2:3: source name "fb.prod" must be 1-64 letters, digits, '-' or '_'`,
			`every_stage.yaml:2:52: tolerance: 100000000h is out of range (a duration is at most 2562047h)`,
			`every_stage.yaml:6:5: rule "bad-templates" action #2 (http): json: template: unclosed action`,
			`every_stage.yaml:9:27: rule "bad-when": when: unknown name nosuch`,
			`    event == "x" && nosuch`,
			`                    ^`,
			`every_stage.yaml:14:53: rule "bad-templates" action #1 (slack): text: template: function "nosuchfunc" not defined`,
			`every_stage.yaml:16:17: rule "bad-templates" action #2 (http): url: template: unclosed action`,
			`every_stage.yaml:17:36: rule "bad-templates" action #2 (http): header X-Id: template: unexpected "}" in operand`,
			`every_stage.yaml:18:52: rule "bad-templates" action #2 (http): json: template: undefined variable "$y"`,
			`every_stage.yaml:21:21: rule "bad-templates" action #3 (email): subject: template: unexpected {{end}}`,
			`every_stage.yaml:22:29: rule "bad-templates" action #3 (email): html: template: function "nope" not defined`,
			`every_stage.yaml:26:13: rule "bad-templates" action #3 (email): text: template: unexpected EOF`,
		}},
		{"many.yaml", []string{ // every problem, sorted by position
			`many.yaml:1:1: unknown key "sourcse" in the rules file (did you mean "sources"?)`,
			`many.yaml:5:11: rule "one": when: unknown name nope`,
			`    nope`,
			`    ^`,
			`many.yaml:6:14: rule "one" has no actions`,
			`many.yaml:8:17: rule "two": when: invalid operation: == (mismatched types string and int)`,
			`    event == 1`,
			`          ^`,
			`many.yaml:10:46: unknown key "methd" in rule "two" action #1 (http) (did you mean "method"?)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			f, err := Load(path, env(nil))
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want an error", path, f)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				w = strings.Replace(w, tt.file, path, 1)
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d:\n got %q\nwant %q...", i+1, got[i], w)
				}
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	dir := filepath.Join("testdata", "good")
	e := env(map[string]string{"SLEEKPLAN_KEY": "sleek-key-value", "SLACK_HOOK_PATH": "T0/B0/xyz"})
	f, err := Load(filepath.Join(dir, "full.yaml"), e)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range f.Sources {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "productlift leanbe sleekplan userback" {
		t.Errorf("sources in order = %q", got)
	}
	pl, _ := f.Source("productlift")
	if pl.Secret.Reveal() != "dev-productlift-secret" || pl.MaxBody != 512<<10 || pl.Tolerance != 10*time.Minute {
		t.Errorf("productlift = %+v", pl)
	}
	if sig := pl.Signature; sig == nil || *sig != (SignatureSpec{Header: "X-Signature", Algorithm: "sha256", Encoding: "hex", Prefix: "sha256="}) {
		t.Errorf("signature = %+v", pl.Signature)
	}
	if lb, _ := f.Source("leanbe"); lb.Secret.Reveal() != "file-secret-value" || lb.MaxBody != DefaultMaxBody {
		t.Errorf("leanbe secret_file or default max_body wrong: %q %d", lb.Secret.Reveal(), lb.MaxBody)
	}
	if sp, _ := f.Source("sleekplan"); sp.Key.Reveal() != "sleek-key-value" || sp.MaxBody != 2<<20 {
		t.Errorf("sleekplan = %+v", sp)
	}
	if ub, _ := f.Source("userback"); ub.Key.Reveal() != "literal-${not-a-var}" {
		t.Errorf("$${ escape: key = %q", ub.Key.Reveal())
	}
	if f.Slack.WebhookURL.Reveal() != "https://hooks.slack.com/services/T0/B0/xyz" || f.Slack.APIURL != "http://127.0.0.1:9999/api/" {
		t.Errorf("slack = %q %q", f.Slack.WebhookURL.Reveal(), f.Slack.APIURL)
	}
	if f.SMTP.TLS != "none" || f.SMTP.Port != 25 {
		t.Errorf("smtp = %+v", f.SMTP)
	}
	wantQueue := QueueSpec{Sync: "always", Replicas: 3, DedupWindow: 10 * time.Minute,
		DedupWindowPos: Pos{File: filepath.Join(dir, "full.yaml"), Line: 32, Col: 17}}
	if f.Queue != wantQueue {
		t.Errorf("queue = %+v", f.Queue)
	}
	if len(f.Rules) != 3 || f.Set.Len() != 3 {
		t.Fatalf("rules = %d", len(f.Rules))
	}
	r := f.Rules[0]
	if r.Name != "vote-on-99" || r.Program == nil || len(r.Actions) != 2 {
		t.Fatalf("rule 0 = %+v", r)
	}
	a := r.Actions[0]
	if a.Kind != "slack" || a.Slack.Channel != "#feedback" || a.Timeout != 10*time.Second ||
		a.Retry == nil || *a.Retry != (RetrySpec{Attempts: 5, Initial: time.Second, Max: time.Minute}) {
		t.Errorf("merged slack action = %+v retry %+v", a, a.Retry)
	}
	if a.Pos.String() != filepath.Join(dir, "full.yaml")+":44:9" {
		t.Errorf("action pos = %s", a.Pos)
	}
	h := r.Actions[1].HTTP
	if h.Method != "POST" || h.Headers["Authorization"] != "Bearer dev-token" || h.Timeout != 5*time.Second {
		t.Errorf("http = %+v", h)
	}
	j, ok := h.JSON.(map[string]any)
	if !ok || j["post"] != "{{ .data.post.id }}" || j["count"] != 3 || j["ok"] != true || j["none"] != nil {
		t.Errorf("json = %#v", h.JSON)
	}
	if tags, _ := j["tags"].([]any); len(tags) != 2 || tags[0] != "a" {
		t.Errorf("json tags = %#v", j["tags"])
	}
	if got := f.Rules[1].Sources; len(got) != 2 || got[1] != "userback" {
		t.Errorf("source list = %v", got)
	}
	if em := f.Rules[1].Actions[0].Email; len(em.To) != 1 || em.To[0] != "pm@example.com" || em.HTML == "" {
		t.Errorf("email = %+v", em)
	}
	if f.Rules[2].Program != nil || f.Rules[2].Actions[0].HTTP.Method != "PUT" {
		t.Errorf("rule 2 = %+v", f.Rules[2])
	}
	wantSecrets := map[string]string{
		"SLEEKPLAN_KEY":              "sleek-key-value",
		"SLACK_HOOK_PATH":            "T0/B0/xyz",
		"sources.leanbe.secret_file": "file-secret-value",
	}
	for k, v := range wantSecrets {
		if f.Secrets[k] != v {
			t.Errorf("Secrets[%s] = %q, want %q", k, f.Secrets[k], v)
		}
	}
	if _, ok := f.Secrets["CRM_TOKEN"]; ok {
		t.Error("a default value is listed as an environment secret")
	}
	if len(f.Hash) != 64 {
		t.Errorf("hash = %q", f.Hash)
	}

	// The design document's example loads with its variables set.
	vars := map[string]string{}
	for _, k := range []string{"PRODUCTLIFT_SECRET", "SLEEKPLAN_KEY", "LEANBE_SECRET", "USERBACK_KEY", "SLACK_BOT_TOKEN", "SMTP_PASSWORD", "CRM_TOKEN"} {
		vars[k] = "value-of-" + k
	}
	d, err := Load(filepath.Join(dir, "design.yaml"), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if d.SMTP.TLS != "starttls" || d.SMTP.Port != 587 || d.SMTP.Password.Reveal() != "value-of-SMTP_PASSWORD" {
		t.Errorf("design smtp = %+v", d.SMTP)
	}
}

func TestExpand(t *testing.T) {
	e := env(map[string]string{"A": "alpha", "EMPTY": "", "N": "42"})
	tests := []struct {
		name, in, want string
		vars           []string
		errOff         int    // -1: no error
		errHas         string // part of the error
	}{
		{"plain", "no vars here", "no vars here", nil, -1, ""},
		{"var", "x-${A}-y", "x-alpha-y", []string{"A"}, -1, ""},
		{"two", "${A}${N}", "alpha42", []string{"A", "N"}, -1, ""},
		{"default unused", "${A:-zzz}", "alpha", []string{"A"}, -1, ""},
		{"default when unset", "${MISSING:-fallback value}", "fallback value", nil, -1, ""},
		{"default when empty", "${EMPTY:-d}", "d", nil, -1, ""},
		{"empty default", "[${MISSING:-}]", "[]", nil, -1, ""},
		{"set but empty", "[${EMPTY}]", "[]", []string{"EMPTY"}, -1, ""},
		{"escape", "$${A} and $$x and $x", "${A} and $$x and $x", nil, -1, ""},
		{"escape then var", "$${A}${A}", "${A}alpha", []string{"A"}, -1, ""},
		{"missing", "abc ${NOPE}", "", nil, 4, "environment variable NOPE is not set"},
		{"unterminated", "ab ${A", "", nil, 3, "unterminated ${"},
		{"bad name", "${1A}", "", nil, 0, "invalid variable name"},
		{"unicode offset", "é ${NOPE}", "", nil, 2, "NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, errs := expand(tt.in, e)
			if tt.errOff >= 0 {
				if len(errs) != 1 || errs[0].offset != tt.errOff || !strings.Contains(errs[0].msg, tt.errHas) {
					t.Fatalf("errs = %+v, want one at %d containing %q", errs, tt.errOff, tt.errHas)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errs = %+v", errs)
			}
			if x.value != tt.want {
				t.Errorf("value = %q, want %q", x.value, tt.want)
			}
			if len(x.vars) != len(tt.vars) {
				t.Errorf("vars = %v, want %v", x.vars, tt.vars)
			}
			for _, v := range tt.vars {
				if _, ok := x.vars[v]; !ok {
					t.Errorf("vars = %v, want %s", x.vars, v)
				}
			}
		})
	}
}

// An environment value can never inject YAML: it stays one string.
func TestExpandCannotInjectYAML(t *testing.T) {
	src := "rules:\n  - name: ${NAME}\n    actions:\n      - http: { url: \"https://example.com/\" }\n"
	f, err := Parse("inject.yaml", []byte(src), env(map[string]string{"NAME": "x\n    when: false\n    source: evil"}))
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Rules[0]; r.Name != "x\n    when: false\n    source: evil" || r.When != "" || r.Sources != nil {
		t.Errorf("rule = %+v", r)
	}
}

// No value of a secret or an environment variable appears in any error.
func TestSecretsNeverInErrors(t *testing.T) {
	const canary, fileCanary = "zq7f3a9cx1wv8k2m", "pp4r9t2wq8jy"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(fileCanary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `sources:
  a:
    vendor: productlift
    secret: ${CANARY}
    tolerance: ${CANARY}
    max_body: ${CANARY}
  b:
    vendor: sleekplan
    key_file: secret.txt
    key: ${CANARY}
slack:
  webhook_url: ${CANARY}
smtp:
  host: ${CANARY}
  tls: ${CANARY}
  from: ${CANARY}
  password: ${CANARY}
rules:
  - name: ${CANARY}
    source: ${CANARY}
    when: headers["x"] == "${CANARY}" &&
    actions:
      - http: { url: "${CANARY}", method: "${CANARY}" }
  - name: ${CANARY}
    when: 1${CANARY}
  - name: x-${CANARY}
    when: '"${CANARY}" ==='
    actions:
      - http: { url: "https://example.com/", timeout: "${CANARY}" }
        retry: { attempts: "${CANARY}" }
`
	_, err := Parse(filepath.Join(dir, "rules.yaml"), []byte(src), env(map[string]string{"CANARY": canary}))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	t.Log(msg)
	// Not the value, nor any fragment of it, in any case.
	for _, c := range []string{canary, fileCanary} {
		for i := 0; i+3 <= len(c); i++ {
			if frag := c[i : i+3]; strings.Contains(strings.ToLower(msg), frag) {
				t.Fatalf("fragment %q of a secret leaked into the error:\n%s", frag, msg)
			}
		}
	}
	if n := len(strings.Split(msg, "\n")); n < 10 {
		t.Errorf("want many errors, got:\n%s", msg)
	}
	if !strings.Contains(msg, "${CANARY}") {
		t.Errorf("want redacted references in the error:\n%s", msg)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("one", "tok-one\n")
	write("two", "tok-two\n\n")
	write("crlf", "tok-crlf\r\n")
	write("empty", "\n")
	tests := []struct {
		name    string
		slack   string
		want    string
		wantErr string
	}{
		{"relative, one newline trimmed", "token_file: one", "tok-one", ""},
		{"only one newline trimmed", "token_file: two", "tok-two\n", ""},
		{"crlf", "token_file: crlf", "tok-crlf", ""},
		{"absolute", "token_file: " + filepath.Join(dir, "one"), "tok-one", ""},
		{"env in path", "token_file: ${DIR}/one", "tok-one", ""},
		{"webhook_url_file", "webhook_url_file: one", "", "webhook_url is not an https URL"},
		{"missing file", "token_file: nope", "", "rules.yaml:2:15: token_file: open "},
		{"empty file", "token_file: empty", "", "token_file: " + filepath.Join(dir, "empty") + " is empty"},
		{"both", "token: x\n  token_file: one", "", "rules.yaml:3:3: give token or token_file, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "slack:\n  " + tt.slack + "\n"
			f, err := Parse(filepath.Join(dir, "rules.yaml"), []byte(src), env(map[string]string{"DIR": dir}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Slack.Token.Reveal(); got != tt.want {
				t.Errorf("token = %q, want %q", got, tt.want)
			}
			if f.Secrets["slack.token_file"] != tt.want {
				t.Errorf("Secrets = %v", f.Secrets)
			}
			if r := secret.NewRedactor(f.Secrets).Redact("x " + tt.want); strings.Contains(r, tt.want) {
				t.Errorf("redactor kept the file's secret: %q", r)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"1MiB", 1 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1 MB", 1e6, true},
		{"2G", 2 << 30, true},
		{"10B", 10, true},
		{"-1", 0, false},
		{"1.5MiB", 0, false},
		{"MiB", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "rules: []\n", "sources:\nrules:\n"} {
		f, err := Parse("empty.yaml", []byte(src), env(nil))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if f.Set == nil || f.Set.Len() != 0 {
			t.Errorf("%q: set = %+v", src, f.Set)
		}
	}
	if _, err := Parse("two.yaml", []byte("rules: []\n---\nrules: []\n"), env(nil)); err == nil || !strings.Contains(err.Error(), "two.yaml:2:1: more than one YAML document") {
		t.Errorf("two documents: %v", err)
	}
}

func TestValidation(t *testing.T) {
	const act = "    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
	tests := []struct {
		name, src, want string // want: "" for a valid file
	}{
		{"sync duration", "queue: { sync: 1s }\n", ""},
		{"sync bad", "queue:\n  sync: sometimes\n", `v.yaml:2:9: queue sync: "sometimes" is not a duration`},
		{"duration too long", "queue:\n  dedup_window: 2562048h\n", "v.yaml:2:17: queue dedup_window: 2562048h is out of range (a duration is at most 2562047h)"},
		{"longest duration", "queue:\n  dedup_window: 2562047h\n", ""},
		{"duration too long in ns", "queue:\n  dedup_window: 9223372036854775808ns\n", "v.yaml:2:17: queue dedup_window: 9223372036854775808ns is out of range"},
		{"template in a block", "slack: { token: t }\nrules:\n  - name: a\n    actions:\n      - slack:\n          channel: c\n          text: |\n            line one\n              {{ .data.x | nope }}\n", `v.yaml:9:28: rule "a" action #1 (slack): text: template: function "nope" not defined`},
		{"template functions", "slack: { token: t }\nrules:\n  - name: a\n    actions:\n      - slack: { channel: c, text: '{{ .data.x | default \"-\" | upper | truncate 5 }} {{ json .data }}' }\n", ""},
		{"replicas range", "queue: { replicas: 9 }\n", "v.yaml:1:20: queue replicas: 9 is out of range [0, 5]"},
		{"slack both", "slack:\n  token: a\n  webhook_url: https://hooks.slack.com/x\n", "v.yaml:1:1: slack: give token or webhook_url, not both"},
		{"slack neither", "slack: {}\n", "v.yaml:1:1: slack needs token (or token_file) or webhook_url"},
		{"smtp from", "smtp: { host: h, from: nobody }\n", `v.yaml:1:24: smtp from "nobody" is not an address`},
		{"source name", "sources:\n  \"a/b\": { vendor: x }\n", `v.yaml:2:3: source name "a/b" must be 1-64 letters`},
		// serve refused a dot, which check accepted.
		{"source name with a dot", "sources:\n  fb.prod: { vendor: x }\n", `v.yaml:2:3: source name "fb.prod" must be 1-64 letters, digits, '-' or '_'`},
		{"source name of 64", "sources:\n  " + strings.Repeat("a", 64) + ": { vendor: x }\n", ""},
		{"source name of 65", "sources:\n  " + strings.Repeat("a", 65) + ": { vendor: x }\n", `v.yaml:2:3: source name "aaaa`},
		{"source name starting with -", "sources:\n  -a: { vendor: x }\n", `v.yaml:2:3: source name "-a" must be`},
		{"signature algorithm", "sources:\n  a: { vendor: hmac, signature: { algorithm: md5 } }\n", `v.yaml:2:46: signature algorithm "md5"`},
		{"duplicate key", "rules:\n  - name: a\n    name: b\n" + act, `v.yaml:3:5: duplicate key "name" in rule #1 (first at line 2)`},
		{"http method", "rules:\n  - name: a\n    actions: [ { http: { url: \"https://example.com/\", method: FETCH } } ]\n", `v.yaml:3:63: rule "a" action #1 (http): method "FETCH"`},
		{"retry order", "rules:\n  - name: a\n    actions:\n      - http: { url: \"https://example.com/\" }\n        retry: { initial: 1m, max: 1s }\n", "v.yaml:5:36: rule \"a\" action #1 (http): retry max 1s is less than initial 1m0s"},
		{"url scheme", "rules:\n  - name: a\n    actions: [ { http: { url: \"ftp://example.com/\" } } ]\n", "v.yaml:3:31: rule \"a\" action #1 (http): url scheme \"ftp\" is not http or https"},
		{"url without scheme", "rules:\n  - name: a\n    actions: [ { http: { url: \"example.com/x\" } } ]\n", "v.yaml:3:31: rule \"a\" action #1 (http): url must start with http:// or https://"},
		{"url with templated scheme", "rules:\n  - name: a\n    actions: [ { http: { url: \"{{ .data.s }}://example.com/\" } } ]\n", "v.yaml:3:31: rule \"a\" action #1 (http): the url's scheme must be written literally"},
		{"url with a port from data", "rules:\n  - name: a\n    actions: [ { http: { url: \"https://example.com:{{ .data.port }}/\" } } ]\n", "v.yaml:3:31: rule \"a\" action #1 (http): the url's host must be written literally"},
		{"url without host", "rules:\n  - name: a\n    actions: [ { http: { url: \"https:///x\" } } ]\n", "v.yaml:3:31: rule \"a\" action #1 (http): url has no host"},
		{"templated path ok", "rules:\n  - name: a\n    actions: [ { http: { url: \"https://example.com/{{ .data.id }}\" } } ]\n", ""},
		{"source filter with key path", "rules:\n  - name: a\n    source: nope\n" + act, `v.yaml:3:13: rule "a": unknown source "nope"`},
		{"rules not a list", "rules: {}\n", "v.yaml:1:8: rules must be a list, not a mapping"},
		{"x- keys ignored", "x-anchors: { a: 1 }\nrules: []\n", ""},
		{"x- only at top", "queue: { x-foo: 1 }\n", `v.yaml:1:10: unknown key "x-foo" in queue`},
		{"subject fields type-checked", "rules:\n  - name: a\n    when: topic == \"vote.created\" && subject.title contains \"dark\" && subject.votes > 10 && subject.author.name != \"\"\n" + act, ""},
		{"subject field misspelt", "rules:\n  - name: a\n    when: subject.titel contains \"dark\"\n" + act, `v.yaml:3:19: rule "a": when: unknown field titel`},
		{"subject votes is a number", "rules:\n  - name: a\n    when: subject.votes contains \"x\"\n" + act, `v.yaml:3:25: rule "a": when: invalid operation: contains (mismatched types float64 and string)`},
		{"vendor data open to any field", "rules:\n  - name: a\n    when: data.anything.deeper == 1 && payload.x != nil && headers[\"x-y\"] == \"z\"\n" + act, ""},
		{"when multi-error file keeps going", "rules:\n  - name: a\n    when: nope\n" + act + "  - name: b\n    when: nope2\n" + act, "v.yaml:3:11: rule \"a\": when: unknown name nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("v.yaml", []byte(tt.src), env(nil))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("err = %v\nwant prefix %q", err, tt.want)
			}
		})
	}
}
