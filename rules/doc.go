// Package rules loads Switchyard's rules file: the sources to accept, the
// Slack and SMTP settings, and the rules that route events to actions.
//
// # Loading
//
// Load (or Parse) reads the file into a yaml.Node tree and then:
//
//  1. Expands ${VAR} in every scalar value (never in keys) from the
//     environment, before anything is decoded, so a variable's value is
//     always a plain string and can never inject YAML. ${VAR:-default}
//     gives a default (used when VAR is unset or empty); $${ writes a
//     literal ${. A missing variable is an error at its position that names
//     the variable and never prints a value.
//  2. Decodes the tree strictly: an unknown key is an error at its
//     file:line:col, with the closest known key when it looks like a typo;
//     duplicate keys are errors. YAML anchors, aliases and merge keys (<<)
//     work; top-level keys starting with x- are ignored, as a place to
//     define anchors.
//  3. Reads secrets given as files: secret_file, key_file, token_file,
//     webhook_url_file, password_file (a path relative to the rules file's
//     directory; one trailing newline is trimmed). Secret values are held as
//     secret.Secret and collected in File.Secrets for a secret.Redactor.
//  4. Validates references and shapes (rule names unique and present, each
//     rule with actions, each action of exactly one kind, source: naming a
//     defined source, slack and email actions only with a top-level slack:
//     or smtp:, an http action's scheme and host written literally, durations
//     and sizes that parse and fit, source names that fit in a URL path),
//     and parses every template of every action as the action will, so a
//     syntax error is reported at its line with every other problem. Each
//     template's top-level names are checked against the data it renders
//     with: a grouped rule's actions see the firing (.events .count .key
//     .first .last .rule), so {{ .data.x }} there is an error at its
//     column that says to write .first.data.x or range .events; a
//     template of one event (a rule's without group:, a group's by:, a
//     throttle's key:) may not use the firing's names.
//  5. Reads noise control: a rule's group: (interval after wait, or a
//     cron schedule in a timezone loaded from the zone database built into
//     the binary; the field at fault is named), throttle: on a rule or an
//     action, and rate: paces (1/s, 30/m) on the slack: block and on slack
//     and http actions. The limits and defaults are constants of this
//     package (DefaultGroupMax, MaxGroupMax, MinRateInterval,
//     DefaultSlackRate).
//  6. Compiles each when: once with expr, against the names an event
//     provides (event.Names: source, vendor, event, topic, subject, id, time,
//     data, payload, headers) and
//     expr.AsBool: a syntax error, an unknown name or a non-boolean
//     condition is an error at the exact file:line:col of the offending
//     character (for plain and quoted one-line scalars and for literal
//     blocks), with the expression line and a caret under it.
//
// Every problem in the file is reported, not just the first: the error is
// an ErrorList sorted by position, one problem per line. Messages are
// passed through a redactor of the file's secrets before they are returned.
//
// # Matching
//
// A Set is immutable and safe for concurrent use; a reload builds a new one.
// Match returns the rules an event matches, in file order: the rule's
// source: list must contain the event's source and its condition must be
// true. A condition that fails at run time (a field of a missing object:
// write data?.post?.id ?? 0 where a field may be absent) counts as no match
// and is returned as an EvalError; it never stops other rules.
//
// At load each condition's top-level && terms are inspected: a term that
// pins event, source or vendor to string literals (event == "x",
// "x" == event, event in ["x", "y"]), or a source: list, lets the Set
// bucket the rule by that value, so Match evaluates only the rules that can
// match the event plus those with no such term. The result is the same as
// evaluating every rule; only run-time errors of rules the index rules out
// are not reported.
//
// Explain evaluates every rule without the index for dry runs and says why
// each did not match: the source filter, the first top-level term that was
// false, or the run-time error.
package rules
