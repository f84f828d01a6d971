package api

import (
	"bytes"
	"errors"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"settle/engine/codes"
)

// getPprof serves Go's runtime profiles (/debug/pprof/...) to operators: the CPU
// profile of a validator under load is the first thing a performance engineer asks
// for. It needs the admin token like every operator endpoint.
//
// net/http/pprof (behind fasthttp's pprofhandler) answers its errors in plain
// text, a second CPU profile while one runs with a 500, and takes a bad seconds=
// for 30 s. Here every parameter is checked first and every refusal is JSON. A
// CPU profile, a trace and a delta profile (a named profile with seconds=) each
// keep the node busy for seconds: one runs at a time, for at most
// ProfileSecondsMax, and the others are refused 503 overloaded.
func (s *Server) getPprof(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	name := strings.TrimPrefix(string(ctx.Path()), "/debug/pprof/")
	switch name {
	case "profile":
		secs, err := s.profileSeconds(ctx, 30)
		if err != nil {
			return err
		}
		return s.timedProfile(ctx, name, secs, func(b *cappedBuffer) error { return pprof.StartCPUProfile(b) }, pprof.StopCPUProfile)
	case "trace":
		secs, err := s.profileSeconds(ctx, 1)
		if err != nil {
			return err
		}
		return s.timedProfile(ctx, name, secs, func(b *cappedBuffer) error { return trace.Start(b) }, trace.Stop)
	case "", "cmdline", "symbol":
		return s.passPprof(ctx)
	}
	if strings.Contains(name, "/") || pprof.Lookup(name) == nil {
		return codes.Errorf(codes.NotFound, "no profile %q: /debug/pprof/ lists them", name)
	}
	for _, p := range []string{"debug", "gc"} {
		if v := ctx.QueryArgs().Peek(p); v != nil {
			if n, err := strconv.Atoi(string(v)); err != nil || n < 0 || n > 2 {
				return codes.Errorf(codes.BadRequest, "%s=%q must be 0, 1 or 2", p, v)
			}
		}
	}
	if ctx.QueryArgs().Has("seconds") {
		// A delta profile: net/http/pprof sleeps for seconds, then diffs.
		if _, err := s.profileSeconds(ctx, 0); err != nil {
			return err
		}
		if err := s.takeProfiler(); err != nil {
			return err
		}
		defer s.releaseProfiler()
	}
	return s.passPprof(ctx)
}

// profileSeconds reads seconds=: a whole number from 1 to ProfileSecondsMax,
// or def when absent.
func (s *Server) profileSeconds(ctx *fasthttp.RequestCtx, def int) (int, error) {
	v := ctx.QueryArgs().Peek("seconds")
	if v == nil {
		return def, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 || n > s.cfg.ProfileSecondsMax {
		return 0, codes.Errorf(codes.BadRequest, "seconds=%q must be a whole number of seconds from 1 to %d", v, s.cfg.ProfileSecondsMax)
	}
	return n, nil
}

// takeProfiler takes the one timed profile allowed at a time.
func (s *Server) takeProfiler() error {
	if !s.profiling.TryLock() {
		s.metrics.refused(limitProfiles)
		return codes.Errorf(codes.Overloaded, "a profile is being taken: one at a time")
	}
	return nil
}

func (s *Server) releaseProfiler() { s.profiling.Unlock() }

// profileBytesMax bounds a profile or trace held before it is sent.
const profileBytesMax = 64 << 20

// timedProfile runs a CPU profile or a trace for secs seconds (or until
// Shutdown, or until it passes profileBytesMax) and answers it.
func (s *Server) timedProfile(ctx *fasthttp.RequestCtx, name string, secs int, start func(*cappedBuffer) error, stop func()) error {
	if err := s.takeProfiler(); err != nil {
		return err
	}
	defer s.releaseProfiler()
	buf := &cappedBuffer{max: profileBytesMax, full: make(chan struct{})}
	if err := start(buf); err != nil {
		// Something else in the process profiles (a test harness, say).
		s.metrics.refused(limitProfiles)
		return codes.Errorf(codes.Overloaded, "cannot start the %s: %v", name, err)
	}
	t := time.NewTimer(time.Duration(secs) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-buf.full:
	case <-s.base.Done():
	}
	stop()
	if buf.overflowed() {
		return codes.Errorf(codes.BodyTooLarge, "the %s passed %d bytes before its %d s: take a shorter one", name, profileBytesMax, secs)
	}
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.SetContentType("application/octet-stream")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	buf.mu.Lock() // stop waited for the profile's writer: this is for the race detector
	ctx.Response.SetBody(buf.b.Bytes())
	buf.mu.Unlock()
	return nil
}

// passPprof hands the request to net/http/pprof, which reads the request body
// through ctx.PostBody: the (streamed) body of a GET is dropped first, so that
// it is not read whole.
func (s *Server) passPprof(ctx *fasthttp.RequestCtx) error {
	ctx.Request.SetBodyRaw(nil)
	pprofhandler.PprofHandler(ctx)
	return nil
}

// cappedBuffer collects a profile up to max bytes; past it, writes fail and
// full is closed.
type cappedBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	max  int
	full chan struct{}
	over bool
}

var errProfileFull = errors.New("api: profile over its size limit")

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over || c.b.Len()+len(p) > c.max {
		if !c.over {
			c.over = true
			close(c.full)
		}
		return 0, errProfileFull
	}
	return c.b.Write(p)
}

func (c *cappedBuffer) overflowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}
