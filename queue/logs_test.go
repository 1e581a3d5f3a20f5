package queue

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// logRecorder is a slog.Handler that keeps every record, for tests that
// check what was logged.
type logRecorder struct {
	mu      sync.Mutex
	records []string
	levels  []slog.Level
	attrs   []slog.Attr
	shared  *logRecorder
}

func (l *logRecorder) root() *logRecorder {
	if l.shared != nil {
		return l.shared
	}
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.records = append(root.records, b.String())
	root.levels = append(root.levels, r.Level)
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{shared: l.root(), attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// at returns the records logged at level, each as its message followed by
// its attributes.
func (l *logRecorder) at(level slog.Level) []string {
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []string
	for i, r := range root.records {
		if root.levels[i] == level {
			out = append(out, r)
		}
	}
	return out
}
