package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"
)

// ErrStoreFull is wrapped by the errors of writes the store refuses for
// want of space: the embedded store's disk is (nearly) full, or the
// cluster answered "insufficient resources". Such a write is not retried:
// it fails at once, and the store accepts writes again once space is freed.
var ErrStoreFull = errors.New("the store is full")

// Disk reserve defaults: the embedded store refuses writes while its file
// system has less than DefaultMinFree available, or less than
// minFreeFraction of its size when that is smaller.
const (
	DefaultMinFree  = 64 << 20
	minFreeFraction = 20 // 1/20: 5 %
)

// diskCheckInterval is how often the embedded store's free space is
// looked at: how soon writes are refused once another program fills the
// disk (the store's own writes also check every quarter of the reserve),
// and accepted again once space is freed. A statfs four times a second
// costs nothing; at 2 s, a disk filled from outside to within 100 KiB of
// full let the store's writes use up the rest first in one run of
// TestServeStoreFull, and a write that meets a full disk breaks its
// stream until a restart.
const diskCheckInterval = 250 * time.Millisecond

// diskGuard keeps the embedded store from filling its disk. A write that
// meets a full disk is not answered by the server and leaves the stream
// unable to store anything until a restart, so writes are refused before
// that, while less than a reserve is available; the reserve is checked
// every diskCheckInterval and on demand, so they are accepted again as
// soon as space is freed (the server's own size limit is lifted: it is
// fixed at start from the free space seen then).
type diskGuard struct {
	dir     string
	minFree int64 // bytes; 0: from the file system's size
	log     *slog.Logger

	// written counts the bytes written since the last check; past
	// checkEvery (a quarter of the reserve) the next write checks, so that
	// a burst cannot use up the reserve between two timed checks.
	written    atomic.Int64
	checkEvery atomic.Int64

	// full is the last check's verdict: nil while writable. Every write
	// reads it, so it is an atomic pointer rather than a mutex.
	full atomic.Pointer[error]
}

// perMsgOverhead estimates what the store adds to a message's data on
// disk (subject, headers, record framing), for counting what is written.
const perMsgOverhead = 256

// wrote counts a write of about n bytes of data, and checks the free
// space when enough has been written since the last check.
func (g *diskGuard) wrote(n int) {
	if g.written.Add(int64(n+perMsgOverhead)) >= g.checkEvery.Load() {
		_ = g.check()
	}
}

// check looks at the free space now and returns nil or an error wrapping
// ErrStoreFull. Changes are logged.
func (g *diskGuard) check() error {
	avail, size, err := diskSpace(g.dir)
	if err != nil {
		// Cannot tell: the last verdict stands (none where free space
		// cannot be read at all), and writes do not look again; the
		// timed checks do.
		g.log.Debug("cannot read the store's free space", "dir", g.dir, "err", err)
		g.checkEvery.Store(math.MaxInt64)
		return g.err()
	}
	g.written.Store(0)
	reserve := g.minFree
	if reserve <= 0 {
		reserve = min(DefaultMinFree, size/minFreeFraction)
	}
	g.checkEvery.Store(max(reserve/4, 1))
	var full *error
	if avail < reserve {
		err := fmt.Errorf("%w: %s has %s available, under the %s kept free", ErrStoreFull, g.dir, bytesString(avail), bytesString(reserve))
		full = &err
	}
	was := g.full.Swap(full)
	switch {
	case full != nil && was == nil:
		g.log.Error("the store's disk is full: new writes are refused until space is freed", "dir", g.dir, "available", bytesString(avail), "reserve", bytesString(reserve))
	case full == nil && was != nil:
		g.log.Info("the store's disk has space again: writes are accepted", "dir", g.dir, "available", bytesString(avail))
	}
	return g.err()
}

// err is the verdict of the last check.
func (g *diskGuard) err() error {
	if full := g.full.Load(); full != nil {
		return *full
	}
	return nil
}

// run checks every interval until ctx is done.
func (g *diskGuard) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = g.check()
		}
	}
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
