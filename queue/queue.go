// Package queue is Switchyard's durable store: three JetStream streams
// (events, jobs, dead letters) on an embedded NATS server that keeps them
// under --data, or on an external cluster shared by several replicas.
package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and the subjects they hold.
const (
	EventsStream = "SWITCHYARD_EVENTS" // switchyard.events.<source>: verified request bodies
	JobsStream   = "SWITCHYARD_JOBS"   // switchyard.jobs.<kind>: one per (event, rule, action)
	DeadStream   = "SWITCHYARD_DEAD"   // switchyard.dead.<kind>: deliveries that gave up
	LogStream    = "SWITCHYARD_LOG"    // switchyard.log.{match,delivery}.*: what happened, for a retention window
	GroupsStream = "SWITCHYARD_GROUPS" // switchyard.groups.<rule>.<key>: events waiting for their group's firing

	EventsSubject = "switchyard.events"
	JobsSubject   = "switchyard.jobs"
	DeadSubject   = "switchyard.dead"
	LogSubject    = "switchyard.log"
	GroupsSubject = "switchyard.groups"
)

// Defaults for Options left zero.
const (
	DefaultSyncInterval   = time.Second
	DefaultDedupWindow    = 24 * time.Hour
	DefaultEventRetention = 7 * 24 * time.Hour
	DefaultLogRetention   = 7 * 24 * time.Hour
)

// Options configures Open.
type Options struct {
	// URL lists external NATS servers (comma-separated). Empty runs an
	// embedded server that stores under DataDir.
	URL string
	// NATSOptions are extra client options for an external cluster
	// (credentials, TLS).
	NATSOptions []nats.Option
	// DataDir is where the embedded server keeps its streams.
	DataDir string
	// SyncAlways makes the embedded store fsync every write; otherwise it
	// fsyncs every SyncInterval (default 1s).
	SyncAlways   bool
	SyncInterval time.Duration
	// Replicas is the streams' replication factor on a cluster (default 1).
	Replicas int
	// DedupWindow is how long a delivery id is remembered (default 24h).
	DedupWindow time.Duration
	// EventRetention is how long stored events are kept (default 7 days).
	EventRetention time.Duration
	// LogRetention is how long match and delivery records are kept
	// (default 7 days).
	LogRetention time.Duration
	// MinFreeBytes is the free space the embedded store keeps on its disk:
	// below it, writes are refused at once with ErrStoreFull, and accepted
	// again once space is freed. 0: DefaultMinFree, or 5 % of a smaller
	// file system.
	MinFreeBytes int64
	// PublishTimeout bounds one Publish, its retries included, when the
	// caller's context has no earlier deadline (default 15s). Within it a
	// publish that meets a lost node or a leader election is retried.
	PublishTimeout time.Duration
	Logger         *slog.Logger
}

// DefaultPublishTimeout is Options.PublishTimeout's default.
const DefaultPublishTimeout = 15 * time.Second

// publishAttemptTimeout bounds one try of a publish: long enough for a
// loaded machine, short enough to try again within a vendor's patience
// when a stream's leader is lost.
const publishAttemptTimeout = 4 * time.Second

// Queue is an open connection to the streams.
type Queue struct {
	srv *server.Server // nil with an external cluster
	nc  *nats.Conn     // consumers, records, reads
	js  jetstream.JetStream
	// pnc carries the publishes that someone waits for (the ack path's
	// above all), so that their acknowledgements never queue behind the
	// messages the consumers are being sent.
	pnc            *nats.Conn
	pjs            jetstream.JetStream
	log            *slog.Logger
	publishTimeout time.Duration
	replicas       int               // of the streams and buckets
	sent           atomic.Bool       // Send was called: Close makes sure its records are stored
	dataDir        string            // the embedded store's; empty with a cluster
	lost           map[string]uint64 // per stream, found lost at Open
	opened         bool              // Open succeeded: Close records the streams' counts
	guard          *diskGuard        // the embedded store's; nil with a cluster
	stopGuard      context.CancelFunc
	guardDone      chan struct{}
	// refusedAt is when the store last answered a write "insufficient
	// resources" (unix nanoseconds), 0 after a write it stored since.
	refusedAt atomic.Int64
}

// refusedFor is how long Writable reports a store that refused a write for
// want of space, unless a write succeeds meanwhile: long enough not to
// flap, short enough for a replica taken out of a load balancer to be
// tried again soon.
const refusedFor = 10 * time.Second

// storeMaxUnlimited is the embedded server's own size limit: none, in
// effect. The server would otherwise fix it at start at 75 % of the space
// free then, and never raise it as space is freed; the disk guard refuses
// writes before the disk fills instead.
const storeMaxUnlimited = 1 << 60

// withDefaults is o with each unset option at its default.
func (o Options) withDefaults() Options {
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.EventRetention <= 0 {
		o.EventRetention = DefaultEventRetention
	}
	if o.LogRetention <= 0 {
		o.LogRetention = DefaultLogRetention
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	return o
}

// Check reports what Open would refuse in o, its defaults applied, so
// that a rules file can be checked against it without opening a store.
func (o Options) Check() error {
	o = o.withDefaults()
	if o.DedupWindow > o.EventRetention {
		// JetStream refuses it (and the refusal reads like a passing fault).
		return fmt.Errorf("queue: the dedup window (%s) cannot be longer than the events' retention (%s)", o.DedupWindow, o.EventRetention)
	}
	return nil
}

// Open starts the embedded server (or connects to the cluster) and creates or
// updates the streams idempotently.
func Open(ctx context.Context, o Options) (*Queue, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	set := chosen{replicas: o.Replicas > 0, dedup: o.DedupWindow > 0, eventRetention: o.EventRetention > 0, logRetention: o.LogRetention > 0}
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	q := &Queue{log: o.Logger, publishTimeout: o.PublishTimeout, replicas: o.Replicas}
	var (
		err    error
		record map[string]streamCount
	)
	if o.URL == "" {
		if o.DataDir == "" {
			return nil, errors.New("queue: a data directory is required for the embedded store")
		}
		storeDir := filepath.Join(o.DataDir, "jetstream")
		if err := usableDir(storeDir); err != nil {
			return nil, fmt.Errorf("queue: data directory %s cannot hold the store: %w", o.DataDir, err)
		}
		if record, err = readCloseRecord(o.DataDir); err != nil {
			o.Logger.Warn("could not read the streams' counts at the last clean stop; losses the store does not report itself go unnoticed this time", "err", err)
		}
		q.dataDir = o.DataDir
		q.guard = &diskGuard{dir: storeDir, minFree: o.MinFreeBytes, log: o.Logger}
		q.srv, err = server.NewServer(&server.Options{
			ServerName:   "switchyard",
			JetStream:    true,
			StoreDir:     storeDir,
			DontListen:   true,
			NoSigs:       true,
			NoLog:        true, // no logger of its own: it logs through natsLogger
			SyncInterval: o.SyncInterval,
			SyncAlways:   o.SyncAlways,

			JetStreamMaxStore: storeMaxUnlimited,
		})
		if err != nil {
			return nil, fmt.Errorf("queue: embedded server: %w", err)
		}
		srvLog := &natsLogger{log: o.Logger.With("server", "nats")}
		// Its debug output is formatted only when it would be shown; its
		// trace (every protocol message) never.
		q.srv.SetLoggerV2(srvLog, o.Logger.Enabled(ctx, slog.LevelDebug), false, false)
		q.srv.Start()
		if err := waitReady(q.srv, srvLog, 30*time.Second); err != nil {
			q.srv.Shutdown()
			return nil, fmt.Errorf("queue: embedded server on %s: %w", o.DataDir, err)
		}
		connect := func(name string) (*nats.Conn, error) {
			return nats.Connect("", nats.InProcessServer(q.srv), nats.Name(name))
		}
		q.nc, err = connect("switchyard")
		if err == nil {
			q.pnc, err = connect("switchyard-publish")
		}
	} else {
		log := o.Logger
		opts := append([]nats.Option{
			// Never give up on the cluster: while it is unreachable the
			// ingest answers 503 and the vendors retry.
			nats.MaxReconnects(-1),
			nats.ReconnectWait(time.Second),
			nats.RetryOnFailedConnect(false),
			// A node that stops answering without closing the connection
			// (a partition, a frozen host) is noticed within ~15s.
			nats.PingInterval(5 * time.Second),
			nats.MaxPingsOutstanding(3),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				log.Warn("disconnected from NATS; reconnecting", "err", err)
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			}),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				log.Warn("NATS error", "err", err)
			}),
		}, o.NATSOptions...)
		q.nc, err = nats.Connect(o.URL, append(opts, nats.Name("switchyard"))...)
		if err == nil {
			q.pnc, err = nats.Connect(o.URL, append(opts, nats.Name("switchyard-publish"))...)
		}
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: connect: %w", err)
	}
	log := o.Logger
	asyncOpts := []jetstream.JetStreamOpt{
		// PublishAll's sends are waited for, but a lost acknowledgement
		// must end the wait.
		jetstream.WithPublishAsyncTimeout(publishAttemptTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			log.Debug("asynchronous publish failed; it is tried again", "subject", m.Subject, "err", err)
		}),
	}
	q.js, err = jetstream.New(q.nc, asyncOpts...)
	if err == nil {
		q.pjs, err = jetstream.New(q.pnc, asyncOpts...)
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	if err := q.ensureStreams(ctx, o, set); err != nil {
		q.Close()
		return nil, err
	}
	if err := q.checkLost(ctx, record); err != nil {
		q.Close()
		return nil, err
	}
	if q.dataDir != "" {
		if err := removeCloseRecord(q.dataDir); err != nil {
			q.Close()
			return nil, fmt.Errorf("queue: %w", err)
		}
	}
	if q.guard != nil {
		_ = q.guard.check()
		gctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		q.stopGuard, q.guardDone = stop, make(chan struct{})
		go func() {
			defer close(q.guardDone)
			q.guard.run(gctx, diskCheckInterval)
		}()
	}
	q.opened = true
	return q, nil
}

// chosen records which of the Options' stream settings the caller set, as
// opposed to the defaults Open fills in.
type chosen struct {
	replicas, dedup, eventRetention, logRetention bool
}

// usableDir creates dir if need be and checks that a file can be made in
// it, so that a data directory that is a file, or that the process may not
// write, is reported at once with the operating system's reason.
func usableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".switchyard-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// waitReady waits until srv accepts connections, or reports the fatal error
// that stopped it starting, or gives up after limit.
func waitReady(srv *server.Server, l *natsLogger, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if err := l.fatalErr(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not start within %s", limit)
		}
	}
	return nil
}

func (q *Queue) ensureStreams(ctx context.Context, o Options, set chosen) error {
	cfgs := []jetstream.StreamConfig{{
		Name:        EventsStream,
		Description: "Verified webhook requests, deduplicated by source and delivery id",
		Subjects:    []string{EventsSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.EventRetention,
		Duplicates:  o.DedupWindow,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}, {
		Name:        JobsStream,
		Description: "Pending deliveries, one per event, rule and action",
		Subjects:    []string{JobsSubject + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Duplicates:  o.DedupWindow,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}, {
		Name:        DeadStream,
		Description: "Deliveries that failed permanently or ran out of attempts",
		Subjects:    []string{DeadSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  o.DedupWindow,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}, {
		Name:        LogStream,
		Description: "Match and delivery records: what happened to each event",
		Subjects:    []string{LogSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.LogRetention,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}, {
		Name:        GroupsStream,
		Description: "Events waiting for their group's firing, one subject per group; removed once fired",
		Subjects:    []string{GroupsSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  o.DedupWindow,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}}
	for _, c := range cfgs {
		p := policy{shared: o.URL != "", set: map[string]bool{
			"replicas":   set.replicas,
			"duplicates": set.dedup && c.Duplicates != 0,
			"max_age":    c.Name == EventsStream && set.eventRetention || c.Name == LogStream && set.logRetention,
		}}
		if err := q.ensureStream(ctx, p, c); err != nil {
			return err
		}
	}
	return nil
}

// Publish stores data on subject once: a second publish with the same msgID
// inside the dedup window is acknowledged as a duplicate and not stored.
//
// A publish that meets a lost connection, a lost node or a leader election
// is tried again (same msgID, so never stored twice) until it is stored or
// PublishTimeout (or ctx) runs out; only then does it fail. When an earlier
// try timed out and a later one is told "duplicate", the earlier try is
// what stored it, so the answer is not a duplicate.
func (q *Queue) Publish(ctx context.Context, subject, msgID string, hdr nats.Header, data []byte) (duplicate bool, err error) {
	if err := q.diskFull(len(data)); err != nil {
		return false, fmt.Errorf("queue: publish %s: %w", subject, err)
	}
	m := &nats.Msg{Subject: subject, Header: hdr, Data: data}
	opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(0)}
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	// The first try is all most publishes need: it gets the one timer.
	start := time.Now()
	deadline := start.Add(q.publishTimeout)
	actx, acancel := context.WithDeadline(ctx, start.Add(min(q.publishTimeout, publishAttemptTimeout)))
	ack, err := q.pjs.PublishMsg(actx, m, opts...)
	acancel()
	if err == nil {
		q.stored()
		return ack.Duplicate, nil
	}
	return q.retryPublish(ctx, deadline, m, opts, err)
}

// retryPublish goes on, until deadline, with a publish whose first try
// failed with err.
func (q *Queue) retryPublish(ctx context.Context, deadline time.Time, m *nats.Msg, opts []jetstream.PublishOpt, err error) (duplicate bool, _ error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	uncertain := false
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		if storeFull(err) {
			q.refusedAt.Store(time.Now().UnixNano())
			return false, fmt.Errorf("queue: publish %s: %w: %w", m.Subject, ErrStoreFull, err)
		}
		if q.guard != nil {
			// A write that met a full disk is not answered: look now
			// rather than wait for it to time out again.
			if full := q.guard.check(); full != nil {
				return false, fmt.Errorf("queue: publish %s: %w", m.Subject, full)
			}
		}
		if !transient(err) || ctx.Err() != nil {
			return false, fmt.Errorf("queue: publish %s (%d tries): %w", m.Subject, try, err)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
			uncertain = true // the message may have been stored
		}
		q.log.Debug("publish failed; retrying", "subject", m.Subject, "try", try, "err", err)
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("queue: publish %s (%d tries): %w", m.Subject, try, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
		actx, acancel := context.WithTimeout(ctx, publishAttemptTimeout)
		var ack *jetstream.PubAck
		ack, err = q.pjs.PublishMsg(actx, m, opts...)
		acancel()
		if err == nil {
			q.stored()
			q.log.Info("publish stored after retrying", "subject", m.Subject, "tries", try+1)
			return ack.Duplicate && !uncertain, nil
		}
	}
}

// Msg is one message for PublishAll.
type Msg struct {
	Subject string
	ID      string // deduplication id; empty: none
	Header  nats.Header
	Data    []byte
}

// PublishAll stores every message as Publish does, but sends them all before
// waiting for the first acknowledgement, so that n messages cost about one
// round trip instead of n. It returns once each is stored, or with the first
// error; messages stored before an error stay stored (publish them again
// with the same ids: they are deduplicated).
func (q *Queue) PublishAll(ctx context.Context, msgs []Msg) error {
	if len(msgs) == 1 {
		m := msgs[0]
		_, err := q.Publish(ctx, m.Subject, m.ID, m.Header, m.Data)
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	size := 0
	for _, m := range msgs {
		size += len(m.Data) + perMsgOverhead
	}
	if err := q.diskFull(size - perMsgOverhead); err != nil {
		return fmt.Errorf("queue: publish %s: %w", msgs[0].Subject, err)
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	sent := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		sent[i] = &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
		opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(0)}
		if m.ID != "" {
			opts = append(opts, jetstream.WithMsgID(m.ID))
		}
		// A message that cannot even be sent is published synchronously
		// below, with Publish's retries.
		futures[i], _ = q.pjs.PublishMsgAsync(sent[i], opts...)
	}
	deadline := time.Now().Add(q.publishTimeout) // one bound for the whole batch
	for i, f := range futures {
		var err error
		if f == nil {
			err = nats.ErrTimeout
		} else {
			select {
			case <-f.Ok():
				q.stored()
				continue
			case err = <-f.Err():
			case <-ctx.Done():
				return fmt.Errorf("queue: publish %s: %w", msgs[i].Subject, ctx.Err())
			}
		}
		opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(0)}
		if msgs[i].ID != "" {
			opts = append(opts, jetstream.WithMsgID(msgs[i].ID))
		}
		m := &nats.Msg{Subject: msgs[i].Subject, Header: msgs[i].Header, Data: msgs[i].Data}
		if _, err := q.retryPublish(ctx, deadline, m, opts, err); err != nil {
			return err
		}
	}
	return nil
}

// Send stores data on subject without waiting for the store, or asking it,
// to acknowledge it: for records that must never hold up the caller and
// whose loss is acceptable. It is a plain NATS publish to the stream's
// subject (the stream stores it; with no reply subject the server sends no
// acknowledgement). Close makes sure those sent before it are stored.
//
// An acknowledged asynchronous publish was tried: at 8,000 events a second
// its acknowledgements backed up past the client's limit of pending
// publishes, which then held each record, and the matcher with it, for up
// to 200 ms (switchyard bench: 202 -> sink p50 130-160 ms, against 4-5 ms
// with a plain publish, in the same session).
// MaxPayload is the largest message the store accepts, in bytes (1 MiB
// unless the server says otherwise).
func (q *Queue) MaxPayload() int { return int(q.nc.MaxPayload()) }

func (q *Queue) Send(subject string, data []byte) error {
	if err := q.diskFull(len(data)); err != nil {
		return fmt.Errorf("queue: send %s: %w", subject, err)
	}
	q.sent.Store(true)
	if err := q.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("queue: send %s: %w", subject, err)
	}
	return nil
}

// Handler processes one message and acknowledges it (Ack, NakWithDelay,
// Term). A message it leaves unacknowledged is redelivered after the
// consumer's AckWait. While a handler runs, Consume tells the server every
// AckWait/3 that the message is still being worked on, so AckWait need not
// exceed the handler's run time: it is how soon a message held by a replica
// that died is delivered again.
type Handler func(ctx context.Context, m jetstream.Msg)

// ConsumerOptions configures Consume.
type ConsumerOptions struct {
	Stream  string
	Durable string // shared by every replica: the work is split between them
	Filter  string
	Workers int
	// AckWait is how long a delivered message may go without news (an
	// acknowledgement or a heartbeat) before the server redelivers it: after
	// a crash, how long the messages the dead process held wait.
	AckWait time.Duration
	// MaxDeliver bounds how often a message is delivered (0: no bound,
	// the handler decides when to give up).
	MaxDeliver int
}

// Consume runs workers on a durable pull consumer until ctx is done, then
// waits for the handlers in flight to finish. Handlers get a context that
// is not cancelled by ctx, so a delivery under way completes; they bound
// their own time.
func (q *Queue) Consume(ctx context.Context, o ConsumerOptions, h Handler) error {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	cons, err := q.ensureConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable:       o.Durable,
		FilterSubject: o.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    cmp.Or(o.MaxDeliver, -1),
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it started: nothing to drain
		}
		return fmt.Errorf("queue: consumer %s: %w", o.Durable, err)
	}
	msgs := make(chan jetstream.Msg)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
			// Left unacknowledged: redelivered after AckWait, here or on
			// another replica.
		}
	}, jetstream.PullMaxMessages(2*o.Workers),
		// A pull request lives on the consumer's leader. When that node is
		// lost, the missing heartbeats are noticed after two of them and
		// the pull is made again on the new leader: ~6s, not the default
		// 30s, of deliveries stalled by a node failure.
		jetstream.PullExpiry(12*time.Second), jetstream.PullHeartbeat(3*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			q.log.Debug("queue consume", "consumer", o.Durable, "err", err)
		}))
	if err != nil {
		return fmt.Errorf("queue: consume %s: %w", o.Durable, err)
	}
	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-msgs:
					handle(hctx, m, o.AckWait/3, h)
				}
			}
		})
	}
	<-ctx.Done()
	cc.Stop()
	wg.Wait()
	return nil
}

// StreamInfo returns the named stream's state.
func (q *Queue) StreamInfo(ctx context.Context, name string) (*jetstream.StreamInfo, error) {
	s, err := q.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s info: %w", name, err)
	}
	return info, nil
}

// Stream returns a handle on a stream, for reading and deleting messages.
func (q *Queue) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("queue: stream %s: %w", name, err)
	}
	return s, nil
}

// ErrNotFound is returned for a message that is not (or no longer) stored.
var ErrNotFound = errors.New("queue: no such message")

// Get returns one message of a stream by sequence.
func (q *Queue) Get(ctx context.Context, stream string, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := q.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("queue: get %s/%d: %w", stream, seq, err)
	}
	return m, nil
}

// Delete removes one message of a stream by sequence.
func (q *Queue) Delete(ctx context.Context, stream string, seq uint64) error {
	s, err := q.Stream(ctx, stream)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
			return ErrNotFound
		}
		return fmt.Errorf("queue: delete %s/%d: %w", stream, seq, err)
	}
	return nil
}

// MaxScan bounds how many messages one Scan reads, so that a filter that
// selects little cannot make one call run for long.
const MaxScan = 50000

// Scan calls fn with a stream's messages, newest first, starting below
// before (0: from the newest), until fn returns false, the stream's start
// is reached, or MaxScan messages were read. Messages deleted meanwhile are
// skipped. It returns the sequence to pass as before to continue, or 0 when
// the stream's start was reached.
func (q *Queue) Scan(ctx context.Context, stream string, before uint64, fn func(*jetstream.RawStreamMsg) bool) (next uint64, err error) {
	s, err := q.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue: stream %s info: %w", stream, err)
	}
	seq := info.State.LastSeq
	if before > 0 && before-1 < seq {
		seq = before - 1
	}
	for n := 0; seq >= info.State.FirstSeq && seq > 0; seq, n = seq-1, n+1 {
		if n >= MaxScan {
			return seq + 1, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("queue: scan %s at %d: %w", stream, seq, err)
		}
		if !fn(m) {
			return seq, nil
		}
	}
	return 0, nil
}

// diskFull is the error a write of about n bytes meets at once while the
// embedded store's disk is full.
func (q *Queue) diskFull(n int) error {
	if q.guard == nil {
		return nil
	}
	q.guard.wrote(n)
	return q.guard.err()
}

// stored notes a write the store accepted: it is not full.
func (q *Queue) stored() {
	if q.refusedAt.Load() != 0 {
		q.refusedAt.Store(0)
	}
}

// Writable says whether the store accepts writes: nil, or an error
// wrapping ErrStoreFull while the embedded store's disk is full, or for
// refusedFor after the store (a cluster) refused a write for want of space
// and none succeeded since. For readiness: a replica whose store refuses
// writes can only answer 503.
func (q *Queue) Writable() error {
	if q.guard != nil {
		if err := q.guard.err(); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
	}
	if at := q.refusedAt.Load(); at != 0 {
		if ago := time.Since(time.Unix(0, at)); ago < refusedFor {
			return fmt.Errorf("queue: %w: it refused a write %s ago", ErrStoreFull, ago.Round(time.Millisecond))
		}
	}
	return nil
}

// Ping checks that the store answers.
func (q *Queue) Ping(ctx context.Context) error {
	if _, err := q.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server, flushing its
// store to disk and recording the streams' counts for the next Open to
// check.
func (q *Queue) Close() {
	if q.stopGuard != nil {
		q.stopGuard()
		<-q.guardDone
	}
	if q.sent.Load() {
		// A stream stores what one connection publishes to it in order:
		// once an acknowledged record on the log stream is stored, so are
		// the records Send published before it on the same connection.
		ctx, cancel := context.WithTimeout(context.Background(), publishAttemptTimeout)
		if _, err := q.js.Publish(ctx, LogSubject+".closed", nil); err != nil {
			q.log.Warn("closing: the records sent last may not be stored", "err", err)
		}
		cancel()
	}
	for _, nc := range []*nats.Conn{q.nc, q.pnc} {
		if nc == nil {
			continue
		}
		_ = nc.Drain()
		for i := 0; i < 100 && !nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		nc.Close()
	}
	if q.srv != nil && q.opened {
		if err := q.writeCloseRecord(q.dataDir); err != nil {
			q.log.Warn("could not record the streams' counts; the next start cannot check them for losses", "err", err)
		}
	}
	q.shutdownServer()
}

func (q *Queue) shutdownServer() {
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
	}
}

// handle runs h on m, telling the server every beat that m is still in
// progress until h has acknowledged it (or returned). The beats run on a
// timer, not a goroutine of their own: most handlers finish before the
// first.
func handle(ctx context.Context, m jetstream.Msg, beat time.Duration, h Handler) {
	hm := &heartbeatMsg{Msg: m}
	hm.mu.Lock()
	hm.timer = time.AfterFunc(beat, func() { hm.progress(beat) })
	hm.mu.Unlock()
	h(ctx, hm)
	hm.mu.Lock()
	hm.done = true
	hm.timer.Stop()
	hm.mu.Unlock()
}

// heartbeatMsg is a message whose heartbeats stop for good once it is
// acknowledged (a heartbeat after a NakWithDelay would undo the delay) or
// its handler has returned.
type heartbeatMsg struct {
	jetstream.Msg
	mu    sync.Mutex
	timer *time.Timer
	acked bool
	done  bool
}

func (m *heartbeatMsg) progress(beat time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.acked || m.done {
		return
	}
	_ = m.Msg.InProgress()
	m.timer.Reset(beat)
}

func (m *heartbeatMsg) final(f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = true
	return f()
}

func (m *heartbeatMsg) Ack() error  { return m.final(m.Msg.Ack) }
func (m *heartbeatMsg) Nak() error  { return m.final(m.Msg.Nak) }
func (m *heartbeatMsg) Term() error { return m.final(m.Msg.Term) }
func (m *heartbeatMsg) NakWithDelay(d time.Duration) error {
	return m.final(func() error { return m.Msg.NakWithDelay(d) })
}
func (m *heartbeatMsg) TermWithReason(reason string) error {
	return m.final(func() error { return m.Msg.TermWithReason(reason) })
}
func (m *heartbeatMsg) DoubleAck(ctx context.Context) error {
	return m.final(func() error { return m.Msg.DoubleAck(ctx) })
}
