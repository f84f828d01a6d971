package api

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"settle/engine/codes"
)

// Request bodies are streamed (fasthttp's StreamRequestBody): a handler runs
// once the header is in, before the body is. That is what lets the limits below
// apply before the memory is spent:
//
//   - serve refuses a Content-Length above the routed endpoint's limit
//     (bodyBytesMax) before reading any of the body; an unknown route reads
//     nothing;
//   - a batch reserves its Content-Length from the server's byteBudget before it
//     allocates a buffer for it, and keeps the reservation until its answer is
//     written: the bytes held by unfinished batches are bounded by
//     Config.BodyBytesInFlightMax, whatever the number of connections;
//   - a body without a Content-Length (chunked) grows its buffer, and its
//     reservation, step by step up to the same limits.
//
// fasthttp drains an unread body of up to 256 KiB after the answer so that the
// connection can be reused, and closes the connection when more is left.

// bodyKind says what a route does with a request body.
type bodyKind uint8

const (
	bodyNone  bodyKind = iota // never read; refused above smallBodyBytesMax
	bodySmall                 // read whole, up to smallBodyBytesMax
	bodyBatch                 // a batch: up to RequestBodyBytesMax, held against the budget
)

// bodyBytesMax is the largest body the route takes.
func (s *Server) bodyBytesMax(r *route) int {
	if r.body == bodyBatch {
		return s.cfg.RequestBodyBytesMax
	}
	return smallBodyBytesMax
}

// byteBudget is a counting semaphore over bytes.
// INVARIANT: 0 <= used <= max; used is the sum of the live leases.
type byteBudget struct {
	max      int64
	used     atomic.Int64
	refusals *metrics.Counter // reservations refused
}

// tryReserve takes n bytes if they fit.
func (b *byteBudget) tryReserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *byteBudget) release(n int64) {
	if b.used.Add(-n) < 0 {
		panic("api: body budget released more than was reserved")
	}
}

// bodyLease is what one request holds of a byteBudget; release returns all of it.
type bodyLease struct {
	b *byteBudget
	n int64
}

// grow reserves n more bytes, or answers 503 overloaded.
func (l *bodyLease) grow(n int) error {
	if l.b.tryReserve(int64(n)) {
		l.n += int64(n)
		return nil
	}
	l.b.refusals.Inc()
	return codes.Errorf(codes.Overloaded, "request bodies in progress hold %d of %d bytes", l.b.used.Load(), l.b.max)
}

func (l *bodyLease) release() {
	l.b.release(l.n)
	l.n = 0
}

// readBody reads the whole request body into dst's capacity (grown as needed)
// and returns it. A body over bodyMax is refused 413, before any of it is read
// when it has a Content-Length. With a lease, the body's bytes are reserved
// before they are read (503 overloaded when the budget is spent). With dst nil
// and a Content-Length the buffer is exactly the body, so it can be kept.
func readBody(ctx *fasthttp.RequestCtx, dst []byte, bodyMax int, lease *bodyLease) ([]byte, error) {
	cl := ctx.Request.Header.ContentLength()
	r := ctx.RequestBodyStream()
	if r == nil || cl == 0 {
		return dst[:0], nil
	}
	if cl > bodyMax {
		return nil, tooLarge(cl, bodyMax)
	}
	if cl > 0 {
		if lease != nil {
			if err := lease.grow(cl); err != nil {
				return nil, err
			}
		}
		if cap(dst) < cl {
			dst = make([]byte, cl)
		}
		dst = dst[:cl]
		if _, err := io.ReadFull(r, dst); err != nil {
			return nil, bodyReadError(err)
		}
		return dst, nil
	}
	return readChunked(r, dst[:0], bodyMax, lease)
}

// chunkedStepBytes is the first buffer of a body without a Content-Length.
const chunkedStepBytes = 64 << 10

// readChunked reads a body of unknown length, doubling the buffer (and the
// reservation) until the body ends or passes bodyMax.
func readChunked(r io.Reader, dst []byte, bodyMax int, lease *bodyLease) ([]byte, error) {
	if lease != nil && cap(dst) > 0 {
		if err := lease.grow(cap(dst)); err != nil {
			return nil, err
		}
	}
	for {
		if len(dst) == cap(dst) {
			// A chunked body reserves the capacity it grows to.
			if len(dst) > bodyMax {
				return nil, codes.Errorf(codes.BodyTooLarge, "request body is over the limit of %d bytes", bodyMax)
			}
			// One byte past the limit tells a body that ends at it from a larger one.
			next := min(max(2*cap(dst), chunkedStepBytes), bodyMax+1)
			if lease != nil {
				if err := lease.grow(next - cap(dst)); err != nil {
					return nil, err
				}
			}
			grown := make([]byte, len(dst), next)
			copy(grown, dst)
			dst = grown
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		switch {
		case errors.Is(err, io.EOF):
			if len(dst) > bodyMax {
				return nil, codes.Errorf(codes.BodyTooLarge, "request body is over the limit of %d bytes", bodyMax)
			}
			return dst, nil
		case err != nil:
			return nil, bodyReadError(err)
		}
	}
}

// What drainRefused reads of a body refused for its size: at most
// drainBytesMax, for at most drainTime, and only while the client keeps
// sending (a pause of drainIdle ends it).
const (
	drainBytesMax = 4 << 20
	drainTime     = 500 * time.Millisecond
	drainIdle     = 50 * time.Millisecond
)

// drainRefused reads and discards what the client is
// still sending of a body refused for its Content-Length, before the 413 is
// written. fasthttp closes a connection whose streamed body was not read;
// closed with the client's bytes still unread, the kernel resets it, and a
// client still writing its body sees "connection reset" instead of the
// answer. It never waits for bytes that do not come (a client that sent only
// the head is answered after drainIdle) and is bounded in bytes and time, so
// a refused body costs the node little whatever its size.
func drainRefused(ctx *fasthttp.RequestCtx) {
	r, c := ctx.RequestBodyStream(), ctx.Conn()
	if r == nil {
		return
	}
	defer c.SetReadDeadline(time.Time{}) // fasthttp sets its own for the next request
	end := time.Now().Add(drainTime)
	buf := make([]byte, 32<<10)
	for n := 0; n < drainBytesMax; {
		deadline := time.Now().Add(drainIdle)
		if deadline.After(end) {
			deadline = end
		}
		if !time.Now().Before(end) || c.SetReadDeadline(deadline) != nil {
			return
		}
		m, err := r.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}

func tooLarge(n, limit int) error {
	return codes.Errorf(codes.BodyTooLarge, "request body is %d bytes, limit %d", n, limit)
}

// bodyReadError maps a failed body read. The connection is closed after the
// answer (fasthttp does not reuse a connection whose body stream failed), so
// the client may not see it.
func bodyReadError(err error) error {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return codes.Errorf(codes.BadRequest, "timed out reading the request body")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return codes.Errorf(codes.BadRequest, "the request body ended before its Content-Length")
	}
	return codes.Errorf(codes.BadRequest, "cannot read the request body: %v", err)
}

// scratchBodies recycles buffers for bodies nothing keeps after the handler:
// JSON transactions, operator requests, compressed batches.
var scratchBodies = sync.Pool{New: func() any { return new([]byte) }}

// scratchBodyBytesMax bounds a recycled buffer, so that one large body does not
// stay pinned in the pool.
const scratchBodyBytesMax = 1 << 20

func getScratchBody() *[]byte { return scratchBodies.Get().(*[]byte) }

func putScratchBody(p *[]byte, b []byte) {
	if cap(b) > scratchBodyBytesMax {
		return
	}
	*p = b[:0]
	scratchBodies.Put(p)
}

// smallBody reads a body that the handler does not keep (it is valid until
// done is called) for routes with bodySmall.
func smallBody(ctx *fasthttp.RequestCtx) (body []byte, done func(), err error) {
	p := getScratchBody()
	b, err := readBody(ctx, (*p)[:0], smallBodyBytesMax, nil)
	if err != nil {
		putScratchBody(p, *p)
		return nil, nil, err
	}
	return b, func() { putScratchBody(p, b) }, nil
}
