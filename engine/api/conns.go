package api

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
)

// connLimiter wraps the API's listener and decides, connection by connection,
// who gets served. fasthttp on its own only bounds connections in all
// (Server.Concurrency) and answers the next one with a plain-text 503, so a few
// thousand idle keep-alive connections, one request each, locked every other
// client out until they timed out a minute later. Here:
//
//   - a client address holds at most perIPMax connections; the next one is
//     answered 429 too_many_connections;
//   - while at least half of connsMax are open ("pressure"), a connection that
//     waits for a request (a new one before its first byte, a kept-alive one
//     between requests) waits at most idleShort instead of ReadTimeout or
//     IdleTimeout;
//   - at connsMax, a new connection closes the one that has waited longest for
//     a request and takes its place; only when every connection is busy with a
//     request is it answered 503 overloaded;
//
// and every refusal is the API's JSON error, answered before the close.
//
// A waiting connection is closed by setting its read deadline, never by
// closing it under fasthttp: fasthttp's read then times out and it closes the
// connection itself. The deadline is set under mu and fasthttp marks a
// connection active (connState) before it sets deadlines of its own, so a
// connection whose request just began keeps the deadline fasthttp gives it.
type connLimiter struct {
	connsMax      int
	perIPMax      int
	pressureConns int // open connections from which waits are shortened
	idleShort     time.Duration
	readTimeout   time.Duration
	metrics       *apiMetrics
	answer        func(*codes.Error) []byte // the raw HTTP refusal
	refusing      chan struct{}             // refusals being answered (a semaphore)

	mu struct {
		sync.Mutex
		open     int // connections handed to fasthttp and not closed yet
		evicting int // of open: told to close to make room, not closed yet
		perIP    map[netip.Addr]int
		waiting  connList // connections waiting for a request, longest first
		sweptAt  time.Time
	}
}

// INVARIANT (under mu): open - evicting <= connsMax, and open <= 2 × connsMax,
// which is fasthttp's own Concurrency (so its plain-text refusal never fires).

// refusalsAnsweredMax bounds the refused connections answered at once; beyond
// it a refused connection is closed without an answer.
const refusalsAnsweredMax = 64

func newConnLimiter(cfg Config, m *apiMetrics, answer func(*codes.Error) []byte) *connLimiter {
	l := &connLimiter{
		connsMax:      cfg.Concurrency,
		perIPMax:      cfg.ConnsPerIPMax,
		pressureConns: max(cfg.Concurrency/2, 1),
		idleShort:     cfg.IdleTimeoutUnderPressure,
		readTimeout:   cfg.ReadTimeout,
		metrics:       m,
		answer:        answer,
		refusing:      make(chan struct{}, refusalsAnsweredMax),
	}
	l.mu.perIP = map[netip.Addr]int{}
	return l
}

// limitedListener is the listener fasthttp serves: it hands over only the
// connections the limiter admits.
type limitedListener struct {
	net.Listener
	l *connLimiter
}

func (ll limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := ll.l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// trackedConn is an admitted connection.
type trackedConn struct {
	net.Conn
	l         *connLimiter
	ip        netip.Addr // invalid: not a TCP connection, not counted per address
	closeOnce sync.Once
	readAny   bool // a byte of a request arrived (the serving goroutine's alone)

	// Guarded by l.mu.
	waiting    bool      // in l.mu.waiting
	since      time.Time // when it began waiting
	clamped    bool      // its read deadline was shortened under pressure
	evicted    bool      // told to close to make room (counted in l.mu.evicting)
	prev, next *trackedConn
}

// admit registers c, or refuses it (answering in the background) and returns nil.
func (l *connLimiter) admit(c net.Conn) *trackedConn {
	var ip netip.Addr
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.AddrPort().Addr().Unmap()
	}
	now := time.Now()
	l.mu.Lock()
	if ip.IsValid() && l.mu.perIP[ip] >= l.perIPMax {
		l.mu.Unlock()
		l.refuse(c, limitConnsPerIP, codes.Errorf(codes.TooManyConns,
			"%s already holds %d connections, the most one client address may: reuse them", ip, l.perIPMax))
		return nil
	}
	if l.mu.open-l.mu.evicting >= l.connsMax && !l.evictLocked() {
		l.mu.Unlock()
		l.refuse(c, limitConcurrency, codes.Errorf(codes.Overloaded,
			"all %d connections are serving requests", l.connsMax))
		return nil
	}
	tc := &trackedConn{Conn: c, l: l, ip: ip}
	l.mu.open++
	if ip.IsValid() {
		l.mu.perIP[ip]++
	}
	l.waitLocked(tc, now)
	if l.pressureLocked() {
		l.sweepLocked(now)
	}
	l.mu.Unlock()
	return tc
}

func (l *connLimiter) pressureLocked() bool { return l.mu.open >= l.pressureConns }

func (l *connLimiter) waitLocked(c *trackedConn, now time.Time) {
	c.waiting, c.since, c.clamped = true, now, false
	l.mu.waiting.pushBack(c)
}

// aLongTimeAgo is a read deadline that has passed: the read returns at once.
var aLongTimeAgo = time.Unix(1, 0)

// evictLocked tells the connection that has waited longest for a request to
// close, and reports whether there was one.
func (l *connLimiter) evictLocked() bool {
	c := l.mu.waiting.head
	if c == nil {
		return false
	}
	l.mu.waiting.remove(c)
	c.waiting, c.evicted = false, true
	l.mu.evicting++
	c.Conn.SetReadDeadline(aLongTimeAgo)
	l.metrics.idleClosed(idleClosedEvicted)
	return true
}

// sweepLocked shortens the wait of every waiting connection that still has
// the long one, at most every idleShort/4.
func (l *connLimiter) sweepLocked(now time.Time) {
	if now.Sub(l.mu.sweptAt) < l.idleShort/4 {
		return
	}
	l.mu.sweptAt = now
	for c := l.mu.waiting.head; c != nil; c = c.next {
		if !c.clamped {
			c.clamped = true
			c.Conn.SetReadDeadline(c.since.Add(l.idleShort))
		}
	}
}

// Read is fasthttp's; it notes that the client sent something.
func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.readAny = true
	}
	return n, err
}

// SetReadDeadline is fasthttp's: under pressure, a waiting connection's
// deadline is cut to idleShort after it began waiting.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.waiting && l.pressureLocked() {
		if short := c.since.Add(l.idleShort); t.IsZero() || t.After(short) {
			t, c.clamped = short, true
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// Close is fasthttp's (and Shutdown's); the connection leaves the counts once.
func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}

func (l *connLimiter) forget(c *trackedConn) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.waiting {
		l.mu.waiting.remove(c)
		c.waiting = false
		if c.clamped && !now.Before(c.since.Add(l.idleShort)) {
			l.metrics.idleClosed(idleClosedPressure)
		}
	}
	if c.evicted {
		c.evicted = false
		l.mu.evicting--
	}
	l.mu.open--
	if c.ip.IsValid() {
		if n := l.mu.perIP[c.ip] - 1; n > 0 {
			l.mu.perIP[c.ip] = n
		} else {
			delete(l.mu.perIP, c.ip)
		}
	}
}

// connState is fasthttp's ConnState hook: it follows each connection between
// waiting for a request and serving one.
func (l *connLimiter) connState(nc net.Conn, st fasthttp.ConnState) {
	c, ok := nc.(*trackedConn)
	if !ok {
		return
	}
	switch st {
	case fasthttp.StateActive:
		l.mu.Lock()
		if c.waiting {
			l.mu.waiting.remove(c)
			c.waiting = false
		}
		restore := c.clamped || c.evicted
		if c.evicted {
			c.evicted = false
			l.mu.evicting--
		}
		c.clamped = false
		l.mu.Unlock()
		if restore && l.readTimeout > 0 {
			// The first request on a connection is read under the deadline it
			// waited with (fasthttp sets a new one only on later requests): give
			// it the whole ReadTimeout back.
			c.Conn.SetReadDeadline(time.Now().Add(l.readTimeout))
		}
	case fasthttp.StateIdle:
		l.mu.Lock()
		l.waitLocked(c, time.Now())
		l.mu.Unlock()
	}
}

// closedToMakeRoom reports whether c was told to close while it waited (for
// the answer to a first request that then timed out).
func (c *trackedConn) closedToMakeRoom() bool {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.evicted || c.clamped
}

// refuse answers a refused connection with e and closes it, in the background
// so that the accept loop never waits on a client.
func (l *connLimiter) refuse(c net.Conn, limit string, e *codes.Error) {
	l.metrics.refused(limit)
	select {
	case l.refusing <- struct{}{}:
		go func() {
			defer func() { <-l.refusing }()
			l.answerAndClose(c, e)
		}()
	default:
		c.Close()
	}
}

// Timings of a refusal's answer.
const (
	refusalRequestWait = 200 * time.Millisecond // for the client's request to arrive
	refusalLinger      = time.Second            // for the client to read the answer
	refusalDrainMax    = 64 << 10               // of the client's request read before closing
)

// answerAndClose reads what the client sent first, answers, and closes once
// the client has read the answer: closing with its request unread would reset
// the connection, and a reset can destroy the answer before the client reads it.
func (l *connLimiter) answerAndClose(c net.Conn, e *codes.Error) {
	defer c.Close()
	var buf [4096]byte
	c.SetReadDeadline(time.Now().Add(refusalRequestWait))
	c.Read(buf[:]) // whatever has arrived of the request
	c.SetDeadline(time.Now().Add(refusalLinger))
	if _, err := c.Write(l.answer(e)); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.CopyN(io.Discard, c, refusalDrainMax) // until the client closes, or the deadline
}

// rawErrorAnswer is a whole HTTP answer carrying the JSON error e, for a
// connection fasthttp never sees.
func (s *Server) rawErrorAnswer(e *codes.Error) []byte {
	status := e.Code.HTTPStatus()
	var retrySecs, retryMs int64
	if e.Code.Retryable() {
		retrySecs, retryMs = s.retryAfter()
	}
	body := appendErrorBody(nil, e.Code, e.Msg, e.Code.Retryable(), retryMs)
	b := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n",
		status, http.StatusText(status), contentJSON, len(body))
	if retrySecs > 0 {
		b = fmt.Appendf(b, "Retry-After: %d\r\n", retrySecs)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// connList is an intrusive list of connections, oldest first.
type connList struct{ head, tail *trackedConn }

func (q *connList) pushBack(c *trackedConn) {
	c.prev, c.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = c
	} else {
		q.head = c
	}
	q.tail = c
}

func (q *connList) remove(c *trackedConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		q.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next = nil, nil
}
