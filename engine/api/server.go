// Package api serves Settle's HTTP API (docs/api.md) on fasthttp: transaction and
// batch submission, state queries, the commit event stream, metrics, health and
// operator endpoints. It holds no state of its own beyond limits and metrics: every
// answer comes from a Backend (the validator).
//
// Every error answer is {"code": ..., "message": ...} with the HTTP status that
// engine/codes assigns to the code; nothing here keeps a second table.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"settle/internal/defaults"

	"github.com/valyala/fasthttp"
)

// Config holds the server's limits. Zero fields take the defaults below.
// docs/api.md ("Limits and timeouts") and docs/operations.md describe each one
// and what a client sees when it is hit.
type Config struct {
	// RequestBodyBytesMax bounds a batch body as received (a compressed batch is
	// bounded by it before decompression); a larger Content-Length is refused
	// before any of the body is read. Default 16 MiB.
	RequestBodyBytesMax int
	// BatchBytesMax bounds a batch after decompression. Default 16 MiB.
	BatchBytesMax int
	// BodyBytesInFlightMax bounds the batch bytes that requests in progress hold
	// at once: bodies being received (reserved at their Content-Length before
	// reading) and batches being decompressed or submitted. A batch that does not
	// fit gets 503 overloaded. Default 256 MiB; at least RequestBodyBytesMax and
	// BatchBytesMax, so a full-size batch can always be taken alone.
	BodyBytesInFlightMax int
	// ZstdDecodesMax bounds the zstd decompressions run at once; a batch waits
	// (up to SubmitTimeout) for one to finish, then gets 503 overloaded. Each
	// holds at most BatchBytesMax. Default 4.
	ZstdDecodesMax int
	// ReadTimeout, WriteTimeout and IdleTimeout bound reading a request, writing an
	// answer (each event-stream write too) and an idle keep-alive connection.
	// Defaults 5 s, 5 s, 60 s.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// IdleTimeoutUnderPressure replaces IdleTimeout, and ReadTimeout for a new
	// connection's first byte, while at least half of Concurrency is open.
	// Default 2 s (at most IdleTimeout).
	IdleTimeoutUnderPressure time.Duration
	// SubmitTimeout bounds Backend.Submit (waiting for verification workers).
	// Default 5 s.
	SubmitTimeout time.Duration
	// AdminToken guards /v1/admin/ and /debug/pprof/ (Authorization: Bearer
	// <token>). Empty: every operator request is refused.
	AdminToken string
	// Concurrency bounds the open connections. At the bound a new connection
	// closes the connection that has waited longest for a request, or, when
	// every connection is serving one, is answered 503 overloaded and closed.
	// Default 4096.
	Concurrency int
	// ConnsPerIPMax bounds the open connections from one client address; beyond
	// it a new connection is answered 429 too_many_connections and closed.
	// Default 1024 (at most Concurrency). Behind a proxy that funnels many
	// clients through one address, raise it, up to Concurrency.
	ConnsPerIPMax int
	// SubmitInFlightMax bounds the submissions (/v1/tx and /v1/batch) handled at
	// once; beyond it a submission gets 503 overloaded. Default 64.
	SubmitInFlightMax int
	// EventStreamsMax bounds the open /v1/events streams; beyond it 503
	// overloaded. Default 256.
	EventStreamsMax int
	// EventPingInterval is the keep-alive comment period of /v1/events. Default 5 s.
	EventPingInterval time.Duration
	// ProfileSecondsMax bounds the seconds= of a CPU profile, a trace or a delta
	// profile under /debug/pprof/ (one runs at a time). Default 60.
	ProfileSecondsMax int
	// RetryAfter is what backpressure answers ask a client to wait (Retry-After
	// is in whole seconds, at least 1). Default 1 s.
	RetryAfter time.Duration
	// Logf receives internal errors and recovered panics. Default: discarded.
	Logf func(format string, args ...any) `json:"-"`
	// TLS, when set, makes Serve speak HTTPS only (engine/tlsfiles builds it from
	// the config file's certificate, key and optional client CA). Its handshake
	// runs within ReadTimeout, like reading a request.
	TLS *tls.Config `json:"-"`
}

// Defaults.
const (
	RequestBodyBytesMaxDefault      = 16 << 20
	BatchBytesMaxDefault            = 16 << 20
	BodyBytesInFlightMaxDefault     = 256 << 20
	ZstdDecodesMaxDefault           = 4
	ReadTimeoutDefault              = 5 * time.Second
	WriteTimeoutDefault             = 5 * time.Second
	IdleTimeoutDefault              = 60 * time.Second
	IdleTimeoutUnderPressureDefault = 2 * time.Second
	SubmitTimeoutDefault            = 5 * time.Second
	ConcurrencyDefault              = 4096
	ConnsPerIPMaxDefault            = 1024
	SubmitInFlightMaxDefault        = 64
	EventStreamsMaxDefault          = 256
	EventPingIntervalDefault        = 5 * time.Second
	ProfileSecondsMaxDefault        = 60
	RetryAfterDefault               = time.Second
)

// smallBodyBytesMax bounds the body of every request but a batch. The JSON
// transaction limit (txn.ParseJSON's 8 KiB) fits in it.
const smallBodyBytesMax = 64 << 10

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	defaults.Set(&c.RequestBodyBytesMax, RequestBodyBytesMaxDefault)
	defaults.Set(&c.BatchBytesMax, BatchBytesMaxDefault)
	defaults.Set(&c.BodyBytesInFlightMax, max(BodyBytesInFlightMaxDefault, c.RequestBodyBytesMax, c.BatchBytesMax))
	defaults.Set(&c.ZstdDecodesMax, ZstdDecodesMaxDefault)
	defaults.Set(&c.ReadTimeout, ReadTimeoutDefault)
	defaults.Set(&c.WriteTimeout, WriteTimeoutDefault)
	defaults.Set(&c.IdleTimeout, IdleTimeoutDefault)
	defaults.Set(&c.IdleTimeoutUnderPressure, min(IdleTimeoutUnderPressureDefault, c.IdleTimeout))
	defaults.Set(&c.SubmitTimeout, SubmitTimeoutDefault)
	defaults.Set(&c.Concurrency, ConcurrencyDefault)
	defaults.Set(&c.ConnsPerIPMax, min(ConnsPerIPMaxDefault, c.Concurrency))
	defaults.Set(&c.SubmitInFlightMax, SubmitInFlightMaxDefault)
	defaults.Set(&c.EventStreamsMax, EventStreamsMaxDefault)
	defaults.Set(&c.EventPingInterval, EventPingIntervalDefault)
	defaults.Set(&c.ProfileSecondsMax, ProfileSecondsMaxDefault)
	defaults.Set(&c.RetryAfter, RetryAfterDefault)
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Validate reports the first limit that cannot work, in a plain sentence.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.RequestBodyBytesMax < smallBodyBytesMax:
		return fmt.Errorf("api: RequestBodyBytesMax %d must be at least %d", c.RequestBodyBytesMax, smallBodyBytesMax)
	case c.BatchBytesMax < 1024:
		return fmt.Errorf("api: BatchBytesMax %d must be at least 1024", c.BatchBytesMax)
	case c.BodyBytesInFlightMax < max(c.RequestBodyBytesMax, c.BatchBytesMax):
		return fmt.Errorf("api: BodyBytesInFlightMax %d must be at least RequestBodyBytesMax (%d) and BatchBytesMax (%d), or a full-size batch could never be taken",
			c.BodyBytesInFlightMax, c.RequestBodyBytesMax, c.BatchBytesMax)
	case c.ZstdDecodesMax < 0 || c.ZstdDecodesMax > 1024:
		return fmt.Errorf("api: ZstdDecodesMax %d must be 1 to 1024", c.ZstdDecodesMax)
	case c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 || c.SubmitTimeout < 0 || c.IdleTimeoutUnderPressure < 0:
		return errors.New("api: timeouts must not be negative")
	case c.IdleTimeoutUnderPressure > c.IdleTimeout:
		return fmt.Errorf("api: IdleTimeoutUnderPressure %v must not be longer than IdleTimeout %v", c.IdleTimeoutUnderPressure, c.IdleTimeout)
	case c.Concurrency < 0 || c.SubmitInFlightMax < 0 || c.EventStreamsMax < 0 || c.ConnsPerIPMax < 0:
		return errors.New("api: concurrency limits must not be negative")
	case c.ConnsPerIPMax > c.Concurrency:
		return fmt.Errorf("api: ConnsPerIPMax %d is above Concurrency %d, so it would never apply", c.ConnsPerIPMax, c.Concurrency)
	case c.EventPingInterval < 10*time.Millisecond:
		return fmt.Errorf("api: EventPingInterval %v must be at least 10ms", c.EventPingInterval)
	case c.ProfileSecondsMax < 1 || c.ProfileSecondsMax > 3600:
		return fmt.Errorf("api: ProfileSecondsMax %d must be 1 to 3600", c.ProfileSecondsMax)
	case c.RetryAfter < 0:
		return errors.New("api: RetryAfter must not be negative")
	}
	return nil
}

// Server is the HTTP API of one validator.
type Server struct {
	cfg     Config
	b       Backend
	srv     *fasthttp.Server
	metrics *apiMetrics
	zstd    *zstdDecoder
	conns   *connLimiter
	bodies  *byteBudget // batch bytes held by requests in progress

	// submitSlots and streamSlots are semaphores: a send acquires, a receive
	// releases. INVARIANT: len(ch) is the number of requests holding a slot.
	submitSlots chan struct{}
	streamSlots chan struct{}

	// base is cancelled by Shutdown: submissions waiting on verification and
	// event streams stop.
	base     context.Context
	stop     context.CancelFunc
	stopOnce sync.Once

	// profiling is held by the one CPU profile, trace or delta profile
	// allowed at a time (pprof.go).
	profiling sync.Mutex
}

// New builds a server; it panics on a Config that Validate rejects (validate at
// start-up for a friendly error).
func New(cfg Config, b Backend) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:         cfg,
		b:           b,
		metrics:     newAPIMetrics(),
		submitSlots: make(chan struct{}, cfg.SubmitInFlightMax),
		streamSlots: make(chan struct{}, cfg.EventStreamsMax),
		bodies:      &byteBudget{max: int64(cfg.BodyBytesInFlightMax)},
	}
	s.metrics.bodyBudget(s.bodies)
	s.zstd = newZstdDecoder(cfg.BatchBytesMax, cfg.ZstdDecodesMax, s.metrics)
	s.conns = newConnLimiter(cfg, s.metrics, s.rawErrorAnswer)
	s.metrics.connsGauge(s.conns)
	s.base, s.stop = context.WithCancel(context.Background())
	s.srv = &fasthttp.Server{
		Name:         "settled",
		Handler:      s.handle,
		ErrorHandler: s.handleReadError,
		// Bodies are streamed: the handler runs once the header (and at most the
		// first 8 KiB of the body) is in, and decides from the routed endpoint
		// and the body budget whether to read the rest (body.go). fasthttp's own
		// limit then only bounds that first read.
		StreamRequestBody:  true,
		MaxRequestBodySize: cfg.RequestBodyBytesMax,
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		// The listener (conns.go) admits Concurrency connections, plus those it
		// has told to close and that have not yet: fasthttp's own bound, whose
		// refusal is plain text, stays out of reach.
		Concurrency:                  2 * cfg.Concurrency,
		ConnState:                    s.conns.connState,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		CloseOnShutdown:              true,
		Logger:                       logAdapter(cfg.Logf),
	}
	return s
}

// Serve answers requests on ln until Shutdown (over TLS when Config.TLS is set);
// it returns nil after Shutdown. The connection limits apply under TLS: a
// connection is admitted (per address, in all) before its handshake.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS.Clone())
	}
	return s.srv.Serve(limitedListener{Listener: ln, l: s.conns})
}

// ListenAndServe listens on the TCP address addr and serves.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections, ends event streams and in-flight
// submissions' waits, and waits for open requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(s.stop)
	err := s.srv.ShutdownWithContext(ctx)
	s.zstd.close()
	return err
}

type logAdapter func(format string, args ...any)

func (l logAdapter) Printf(format string, args ...any) { l(format, args...) }
