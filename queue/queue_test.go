package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func open(t *testing.T, dir string) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return q
}

func TestPublishDeduplicates(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx := context.Background()
	tests := []struct {
		name, id string
		wantDup  bool
	}{
		{"first delivery is stored", "src/1", false},
		{"vendor retry of the same id is a duplicate", "src/1", true},
		{"another id is stored", "src/2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dup, err := q.Publish(ctx, EventsSubject+".src", tc.id, nats.Header{"K": {"v"}}, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if dup != tc.wantDup {
				t.Fatalf("duplicate = %v, want %v", dup, tc.wantDup)
			}
		})
	}
	info, err := q.StreamInfo(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stored %d messages, want 2", info.State.Msgs)
	}
}

// An unacknowledged message survives a restart of the embedded server on the
// same data directory and is delivered to the next consumer.
func TestUnackedMessageSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	ctx := context.Background()
	if _, err := q.Publish(ctx, JobsSubject+".http", "job-1", nil, []byte("payload")); err != nil {
		t.Fatal(err)
	}
	// Take the message and drop it without acknowledging, as a crash would.
	cctx, cancel := context.WithCancel(ctx)
	got := make(chan string, 1)
	go func() {
		_ = q.Consume(cctx, ConsumerOptions{Stream: JobsStream, Durable: "t", Filter: JobsSubject + ".http", AckWait: time.Second}, func(_ context.Context, m jetstream.Msg) {
			got <- string(m.Data())
		})
	}()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("first delivery never came")
	}
	cancel()
	q.Close()

	q = open(t, dir)
	defer q.Close()
	cctx, cancel = context.WithCancel(ctx)
	defer cancel()
	var acked atomic.Bool
	go func() {
		_ = q.Consume(cctx, ConsumerOptions{Stream: JobsStream, Durable: "t", Filter: JobsSubject + ".http", AckWait: time.Second}, func(_ context.Context, m jetstream.Msg) {
			if err := m.DoubleAck(context.Background()); err == nil {
				acked.Store(true)
			}
			got <- string(m.Data())
		})
	}()
	select {
	case d := <-got:
		if d != "payload" {
			t.Fatalf("got %q after restart", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("message lost across restart")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !acked.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	info, err := q.StreamInfo(ctx, JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("work queue holds %d messages after ack, want 0", info.State.Msgs)
	}
}

// NakWithDelay redelivers no sooner than asked, and the metadata counts
// the attempts the retry loop reads.
func TestNakWithDelayRedelivers(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := q.Publish(ctx, JobsSubject+".slack", "j", nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	type delivery struct {
		n  uint64
		at time.Time
	}
	got := make(chan delivery, 4)
	go func() {
		_ = q.Consume(ctx, ConsumerOptions{Stream: JobsStream, Durable: "s", Filter: JobsSubject + ".slack", AckWait: 10 * time.Second}, func(_ context.Context, m jetstream.Msg) {
			md, err := m.Metadata()
			if err != nil {
				t.Error(err)
				return
			}
			got <- delivery{md.NumDelivered, time.Now()}
			if md.NumDelivered == 1 {
				_ = m.NakWithDelay(300 * time.Millisecond)
				return
			}
			_ = m.Ack()
		})
	}()
	var ds []delivery
	for len(ds) < 2 {
		select {
		case d := <-got:
			ds = append(ds, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d deliveries, want 2", len(ds))
		}
	}
	if ds[0].n != 1 || ds[1].n != 2 {
		t.Fatalf("delivery counts %d, %d; want 1, 2", ds[0].n, ds[1].n)
	}
	if gap := ds[1].at.Sub(ds[0].at); gap < 300*time.Millisecond {
		t.Fatalf("redelivered after %s, asked for 300ms", gap)
	}
}

// PublishAll stores every message once, with its headers, in order; a
// second call with the same ids stores nothing new.
func TestPublishAllStoresEachOnce(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx := context.Background()
	if err := q.PublishAll(ctx, nil); err != nil {
		t.Fatalf("PublishAll of nothing: %v", err)
	}
	for _, n := range []int{1, 5} {
		msgs := make([]Msg, n)
		for i := range msgs {
			id := fmt.Sprintf("batch%d/%d", n, i)
			msgs[i] = Msg{Subject: JobsSubject + ".http", ID: id, Header: nats.Header{"Switchyard-Rule": {id}}, Data: []byte(`{"n":` + fmt.Sprint(i) + `}`)}
		}
		for range 2 {
			if err := q.PublishAll(ctx, msgs); err != nil {
				t.Fatalf("PublishAll(%d): %v", n, err)
			}
		}
	}
	info, err := q.StreamInfo(ctx, JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 6 {
		t.Fatalf("stored %d jobs, want 6 (1 + 5, each once)", info.State.Msgs)
	}
	m, err := q.Get(ctx, JobsStream, 6)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Switchyard-Rule") != "batch5/4" || string(m.Data) != `{"n":4}` {
		t.Fatalf("last stored job: %v %s", m.Header, m.Data)
	}
}

// Send does not wait, but what it sends is stored, and Close lets the last
// of it reach the store.
func TestSendIsStored(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	const n = 500
	for i := range n {
		if err := q.Send(LogSubject+".test", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	q = open(t, dir)
	defer q.Close()
	s, err := q.Stream(context.Background(), LogStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(LogSubject+".test"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects[LogSubject+".test"]; got != n {
		t.Fatalf("stored %d records, want %d", got, n)
	}
}

// TestOptionsCheck: what Open refuses, Check reports without opening a
// store, the defaults applied; and Open refuses it before touching the
// data directory.
func TestOptionsCheck(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"window as long as the default retention", Options{DedupWindow: 7 * day}, ""},
		{"window past the default retention", Options{DedupWindow: 8 * day},
			"queue: the dedup window (192h0m0s) cannot be longer than the events' retention (168h0m0s)"},
		{"window within a longer retention", Options{DedupWindow: 8 * day, EventRetention: 30 * day}, ""},
		{"default window past a short retention", Options{EventRetention: time.Minute},
			"queue: the dedup window (24h0m0s) cannot be longer than the events' retention (1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Check()
			if got := fmt.Sprint(err); (err != nil || tt.wantErr != "") && got != tt.wantErr {
				t.Errorf("Check() = %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == "" {
				return
			}
			o := tt.o
			o.DataDir = filepath.Join(t.TempDir(), "data")
			if q, err := Open(context.Background(), o); err == nil || err.Error() != tt.wantErr {
				if q != nil {
					q.Close()
				}
				t.Fatalf("Open = %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(o.DataDir); !os.IsNotExist(err) {
				t.Errorf("Open refused the options but made %s (stat: %v)", o.DataDir, err)
			}
		})
	}
}
