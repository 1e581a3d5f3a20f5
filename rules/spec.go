package rules

import (
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/switchyard/switchyard/secret"
)

// File is a loaded, validated and compiled rules file.
type File struct {
	// Path is the file name given to Load or Parse.
	Path string
	// Sources in file order; the name is the URL path /hooks/:name.
	Sources []SourceSpec
	// Slack is the top-level slack: block, nil when absent.
	Slack *SlackSpec
	// SMTP is the top-level smtp: block, nil when absent.
	SMTP *SMTPSpec
	// Queue is the queue: block (zero when absent: the defaults).
	Queue QueueSpec
	// Rules in file order.
	Rules []*Rule
	// Set holds Rules, indexed for matching.
	Set *Set
	// Secrets maps a name to each value that must never be shown: every
	// variable taken from the environment (not defaults) by its name, the
	// content of every *_file by its key path (sources.x.secret_file), and
	// every secret field written inline by its key path. Feed it to
	// secret.NewRedactor.
	Secrets map[string]string
	// Hash is the hex SHA-256 of the file's bytes.
	Hash string
}

// Source returns the source named name, or false.
func (f *File) Source(name string) (SourceSpec, bool) {
	for _, s := range f.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return SourceSpec{}, false
}

// DefaultMaxBody is a source's body limit when max_body is not given.
const DefaultMaxBody int64 = 1 << 20

// SourceSpec is one entry of sources:.
type SourceSpec struct {
	Name   string
	Vendor string // required; the router checks that it is known
	// Key is checked against ?key= (key: or key_file:).
	Key secret.Secret
	// Secret is the HMAC secret (secret: or secret_file:).
	Secret secret.Secret
	// Signature overrides the vendor's signature header and algorithm.
	Signature *SignatureSpec
	// Tolerance for signed timestamps; zero: the source's default.
	Tolerance time.Duration
	// MaxBody in bytes: an integer or a size such as 512KiB or 1MiB.
	// DefaultMaxBody when not given.
	MaxBody int64
	Pos     Pos
}

// SignatureSpec is a source's signature: block; empty fields keep the
// vendor's default.
type SignatureSpec struct {
	Header    string
	Algorithm string // sha1, sha256 or sha512
	Encoding  string // hex or base64
	Prefix    string
}

// SlackSpec is the top-level slack: block: a bot token (chat.postMessage)
// or an incoming webhook URL, exactly one of them.
type SlackSpec struct {
	Token      secret.Secret
	WebhookURL secret.Secret
	APIURL     string // e.g. https://slack.com/api/ (empty: slack-go's default)
	// Rate paces every slack action that gives no rate of its own:
	// rate:, DefaultSlackRate when not given.
	Rate Rate
	Pos  Pos
}

// SMTPSpec is the top-level smtp: block.
type SMTPSpec struct {
	Host     string
	Port     int // defaults: 587 (starttls), 465 (tls), 25 (none)
	Username string
	Password secret.Secret
	TLS      string // starttls (default), tls or none
	From     string
	Pos      Pos
}

// QueueSpec is the queue: block.
type QueueSpec struct {
	// Sync is "" (fsync on an interval, the default), "always", or a
	// duration such as "1s".
	Sync string
	// SyncInterval is Sync parsed when it is a duration.
	SyncInterval time.Duration
	// Replicas of the streams in an external cluster; 0: the default.
	Replicas int
	// DedupWindow is how long an event id is remembered; 0: the default.
	DedupWindow time.Duration
	// DedupWindowPos is where DedupWindow is written, for what only the
	// store can tell (the window must fit in its events' retention).
	DedupWindowPos Pos
}

// Rule is one entry of rules:.
type Rule struct {
	Name string
	// Sources limits the rule to these sources (source: one name or a
	// list); empty: every source.
	Sources []string
	// When is the condition as written (after ${VAR} expansion).
	When string
	// Program is When compiled; nil when there is no condition (always true).
	Program *vm.Program
	// Group is the group: block, nil when the rule delivers each event on
	// its own. A grouped rule's actions render once per firing, against
	// actions.Group's data; DataFor gives the data of one event alone.
	Group *GroupSpec
	// Throttle is the rule's throttle: block, nil when absent (always nil
	// on a grouped rule).
	Throttle *ThrottleSpec
	Actions  []ActionSpec
	Pos      Pos

	// pins are the literal values the condition pins event, source or
	// vendor to (index keys), in pinnable order; nil when it pins nothing.
	pins []pin
	// decided: every top-level && term of When is a pin, so the pins (and
	// Sources) decide the rule without running Program.
	decided bool
	// explain holds the top-level && terms of When, compiled one by one on
	// the first Explain; nil when there is one term or none.
	explain *explainTerms
}

// ActionSpec is one entry of a rule's actions:. Exactly one of Slack, HTTP
// and Email is set, as Kind says. Template strings are kept as written.
type ActionSpec struct {
	Kind    string // slack, http or email
	Slack   *SlackAction
	HTTP    *HTTPAction
	Email   *EmailAction
	Retry   *RetrySpec    // nil: the default policy
	Timeout time.Duration // per attempt; 0: the default
	// Rate paces the action's deliveries to its receiver, as the router
	// names receivers (a Slack channel, whichever rules post to it; an
	// incoming webhook; an http action). It is the action's rate:, else for
	// a slack action the top-level slack: block's (DefaultSlackRate unless
	// it says); zero (no pace) for an http action without rate:. Email
	// actions are not paced.
	Rate Rate
	// Throttle is the action's throttle: block, nil when absent (always
	// nil in a grouped rule).
	Throttle *ThrottleSpec
	Pos      Pos // of the action's entry, to prefix template errors
}

// SlackAction posts a message.
type SlackAction struct {
	Channel   string // required with a token, ignored by webhooks
	Text      string // template, required (with Blocks, the notification fallback)
	Username  string
	IconEmoji string
	// Blocks is the blocks: list as decoded from YAML (like HTTPAction's
	// JSON), nil when absent; the slack action checks it against Block Kit.
	Blocks []any
	// BlocksPos maps a JSON Pointer into Blocks (/0/text) to where that
	// value is written: a list item at the item, a mapping member at its
	// key. See BlockPos.
	BlocksPos map[string]Pos
}

// HTTPAction sends a templated request. The URL's scheme and host are
// literal (no template).
type HTTPAction struct {
	Method  string // default POST, upper-cased
	URL     string
	Headers map[string]string
	// JSON is the json: value as decoded from YAML (map[string]any, []any,
	// string, int, float64, bool, nil); its strings are templates. At most
	// one of JSON and Body is set.
	JSON    any
	Body    string
	Timeout time.Duration
	// Sign, when set, signs requests the Standard Webhooks way.
	Sign *SignSpec
}

// SignSpec is an http action's sign: block.
type SignSpec struct {
	// Secret is the receiver's signing secret (secret: or secret_file:),
	// base64 with an optional whsec_ prefix; the http action checks it.
	Secret secret.Secret
}

// EmailAction sends a message through the top-level smtp:.
type EmailAction struct {
	To      []string
	Cc      []string
	Subject string
	Text    string // at least one of Text and HTML
	HTML    string
}

// RetrySpec overrides an action's retry policy.
type RetrySpec struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}
