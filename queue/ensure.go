package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Schema is the version of the stream and consumer layout this code sets
// up. It is stored in each stream's and consumer's metadata under
// SchemaKey. A replica never updates a stream or consumer whose schema is
// newer than its own, so an older switchyard running beside a newer one
// during a rolling upgrade cannot undo the newer layout. Bump it whenever
// the layout (subjects, retention, consumer settings) changes.
const Schema = 1

// SchemaKey is the metadata key holding Schema.
const SchemaKey = "switchyard_schema"

// schemaOf reads the schema a stream or consumer was set up with; 0 for one
// set up before schemas were recorded.
func schemaOf(md map[string]string) int {
	n, err := strconv.Atoi(md[SchemaKey])
	if err != nil {
		return 0
	}
	return n
}

// withSchema returns md (without the server's own _nats.* keys, which the
// server sets itself) plus our schema.
func withSchema(md map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		if !strings.HasPrefix(k, "_nats.") {
			out[k] = v
		}
	}
	out[SchemaKey] = strconv.Itoa(Schema)
	return out
}

// policy says how an existing stream's settings meet the ones this
// replica asks for.
type policy struct {
	// shared: the streams live on an external cluster, where replicas
	// running another rules file (an older one, during a rolling change)
	// use the same streams. Settings that protect data (replicas, dedup
	// window, retention) then only grow: no replica can shrink them under
	// another. Otherwise (an embedded store) this process is the streams'
	// only user and the rules file in force decides.
	shared bool
	// set names the settings the operator chose ("replicas", "duplicates",
	// "max_age"); the others are defaults. Only a chosen setting that
	// cannot be applied is warned about.
	set map[string]bool
}

// reconcileStream decides what to do with an existing stream: nil when it
// is to be left as it is, else the configuration to update it to.
func reconcileStream(log *slog.Logger, p policy, have, want jetstream.StreamConfig) *jetstream.StreamConfig {
	if s := schemaOf(have.Metadata); s > Schema {
		log.Warn("stream was set up by a newer switchyard; leaving it as it is", "stream", have.Name, "schema", s, "ours", Schema)
		return nil
	}
	next := want
	next.Metadata = withSchema(have.Metadata)
	next.MaxAge = time.Duration(p.setting(log, have.Name, "max_age", "--max-age", int64(have.MaxAge), int64(want.MaxAge), true, fmtDuration))
	if want.Duplicates == 0 {
		// Not ours to manage (the stream is not deduplicated by id): the
		// server's default stays.
		next.Duplicates = have.Duplicates
	} else {
		next.Duplicates = time.Duration(p.setting(log, have.Name, "duplicates", "--dupe-window", int64(have.Duplicates), int64(want.Duplicates), false, fmtDuration))
	}
	next.Replicas = int(p.setting(log, have.Name, "replicas", "--replicas", int64(max(have.Replicas, 1)), int64(max(want.Replicas, 1)), false, fmtInt))
	if sameStream(have, next) {
		return nil
	}
	return &next
}

// setting returns the value a stream's setting takes: have is the
// stream's, want this replica's; with unlimitedIsZero, 0 is the largest.
func (p policy) setting(log *slog.Logger, stream, name, cliFlag string, have, want int64, unlimitedIsZero bool, format func(int64) string) int64 {
	if have == want {
		return want
	}
	if !p.shared {
		log.Info("stream setting changed as the rules file asks", "stream", stream, "setting", name, "from", format(have), "to", format(want))
		return want
	}
	larger := have > want
	if unlimitedIsZero {
		larger = have == 0 || (want != 0 && have > want)
	}
	if !larger {
		return want
	}
	if p.set[name] {
		log.Warn("stream keeps a larger setting than this replica's rules file asks for: other replicas may rely on it, so it is not shrunk; once every replica asks for the smaller value, shrink it with the nats CLI against the cluster",
			"stream", stream, "setting", name, "stream_value", format(have), "ours", format(want),
			"command", fmt.Sprintf("nats stream edit %s %s=%s", stream, cliFlag, format(want)))
	}
	return have
}

func fmtDuration(v int64) string {
	if v == 0 {
		return "unlimited"
	}
	return time.Duration(v).String()
}

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

// sameStream compares the settings switchyard manages.
func sameStream(a, b jetstream.StreamConfig) bool {
	sa, sb := slices.Clone(a.Subjects), slices.Clone(b.Subjects)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb) && a.Description == b.Description && a.Retention == b.Retention &&
		a.MaxAge == b.MaxAge && a.Duplicates == b.Duplicates && a.Storage == b.Storage &&
		max(a.Replicas, 1) == max(b.Replicas, 1) && schemaOf(a.Metadata) == schemaOf(b.Metadata)
}

// reconcileConsumer is reconcileStream for a durable consumer: nil to leave
// it, else the configuration to update it to.
func reconcileConsumer(log *slog.Logger, stream string, have, want jetstream.ConsumerConfig) *jetstream.ConsumerConfig {
	if s := schemaOf(have.Metadata); s > Schema {
		log.Warn("consumer was set up by a newer switchyard; leaving it as it is", "stream", stream, "consumer", have.Durable, "schema", s, "ours", Schema)
		return nil
	}
	next := want
	next.Metadata = withSchema(have.Metadata)
	if have.FilterSubject == next.FilterSubject && have.AckPolicy == next.AckPolicy && have.AckWait == next.AckWait &&
		have.MaxDeliver == next.MaxDeliver && have.MaxAckPending == next.MaxAckPending &&
		schemaOf(have.Metadata) == Schema {
		return nil
	}
	return &next
}

// ensureStream creates the stream, or updates it as reconcileStream says.
// It is safe when several replicas start at once: a create that loses the
// race is followed by a fresh look at what the winner made.
func (q *Queue) ensureStream(ctx context.Context, p policy, want jetstream.StreamConfig) error {
	want.Metadata = withSchema(want.Metadata)
	return retry(ctx, q.log, "stream "+want.Name, func(ctx context.Context) error {
		s, err := q.js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = q.js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return errRace // another replica created it first: look again
			}
			return err
		}
		if err != nil {
			return err
		}
		next := reconcileStream(q.log, p, s.CachedInfo().Config, want)
		if next == nil {
			return nil
		}
		_, err = q.js.UpdateStream(ctx, *next)
		return err
	})
}

// ensureConsumer creates the durable consumer or updates it as
// reconcileConsumer says, and returns it.
func (q *Queue) ensureConsumer(ctx context.Context, stream string, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	want.Metadata = withSchema(want.Metadata)
	var cons jetstream.Consumer
	err := retry(ctx, q.log, "consumer "+want.Durable, func(ctx context.Context) error {
		c, err := q.js.Consumer(ctx, stream, want.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			c, err = q.js.CreateConsumer(ctx, stream, want)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				return errRace
			}
			cons = c
			return err
		}
		if err != nil {
			return err
		}
		next := reconcileConsumer(q.log, stream, c.CachedInfo().Config, want)
		if next != nil {
			if c, err = q.js.UpdateConsumer(ctx, stream, *next); err != nil {
				return err
			}
		}
		cons = c
		return nil
	})
	return cons, err
}

// errRace marks a lost creation race: always tried again at once.
var errRace = errors.New("created concurrently by another replica")

// retry runs op until it succeeds, fails for good, or ctx ends. A cluster
// that is electing leaders or has just lost a node answers with timeouts,
// no responders or 503s for a few seconds; those are waited out.
func retry(ctx context.Context, log *slog.Logger, what string, op func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := op(actx)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, errRace) {
			continue
		}
		if !transient(err) || ctx.Err() != nil {
			return fmt.Errorf("queue: %s: %w", what, err)
		}
		log.Info("store not ready; retrying", "what", what, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue: %s: %w (gave up: %w)", what, err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// errCodeDuplicateInProcess is JetStream's JSStreamDuplicateMessageConflict
// (409): "duplicate message id is in process".
const errCodeDuplicateInProcess = 10158

// JetStream's error codes for a store out of space: JSInsufficientResourcesErr
// (the server's storage limit), JSStorageResourcesExceededErr,
// JSAccountResourcesExceededErr.
const (
	errCodeInsufficientResources = 10023
	errCodeStorageExceeded       = 10047
	errCodeAccountExceeded       = 10002
)

// storeFull tells the store's answers that it has no space for a write.
func storeFull(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode {
	case errCodeInsufficientResources, errCodeStorageExceeded, errCodeAccountExceeded:
		return true
	}
	return false
}

// transient tells errors worth retrying (the store is momentarily
// unreachable or leaderless) from answers that will not change.
func transient(err error) bool {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrMaxPayload):
		return false
	case storeFull(err):
		// Space is not freed by asking again within a request's time.
		return false
	case errors.As(err, &api):
		// 503: JetStream temporarily unavailable, no leader, not enough
		// peers yet; 408/500: a request that timed out inside the cluster;
		// on a replicated stream, the same message id being stored by
		// another publisher (a vendor retry on another replica) at this
		// moment: asked again, it is a duplicate or ours to store.
		return api.Code >= 500 || api.Code == 408 || api.ErrorCode == errCodeDuplicateInProcess
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return true
	}
	return false
}
