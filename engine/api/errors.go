package api

import (
	"errors"
	"net"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/store"
)

// writeError writes err as the JSON error answer with its code's status and
// returns the code. Backpressure codes carry Retry-After and retry_after_ms.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) codes.Code {
	c := codes.Of(err)
	return s.writeErrorStatus(ctx, err, c.HTTPStatus())
}

// writeErrorStatus is writeError with an explicit status (405 has no code of its own).
func (s *Server) writeErrorStatus(ctx *fasthttp.RequestCtx, err error, status int) codes.Code {
	c := codes.Of(err)
	msg := "internal error"
	var ce *codes.Error
	if errors.As(err, &ce) {
		msg = ce.Msg
	} else {
		s.cfg.Logf("api: %s %s: %v", ctx.Method(), ctx.Path(), err)
	}
	var retryMs int64
	if c.Retryable() {
		retryMs = s.setRetryAfter(ctx)
	}
	ctx.Response.Header.SetContentType(contentJSON)
	ctx.Response.SetStatusCode(status)
	ctx.Response.SetBodyRaw(appendErrorBody(make([]byte, 0, 64+len(msg)), c, msg, c.Retryable(), retryMs))
	return c
}

// appendErrorBody appends the JSON error answer
// {"code":..,"message":..[,"retry_after_ms":..]}.
func appendErrorBody(dst []byte, c codes.Code, msg string, retry bool, retryMs int64) []byte {
	dst = append(dst, `{"code":`...)
	dst = appendJSONString(dst, string(c))
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, msg)
	if retry {
		dst = append(dst, `,"retry_after_ms":`...)
		dst = strconv.AppendInt(dst, retryMs, 10)
	}
	return append(dst, "}\n"...)
}

// setRetryAfter sets the Retry-After header and returns the wait in
// milliseconds for the body.
func (s *Server) setRetryAfter(ctx *fasthttp.RequestCtx) int64 {
	secs, ms := s.retryAfter()
	ctx.Response.Header.Set("Retry-After", strconv.FormatInt(secs, 10))
	return ms
}

// retryAfter is what backpressure answers ask a client to wait: whole seconds
// (at least 1) for Retry-After, milliseconds for the body.
func (s *Server) retryAfter() (secs, ms int64) {
	ms = max(s.cfg.RetryAfter.Milliseconds(), 1)
	return max((ms+999)/1000, 1), ms
}

// backendError maps a Backend error: coded errors keep their code, a missing
// record is not_found, anything else is internal.
func backendError(err error, what string) error {
	var ce *codes.Error
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, store.ErrNotFound):
		return codes.Errorf(codes.NotFound, "%s not found", what)
	}
	return err // answered 500 internal, logged
}

// handleReadError answers requests fasthttp could not read (oversized body, bad
// header, timeout) with the JSON error form.
func (s *Server) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	var ce *codes.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ce = codes.Errorf(codes.BodyTooLarge, "request body over the limit")
	case errors.As(err, &small):
		ce = codes.Errorf(codes.BadRequest, "request header too large")
	case errors.As(err, &netErr) && netErr.Timeout() && closedToMakeRoom(ctx.Conn()):
		ce = codes.Errorf(codes.Overloaded, "the node is short of connections and this one sent no request in time")
	case errors.As(err, &netErr) && netErr.Timeout() && sentNothing(ctx.Conn()):
		// A client's spare pooled connection that never carried a request:
		// close it as an idle keep-alive one is closed, without an answer
		// nobody asked for (HTTP clients log those as unsolicited).
		s.metrics.idleClosed(idleClosedTimeout)
		ctx.Conn().Close()
		return
	case errors.As(err, &netErr) && netErr.Timeout():
		ce = codes.Errorf(codes.BadRequest, "timed out reading the request")
	default:
		ce = codes.Errorf(codes.BadRequest, "cannot parse the request: %v", err)
	}
	code := s.writeError(ctx, ce)
	s.metrics.readErrors(code)
}

// closedToMakeRoom reports whether c waited under the shortened deadline of
// connection pressure, or was told to close to make room.
func closedToMakeRoom(c net.Conn) bool {
	tc, ok := c.(*trackedConn)
	return ok && tc.closedToMakeRoom()
}

// sentNothing reports whether not one byte arrived on c.
func sentNothing(c net.Conn) bool {
	tc, ok := c.(*trackedConn)
	return ok && !tc.readAny
}

const contentJSON = "application/json"

// unsafeString views b as a string without copying.
// INVARIANT: the string is used only while b is unchanged, i.e. inside the
// handler for fasthttp's request buffers; anything kept is copied first.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
