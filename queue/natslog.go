package queue

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// natsLogger routes the embedded NATS server's log into the router's slog:
// its warnings and errors at those levels (a damaged block file, a failed
// write), its notices (the start-up banner, streams restored) at debug. A
// fatal error is logged as an error, not exited on as the server's own
// logger would, and kept, so that Open stops waiting for a server that will
// never be ready and says why.
type natsLogger struct {
	log *slog.Logger

	mu    sync.Mutex
	fatal error
}

func (l *natsLogger) logf(level slog.Level, format string, v ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l *natsLogger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v...) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v...) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v...) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v...) }
func (l *natsLogger) Tracef(format string, v ...any)  { l.logf(slog.LevelDebug, format, v...) }

func (l *natsLogger) Fatalf(format string, v ...any) {
	err := fmt.Errorf(format, v...)
	l.log.Error(err.Error())
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal == nil {
		l.fatal = err
	}
}

// fatalErr is the first fatal error the server reported, if any.
func (l *natsLogger) fatalErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}
