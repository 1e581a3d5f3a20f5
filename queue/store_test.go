package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Scan walks newest first and skips deleted messages; Get and Delete work
// by sequence and say ErrNotFound for what is gone.
func TestScanGetDelete(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if _, err := q.Publish(ctx, DeadSubject+".http", "d"+strconv.Itoa(i), nil, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(t *testing.T, stop int) string {
		t.Helper()
		var got []string
		_, err := q.Scan(ctx, DeadStream, 0, func(m *jetstream.RawStreamMsg) bool {
			got = append(got, string(m.Data))
			return len(got) != stop
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(got)
	}

	t.Run("newest first", func(t *testing.T) {
		if got := collect(t, -1); got != "[5 4 3 2 1]" {
			t.Fatalf("scan = %s", got)
		}
	})
	t.Run("stops when fn says so", func(t *testing.T) {
		if got := collect(t, 2); got != "[5 4]" {
			t.Fatalf("scan = %s", got)
		}
	})
	t.Run("continues below a cursor", func(t *testing.T) {
		var got []string
		next, err := q.Scan(ctx, DeadStream, 0, func(m *jetstream.RawStreamMsg) bool {
			got = append(got, string(m.Data))
			return len(got) < 2
		})
		if err != nil || next != 4 {
			t.Fatalf("first page %v ends at %d, %v; want next 4", got, next, err)
		}
		next, err = q.Scan(ctx, DeadStream, next, func(m *jetstream.RawStreamMsg) bool {
			got = append(got, string(m.Data))
			return true
		})
		if err != nil || next != 0 || fmt.Sprint(got) != "[5 4 3 2 1]" {
			t.Fatalf("pages = %v, next %d, %v", got, next, err)
		}
	})
	t.Run("get by sequence", func(t *testing.T) {
		m, err := q.Get(ctx, DeadStream, 3)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != "3" || m.Subject != DeadSubject+".http" {
			t.Fatalf("got %q on %s", m.Data, m.Subject)
		}
	})
	t.Run("delete, then get, scan and delete again", func(t *testing.T) {
		if err := q.Delete(ctx, DeadStream, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Get(ctx, DeadStream, 3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get after delete: %v, want ErrNotFound", err)
		}
		if got := collect(t, -1); got != "[5 4 2 1]" {
			t.Fatalf("scan after delete = %s", got)
		}
		if err := q.Delete(ctx, DeadStream, 3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("ends of the stream", func(t *testing.T) {
		for _, seq := range []uint64{1, 5} {
			if err := q.Delete(ctx, DeadStream, seq); err != nil {
				t.Fatal(err)
			}
		}
		if got := collect(t, -1); got != "[4 2]" {
			t.Fatalf("scan = %s", got)
		}
		if _, err := q.Get(ctx, DeadStream, 99); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get beyond the end: %v", err)
		}
	})
	t.Run("empty and unknown streams", func(t *testing.T) {
		n := 0
		if _, err := q.Scan(ctx, JobsStream, 0, func(*jetstream.RawStreamMsg) bool { n++; return true }); err != nil || n != 0 {
			t.Fatalf("scan of an empty stream: %d messages, %v", n, err)
		}
		if _, err := q.Scan(ctx, "NOPE", 0, func(*jetstream.RawStreamMsg) bool { return true }); err == nil {
			t.Fatal("scan of an unknown stream succeeded")
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		_, err := q.Scan(cctx, DeadStream, 0, func(*jetstream.RawStreamMsg) bool { n++; cancel(); return true })
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Fatalf("scan after cancel: %d messages, %v", n, err)
		}
	})
}

// A handler that runs for several AckWaits is not redelivered meanwhile:
// Consume sends heartbeats. And a NakWithDelay at the end of a long run
// is still honoured (no heartbeat after it resets the delay).
func TestHeartbeatHoldsLongHandler(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := q.Publish(ctx, JobsSubject+".email", "long", nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	const ackWait = time.Second
	var calls atomic.Int32
	type delivery struct {
		n  uint64
		at time.Time
	}
	got := make(chan delivery, 8)
	go func() {
		_ = q.Consume(ctx, ConsumerOptions{Stream: JobsStream, Durable: "e", Filter: JobsSubject + ".email", Workers: 2, AckWait: ackWait}, func(_ context.Context, m jetstream.Msg) {
			md, err := m.Metadata()
			if err != nil {
				t.Error(err)
				return
			}
			calls.Add(1)
			got <- delivery{md.NumDelivered, time.Now()}
			if md.NumDelivered == 1 {
				time.Sleep(4 * ackWait) // the work itself, not a wait for a condition
				_ = m.NakWithDelay(2 * time.Second)
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
		case <-time.After(30 * time.Second):
			t.Fatalf("got %d deliveries, want 2", len(ds))
		}
	}
	if ds[0].n != 1 || ds[1].n != 2 {
		t.Fatalf("delivery counts %d, %d; want 1, 2 (redelivered while the first handler ran)", ds[0].n, ds[1].n)
	}
	if gap := ds[1].at.Sub(ds[0].at); gap < 4*ackWait+2*time.Second {
		t.Fatalf("second delivery %s after the first; the handler ran %s and asked for a 2s delay", gap, 4*ackWait)
	}
}

// BenchmarkPublish measures one event stored and acknowledged on the
// embedded store, fsynced every second (the default) or on every write.
func BenchmarkPublish(b *testing.B) {
	for _, bc := range []struct {
		name   string
		always bool
	}{{"interval", false}, {"always", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			q, err := Open(ctx, Options{DataDir: b.TempDir(), SyncAlways: bc.always})
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			body := make([]byte, 2048) // a typical webhook body
			ctx = context.Background()
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				if _, err := q.Publish(ctx, EventsSubject+".bench", "bench/"+strconv.Itoa(i), nil, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
