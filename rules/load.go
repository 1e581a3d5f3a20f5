package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// Load reads, expands, validates and compiles the rules file at path.
// getenv supplies ${VAR} values; nil means os.LookupEnv. The error, when
// not about reading the file, is an ErrorList.
func Load(path string, getenv func(string) (string, bool)) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return Parse(path, data, getenv)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse is Load for a file already read. filename is used in positions and
// to resolve relative *_file paths.
func Parse(filename string, data []byte, getenv func(string) (string, bool)) (*File, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	sum := sha256.Sum256(data)
	f := &File{Path: filename, Hash: hex.EncodeToString(sum[:])}
	d := &decoder{
		file:      filename,
		dir:       filepath.Dir(filename),
		getenv:    getenv,
		secrets:   map[string]string{},
		envSpans:  map[*yaml.Node][][2]int{},
		templates: actions.NewTemplates(),
	}
	if !utf8.Valid(data) {
		return nil, ErrorList{{Pos: Pos{File: filename}, Msg: "not UTF-8 text"}}
	}
	d.data = string(data)

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err.Error() != "EOF" {
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ErrorList{{Pos: d.pos(&extra), Msg: "more than one YAML document (---): a rules file holds one"}}
	} else if err.Error() != "EOF" {
		return nil, d.syntaxError(err)
	}

	if len(doc.Content) > 0 {
		d.expandTree(&doc)
		d.file_(f, doc.Content[0])
	}
	f.Secrets = d.secrets
	if len(d.errs) > 0 {
		// A message never holds a value from the environment or a secret
		// file, but an expression snippet may: redact to be sure.
		red := secret.NewRedactor(d.secrets)
		for _, e := range d.errs {
			e.Msg = red.Redact(e.Msg)
		}
		d.errs.sort()
		// A node reached through several aliases is checked each time.
		d.errs = slices.CompactFunc(d.errs, func(a, b *Error) bool { return *a == *b })
		return nil, d.errs
	}
	f.Set = NewSet(f.Rules)
	return f, nil
}

func (d *decoder) syntaxError(err error) error {
	msg := err.Error()
	p := Pos{File: d.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return ErrorList{{Pos: p, Msg: "YAML: " + msg}}
}

var topKeys = []string{"sources", "slack", "smtp", "queue", "rules", extensionKeys}

func (d *decoder) file_(f *File, n *yaml.Node) {
	top := d.mapping(n, "the rules file", topKeys)
	if top == nil {
		return
	}
	f.Sources = d.sources(top.get("sources"))
	if top.has("slack") {
		f.Slack = d.slack(top.get("slack"), top.keyNode("slack"))
	}
	if top.has("smtp") {
		f.SMTP = d.smtp(top.get("smtp"), top.keyNode("smtp"))
	}
	f.Queue = d.queue(top.get("queue"))
	f.Rules = d.rules(top.get("rules"), f)
}

var (
	sourceKeys    = []string{"vendor", "key", "key_file", "secret", "secret_file", "signature", "tolerance", "max_body"}
	signatureKeys = []string{"header", "algorithm", "encoding", "prefix"}
	// sourceName is the syntax of a source's name, the NAME of the URL path
	// /hooks/NAME: nothing that needs escaping in a path segment.
	sourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// CheckSourceName reports whether name can name a source: 1 to 64 letters,
// digits, '-' or '_', starting with a letter or a digit.
func CheckSourceName(name string) error {
	if !sourceName.MatchString(name) {
		return fmt.Errorf("source name %q must be 1-64 letters, digits, '-' or '_', starting with a letter or digit (it is the URL path /hooks/NAME)", name)
	}
	return nil
}

func (d *decoder) sources(n *yaml.Node) []SourceSpec {
	m := d.mapping(n, "sources", nil)
	if m == nil {
		return nil
	}
	var out []SourceSpec
	for _, name := range m.order { // file order, not map order
		k := m.keys[name]
		what := fmt.Sprintf("source %q", name)
		if err := CheckSourceName(name); err != nil {
			d.errorf(k, "%v", err)
		}
		s := SourceSpec{Name: name, Pos: d.pos(k), MaxBody: DefaultMaxBody}
		sm := d.mapping(m.vals[name], what, sourceKeys)
		if sm == nil {
			continue
		}
		s.Vendor = d.str(sm.get("vendor"), "vendor")
		if s.Vendor == "" {
			d.errorf(k, "%s needs a vendor", what)
		}
		path := "sources." + name + "."
		s.Key = d.secretField(sm, "key", path+"key")
		s.Secret = d.secretField(sm, "secret", path+"secret")
		if sm.has("signature") {
			sig := d.mapping(sm.get("signature"), what+" signature", signatureKeys)
			if sig != nil {
				s.Signature = &SignatureSpec{
					Header:    d.str(sig.get("header"), "header"),
					Algorithm: strings.ToLower(d.str(sig.get("algorithm"), "algorithm")),
					Encoding:  strings.ToLower(d.str(sig.get("encoding"), "encoding")),
					Prefix:    d.str(sig.get("prefix"), "prefix"),
				}
				// The sources own the lists; the loader checks early to
				// point at the key.
				if a := s.Signature.Algorithm; a != "" && !slices.Contains(sources.HMACAlgorithms(), a) {
					d.errorf(sig.get("algorithm"), "signature algorithm %q: want one of %s", a, strings.Join(sources.HMACAlgorithms(), ", "))
				}
				if e := s.Signature.Encoding; e != "" && !slices.Contains(sources.SignatureEncodings(), e) {
					d.errorf(sig.get("encoding"), "signature encoding %q: want one of %s", e, strings.Join(sources.SignatureEncodings(), ", "))
				}
			}
		}
		s.Tolerance = d.duration(sm.get("tolerance"), "tolerance")
		if sm.has("max_body") {
			if v := d.size(sm.get("max_body"), "max_body"); v > 0 {
				s.MaxBody = v
			}
		}
		out = append(out, s)
	}
	return out
}

var slackKeys = []string{"token", "token_file", "webhook_url", "webhook_url_file", "api_url", "rate"}

func (d *decoder) slack(n, key *yaml.Node) *SlackSpec {
	m := d.mapping(n, "slack", slackKeys)
	if m == nil {
		return nil
	}
	s := &SlackSpec{Pos: d.pos(key)}
	s.Token = d.secretField(m, "token", "slack.token")
	s.WebhookURL = d.secretField(m, "webhook_url", "slack.webhook_url")
	switch {
	case s.Token.IsZero() && s.WebhookURL.IsZero():
		if !m.has("token") && !m.has("token_file") && !m.has("webhook_url") && !m.has("webhook_url_file") {
			d.errorf(key, "slack needs token (or token_file) or webhook_url (or webhook_url_file)")
		} else {
			d.errorf(key, "slack token or webhook_url is empty")
		}
	case !s.Token.IsZero() && !s.WebhookURL.IsZero():
		d.errorf(key, "slack: give token or webhook_url, not both")
	}
	if !s.WebhookURL.IsZero() {
		if u, err := url.Parse(s.WebhookURL.Reveal()); err != nil || u.Scheme != "https" || u.Host == "" {
			// Never print the URL: it is the credential.
			d.errorf(m.keyNode("webhook_url"), "slack webhook_url is not an https URL")
		}
	}
	s.Rate = DefaultSlackRate()
	if m.has("rate") {
		if r := d.rate(m.get("rate"), "slack"); !r.IsZero() {
			s.Rate = r
		}
	}
	s.APIURL = d.str(m.get("api_url"), "api_url")
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.errorf(m.get("api_url"), "slack api_url %q is not an http(s) URL", s.APIURL)
		} else if !strings.HasSuffix(s.APIURL, "/") {
			s.APIURL += "/"
		}
	}
	return s
}

var smtpKeys = []string{"host", "port", "username", "password", "password_file", "tls", "from"}

func (d *decoder) smtp(n, key *yaml.Node) *SMTPSpec {
	m := d.mapping(n, "smtp", smtpKeys)
	if m == nil {
		return nil
	}
	s := &SMTPSpec{Pos: d.pos(key)}
	s.Host = d.str(m.get("host"), "host")
	if s.Host == "" {
		d.errorf(key, "smtp needs a host")
	}
	s.Port = d.integer(m.get("port"), "smtp port", 1, 65535)
	s.Username = d.str(m.get("username"), "username")
	s.Password = d.secretField(m, "password", "smtp.password")
	if !s.Password.IsZero() && s.Username == "" {
		d.errorf(m.keyNode("password"), "smtp password needs a username")
	}
	s.TLS = d.str(m.get("tls"), "tls")
	switch s.TLS {
	case "":
		s.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		d.errorf(m.get("tls"), "smtp tls %q: want starttls (the default), tls (implicit, port 465) or none (loopback relays only)", s.TLS)
	}
	if s.Port == 0 {
		s.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[s.TLS]
	}
	s.From = d.str(m.get("from"), "from")
	if s.From == "" {
		d.errorf(key, "smtp needs a from address")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		d.errorf(m.get("from"), "smtp from %q is not an address: %v", s.From, err)
	}
	return s
}

var queueKeys = []string{"sync", "replicas", "dedup_window"}

func (d *decoder) queue(n *yaml.Node) QueueSpec {
	m := d.mapping(n, "queue", queueKeys)
	var q QueueSpec
	if m == nil {
		return q
	}
	q.Sync = d.str(m.get("sync"), "sync")
	if q.Sync != "" && q.Sync != "always" {
		if q.SyncInterval = d.duration(m.get("sync"), "queue sync"); q.SyncInterval == 0 {
			d.errorf(m.get("sync"), "queue sync %q: want always or a positive duration such as 1s", q.Sync)
		}
	}
	q.Replicas = d.integer(m.get("replicas"), "queue replicas", 0, 5)
	q.DedupWindow = d.duration(m.get("dedup_window"), "queue dedup_window")
	q.DedupWindowPos = d.pos(m.get("dedup_window"))
	return q
}

var (
	ruleKeys = []string{"name", "source", "when", "group", "throttle", "actions"}
	// ActionKinds are the kinds of action the loader knows: each is a key
	// of an action and has its section below (the router builds them).
	ActionKinds = []string{"slack", "http", "email"}
	actionKeys  = append(slices.Clone(ActionKinds), "retry", "timeout", "rate", "throttle")
)

func (d *decoder) rules(n *yaml.Node, f *File) []*Rule {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "rules must be a list, not %s", kindName(n))
		return nil
	}
	seen := map[string]Pos{}
	var out []*Rule
	for i, rn := range n.Content {
		// Each rule's nodes are garbage once it is decoded (an alias to one
		// keeps what it points to): with thousands of rules the tree is
		// most of what loading holds.
		n.Content[i] = nil
		rn = resolve(rn)
		m := d.mapping(rn, fmt.Sprintf("rule #%d", i+1), ruleKeys)
		if m == nil {
			continue
		}
		r := &Rule{Pos: d.pos(rn)}
		r.Name = d.str(m.get("name"), "name")
		label := fmt.Sprintf("rule #%d", i+1)
		switch {
		case r.Name == "":
			d.errorf(rn, "rule #%d needs a name", i+1)
		case seen[r.Name] != Pos{}:
			d.errorf(m.get("name"), "duplicate rule name %q (first at line %d)", r.Name, seen[r.Name].Line)
		default:
			seen[r.Name] = d.pos(m.get("name"))
			label = fmt.Sprintf("rule %q", r.Name)
		}
		if m.has("source") {
			r.Sources = d.strs(m.get("source"), label+" source")
			srcNode := resolve(m.get("source"))
			for j, s := range r.Sources {
				at := srcNode
				if srcNode.Kind == yaml.SequenceNode && j < len(srcNode.Content) {
					at = srcNode.Content[j]
				}
				if _, ok := f.Source(s); !ok {
					msg := fmt.Sprintf("%s: unknown source %q", label, s)
					if sg := suggest(s, sourceNames(f)); sg != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", sg)
					}
					d.errorf(at, "%s", msg)
				}
			}
		}
		if wn := m.get("when"); wn != nil {
			r.When = strings.TrimSpace(d.str(wn, "when"))
			if r.When != "" {
				c, err := compileWhen(r.When)
				if err != nil {
					// Positions are computed on the untrimmed value.
					d.whenError(resolve(wn), label, resolve(wn).Value, err, strings.Index(resolve(wn).Value, r.When))
				} else {
					r.Program, r.pins, r.decided = c.program, c.pins, c.decided
					if c.terms != nil {
						r.explain = &explainTerms{texts: c.terms}
					}
				}
			}
		}
		data := eventData
		if m.has("group") {
			r.Group = d.group(m.get("group"), m.keyNode("group"), label)
			data = groupData
		}
		if m.has("throttle") {
			if m.has("group") {
				d.errorf(m.keyNode("throttle"), "%s: throttle and group do not mix: a group fires at most once per interval or schedule already", label)
			} else {
				r.Throttle = d.throttle(m.get("throttle"), m.keyNode("throttle"), label)
			}
		}
		an := resolve(m.get("actions"))
		switch {
		case isNull(an):
			d.errorf(rn, "%s has no actions", label)
		case an.Kind != yaml.SequenceNode:
			d.errorf(an, "%s actions must be a list, not %s", label, kindName(an))
		case len(an.Content) == 0:
			d.errorf(an, "%s has no actions", label)
		default:
			for j, a := range an.Content {
				if spec, ok := d.action(a, fmt.Sprintf("%s action #%d", label, j+1), f, data); ok {
					r.Actions = append(r.Actions, spec)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func sourceNames(f *File) []string {
	names := make([]string, len(f.Sources))
	for i, s := range f.Sources {
		names[i] = s.Name
	}
	return names
}

var (
	slackActionKeys = []string{"channel", "text", "username", "icon_emoji", "blocks"}
	httpActionKeys  = []string{"method", "url", "headers", "json", "body", "timeout", "sign"}
	signKeys        = []string{"secret", "secret_file"}
	emailActionKeys = []string{"to", "cc", "subject", "text", "html"}
	retryKeys       = []string{"attempts", "initial", "max"}
	httpMethods     = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
)

// action decodes one entry of a rule's actions; its templates render data.
func (d *decoder) action(n *yaml.Node, what string, f *File, data templateData) (ActionSpec, bool) {
	n = resolve(n)
	m := d.mapping(n, what, actionKeys)
	if m == nil {
		return ActionSpec{}, false
	}
	a := ActionSpec{Pos: d.pos(n)}
	var have []string
	for _, k := range ActionKinds {
		if m.has(k) {
			have = append(have, k)
		}
	}
	switch len(have) {
	case 0:
		d.errorf(n, "%s needs one of slack, http or email", what)
		return a, false
	case 1:
	default:
		d.errorf(m.keyNode(have[1]), "%s has more than one kind (%s): give each its own entry in actions", what, strings.Join(have, ", "))
		return a, false
	}
	a.Kind = have[0]
	key, body := m.keyNode(a.Kind), m.get(a.Kind)
	a.Pos = d.pos(key)
	what += " (" + a.Kind + ")"
	switch a.Kind {
	case "slack":
		if f.Slack == nil {
			d.errorf(key, "%s: a slack action needs a top-level slack: block", what)
		}
		sm := d.mapping(body, what, slackActionKeys)
		if sm == nil {
			return a, false
		}
		a.Slack = &SlackAction{
			Channel:   d.str(sm.get("channel"), "channel"),
			Text:      d.str(sm.get("text"), "text"),
			Username:  d.str(sm.get("username"), "username"),
			IconEmoji: d.str(sm.get("icon_emoji"), "icon_emoji"),
		}
		for _, k := range slackActionKeys {
			d.template(sm.get(k), what+": "+k, data)
		}
		if a.Slack.Text == "" {
			d.errorf(key, "%s needs text", what)
		}
		if sm.has("blocks") {
			a.Slack.Blocks, a.Slack.BlocksPos = d.blocks(sm.get("blocks"), what, data)
		}
		if a.Slack.Channel == "" && f.Slack != nil && !f.Slack.Token.IsZero() {
			d.errorf(key, "%s needs a channel (slack uses a token)", what)
		}
	case "http":
		hm := d.mapping(body, what, httpActionKeys)
		if hm == nil {
			return a, false
		}
		h := &HTTPAction{
			Method:  d.str(hm.get("method"), "method"),
			URL:     d.str(hm.get("url"), "url"),
			Headers: d.strMap(hm.get("headers"), what+" headers"),
			Body:    d.str(hm.get("body"), "body"),
			Timeout: d.duration(hm.get("timeout"), "timeout"),
		}
		if h.Method == "" {
			h.Method = "POST"
		} else if !containsFold(httpMethods, h.Method) {
			d.errorf(hm.get("method"), "%s: method %q: want one of %s", what, h.Method, strings.Join(httpMethods, ", "))
		} else {
			h.Method = strings.ToUpper(h.Method)
		}
		d.checkURL(hm, what, h.URL, key)
		d.template(hm.get("url"), what+": url", data)
		d.template(hm.get("body"), what+": body", data)
		if hm.has("headers") {
			hs := d.mapping(hm.get("headers"), what+" headers", nil)
			for _, name := range hs.order {
				d.template(hs.vals[name], what+": header "+name, data)
			}
		}
		if hm.has("json") {
			budget := maxValueNodes
			h.JSON = d.value(hm.get("json"), what+": json", &budget, data)
			if hm.has("body") {
				d.errorf(hm.keyNode("body"), "%s: give json or body, not both", what)
			}
		}
		if hm.has("sign") {
			if sm := d.mapping(hm.get("sign"), what+" sign", signKeys); sm != nil {
				h.Sign = &SignSpec{Secret: d.secretField(sm, "secret", what+" sign.secret")}
				if h.Sign.Secret.IsZero() && !sm.has("secret_file") {
					d.errorf(hm.keyNode("sign"), "%s: sign needs a secret (or secret_file)", what)
				}
			}
		}
		a.HTTP = h
	case "email":
		if f.SMTP == nil {
			d.errorf(key, "%s: an email action needs a top-level smtp: block", what)
		}
		em := d.mapping(body, what, emailActionKeys)
		if em == nil {
			return a, false
		}
		e := &EmailAction{
			To:      d.strs(em.get("to"), "to"),
			Cc:      d.strs(em.get("cc"), "cc"),
			Subject: d.str(em.get("subject"), "subject"),
			Text:    d.str(em.get("text"), "text"),
			HTML:    d.str(em.get("html"), "html"),
		}
		for _, k := range []string{"subject", "text", "html"} {
			d.template(em.get(k), what+": "+k, data)
		}
		if len(e.To) == 0 {
			d.errorf(key, "%s needs to: (one address or a list)", what)
		}
		if e.Subject == "" {
			d.errorf(key, "%s needs a subject", what)
		}
		if e.Text == "" && e.HTML == "" {
			d.errorf(key, "%s needs text or html", what)
		}
		a.Email = e
	}
	if m.has("retry") {
		rm := d.mapping(m.get("retry"), what+" retry", retryKeys)
		if rm != nil {
			rs := &RetrySpec{
				Attempts: d.integer(rm.get("attempts"), "retry attempts", 1, 1000),
				Initial:  d.duration(rm.get("initial"), "retry initial"),
				Max:      d.duration(rm.get("max"), "retry max"),
			}
			if rs.Max != 0 && rs.Initial > rs.Max {
				d.errorf(rm.get("max"), "%s: retry max %s is less than initial %s", what, rs.Max, rs.Initial)
			}
			a.Retry = rs
		}
	}
	a.Timeout = d.duration(m.get("timeout"), "timeout")
	if a.Kind == "slack" && f.Slack != nil {
		a.Rate = f.Slack.Rate
	}
	if m.has("rate") {
		if a.Kind == "email" {
			d.errorf(m.keyNode("rate"), "%s: rate paces slack and http actions; email is not paced", what)
		} else if r := d.rate(m.get("rate"), what); !r.IsZero() {
			a.Rate = r
		}
	}
	if m.has("throttle") {
		if data == groupData {
			d.errorf(m.keyNode("throttle"), "%s: the actions of a grouped rule have no throttle: the group fires at most once per interval or schedule already", what)
		} else {
			a.Throttle = d.throttle(m.get("throttle"), m.keyNode("throttle"), what)
		}
	}
	return a, true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// template parses the value of scalar n as a template, as the action will
// parse it when it is built, and checks the top-level names it reads
// against the data it renders with. A syntax error is reported at the line
// the parser stopped at: at the token its message quotes when that occurs
// once on the line, else at the line's first character. It returns the
// template, or nil when n is not a scalar or has an error.
func (d *decoder) template(n *yaml.Node, what string, data templateData) *actions.Template {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	t, err := d.templates.New("template", n.Value, nil)
	if err == nil {
		d.checkNames(n, t, what, data)
		return t
	}
	var te *actions.TemplateError
	if !errors.As(err, &te) {
		d.errorf(n, "%s: %v", what, err)
		return nil
	}
	// A parser at the end of a block's text stops on its last line.
	lines := strings.Split(strings.TrimSuffix(n.Value, "\n"), "\n")
	line := min(max(te.Line, 1), len(lines))
	off := 0
	for _, l := range lines[:line-1] {
		off += utf8.RuneCountInString(l) + 1
	}
	text := lines[line-1]
	col := len(text) - len(strings.TrimLeft(text, " \t"))
	if i := strings.IndexByte(te.Msg, '"'); i >= 0 {
		if q, err := strconv.QuotedPrefix(te.Msg[i:]); err == nil {
			if tok, err := strconv.Unquote(q); err == nil && tok != "" && strings.Count(text, tok) == 1 {
				col = strings.Index(text, tok)
			}
		}
	}
	d.errorAt(d.posIn(n, n.Value, off+runeOffset(text, col)), "%s: template: %s", what, te.Msg)
	return nil
}

// checkURL requires an absolute http(s) URL whose scheme and host are
// written literally (actions.LiteralOrigin).
func (d *decoder) checkURL(hm *mapping, what, raw string, key *yaml.Node) {
	if raw == "" {
		d.errorf(key, "%s needs a url", what)
		return
	}
	if _, _, err := actions.LiteralOrigin(raw); err != nil {
		d.errorf(hm.get("url"), "%s: %v", what, err)
	}
}
