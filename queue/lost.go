package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// closeRecordFile, in the data directory, holds each stream's message
// count as the embedded store was last closed cleanly. The next Open
// compares the streams it finds with it: messages missing beyond what
// retention may have removed meanwhile were lost (a damaged or truncated
// block file, which the server repairs by dropping what it cannot read and
// does not itself report). The file is removed once read, so that counts
// made stale by a later crash are never compared with.
const closeRecordFile = "closed-cleanly.json"

// streamCount is what the close record keeps of a stream.
type streamCount struct {
	Msgs     uint64 `json:"msgs"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

// streamHolds says, for the loss report, what a stream's messages are.
var streamHolds = map[string]string{
	EventsStream: "verified events (for replays and the events list)",
	JobsStream:   "pending deliveries, which will not be made",
	DeadStream:   "dead letters",
	LogStream:    "match and delivery records",
}

// Lost returns, per stream, how many messages the store had stored and
// no longer held when it was opened (nil when nothing was lost). Open logs
// each as an error; Lost is for a metric.
func (q *Queue) Lost() map[string]uint64 {
	return maps.Clone(q.lost)
}

// checkLost compares the streams with the close record (embedded store) and
// with what the server itself reports lost, and logs and keeps any loss.
func (q *Queue) checkLost(ctx context.Context, record map[string]streamCount) error {
	for _, name := range slices.Sorted(maps.Keys(streamHolds)) {
		info, err := q.StreamInfo(ctx, name)
		if err != nil {
			return err
		}
		var byServer, byRecord uint64
		if l := info.State.Lost; l != nil {
			byServer = uint64(len(l.Msgs))
		}
		if was, ok := record[name]; ok {
			now := streamCount{Msgs: info.State.Msgs, FirstSeq: info.State.FirstSeq, LastSeq: info.State.LastSeq}
			byRecord = missing(was, now, info.Config.MaxAge != 0)
		}
		if n := max(byServer, byRecord); n > 0 {
			if q.lost == nil {
				q.lost = map[string]uint64{}
			}
			q.lost[name] = n
			q.log.Error("the store lost messages it had stored: they were damaged or missing on disk when it started",
				"stream", name, "lost", n, "holds", streamHolds[name])
		}
	}
	return nil
}

// missing counts the messages a stream closed with (was) that it no longer
// holds (now). When retention may have expired messages meanwhile, it
// removes the oldest ones, at most those below the new first sequence;
// those are not counted.
func missing(was, now streamCount, expires bool) uint64 {
	if now.Msgs >= was.Msgs {
		return 0
	}
	n := was.Msgs - now.Msgs
	if expires && now.FirstSeq > was.FirstSeq {
		n -= min(n, now.FirstSeq-was.FirstSeq)
	}
	return n
}

// readCloseRecord reads the close record; nil when there is none (a first
// start, or one after a crash).
func readCloseRecord(dataDir string) (map[string]streamCount, error) {
	path := filepath.Join(dataDir, closeRecordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec map[string]streamCount
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// removeCloseRecord removes the close record once it has been compared
// with: from now on the streams change.
func removeCloseRecord(dataDir string) error {
	err := os.Remove(filepath.Join(dataDir, closeRecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// writeCloseRecord records the streams' counts once every connection is
// closed. Acknowledgements that reached the server are applied to a work
// queue asynchronously, so the counts are read until they hold still.
func (q *Queue) writeCloseRecord(dataDir string) error {
	prev, err := q.serverCounts()
	if err != nil {
		return err
	}
	for range 100 {
		time.Sleep(10 * time.Millisecond)
		cur, err := q.serverCounts()
		if err != nil {
			return err
		}
		if maps.Equal(prev, cur) {
			b, err := json.Marshal(cur)
			if err != nil {
				return err
			}
			return writeFileAtomic(filepath.Join(dataDir, closeRecordFile), b)
		}
		prev = cur
	}
	return errors.New("the streams kept changing after every connection was closed")
}

// serverCounts reads the streams' counts from the embedded server itself,
// which needs no connection.
func (q *Queue) serverCounts() (map[string]streamCount, error) {
	jsz, err := q.srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return nil, err
	}
	out := map[string]streamCount{}
	for _, acc := range jsz.AccountDetails {
		for _, s := range acc.Streams {
			if _, ours := streamHolds[s.Name]; ours {
				out[s.Name] = streamCount{Msgs: s.State.Msgs, FirstSeq: s.State.FirstSeq, LastSeq: s.State.LastSeq}
			}
		}
	}
	return out, nil
}

// writeFileAtomic replaces path with data, which is on disk when it returns.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename: nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
