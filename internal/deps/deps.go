// Package deps pins the project's dependencies while the packages that use
// them are being written. Remove once every import below has a real user.
package deps

import (
	_ "github.com/emersion/go-smtp"
	_ "github.com/expr-lang/expr"
	_ "github.com/julienschmidt/httprouter"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/slack-go/slack/slacktest"
	_ "github.com/wneessen/go-mail"
	_ "gopkg.in/yaml.v3"
)
