package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// blockFiles returns the message block files of a stream of the embedded
// store under dataDir.
func blockFiles(t *testing.T, dataDir, stream string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "jetstream", "jetstream", "*", "streams", stream, "msgs", "*.blk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no block files of %s under %s (%v)", stream, dataDir, err)
	}
	return files
}

// A store whose block file was damaged while it was stopped drops what it
// cannot read without saying so. Open reports the loss: an error log line
// naming the stream and the count, and Lost for a metric; the server's own
// warnings reach the log too.
func TestOpenReportsLostMessages(t *testing.T) {
	const pending = 500
	tests := []struct {
		name   string
		damage func(t *testing.T, file string, size int64)
	}{
		{"block truncated to half", func(t *testing.T, file string, size int64) {
			if err := os.Truncate(file, size/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"4 KiB of garbage inside the block", func(t *testing.T, file string, size int64) {
			f, err := os.OpenFile(file, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			garbage := make([]byte, 4096)
			for i := range garbage {
				garbage[i] = byte(i * 7)
			}
			if _, err := f.WriteAt(garbage, size*7/10); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir)
			ctx := context.Background()
			for i := range pending {
				if _, err := q.Publish(ctx, JobsSubject+".http", fmt.Sprint("job-", i), nil, []byte(strings.Repeat("x", 300))); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			for _, f := range blockFiles(t, dir, JobsStream) {
				st, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				tc.damage(t, f, st.Size())
			}

			logs := &logRecorder{}
			octx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			q, err := Open(octx, Options{DataDir: dir, Logger: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			info, err := q.StreamInfo(ctx, JobsStream)
			if err != nil {
				t.Fatal(err)
			}
			gone := pending - info.State.Msgs
			if gone == 0 {
				t.Fatal("the damage lost nothing: the test damages the wrong file")
			}
			if got := q.Lost()[JobsStream]; got != gone {
				t.Errorf("Lost()[%s] = %d, want %d (the stream holds %d of %d)", JobsStream, got, gone, info.State.Msgs, pending)
			}
			if len(q.Lost()) != 1 {
				t.Errorf("Lost() = %v, want only %s", q.Lost(), JobsStream)
			}
			errs := strings.Join(logs.at(slog.LevelError), "\n")
			if want := fmt.Sprintf("stream=%s lost=%d", JobsStream, gone); !strings.Contains(errs, want) {
				t.Errorf("no error log with %q; errors:\n%s", want, errs)
			}
			if warns := strings.Join(logs.at(slog.LevelWarn), "\n"); !strings.Contains(warns, "Filestore ["+JobsStream+"]") {
				t.Errorf("the server's warnings about the damaged block did not reach the log; warnings:\n%s", warns)
			}
		})
	}
}

// Nothing is reported lost when nothing was: a restart after the jobs were
// acknowledged (right up to Close, so that the acknowledgements are still
// being applied as it closes), a restart after a crash (no clean close to
// compare with), and events expired by their retention while stopped.
func TestOpenReportsNoLossWhenNoneHappened(t *testing.T) {
	reopen := func(t *testing.T, dir string, o Options) *Queue {
		t.Helper()
		logs := &logRecorder{}
		o.DataDir, o.Logger = dir, slog.New(logs)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q, err := Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		if lost := q.Lost(); len(lost) > 0 {
			t.Errorf("Lost() = %v, want nothing", lost)
		}
		if errs := logs.at(slog.LevelError); len(errs) > 0 {
			t.Errorf("errors logged: %v", errs)
		}
		return q
	}
	publish := func(t *testing.T, q *Queue, subject string, n int) {
		t.Helper()
		for i := range n {
			if _, err := q.Publish(context.Background(), subject, fmt.Sprint(subject, i), nil, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("jobs acknowledged up to the close", func(t *testing.T) {
		dir := t.TempDir()
		q := open(t, dir)
		publish(t, q, JobsSubject+".http", 500)
		ctx, cancel := context.WithCancel(context.Background())
		acked := make(chan struct{}, 500)
		done := make(chan error, 1)
		go func() {
			done <- q.Consume(ctx, ConsumerOptions{Stream: JobsStream, Durable: "t", Filter: JobsSubject + ".http", Workers: 8}, func(_ context.Context, m jetstream.Msg) {
				_ = m.Ack()
				acked <- struct{}{}
			})
		}()
		for range 250 {
			<-acked
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		q.Close()
		reopen(t, dir, Options{})
	})
	t.Run("after a crash", func(t *testing.T) {
		dir := t.TempDir()
		q := open(t, dir)
		publish(t, q, JobsSubject+".http", 100)
		q.Close()
		if err := os.Remove(filepath.Join(dir, closeRecordFile)); err != nil {
			t.Fatalf("no close record after a clean close: %v", err)
		}
		for _, f := range blockFiles(t, dir, JobsStream) {
			if err := os.Truncate(f, 0); err != nil {
				t.Fatal(err)
			}
		}
		reopen(t, dir, Options{})
	})
	t.Run("events expired by retention while stopped", func(t *testing.T) {
		dir := t.TempDir()
		short := Options{EventRetention: time.Second, DedupWindow: time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q, err := Open(ctx, Options{DataDir: dir, EventRetention: short.EventRetention, DedupWindow: short.DedupWindow})
		if err != nil {
			t.Fatal(err)
		}
		publish(t, q, EventsSubject+".s", 100)
		q.Close()
		time.Sleep(1500 * time.Millisecond)
		q = reopen(t, dir, short)
		info, err := q.StreamInfo(context.Background(), EventsStream)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 0 {
			t.Fatalf("%d events left after their retention", info.State.Msgs)
		}
	})
}

func TestMissing(t *testing.T) {
	tests := []struct {
		name     string
		was, now streamCount
		expires  bool
		want     uint64
	}{
		{"all there", streamCount{500, 1, 500}, streamCount{500, 1, 500}, false, 0},
		{"more than before", streamCount{5, 1, 5}, streamCount{7, 1, 7}, false, 0},
		{"tail lost, sequence kept", streamCount{500, 1, 500}, streamCount{250, 1, 500}, false, 250},
		{"tail lost, sequence fell back", streamCount{500, 1, 500}, streamCount{350, 1, 350}, false, 150},
		{"oldest expired", streamCount{500, 1, 500}, streamCount{400, 101, 500}, true, 0},
		{"oldest expired and the tail lost", streamCount{500, 1, 500}, streamCount{300, 101, 400}, true, 100},
		{"first block lost where nothing expires", streamCount{500, 1, 500}, streamCount{400, 101, 500}, false, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := missing(tc.was, tc.now, tc.expires); got != tc.want {
				t.Fatalf("missing = %d, want %d", got, tc.want)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
