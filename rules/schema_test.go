package rules

// These tests keep rules.schema.json (what editors validate and complete
// with) and the loader (what Switchyard accepts) from drifting apart: every
// good file passes both, the bad files that are bad for their shape are
// rejected by both, a table of small files gets the same verdict from both,
// and the schema's property names are the loader's known keys.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/sources"
)

const schemaPath = "../rules.schema.json"

// compileSchema compiles rules.schema.json; compiling also validates it
// against the draft 2020-12 meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc := readSchemaDoc(t)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("rules.schema.json", doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile("rules.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return sch
}

func readSchemaDoc(t *testing.T) any {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s is not JSON: %v", schemaPath, err)
	}
	return doc
}

// yamlInstance decodes a rules file as an editor sees it (before ${VAR}
// expansion; anchors, aliases and merge keys resolved) into the JSON value
// the schema validates.
func yamlInstance(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("as JSON: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func validateYAML(sch *jsonschema.Schema, data []byte) error {
	inst, err := yamlInstance(data)
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// anyEnv resolves every variable, as a deployment that sets them all would.
func anyEnv(name string) (string, bool) {
	switch name {
	case "SLACK_HOOK_PATH":
		return "T000/B000/XXX", true
	}
	return "value-of-" + name, true
}

// goodFiles are the files that must load: the loader's own good files, the
// example at the repository's root, and any rules file under examples/.
func goodFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../rules.example.yaml")
	err = filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	return files
}

func TestSchemaAcceptsGoodFiles(t *testing.T) {
	sch := compileSchema(t)
	for _, path := range goodFiles(t) {
		t.Run(path, func(t *testing.T) {
			if _, err := Load(path, anyEnv); err != nil {
				t.Fatalf("the loader rejects a good file:\n%v", err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateYAML(sch, data); err != nil {
				t.Errorf("the schema rejects a file the loader accepts:\n%v", err)
			}
		})
	}
}

// TestSchemaRejectsBadFiles classifies every file in testdata/bad: the
// schema must reject those that are bad for their shape; the others are bad
// for reasons only the loader can see. A new bad file fails this test until
// it is classified.
func TestSchemaRejectsBadFiles(t *testing.T) {
	const (
		shape    = "shape"    // the schema must reject it, at the instance location at
		semantic = "semantic" // only the loader can see it; the schema accepts it
		notYAML  = "yaml"     // not YAML at all
	)
	type verdict struct{ kind, at string }
	cases := map[string]verdict{
		"bad_duration.yaml":                {shape, "/rules/0/actions/0/timeout"}, // "5 seconds"
		"bad_tls.yaml":                     {shape, "/smtp/tls"},                  // outside the enum
		"json_and_body.yaml":               {shape, "/rules/0/actions/0/http"},    // both bodies
		"many.yaml":                        {shape, ""},                           // sourcse
		"no_actions.yaml":                  {shape, "/rules/0"},
		"no_kind.yaml":                     {shape, "/rules/0/actions/0"},
		"no_name.yaml":                     {shape, "/rules/0"},
		"no_vendor.yaml":                   {shape, "/sources/mystery"},
		"slack_missing.yaml":               {shape, ""}, // a slack action without the slack: block
		"smtp_missing.yaml":                {shape, ""}, // an email action without the smtp: block
		"templated_host.yaml":              {shape, "/rules/0/actions/0/http/url"},
		"two_kinds.yaml":                   {shape, "/rules/0/actions/0"},
		"unknown_key.yaml":                 {shape, "/rules/0/actions/0/slack"}, // chanel
		"every_stage.yaml":                 {shape, ""},                         // fb.prod; the rest is semantic
		"duplicate_rule.yaml":              {semantic, ""},                      // uniqueness of a member across items
		"missing_var.yaml":                 {semantic, ""},                      // the environment
		"unknown_source.yaml":              {semantic, ""},                      // a reference to a key of sources:
		"when_block.yaml":                  {semantic, ""},                      // expr
		"when_not_bool.yaml":               {semantic, ""},                      // expr
		"when_quoted.yaml":                 {semantic, ""},                      // expr
		"when_syntax.yaml":                 {semantic, ""},                      // expr
		"when_unknown_name.yaml":           {semantic, ""},                      // expr
		"yaml_syntax.yaml":                 {notYAML, ""},
		"bad_rate.yaml":                    {shape, "/slack/rate"},       // fast; and 0/s
		"group_and_throttle.yaml":          {shape, "/rules/0"},          // throttle on a grouped rule
		"group_interval_and_schedule.yaml": {shape, "/rules/0/group"},    // both forms
		"throttle_no_per.yaml":             {shape, "/rules/0/throttle"}, // no window
		"group_schedule.yaml":              {semantic, ""},               // cron fields, time zones
		"group_templates.yaml":             {semantic, ""},               // the names templates read
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("%s is classified here but is not in testdata/bad", name)
		}
	}
	sch := compileSchema(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata/bad", name)
			if _, err := Load(path, noEnv); err == nil {
				t.Fatalf("the loader accepts a bad file")
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			err = validateYAML(sch, data)
			want, ok := cases[name]
			if !ok {
				t.Fatalf("classify %s in this test: does the schema reject it (shape) or only the loader (semantic)?", name)
			}
			switch want.kind {
			case shape:
				var ve *jsonschema.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("the schema accepts a file that is bad for its shape (err = %v)", err)
				}
				var at []string
				for _, u := range ve.BasicOutput().Errors {
					at = append(at, u.InstanceLocation)
				}
				if !slices.Contains(at, want.at) {
					t.Errorf("the schema rejects it at %q, want at %q:\n%v", at, want.at, err)
				}
			case semantic:
				if err != nil {
					t.Errorf("the schema rejects a file classified as valid in shape:\n%v", err)
				}
			case notYAML:
				if _, err := yamlInstance(data); err == nil {
					t.Errorf("the file is classified as not YAML but decodes")
				}
			}
		})
	}
}

func noEnv(string) (string, bool) { return "", false }

// TestSchemaAgreesWithLoader gives small files to both: each must get the
// same verdict from the schema and from the loader.
func TestSchemaAgreesWithLoader(t *testing.T) {
	env := map[string]string{
		"VENDOR":    "github",
		"SMTP_PORT": "2525",
		"CRM_HOST":  "crm.example.com",
		"SECRET":    "s3cret",
		"RATE":      "2/s",
	}
	getenv := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	// rule wraps one action (a YAML flow mapping) in a complete file with
	// both top-level blocks.
	rule := func(action string) string {
		return "slack: {token: xoxb-1}\nsmtp: {host: smtp.example.com, from: bot@example.com}\n" +
			"rules:\n  - name: r\n    actions:\n      - " + action + "\n"
	}
	source := func(fields string) string {
		return "sources:\n  s: {vendor: productlift, " + fields + "}\n"
	}
	smtp := func(fields string) string {
		return "smtp: {host: smtp.example.com, from: bot@example.com, " + fields + "}\n"
	}
	const http = `{http: {url: "https://example.com/"}}`
	tests := []struct {
		name, yaml string
		ok         bool
	}{
		{"minimal", rule(http), true},
		{"null sections", "sources:\nqueue:\nrules:\n", true},
		{"x- key at the top", "x-anchors: {a: 1}\n" + rule(http), true},
		{"x- key in a source", source("secret: s, x-note: 1"), false},
		{"unknown top-level key", "metrics: {}\n", false},
		{"top level is a list", "- a\n", false},
		{"source name with a space", "sources:\n  bad name: {vendor: github, secret: s}\n", false},
		{"source name with a dot", "sources:\n  fb.prod: {vendor: github, secret: s}\n", false},
		{"source name of 65", "sources:\n  " + strings.Repeat("a", 65) + ": {vendor: github, secret: s}\n", false},
		{"source name with - and _", "sources:\n  fb_prod-2: {vendor: github, secret: s}\n", true},
		{"source not a mapping", "sources:\n  s: github\n", false},
		{"vendor from the environment", "sources:\n  s: {vendor: \"${VENDOR}\", secret: s}\n", true},
		{"secret from the environment", source(`secret: "${SECRET}"`), true},
		{"secret and secret_file", source("secret: s, secret_file: leanbe.secret"), false},
		{"key and key_file", source("key: k, key_file: leanbe.secret"), false},
		{"secret_file", source("secret_file: leanbe.secret"), true},
		{"signature upper case", source("secret: s, signature: {header: X-Sig, algorithm: SHA512, encoding: BASE64, prefix: v1=}"), true},
		{"signature algorithm md5", source("secret: s, signature: {algorithm: md5}"), false},
		{"signature encoding base32", source("secret: s, signature: {encoding: base32}"), false},
		{"signature unknown key", source("secret: s, signature: {heder: X-Sig}"), false},
		{"signature not a mapping", source("secret: s, signature: sha256"), false},
		{"tolerance 0", source("secret: s, tolerance: 0"), true},
		{"tolerance 1h30m", source("secret: s, tolerance: 1h30m"), true},
		{"tolerance 1.5s", source("secret: s, tolerance: 1.5s"), true},
		{"tolerance negative", source("secret: s, tolerance: -5m"), false},
		{"tolerance in words", source("secret: s, tolerance: 5 minutes"), false},
		{"tolerance without unit", source("secret: s, tolerance: 300"), false},
		{"max_body bytes", source("secret: s, max_body: 2097152"), true},
		{"max_body 1 MiB", source("secret: s, max_body: 1 MiB"), true},
		{"max_body 2MB", source("secret: s, max_body: 2MB"), true},
		{"max_body 0", source("secret: s, max_body: 0"), false},
		{"max_body 1TB", source("secret: s, max_body: 1TB"), false},
		{"slack token_file", "slack: {token_file: leanbe.secret}\n", true},
		{"slack webhook_url", "slack: {webhook_url: \"https://hooks.slack.com/services/T/B/X\"}\n", true},
		{"slack token and webhook_url", "slack: {token: xoxb-1, webhook_url: \"https://hooks.slack.com/services/T/B/X\"}\n", false},
		{"slack api_url only", "slack: {api_url: \"https://slack.example.com/api/\"}\n", false},
		{"smtp port 2525", smtp("port: 2525"), true},
		{"smtp port as a string", smtp(`port: "2525"`), true},
		{"smtp port from the environment", smtp(`port: "${SMTP_PORT}"`), true},
		{"smtp port 0", smtp("port: 0"), false},
		{"smtp port 65536", smtp("port: 65536"), false},
		{"smtp tls", smtp("tls: tls"), true},
		{"smtp tls ssl", smtp("tls: ssl"), false},
		{"smtp password and username", smtp("username: u, password: p"), true},
		{"smtp password without username", smtp("password: p"), false},
		{"smtp without from", "smtp: {host: smtp.example.com}\n", false},
		{"smtp without host", "smtp: {from: bot@example.com}\n", false},
		{"queue", "queue: {sync: 250ms, replicas: 3, dedup_window: 48h}\n", true},
		{"queue sync always", "queue: {sync: always}\n", true},
		{"queue sync never", "queue: {sync: never}\n", false},
		{"queue sync 0", "queue: {sync: 0}\n", false},
		{"queue replicas 0", "queue: {replicas: 0}\n", true},
		{"queue replicas 6", "queue: {replicas: 6}\n", false},
		{"queue unknown key", "queue: {replica: 3}\n", false},
		{"rules not a list", "rules: {name: r}\n", false},
		{"rule without name", "rules:\n  - actions: [" + http + "]\n", false},
		{"rule unknown key", "rules:\n  - {name: r, whn: x, actions: [" + http + "]}\n", false},
		{"rule with sources", "sources:\n  a: {vendor: github, secret: s}\n  b: {vendor: github, secret: s}\n" +
			"rules:\n  - {name: r, source: [a, b], actions: [" + http + "]}\n  - {name: q, source: a, actions: [" + http + "]}\n", true},
		{"rule when a list", "rules:\n  - {name: r, when: [a], actions: [" + http + "]}\n", false},
		{"rule actions empty", "rules:\n  - {name: r, actions: []}\n", false},
		{"rule actions a mapping", "rules:\n  - {name: r, actions: " + http + "}\n", false},
		{"action with two kinds", rule(`{slack: {channel: "#a", text: hi}, http: {url: "https://example.com/"}}`), false},
		{"action with no kind", rule(`{timeout: 5s}`), false},
		{"action unknown key", rule(`{http: {url: "https://example.com/"}, retries: 3}`), false},
		{"action x- key", rule(`{http: {url: "https://example.com/"}, x-note: 3}`), false},
		{"retry", rule(`{http: {url: "https://example.com/"}, retry: {attempts: 5, initial: 1s, max: 1m}, timeout: 5s}`), true},
		{"retry attempts 0", rule(`{http: {url: "https://example.com/"}, retry: {attempts: 0}}`), false},
		{"retry attempts 1001", rule(`{http: {url: "https://example.com/"}, retry: {attempts: 1001}}`), false},
		{"retry unknown key", rule(`{http: {url: "https://example.com/"}, retry: {tries: 3}}`), false},
		{"merge key", "x-d: &d {retry: {attempts: 3}, timeout: 5s}\n" + rule(`{<<: *d, http: {url: "https://example.com/"}}`), true},
		{"http everything", rule(`{http: {method: put, url: "https://example.com/{{ .id }}?q={{ .event }}", headers: {A: b, N: 1}, body: "{{ .event }}", timeout: 5s}}`), true},
		{"http json", rule(`{http: {url: "https://example.com/", json: {a: [1, "{{ .id }}", null, {b: true}]}}}`), true},
		{"http method FETCH", rule(`{http: {method: FETCH, url: "https://example.com/"}}`), false},
		{"http url ftp", rule(`{http: {url: "ftp://example.com/"}}`), false},
		{"http url without scheme", rule(`{http: {url: "example.com/x"}}`), false},
		{"http url host from the environment", rule(`{http: {url: "https://${CRM_HOST}/x"}}`), true},
		{"http url templated host", rule(`{http: {url: "https://{{ .data.host }}/x"}}`), false},
		{"http without url", rule(`{http: {method: GET}}`), false},
		{"http json and body", rule(`{http: {url: "https://example.com/", json: {a: 1}, body: x}}`), false},
		{"http header a list", rule(`{http: {url: "https://example.com/", headers: {A: [b]}}}`), false},
		{"http unknown key", rule(`{http: {url: "https://example.com/", header: {A: b}}}`), false},
		{"http sign", rule(`{http: {url: "https://example.com/", sign: {secret: "${SECRET}"}}}`), true},
		{"http sign secret_file", rule(`{http: {url: "https://example.com/", sign: {secret_file: leanbe.secret}}}`), true},
		{"http sign empty", rule(`{http: {url: "https://example.com/", sign: {}}}`), false},
		{"http sign secret and secret_file", rule(`{http: {url: "https://example.com/", sign: {secret: s, secret_file: leanbe.secret}}}`), false},
		{"http sign a string", rule(`{http: {url: "https://example.com/", sign: "${SECRET}"}}`), false},
		{"http sign unknown key", rule(`{http: {url: "https://example.com/", sign: {key: s}}}`), false},
		{"slack action", rule(`{slack: {channel: "#a", text: hi, username: bot, icon_emoji: ":bell:"}}`), true},
		{"slack action without text", rule(`{slack: {channel: "#a"}}`), false},
		{"slack blocks", rule(`{slack: {channel: "#a", text: hi, blocks: [{type: header, text: "{{ .event }}"}, {type: divider}]}}`), true},
		{"slack blocks a mapping", rule(`{slack: {channel: "#a", text: hi, blocks: {type: divider}}}`), false},
		{"slack blocks without text", rule(`{slack: {channel: "#a", blocks: [{type: divider}]}}`), false},
		{"slack action without slack block", "rules:\n  - name: r\n    actions: [{slack: {channel: \"#a\", text: hi}}]\n", false},
		{"email action", rule(`{email: {to: [a@example.com, b@example.com], cc: c@example.com, subject: s, text: t, html: h}}`), true},
		{"email action html only", rule(`{email: {to: a@example.com, subject: s, html: h}}`), true},
		{"email action without body", rule(`{email: {to: a@example.com, subject: s}}`), false},
		{"email action without to", rule(`{email: {subject: s, text: t}}`), false},
		{"email action without smtp block", "rules:\n  - name: r\n    actions: [{email: {to: a@example.com, subject: s, text: t}}]\n", false},
		{"slack rate", "slack: {token: xoxb-1, rate: 1/s}\n", true},
		{"slack rate per 10s", "slack: {token: xoxb-1, rate: 5/10s}\n", true},
		{"slack rate from the environment", "slack: {token: xoxb-1, rate: \"${RATE}\"}\n", true},
		{"slack rate a number", "slack: {token: xoxb-1, rate: 1}\n", false},
		{"slack rate per day", "slack: {token: xoxb-1, rate: 1/d}\n", false},
		{"slack rate 0", "slack: {token: xoxb-1, rate: 0/s}\n", false},
		{"action rate", rule(`{http: {url: "https://example.com/"}, rate: 30/m}`), true},
		{"slack action rate", rule(`{slack: {channel: "#a", text: hi}, rate: 2/s}`), true},
		{"email action rate", rule(`{email: {to: a@example.com, subject: s, text: t}, rate: 1/s}`), false},
		{"action rate in the kind block", rule(`{http: {url: "https://example.com/", rate: 1/s}}`), false},
		{"action throttle", rule(`{http: {url: "https://example.com/"}, throttle: {key: "{{ .id }}", per: 1h}}`), true},
		{"action throttle without per", rule(`{http: {url: "https://example.com/"}, throttle: {key: "{{ .id }}"}}`), false},
		{"rule throttle", "rules:\n  - {name: r, throttle: {per: 10m}, actions: [" + http + "]}\n", true},
		{"rule throttle unknown key", "rules:\n  - {name: r, throttle: {per: 10m, burst: 2}, actions: [" + http + "]}\n", false},
		{"group", "rules:\n  - {name: r, group: {by: \"{{ .data.post.id }}\", wait: 30s, interval: 1h, max: 100}, actions: [{http: {url: \"https://example.com/\", json: {n: \"{{ .count }}\"}}}]}\n", true},
		{"group interval only", "rules:\n  - {name: r, group: {interval: 5m}, actions: [" + http + "]}\n", true},
		{"group max as a string", "rules:\n  - {name: r, group: {interval: 5m, max: \"50\"}, actions: [" + http + "]}\n", true},
		{"group schedule", "rules:\n  - {name: r, group: {schedule: \"0 9 * * MON-FRI\", timezone: Europe/Berlin, by: \"{{ .source }}\", max: 10}, actions: [" + http + "]}\n", true},
		{"group empty", "rules:\n  - {name: r, group: {}, actions: [" + http + "]}\n", false},
		{"group wait only", "rules:\n  - {name: r, group: {wait: 1m}, actions: [" + http + "]}\n", false},
		{"group schedule and wait", "rules:\n  - {name: r, group: {schedule: \"@daily\", wait: 1m}, actions: [" + http + "]}\n", false},
		{"group timezone without schedule", "rules:\n  - {name: r, group: {interval: 1h, timezone: UTC}, actions: [" + http + "]}\n", false},
		{"group max 0", "rules:\n  - {name: r, group: {interval: 1h, max: 0}, actions: [" + http + "]}\n", false},
		{"group max 1001", "rules:\n  - {name: r, group: {interval: 1h, max: 1001}, actions: [" + http + "]}\n", false},
		{"group a duration", "rules:\n  - {name: r, group: 1h, actions: [" + http + "]}\n", false},
		{"group and throttle", "rules:\n  - {name: r, group: {interval: 1h}, throttle: {per: 1h}, actions: [" + http + "]}\n", false},
		{"grouped rule's action throttle", "rules:\n  - {name: r, group: {interval: 1h}, actions: [{http: {url: \"https://example.com/\"}, throttle: {per: 1h}}]}\n", false},
	}
	sch := compileSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.yaml)
			_, lerr := Parse("testdata/good/case.yaml", data, getenv)
			if (lerr == nil) != tt.ok {
				t.Errorf("loader: err = %v, want ok = %v\n%s", lerr, tt.ok, tt.yaml)
			}
			serr := validateYAML(sch, data)
			if (serr == nil) != tt.ok {
				t.Errorf("schema: err = %v, want ok = %v\n%s", serr, tt.ok, tt.yaml)
			}
		})
	}
}

// keyLists maps each loader known-keys list to the place in the schema
// that describes the same mapping: a dotted path of property names, where
// * is any member of a map and [] an item of a list.
var keyLists = []struct {
	name string // the variable in the loader
	keys []string
	path string
}{
	{"topKeys", topKeys, ""},
	{"sourceKeys", sourceKeys, "sources.*"},
	{"signatureKeys", signatureKeys, "sources.*.signature"},
	{"slackKeys", slackKeys, "slack"},
	{"smtpKeys", smtpKeys, "smtp"},
	{"queueKeys", queueKeys, "queue"},
	{"ruleKeys", ruleKeys, "rules.[]"},
	{"actionKeys", actionKeys, "rules.[].actions.[]"},
	{"slackActionKeys", slackActionKeys, "rules.[].actions.[].slack"},
	{"httpActionKeys", httpActionKeys, "rules.[].actions.[].http"},
	{"signKeys", signKeys, "rules.[].actions.[].http.sign"},
	{"emailActionKeys", emailActionKeys, "rules.[].actions.[].email"},
	{"retryKeys", retryKeys, "rules.[].actions.[].retry"},
	{"groupKeys", groupKeys, "rules.[].group"},
	{"throttleKeys", throttleKeys, "rules.[].throttle"},
}

// schemaAt follows path from the schema's root, resolving local $refs. It
// returns the object schema there and its JSON pointer.
func schemaAt(t *testing.T, root map[string]any, path string) (map[string]any, string) {
	t.Helper()
	node, ptr := resolveRef(t, root, root, "")
	if path == "" {
		return node, ptr
	}
	for _, step := range strings.Split(path, ".") {
		var next any
		switch step {
		case "*":
			next, ptr = node["additionalProperties"], ptr+"/additionalProperties"
		case "[]":
			next, ptr = node["items"], ptr+"/items"
		default:
			props, _ := node["properties"].(map[string]any)
			next, ptr = props[step], ptr+"/properties/"+step
		}
		m, ok := next.(map[string]any)
		if !ok {
			t.Fatalf("schema: nothing at %s (%s)", path, ptr)
		}
		node, ptr = resolveRef(t, root, m, ptr)
	}
	return node, ptr
}

func resolveRef(t *testing.T, root, node map[string]any, ptr string) (map[string]any, string) {
	t.Helper()
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, ptr
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			t.Fatalf("schema: %s: only #/$defs/ references are supported here, got %q", ptr, ref)
		}
		defs, _ := root["$defs"].(map[string]any)
		next, ok := defs[name].(map[string]any)
		if !ok {
			t.Fatalf("schema: %s: dangling reference %q", ptr, ref)
		}
		node, ptr = next, "/$defs/"+name
	}
	t.Fatalf("schema: %s: reference loop", ptr)
	return nil, ""
}

func schemaRoot(t *testing.T) map[string]any {
	t.Helper()
	root, ok := readSchemaDoc(t).(map[string]any)
	if !ok {
		t.Fatal("the schema is not an object")
	}
	return root
}

func TestSchemaKeysAreLoaderKeys(t *testing.T) {
	root := schemaRoot(t)
	for _, kl := range keyLists {
		t.Run(kl.name, func(t *testing.T) {
			node, ptr := schemaAt(t, root, kl.path)
			var got []string
			props, _ := node["properties"].(map[string]any)
			for k := range props {
				got = append(got, k)
			}
			if pp, ok := node["patternProperties"].(map[string]any); ok {
				for p := range pp {
					if p != "^x-" {
						t.Errorf("%s: unexpected patternProperties %q", ptr, p)
					}
					got = append(got, extensionKeys)
				}
			}
			want := slices.Clone(kl.keys)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("schema %s has keys %v; the loader's %s are %v", ptr, got, kl.name, want)
			}
			if node["additionalProperties"] != false {
				t.Errorf("schema %s: additionalProperties is %v, want false (the loader rejects unknown keys)", ptr, node["additionalProperties"])
			}
		})
	}
}

// TestSchemaCoversEveryKeyList finds the loader's known-keys lists in its
// source, so that a new list (a new block in the rules file) cannot be
// missed by keyLists, and checks that every object the schema describes
// is one of them.
func TestSchemaCoversEveryKeyList(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i < len(vs.Values) && strings.HasSuffix(id.Name, "Keys") && (isStringSliceLit(vs.Values[i]) || isAppend(vs.Values[i])) {
						found = append(found, id.Name)
					}
				}
			}
		}
	}
	var listed []string
	for _, kl := range keyLists {
		listed = append(listed, kl.name)
	}
	slices.Sort(found)
	slices.Sort(listed)
	if !slices.Equal(found, listed) {
		t.Errorf("the loader's known-keys lists are %v; keyLists in this test covers %v", found, listed)
	}

	root := schemaRoot(t)
	covered := map[string]bool{}
	for _, kl := range keyLists {
		_, ptr := schemaAt(t, root, kl.path)
		covered[ptr] = true
	}
	defs, _ := root["$defs"].(map[string]any)
	for name, d := range defs {
		if m, ok := d.(map[string]any); ok && m["properties"] != nil && !covered["/$defs/"+name] {
			t.Errorf("schema $defs/%s has properties but no loader key list is compared with it", name)
		}
	}
}

func isStringSliceLit(e ast.Expr) bool {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return false
	}
	at, ok := cl.Type.(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "string"
}

func TestSchemaVendorsAreSourcesVendors(t *testing.T) {
	root := schemaRoot(t)
	node, ptr := schemaAt(t, root, "sources.*.vendor")
	var enum []any
	for _, alt := range node["anyOf"].([]any) {
		if e, ok := alt.(map[string]any)["enum"].([]any); ok {
			enum = e
		}
	}
	var got []string
	for _, v := range enum {
		got = append(got, fmt.Sprint(v))
	}
	if want := sources.Vendors(); !slices.Equal(got, want) {
		t.Errorf("schema %s enum = %v, want sources.Vendors() = %v", ptr, got, want)
	}
}

// TestSchemaEnumsAreLoaderEnums loads a file with each value a schema enum
// lists: the loader must accept every one.
func TestSchemaEnumsAreLoaderEnums(t *testing.T) {
	root := schemaRoot(t)
	tests := []struct {
		path string
		file func(v string) string
	}{
		{"sources.*.signature.algorithm", func(v string) string {
			return "sources: {s: {vendor: productlift, secret: s, signature: {algorithm: " + v + "}}}\n"
		}},
		{"sources.*.signature.encoding", func(v string) string {
			return "sources: {s: {vendor: productlift, secret: s, signature: {encoding: " + v + "}}}\n"
		}},
		{"smtp.tls", func(v string) string { return "smtp: {host: h, from: a@example.com, tls: " + v + "}\n" }},
		{"rules.[].actions.[].http.method", func(v string) string {
			return "rules: [{name: r, actions: [{http: {url: \"https://example.com/\", method: " + v + "}}]}]\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			node, ptr := schemaAt(t, root, tt.path)
			var n int
			for _, alt := range node["anyOf"].([]any) {
				enum, _ := alt.(map[string]any)["enum"].([]any)
				for _, v := range enum {
					n++
					s := fmt.Sprint(v)
					if _, err := Parse("enum.yaml", []byte(tt.file(strconv.Quote(s))), noEnv); err != nil {
						t.Errorf("schema %s lists %q but the loader rejects it: %v", ptr, s, err)
					}
				}
			}
			if n == 0 {
				t.Fatalf("schema %s has no enum", ptr)
			}
			if _, err := Parse("enum.yaml", []byte(tt.file(`"not-in-the-enum"`)), noEnv); err == nil {
				t.Errorf("the loader accepts any value at %s: the enum is wrong", tt.path)
			}
		})
	}
	if got, want := enumAt(t, root, "rules.[].actions.[].http.method"), httpMethods; !slices.Equal(got, want) {
		t.Errorf("schema http methods %v, loader httpMethods %v", got, want)
	}
}

func enumAt(t *testing.T, root map[string]any, path string) []string {
	t.Helper()
	node, _ := schemaAt(t, root, path)
	var out []string
	for _, alt := range node["anyOf"].([]any) {
		enum, _ := alt.(map[string]any)["enum"].([]any)
		for _, v := range enum {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

// TestSchemaDescribesEverything: editors show a property's description on
// hover and in completion, so every property and definition has one.
func TestSchemaDescribesEverything(t *testing.T) {
	root := schemaRoot(t)
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case map[string]any:
			for _, kw := range []string{"properties", "patternProperties", "$defs"} {
				members, _ := v[kw].(map[string]any)
				for name, s := range members {
					d, _ := s.(map[string]any)["description"].(string)
					if strings.TrimSpace(d) == "" {
						t.Errorf("schema %s/%s/%s has no description", ptr, kw, name)
					}
				}
			}
			for k, c := range v {
				switch k {
				case "if", "then", "else", "not", "contains":
					// constraints, not what an editor offers
				default:
					walk(c, ptr+"/"+k)
				}
			}
		case []any:
			for i, c := range v {
				walk(c, ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(root, "")
}

// TestExampleReferencesSchema: the example's first line is what
// yaml-language-server (VS Code's YAML extension, Neovim, Helix...) reads.
func TestExampleReferencesSchema(t *testing.T) {
	data, err := os.ReadFile("../rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if want := "# yaml-language-server: $schema=./rules.schema.json"; first != want {
		t.Errorf("first line of rules.example.yaml = %q, want %q", first, want)
	}
}

// isAppend says whether e is a call of append (a key list built from
// another, as actionKeys is from ActionKinds).
func isAppend(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	fn, ok := call.Fun.(*ast.Ident)
	return ok && fn.Name == "append"
}
