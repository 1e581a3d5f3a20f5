package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer runs a standalone JetStream server with a TCP listener, as an
// external store would be. Restarting it on the same port and directory
// keeps its streams.
type natsServer struct {
	t        *testing.T
	dir      string
	port     int
	maxStore int64 // 0: the server's default
	srv      *server.Server
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	return startNATSWith(t, 0)
}

// startNATSWith starts the server with a storage limit of maxStore bytes.
func startNATSWith(t *testing.T, maxStore int64) *natsServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	n := &natsServer{t: t, dir: t.TempDir(), port: port, maxStore: maxStore}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

func (n *natsServer) start() {
	n.t.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "ext", Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir,
		NoSigs: true, NoLog: true, JetStreamMaxStore: n.maxStore,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		n.t.Fatal("nats server did not start")
	}
	n.srv = srv
}

func (n *natsServer) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func openURL(t *testing.T, o Options) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(q.Close)
	return q
}

// Replicas that start at the same moment race to create the same streams
// and consumers: every one of them must open, and the result is one set.
func TestConcurrentOpenIsIdempotent(t *testing.T) {
	n := startNATS(t)
	const replicas = 6
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	qs := make(chan *Queue, replicas)
	for i := range replicas {
		wg.Go(func() {
			// Half of them ask for a shorter dedup window, as a replica
			// with an older rules file would.
			dedup := time.Hour
			if i%2 == 0 {
				dedup = 2 * time.Hour
			}
			q, err := Open(ctx, Options{URL: n.url(), DedupWindow: dedup})
			if err != nil {
				errs <- err
				return
			}
			qs <- q
			cc, stop := context.WithCancel(ctx)
			defer stop()
			ready := make(chan error, 1)
			go func() {
				ready <- q.Consume(cc, ConsumerOptions{Stream: JobsStream, Durable: "deliver-http", Filter: JobsSubject + ".http", AckWait: 30 * time.Second}, func(context.Context, jetstream.Msg) {})
			}()
			// Consume returns early only with an error; give it time to
			// create or update the consumer, then stop it.
			select {
			case err := <-ready:
				errs <- err
			case <-time.After(2 * time.Second):
				stop()
				if err := <-ready; err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(qs)
	for err := range errs {
		t.Errorf("replica: %v", err)
	}
	for q := range qs {
		t.Cleanup(q.Close)
	}
	q := openURL(t, Options{URL: n.url(), DedupWindow: time.Minute})
	names := q.js.StreamNames(ctx)
	var got []string
	for s := range names.Name() {
		got = append(got, s)
	}
	if len(got) != 5 {
		t.Fatalf("streams %v, want the five of switchyard", got)
	}
	info, err := q.StreamInfo(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 2*time.Hour {
		t.Errorf("dedup window %s after replicas asking for 1h, 2h and 1m; want the largest, 2h", info.Config.Duplicates)
	}
	if s := schemaOf(info.Config.Metadata); s != Schema {
		t.Errorf("schema %d, want %d", s, Schema)
	}
	c, err := q.js.Consumer(ctx, JobsStream, "deliver-http")
	if err != nil {
		t.Fatal(err)
	}
	if ci := c.CachedInfo(); ci.Config.AckWait != 30*time.Second || schemaOf(ci.Config.Metadata) != Schema {
		t.Errorf("consumer ack wait %s schema %d", ci.Config.AckWait, schemaOf(ci.Config.Metadata))
	}
}

// A stream set up by a newer switchyard (a higher schema) is never touched
// by an older replica, even when their settings differ.
func TestNewerSchemaIsLeftAlone(t *testing.T) {
	n := startNATS(t)
	q := openURL(t, Options{URL: n.url()})
	ctx := context.Background()
	s, err := q.js.Stream(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	newer := s.CachedInfo().Config
	newer.Metadata = map[string]string{SchemaKey: strconv.Itoa(Schema + 1)}
	newer.Description = "set up by switchyard of the future"
	newer.Subjects = append(newer.Subjects, "switchyard.future.>")
	if _, err := q.js.UpdateStream(ctx, newer); err != nil {
		t.Fatal(err)
	}
	q2 := openURL(t, Options{URL: n.url()})
	info, err := q2.StreamInfo(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Description != newer.Description || len(info.Config.Subjects) != 2 || schemaOf(info.Config.Metadata) != Schema+1 {
		t.Fatalf("an older replica changed a newer stream: %+v", info.Config)
	}
}

func TestReconcileStream(t *testing.T) {
	base := jetstream.StreamConfig{
		Name: EventsStream, Subjects: []string{"switchyard.events.>"}, Retention: jetstream.LimitsPolicy,
		MaxAge: time.Hour, Duplicates: time.Hour, Storage: jetstream.FileStorage, Replicas: 3,
		Metadata: map[string]string{SchemaKey: strconv.Itoa(Schema), "_nats.ver": "2.12.0"},
	}
	with := func(f func(*jetstream.StreamConfig)) jetstream.StreamConfig {
		c := base
		c.Metadata = map[string]string{SchemaKey: strconv.Itoa(Schema)}
		f(&c)
		return c
	}
	all := map[string]bool{"replicas": true, "duplicates": true, "max_age": true}
	shared := policy{shared: true, set: all}
	embedded := policy{set: all}
	tests := []struct {
		name       string
		p          policy
		have, want jetstream.StreamConfig
		update     bool
		check      func(*testing.T, jetstream.StreamConfig)
		warns      int
	}{
		{"same settings: no update (server metadata ignored)", shared, base, with(func(*jetstream.StreamConfig) {}), false, nil, 0},
		{"shared: fewer replicas asked: stream keeps 3, no update", shared, base, with(func(c *jetstream.StreamConfig) { c.Replicas = 1 }), false, nil, 1},
		{"shared: shorter dedup window asked: kept", shared, base, with(func(c *jetstream.StreamConfig) { c.Duplicates = time.Minute }), false, nil, 1},
		{"shared: shorter dedup window by default: kept without a warning", policy{shared: true}, base, with(func(c *jetstream.StreamConfig) { c.Duplicates = time.Minute }), false, nil, 0},
		{"shared: shorter retention asked: kept", shared, base, with(func(c *jetstream.StreamConfig) { c.MaxAge = time.Minute }), false, nil, 1},
		{"shared: longer dedup window: grows", shared, base, with(func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Hour }), true,
			func(t *testing.T, c jetstream.StreamConfig) {
				if c.Duplicates != 2*time.Hour || c.Replicas != 3 {
					t.Errorf("got dedup %s replicas %d", c.Duplicates, c.Replicas)
				}
			}, 0},
		{"shared: unlimited retention stays unlimited", shared, with(func(c *jetstream.StreamConfig) { c.MaxAge = 0 }), base, false, nil, 1},
		{"shared: more replicas: grows", shared, with(func(c *jetstream.StreamConfig) { c.Replicas = 1 }), base, true,
			func(t *testing.T, c jetstream.StreamConfig) {
				if c.Replicas != 3 {
					t.Errorf("replicas %d", c.Replicas)
				}
			}, 0},
		{"embedded: shorter dedup window and retention asked: applied, no warning", embedded, base, with(func(c *jetstream.StreamConfig) {
			c.Duplicates, c.MaxAge = time.Minute, 2*time.Minute
		}), true, func(t *testing.T, c jetstream.StreamConfig) {
			if c.Duplicates != time.Minute || c.MaxAge != 2*time.Minute {
				t.Errorf("dedup %s max age %s", c.Duplicates, c.MaxAge)
			}
		}, 0},
		{"a stream without our dedup window keeps the server's", shared, with(func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }), with(func(c *jetstream.StreamConfig) { c.Duplicates = 0 }), false, nil, 0},
		{"stream from before schemas: updated and stamped", shared, with(func(c *jetstream.StreamConfig) { c.Metadata = nil }), base, true,
			func(t *testing.T, c jetstream.StreamConfig) {
				if schemaOf(c.Metadata) != Schema {
					t.Errorf("metadata %v", c.Metadata)
				}
			}, 0},
		{"newer schema: left alone", shared, with(func(c *jetstream.StreamConfig) {
			c.Metadata[SchemaKey] = strconv.Itoa(Schema + 1)
			c.Subjects = []string{"other.>"}
		}), base, false, nil, 1},
		{"older layout: subjects updated", shared, with(func(c *jetstream.StreamConfig) {
			c.Metadata = map[string]string{SchemaKey: "0", "owner": "ops"}
			c.Subjects = []string{"old.>"}
		}), base, true, func(t *testing.T, c jetstream.StreamConfig) {
			if c.Subjects[0] != "switchyard.events.>" || c.Metadata["owner"] != "ops" {
				t.Errorf("subjects %v metadata %v", c.Subjects, c.Metadata)
			}
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logRecorder{}
			next := reconcileStream(slog.New(logs), tc.p, tc.have, tc.want)
			if (next != nil) != tc.update {
				t.Fatalf("update = %v, want %v (%+v)", next != nil, tc.update, next)
			}
			if next != nil && tc.check != nil {
				tc.check(t, *next)
			}
			if got := len(logs.at(slog.LevelWarn)); got != tc.warns {
				t.Errorf("%d warnings, want %d: %v", got, tc.warns, logs.at(slog.LevelWarn))
			}
		})
	}
}

// A restart on an existing embedded store, with the same settings or with
// a shorter dedup window, warns about nothing: the rules file decides, and
// no advice to run a command that cannot reach the store is given.
func TestReopenWarnsAboutNothing(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	for _, dedup := range []time.Duration{0, time.Hour} {
		logs := &logRecorder{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		q, err := Open(ctx, Options{DataDir: dir, DedupWindow: dedup, Logger: slog.New(logs)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		info, err := q.StreamInfo(context.Background(), EventsStream)
		q.Close()
		if err != nil {
			t.Fatal(err)
		}
		if w := logs.at(slog.LevelWarn); len(w) > 0 {
			t.Errorf("reopening with dedup window %s warned: %v", dedup, w)
		}
		if want := cmp.Or(dedup, DefaultDedupWindow); info.Config.Duplicates != want {
			t.Errorf("dedup window %s after reopening with %s, want %s", info.Config.Duplicates, dedup, want)
		}
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{jetstream.ErrNoStreamResponse, true},
		{jetstream.ErrAsyncPublishTimeout, true}, // PublishAll's lost acknowledgement: tried again
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}), true},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}), false},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}), true},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 409, ErrorCode: 10071, Description: "wrong last sequence"}), false},
		{errors.New("nats: connection closed"), false},
		{jetstream.ErrStreamNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			if got := transient(tc.err); got != tc.want {
				t.Fatalf("transient = %v, want %v", got, tc.want)
			}
		})
	}
}

// A publish made while the external server is down waits for it to come
// back and is stored once: the ingest answers 202 late rather than 503.
func TestPublishRidesOutServerRestart(t *testing.T) {
	n := startNATS(t)
	q := openURL(t, Options{URL: n.url(), PublishTimeout: 60 * time.Second})
	ctx := context.Background()
	if _, err := q.Publish(ctx, EventsSubject+".s", "s/1", nil, []byte("1")); err != nil {
		t.Fatal(err)
	}
	n.stop()
	done := make(chan error, 1)
	go func() {
		dup, err := q.Publish(ctx, EventsSubject+".s", "s/2", nil, []byte("2"))
		if err == nil && dup {
			err = errors.New("first publish of s/2 reported as a duplicate")
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("publish returned while the server was down: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	n.start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("publish did not complete after the server came back")
	}
	info, err := q.StreamInfo(ctx, EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stored %d messages, want 2", info.State.Msgs)
	}
}

// With the store gone for longer than PublishTimeout, Publish fails so the
// ingest can answer 503.
func TestPublishGivesUp(t *testing.T) {
	n := startNATS(t)
	q := openURL(t, Options{URL: n.url(), PublishTimeout: time.Second})
	n.stop()
	start := time.Now()
	_, err := q.Publish(context.Background(), EventsSubject+".s", "s/1", nil, []byte("1"))
	if err == nil {
		t.Fatal("publish succeeded with no server")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("gave up after %s with a 1s budget", took)
	}
}
