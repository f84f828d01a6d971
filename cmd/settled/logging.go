package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// logOptions are the log flags of settled run and settled dev.
type logOptions struct{ format, level string }

func (o *logOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "log-format", "text", "log format on stderr: text (key=value lines) or json (one JSON object a line)")
	fs.StringVar(&o.level, "log-level", "info", "lowest level logged: debug, info, warn or error")
}

// logger builds the validator's log on w: every line carries the node's id.
func (o logOptions) logger(w io.Writer, nodeID string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", o.level)
	}
	ho := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch o.format {
	case "", "text":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("-log-format %q: want text or json", o.format)
	}
	return slog.New(h).With("node", nodeID), nil
}

// logfAt adapts a logger to a Logf hook (the API's): each line is one record
// at level.
func logfAt(l *slog.Logger, level slog.Level) func(format string, args ...any) {
	return func(format string, args ...any) { l.Log(context.Background(), level, fmt.Sprintf(format, args...)) }
}

// watchReady logs each change of the node's readiness (ready for clients, or
// not: starting, catching up) until ctx ends.
func watchReady(ctx context.Context, l *slog.Logger, ready func() bool, height func() uint64) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	was := false
	for {
		if is := ready(); is != was {
			was = is
			if is {
				l.Info("ready for clients", "height", height())
			} else {
				l.Warn("not ready for clients (catching up)", "height", height())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
