package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/tmpfstest"
)

// fillStore publishes bodies of size bytes until the store refuses one,
// and returns that error and how long the refused publish took.
func fillStore(t *testing.T, q *Queue, size int) (time.Duration, error) {
	t.Helper()
	body := make([]byte, size)
	for i := range 100000 {
		start := time.Now()
		_, err := q.Publish(context.Background(), EventsSubject+".s", fmt.Sprint("fill-", i), nil, body)
		if err != nil {
			return time.Since(start), err
		}
	}
	t.Fatal("the store never refused a write")
	return 0, nil
}

// acceptsAgain publishes until the store accepts, and returns how long it
// took; it fails the test after limit.
func acceptsAgain(t *testing.T, q *Queue, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		_, err := q.Publish(context.Background(), EventsSubject+".s", fmt.Sprint("again-", i), nil, []byte("{}"))
		if err == nil {
			break
		}
		if time.Since(start) > limit {
			t.Fatalf("still refused %s after space was freed: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	if err := q.Writable(); err != nil {
		t.Errorf("Writable after a write was stored: %v", err)
	}
	return took
}

func purge(t *testing.T, q *Queue, stream string) {
	t.Helper()
	s, err := q.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The embedded store fills its disk with events: the write that does not
// fit is refused at once with ErrStoreFull (it was retried for 15 s as a
// transient error), Writable says so, and once space is freed writes are
// accepted again without a restart.
func TestEmbeddedStoreFullOfItsOwnData(t *testing.T) {
	dir := tmpfstest.Mount(t, 8<<20, false)
	q := open(t, dir)
	defer q.Close()
	took, err := fillStore(t, q, 64<<10)
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("refused with %v, want ErrStoreFull", err)
	}
	if took > time.Second {
		t.Errorf("the refused write took %s, want an answer at once", took)
	}
	if err := q.Writable(); !errors.Is(err, ErrStoreFull) {
		t.Errorf("Writable = %v while full, want ErrStoreFull", err)
	}
	purge(t, q, EventsStream)
	t.Logf("accepted again %s after the events were purged", acceptsAgain(t, q, 30*time.Second).Round(time.Millisecond))
}

// Something else fills the store's disk. Writes are refused at once, not
// left unanswered (the server cannot write and does not reply) and then
// refused for good; removing the other file makes the store accept writes
// again within the check interval, without a restart.
func TestEmbeddedStoreRecoversWhenSpaceIsFreed(t *testing.T) {
	dir := tmpfstest.Mount(t, 16<<20, false)
	q := open(t, dir)
	defer q.Close()
	if _, err := q.Publish(context.Background(), EventsSubject+".s", "before", nil, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	filler := tmpfstest.Fill(t, dir, "other-program.log", 100<<10)
	waitUntil(t, "the store to see its disk full", func() bool { return errors.Is(q.Writable(), ErrStoreFull) })
	start := time.Now()
	_, err := q.Publish(context.Background(), EventsSubject+".s", "while-full", nil, []byte("{}"))
	if took := time.Since(start); !errors.Is(err, ErrStoreFull) || took > 100*time.Millisecond {
		t.Fatalf("publish on a full disk: %v after %s, want ErrStoreFull at once", err, took)
	}
	if err := q.Send(LogSubject+".x", []byte("{}")); !errors.Is(err, ErrStoreFull) {
		t.Errorf("Send on a full disk: %v, want ErrStoreFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	took := acceptsAgain(t, q, 30*time.Second)
	if took > 2*diskCheckInterval {
		t.Errorf("accepted again %s after space was freed, want within %s", took, 2*diskCheckInterval)
	}
	t.Logf("accepted again %s after space was freed", took.Round(time.Millisecond))
}

// A cluster out of space answers "insufficient resources": the publish
// fails at once with ErrStoreFull instead of being retried until
// PublishTimeout, and Writable reports it until a write is stored again.
func TestClusterStoreFullIsNotRetried(t *testing.T) {
	n := startNATSWith(t, 1<<20)
	q := openURL(t, Options{URL: n.url()})
	took, err := fillStore(t, q, 64<<10)
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("refused with %v, want ErrStoreFull", err)
	}
	if took > time.Second {
		t.Errorf("the refused write took %s, want an answer at once", took)
	}
	if err := q.Writable(); !errors.Is(err, ErrStoreFull) {
		t.Errorf("Writable = %v after a refusal, want ErrStoreFull", err)
	}
	purge(t, q, EventsStream)
	acceptsAgain(t, q, 30*time.Second)
}
