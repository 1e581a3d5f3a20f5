package router

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// watchBucket hands apply every entry a key-value bucket holds, and returns
// once they are all read; follow then hands it each change until ctx is
// done. Run runs follow in its wait group, so that no watch outlives it.
func watchBucket(ctx context.Context, kv jetstream.KeyValue, apply func(jetstream.KeyValueEntry)) (follow func(), err error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped before it started (a SIGTERM just after start), as
			// queue.Consume treats it: a stop, not a failure.
			return func() {}, nil
		}
		return nil, fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	for e := range w.Updates() {
		if e == nil { // the values stored so far are read
			break
		}
		apply(e)
	}
	return func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					apply(e)
				}
			}
		}
	}, nil
}
