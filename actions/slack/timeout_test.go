package slack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchyard/switchyard/actions"
	"github.com/switchyard/switchyard/internal/deadlinetest"
	"github.com/switchyard/switchyard/secret"
)

// TestAttemptDeadlineGoverns: an action's timeout: reaches Slack whole. The
// router runs each attempt under a context with the action's timeout (up to
// 45s); the client must not cut it short with a shorter bound of its own,
// through either transport, and a context without a deadline still gets
// the default bound.
func TestAttemptDeadlineGoverns(t *testing.T) {
	apiRec := &recorder{}
	api := startSlack(t, apiRec)
	viaAPI, err := New(Config{Token: testToken, APIURL: api.GetAPIURL()}, Spec{Channel: "#c", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(&recorder{})
	t.Cleanup(hook.Close)
	viaHook, err := New(Config{WebhookURL: secret.Secret(hook.URL + "/services/T/B/x")}, Spec{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct {
		name string
		a    *Action
	}{{"chat.postMessage", viaAPI}, {"incoming webhook", viaHook}} {
		t.Run(tr.name, func(t *testing.T) {
			rt := &deadlinetest.Transport{}
			tr.a.httpClient.Transport = rt // the client slack-go was given

			const timeout = 30 * time.Second // an action's timeout: 30s
			want := time.Now().Add(timeout)
			ctx, cancel := context.WithDeadline(context.Background(), want)
			defer cancel()
			if err := tr.a.Do(ctx, hostileEvent()); err != nil {
				t.Fatalf("Do: %v", err)
			}
			if got := rt.Last(t); !got.Equal(want) {
				t.Errorf("the request's deadline is %s before the attempt's (timeout %s): the client cuts the attempt short",
					want.Sub(got).Round(time.Millisecond), timeout)
			}

			start := time.Now()
			if err := tr.a.Do(context.Background(), hostileEvent()); err != nil {
				t.Fatalf("Do: %v", err)
			}
			got := rt.Last(t)
			if got.IsZero() || got.Before(start.Add(Timeout)) || got.After(time.Now().Add(Timeout)) {
				t.Errorf("without a deadline in the context, the request's deadline is %v, want %s from the start", got, Timeout)
			}
		})
	}
}

// TestSlowSlackWithinTheAttempt: a Slack that answers in 1.5s succeeds
// under a 3s attempt even when the default bound is lower, and fails,
// retryably, under a 0.5s one: the attempt's deadline decides both ways.
func TestSlowSlackWithinTheAttempt(t *testing.T) {
	rec := &recorder{}
	s := startSlackWith(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		rec.ServeHTTP(w, r)
	})
	a, err := New(Config{Token: testToken, APIURL: s.GetAPIURL()}, Spec{Channel: "#c", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	a.defaultTimeout = time.Second // lower than the receiver's 1.5s

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := a.Do(ctx, hostileEvent()); err != nil {
		t.Fatalf("a 1.5s answer under a 3s attempt: %v", err)
	}
	if n := len(rec.received()); n != 1 {
		t.Fatalf("server answered %d requests, want 1", n)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = a.Do(ctx, hostileEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a 1.5s answer under a 0.5s attempt: %v, want a deadline error", err)
	}
	if retry, _ := actions.Classify(err); !retry {
		t.Errorf("a timeout is classified permanent: %v", err)
	}
}
