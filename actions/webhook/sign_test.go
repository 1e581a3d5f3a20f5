package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/event"
	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// The Standard Webhooks reference vector (DESIGN §2).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var sendTime = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// TestSignReferenceVector sends the vector's body with its id at its time
// and checks the headers the receiver got.
func TestSignReferenceVector(t *testing.T) {
	srv := newServer(t, nil)
	a, err := New(Spec{
		URL:  srv.URL + "/hook",
		Body: vectorBody,
		Sign: &Sign{Secret: vectorSecret},
		Now:  func() time.Time { return time.Unix(vectorTimestamp, 0) },
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := actions.WithDeliveryID(context.Background(), vectorID)
	if err := a.Do(ctx, testEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	got := srv.received()[0]
	if string(got.body) != vectorBody {
		t.Fatalf("body %q, want %q", got.body, vectorBody)
	}
	for name, want := range map[string]string{
		"Webhook-Id":        vectorID,
		"Webhook-Timestamp": "1614265330",
		"Webhook-Signature": vectorSignature,
		"Idempotency-Key":   vectorID,
	} {
		if v := got.header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
}

// TestSignedRequestsVerify has the project's own standard-webhooks source
// verify what an httptest receiver got: the request passes, and the same
// request fails under another secret, with a changed body or id, or read
// outside the timestamp's tolerance, so the check is the signature's.
func TestSignedRequestsVerify(t *testing.T) {
	verifier := func(t *testing.T, sec secret.Secret, at time.Time) sources.Source {
		t.Helper()
		src, err := sources.New(sources.Config{Name: "sw", Vendor: sources.KindStandardWebhooks, Secret: sec}, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	srv := newServer(t, nil)
	a, err := New(Spec{
		URL:     srv.URL + "/hooks/{{ .data.post.id }}",
		Headers: map[string]string{"X-Event": "{{ .event }}"},
		JSON:    map[string]any{"type": "{{ .event }}", "title": "{{ .data.post.title }}", "quote": "{{ .data.quote }}", "crlf": "{{ .data.crlf }}"},
		Sign:    &Sign{Secret: "whsec_" + "c3dpdGNoeWFyZC1zaWduaW5nLWtleS0wMDE="}, // base64("switchyard-signing-key-001")
		Now:     func() time.Time { return sendTime },
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	const id = "productlift/d-1/vote-to-crm/0"
	if err := a.Do(actions.WithDeliveryID(context.Background(), id), testEvent()); err != nil {
		t.Fatalf("Do: %v", err)
	}
	got := srv.received()[0]
	request := func(header http.Header) *http.Request {
		r, err := http.NewRequest(got.method, srv.URL+got.escapedPath, strings.NewReader(string(got.body)))
		if err != nil {
			t.Fatal(err)
		}
		r.Header = header
		return r
	}

	good := verifier(t, "whsec_c3dpdGNoeWFyZC1zaWduaW5nLWtleS0wMDE=", sendTime.Add(time.Minute))
	if err := good.Verify(request(got.header), got.body); err != nil {
		t.Fatalf("the standard-webhooks source refuses the signed request: %v\n%v", err, got.header)
	}
	env, err := good.Envelope(got.header, got.body)
	if err != nil || env.ID != id || env.Event != "vote.created" {
		t.Errorf("envelope %+v, %v; want id %q, event vote.created", env, err, id)
	}
	if k := got.header.Get("Idempotency-Key"); k != id {
		t.Errorf("Idempotency-Key %q, want %q", k, id)
	}

	otherID := got.header.Clone()
	otherID.Set("Webhook-Id", id+"x")
	refused := []struct {
		name   string
		src    sources.Source
		header http.Header
		body   []byte
	}{
		{"another secret", verifier(t, "whsec_b3RoZXItc2VjcmV0LWJ5dGVz", sendTime), got.header, got.body},
		{"a changed body", good, got.header, []byte(strings.TrimSuffix(string(got.body), "}") + " }")},
		{"a changed id", good, otherID, got.body},
		{"ten minutes later", verifier(t, "whsec_c3dpdGNoeWFyZC1zaWduaW5nLWtleS0wMDE=", sendTime.Add(10*time.Minute)), got.header, got.body},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.src.Verify(request(tc.header), tc.body); err == nil {
				t.Errorf("verifies with %s", tc.name)
			}
		})
	}
}

// TestDeliveryIDHeaders: every request carries the delivery id as
// Idempotency-Key and webhook-id, the same on every attempt; ids that are
// not plain header text are encoded one-to-one; the author's headers of
// those names win; without an id they are left out (a signed request gets
// a random one, never a shared one).
func TestDeliveryIDHeaders(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	plain, err := New(Spec{URL: srv.URL + "/{{ .data.v }}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := New(Spec{URL: srv.URL + "/own", Headers: map[string]string{"idempotency-key": "vendor-{{ .id }}"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := New(Spec{URL: srv.URL + "/signed", Sign: &Sign{Secret: vectorSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(t *testing.T, a *Action, id, path string) http.Header {
		t.Helper()
		ctx := context.Background()
		if id != "" {
			ctx = actions.WithDeliveryID(ctx, id)
		}
		before := len(srv.received())
		ev := &event.Event{Source: "s", Event: "e", ID: "vendor-7", Data: map[string]any{"v": path}}
		_ = a.Do(ctx, ev) // /fail answers 503: the headers are what matters
		reqs := srv.received()
		if len(reqs) != before+1 {
			t.Fatalf("receiver saw %d requests, want 1", len(reqs)-before)
		}
		return reqs[before].header
	}
	tests := []struct {
		name, id, want string
	}{
		{"router id", "productlift/d-1/vote-to-crm/0", "productlift/d-1/vote-to-crm/0"},
		{"space and percent", "s/a b%20/r/1", "s/a%20b%2520/r/1"},
		{"crlf", "s/x\r\nX-Injected: 1/r/0", "s/x%0D%0AX-Injected:%201/r/0"},
		{"non-ascii", "s/é/r/0", "s/%C3%A9/r/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for attempt := range 2 { // a failed attempt and its retry
				h := send(t, plain, tc.id, "fail")
				for _, name := range []string{"Idempotency-Key", "Webhook-Id"} {
					if v := h.Values(name); len(v) != 1 || v[0] != tc.want {
						t.Errorf("attempt %d: %s %q, want %q", attempt+1, name, v, tc.want)
					}
				}
				if h.Get("X-Injected") != "" {
					t.Errorf("an injected header arrived")
				}
			}
		})
	}
	t.Run("no id", func(t *testing.T) {
		h := send(t, plain, "", "ok")
		if h.Get("Idempotency-Key") != "" || h.Get("Webhook-Id") != "" {
			t.Errorf("headers without a delivery id: %v", h)
		}
	})
	t.Run("the author's idempotency-key", func(t *testing.T) {
		h := send(t, own, "s/vendor-7/r/0", "")
		if got := h.Values("Idempotency-Key"); len(got) != 1 || got[0] != "vendor-vendor-7" {
			t.Errorf("Idempotency-Key %q, want the author's", got)
		}
		if got := h.Get("Webhook-Id"); got != "s/vendor-7/r/0" {
			t.Errorf("Webhook-Id %q, want the delivery id", got)
		}
	})
	t.Run("signed without an id", func(t *testing.T) {
		a, b := send(t, signed, "", ""), send(t, signed, "", "")
		ida, idb := a.Get("Webhook-Id"), b.Get("Webhook-Id")
		if !strings.HasPrefix(ida, "msg_") || ida == idb {
			t.Errorf("webhook-ids %q and %q: want distinct random ids", ida, idb)
		}
		if a.Get("Idempotency-Key") != "" {
			t.Errorf("a random id is no idempotency key: %q", a.Get("Idempotency-Key"))
		}
	})
}

func TestSignRejects(t *testing.T) {
	const sec = "whsec_not base64 !!"
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"empty secret", Spec{URL: "https://example.com/", Sign: &Sign{}}, "secret is required"},
		{"not base64", Spec{URL: "https://example.com/", Sign: &Sign{Secret: sec}}, "not a Standard Webhooks secret"},
		{"webhook-signature header", Spec{URL: "https://example.com/", Sign: &Sign{Secret: vectorSecret}, Headers: map[string]string{"webhook-signature": "v1,x"}}, "set by sign"},
		{"webhook-id header", Spec{URL: "https://example.com/", Sign: &Sign{Secret: vectorSecret}, Headers: map[string]string{"Webhook-Id": "{{ .id }}"}}, "set by sign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.spec, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "not base64") || strings.Contains(err.Error(), "MfKQ9r8G") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestRenderSigned: a dry run says what sending adds, and names the secret
// without showing it.
func TestRenderSigned(t *testing.T) {
	a, err := New(Spec{URL: "https://crm.example.com/hook", Body: "x", Sign: &Sign{Secret: vectorSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Render(testEvent())
	if err != nil {
		t.Fatal(err)
	}
	want := "Idempotency-Key: <delivery id>\n" +
		"Webhook-Id: <delivery id>\n" +
		"Webhook-Timestamp: <time of sending>\n" +
		"Webhook-Signature: v1,<HMAC-SHA256 of id.timestamp.body with the secret <secret>>\n"
	if got := r.Fields["delivery_headers"]; got != want {
		t.Errorf("delivery_headers\n got %q\nwant %q", got, want)
	}
	for k, v := range r.Fields {
		if strings.Contains(v, "MfKQ9r8G") {
			t.Errorf("field %s shows the secret: %q", k, v)
		}
	}
}
