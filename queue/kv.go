package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Buckets of state every replica shares.
const (
	// MutesBucket holds the mutes in force, each removed by the store when
	// it ends.
	MutesBucket = "SWITCHYARD_MUTES"
	// ThrottlesBucket holds the open throttle windows, one key per rule
	// (or action) and throttle key, each removed by the store when its
	// window ends.
	ThrottlesBucket = "SWITCHYARD_THROTTLES"
	// GroupsBucket holds the timing of each pending group of a grouped
	// rule: when it is due, and the firing under way.
	GroupsBucket = "SWITCHYARD_GROUPS"
)

// KeyValue opens a key-value bucket, creating it or bringing its settings
// up to date, on the store's replicas. Its keys may be given a time to
// live of their own (jetstream.KeyTTL): the store removes them then, and
// watchers are told.
func (q *Queue) KeyValue(ctx context.Context, bucket, description string) (jetstream.KeyValue, error) {
	kv, err := q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: description,
		Storage:     jetstream.FileStorage,
		Replicas:    max(q.replicas, 1),
		// How long the marker of a key removed by its TTL is kept: long
		// enough for every watcher to see it.
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: bucket %s: %w", bucket, err)
	}
	return kv, nil
}
