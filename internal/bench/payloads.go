package bench

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/sources"
)

// payload is how the load builds one vendor's distinct events: a body of
// about 1.5 KB in the vendor's own shape where %[1]s is a token unique to
// the request (the delivery id, or a member of the signed event object so
// that the hashed id differs too) and %[2]d a Unix time in seconds.
type payload struct {
	event string // the vendor's event name in the body
	body  string
}

// longText pads the bodies to a realistic size with what a feedback tool
// sends: a description written by a customer.
const longText = `Wow. This is the best idea I have ever seen! It would save our team hours every week, ` +
	`and the customers who asked for it in the last quarter would be delighted to hear that it is planned. ` +
	`Please also consider an export to CSV and a way to filter by tag.`

var payloads = map[string]payload{
	sources.VendorProductLift: {"vote.created", `{"id":"%[1]s","creation_time":"2022-06-01T18:17:37Z","event":"vote.created",` +
		`"data":{"vote":{"id":500,"created_at":"2022-06-01T18:17:37.808782Z","voter":{"id":48,"name":"Rubenb",` +
		`"email":"ruben@abc.nl","role":"admin","counter_votes":2,"counter_comments":18,"counter_posts":12,` +
		`"counter_comment_votes":0}},"post":{"id":99,"title":"This is a great idea","description":"` + longText + `",` +
		`"author":{"id":48,"name":"Rubenb","email":"ruben@abc.nl","role":"admin","counter_votes":2,` +
		`"counter_comments":18,"counter_posts":12,"counter_comment_votes":0},"tags":["integrations","webhooks",` +
		`"notifications","api"],"status":{"id":3,"name":"Under review","color":"#f5a623"},"votes_count":118,` +
		`"comments_count":27,"url":"https://feedback.example.com/p/this-is-a-great-idea"},"portal":{"id":4,` +
		`"title":"Test Portal","url":"https://feedback.example.com","bench":%[2]d}}}`},
	sources.VendorSleekplan: {"item.create", `{"product_id":5456534244,"action":"item.create","data":{` +
		`"feedback_id":"%[1]s","product_id":"1","title":"Show/search for similar ideas as you type",` +
		`"description":"` + longText + `","status":"open","trend":"0","type":"user-interface","total_up":"9",` +
		`"total_down":"0","total_sum":"9","total_comments":"0","total_ratio":"9","total_subscriber":"1",` +
		`"scoring":"0.55","effort":"1","created":"2020-05-22 16:49:00","updated":"2020-05-22 16:49:00",` +
		`"tags":["integrations","webhooks","notifications","api"],"user":{"user_id":"4","admin_id":0,` +
		`"data_name":"lennishq","data_mail":"lennis@example.com","data_img":"https://storage.sleekplan.com/u/4.png"}},` +
		`"timestamp":"%[2]d000"}`},
	sources.VendorUserback: {"feedback.create", `{"action":"create","type":"feedback","data":{"id":"%[1]s",` +
		`"feedback_type":"Bug Report","project":"Pied Piper","url":"https://app.userback.io/viewer/123456/98765/2007850/",` +
		`"email":"john@example.com","name":"John Doe","priority":"Urgent","description":"` + longText + `",` +
		`"browser":"Firefox 131.0","os":"Linux x86_64","screen":"2560x1440","page":"https://app.example.com/settings/integrations",` +
		`"tags":["integrations","webhooks","notifications","api"],"assignee":{"id":7,"name":"Jane Roe","email":"jane@example.com"}},` +
		`"timestamp":%[2]d,"url":"https://app.userback.io/viewer/123456/98765/2007850/"}`},
	sources.VendorLeanbe: {"idea.created", `{"payload":{"_id":"%[1]s","owner":{"_id":"63caa6a0575db9607cd0d171",` +
		`"firstName":"John","email":"john@example.com"},"assigned":{"_id":"63caa6a0575db9607cd0d171","firstName":"Alice",` +
		`"email":"alice@example.com"},"title":"Dummy Title","description":"` + longText + `",` +
		`"descriptionHTML":"<p>This is a dummy description</p>","tags":[{"title":"dummy"},{"title":"webhooks"}],` +
		`"visibility":"public","promoted":false,"archived":false,"upvotes":0,"createdAt":"2023-06-29T06:55:00.385Z",` +
		`"updatedAt":"2023-06-29T06:55:00.385Z","product":{"_id":"649bf71bbeac6ade0bed7245","name":"Dummy Product"},` +
		`"ideaRequests":[{"id":"1","title":"Add more features"},{"id":"2","title":"Improve performance"}],"bench":%[2]d},` +
		`"event":"idea.created","triggeredAt":"2023-06-29T06:55:00.566Z","signature":""}`},
}

// Vendors lists the vendors the load can send, sorted.
func Vendors() []string {
	out := make([]string, 0, len(payloads))
	for v := range payloads {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// signer makes signed, distinct requests for one configured source.
type signer struct {
	cfg   sources.Config
	p     payload
	path  string // /hooks/name?key=...
	token string // prefix of every request's token, unique to the run
}

func newSigner(cfg sources.Config, runID string) (*signer, error) {
	p, ok := payloads[cfg.Vendor]
	if !ok {
		return nil, fmt.Errorf("the load can send %s events, not %q", strings.Join(Vendors(), ", "), cfg.Vendor)
	}
	s := &signer{cfg: cfg, p: p, token: "swb-" + runID + "-", path: "/hooks/" + cfg.Name}
	if !cfg.Key.IsZero() {
		s.path += "?key=" + url.QueryEscape(cfg.Key.Reveal())
	}
	if _, err := s.sign(0, 0, time.Now(), nil); err != nil {
		return nil, err
	}
	return s, nil
}

// request is one signed request, ready to write on a connection.
type request struct {
	body   []byte
	header []byte // "Name: value\r\n" lines
}

// sign builds request n of connection conn.
func (s *signer) sign(conn, n int, now time.Time, buf []byte) (request, error) {
	token := fmt.Sprintf("%s%x-%x", s.token, conn, n)
	body := fmt.Appendf(buf[:0], s.p.body, token, now.Unix())
	signed, err := sources.Sign(s.cfg, body, now)
	if err != nil {
		return request{}, err
	}
	var h []byte
	for k, vs := range signed.Header {
		for _, v := range vs {
			h = append(h, k...)
			h = append(h, ": "...)
			h = append(h, v...)
			h = append(h, "\r\n"...)
		}
	}
	return request{body: signed.Body, header: h}, nil
}
