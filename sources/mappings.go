package sources

// The topic and subject of each vendor's events, one table per vendor, from
// the payloads its documents show. The subject is the feedback item the
// event is about (a comment's or a vote's item too); for user topics, the
// user. A path a payload lacks gives an empty field. The README's "One rule
// for every tool" tables say the same, and a test holds them together.

// Sleekplan: data is the REST API's object for the event; the documents
// show the post object (item.create), whose numbers are strings.
var sleekplanMapping = mapping{
	topics: map[string]string{
		"item.create":         "feedback.created",
		"item.update":         "feedback.updated", // also a status change: the body does not say which
		"item.delete":         "feedback.deleted",
		"vote.create":         "vote.created",
		"comment.create":      "comment.created",
		"comment.update":      "comment.updated",
		"comment.delete":      "comment.deleted",
		"subscription.create": "subscription.created",
		"subscription.delete": "subscription.deleted",
		"user.create":         "user.created",
		"user.update":         "user.updated",
		"user.delete":         "user.deleted",
		"changelog.create":    "changelog.published", // "a new changelog entry is published"
		"changelog.update":    "changelog.updated",
		"changelog.subscribe": "", // a subscription to the changelog, not to an item
		"satisfaction.create": "", // a CSAT response
	},
	subject: subjectPaths{
		title:       []string{"data.title"},
		description: []string{"data.description"},
		status:      []string{"data.status"},
		authorName:  []string{"data.user.data_name", "data.data_name"},
		authorEmail: []string{"data.user.data_mail", "data.data_mail"},
		votes:       []string{"data.total_up"},
	},
}

// Userback: the event is type.action (actions create, update, remove).
// Assignment, status, priority and vote changes are documented as events
// but not as actions of their own: they arrive as feedback.update.
var userbackMapping = mapping{
	topics: map[string]string{
		"feedback.create": "feedback.created",
		"feedback.update": "feedback.updated",
		"feedback.remove": "feedback.deleted",
		"comment.create":  "comment.created",
		"comment.update":  "comment.updated",
		"comment.remove":  "comment.deleted",
	},
	subject: subjectPaths{
		url:         []string{"data.url", "payload.url"},
		authorName:  []string{"data.name"},
		authorEmail: []string{"data.email"},
	},
}

// ProductLift: data holds the post (and the vote, the portal). The post
// shows no status, link or vote count; counter_votes is its author's count
// of votes cast, not the post's.
var productLiftMapping = mapping{
	topics: map[string]string{
		"post.created":        "feedback.created",
		"post.deleted":        "feedback.deleted",
		"post.status_changed": "status.changed", // listed in ProductLift's current webhook page
		"vote.created":        "vote.created",
		"vote.deleted":        "vote.deleted",
		"comment.created":     "comment.created",
		"comment.deleted":     "comment.deleted",
	},
	subject: subjectPaths{
		title:       []string{"data.post.title"},
		description: []string{"data.post.description"},
		authorName:  []string{"data.post.author.name"},
		authorEmail: []string{"data.post.author.email"},
	},
}

// Leanbe: data is the payload, the object the event is about (an idea, a
// customer, ...). An idea's owner shows firstName and email; a customer
// has firstName and lastName. status is not in the documents' examples
// and is read where a backlog item or idea sends it as a string.
var leanbeMapping = mapping{
	topics: map[string]string{
		"idea.created":               "feedback.created",
		"idea.updated":               "feedback.updated",
		"idea.deleted":               "feedback.deleted",
		"idea.upVoted":               "vote.created",
		"idea.downVoted":             "", // a vote against: not vote.created
		"idea.promoted":              "",
		"ideaRequest.created":        "", // a request is triaged into ideas: the idea is the feedback
		"ideaRequest.attachedToIdea": "",
		"ideaRequest.ignored":        "",
		"backlogItem.created":        "",
		"backlogItem.updated":        "",
		"backlogItem.deleted":        "",
		"backlogItem.statusChanged":  "status.changed",
		"customer.created":           "user.created",
		"customer.updated":           "user.updated",
		"customer.deleted":           "user.deleted",
		"announcement.created":       "changelog.published",
		"announcement.updated":       "changelog.updated",
		"announcement.deleted":       "changelog.deleted",
		"okr.created":                "",
		"okr.updated":                "",
		"okr.deleted":                "",
	},
	subject: subjectPaths{
		title:       []string{"data.title"},
		description: []string{"data.description"},
		status:      []string{"data.status"},
		authorName:  []string{"data.owner.firstName data.owner.lastName", "data.firstName data.lastName"},
		authorEmail: []string{"data.owner.email", "data.email"},
		votes:       []string{"data.upvotes"},
	},
}

// GitHub: the event name is a header (issues, issue_comment) and what
// happened is the body's action, so topics is keyed by both. The subject is
// the issue; GitHub sends no author email, and votes are its 👍 reactions.
var githubMapping = mapping{
	topics: map[string]string{
		"issues.opened":         "feedback.created",
		"issues.edited":         "feedback.updated",
		"issues.deleted":        "feedback.deleted",
		"issues.closed":         "status.changed",
		"issues.reopened":       "status.changed",
		"issue_comment.created": "comment.created",
		"issue_comment.edited":  "comment.updated",
		"issue_comment.deleted": "comment.deleted",
	},
	topicKey: func(name string, data map[string]any) string {
		action, _ := data["action"].(string)
		return name + "." + action
	},
	subject: subjectPaths{
		title:       []string{"data.issue.title"},
		description: []string{"data.issue.body"},
		url:         []string{"data.issue.html_url"},
		status:      []string{"data.issue.state"},
		authorName:  []string{"data.issue.user.login"},
		votes:       []string{"data.issue.reactions.+1"},
	},
}

// Stripe: no event is about feedback, so no topic; data.object is the
// resource, whose description and status most Stripe objects carry.
var stripeMapping = mapping{
	subject: subjectPaths{
		description: []string{"data.object.description"},
		status:      []string{"data.object.status"},
	},
}

// The hmac and standard-webhooks kinds carry whatever their sender
// defines: no topic, an empty subject.
var noMapping = mapping{}
