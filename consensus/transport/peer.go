package transport

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
)

// ioBufferBytes sizes each connection's read and write buffers.
const ioBufferBytes = 64 << 10

// writeBatchFramesMax bounds how many queued frames are written before a flush.
const writeBatchFramesMax = 64

// writeBatchLowBytesMax bounds the low-priority wire bytes written in one batch
// (at least one frame is always taken): a consensus frame queued while a batch is
// written waits behind at most this much gossip in the write buffer.
const writeBatchLowBytesMax = ioBufferBytes

// lane is one bounded send queue of a peer: frames and wire bytes.
type lane struct {
	// q holds encoded wire frames; its capacity is the lane's frame bound.
	q chan []byte
	// queuedBytes is the wire size of the frames in q.
	// INVARIANT: queuedBytes <= bytesMax + one frame per concurrent sender
	// (admit and enqueue are not atomic together).
	queuedBytes atomic.Int64
	bytesMax    int64
	drops       atomic.Uint64 // refused: queue full (frames or bytes) or frame too large
}

func newLane(framesMax, bytesMax int) lane {
	return lane{q: make(chan []byte, framesMax), bytesMax: int64(bytesMax)}
}

// admit applies the cheap refusals before a frame is encoded.
func (l *lane) admit(frameBytes, frameBytesMax int) bool {
	if frameBytes > frameBytesMax || len(l.q) == cap(l.q) ||
		l.queuedBytes.Load()+int64(frameBytes) > l.bytesMax {
		l.drops.Add(1)
		return false
	}
	return true
}

// enqueue queues wire without blocking; false means dropped and counted.
func (l *lane) enqueue(wire []byte) bool {
	l.queuedBytes.Add(int64(len(wire)))
	select {
	case l.q <- wire:
		return true
	default:
		l.queuedBytes.Add(-int64(len(wire)))
		l.drops.Add(1)
		return false
	}
}

// take dequeues one frame without blocking; nil when the lane is empty.
func (l *lane) take() []byte {
	select {
	case wire := <-l.q:
		l.queuedBytes.Add(-int64(len(wire)))
		return wire
	default:
		return nil
	}
}

// peer is the state kept for one remote validator across its connections.
type peer struct {
	index int
	pub   []byte
	addr  string
	// high carries consensus frames (Send, Broadcast); low carries transaction
	// gossip (SendLow, BroadcastLow).
	// INVARIANT: the writer takes a low frame only when high is empty, so a
	// gossip backlog never delays a consensus frame by more than one batch.
	high, low lane
	// incoming hands an authenticated inbound connection to runPeer (accepting
	// side only). Capacity 1: a newer connection replaces a waiting one.
	incoming chan net.Conn

	blocked   atomic.Bool
	connected atomic.Bool

	sentFrames, sentBytes       atomic.Uint64
	lowSentFrames, lowSentBytes atomic.Uint64
	recvFrames, recvBytes       atomic.Uint64
	blockedDrops                atomic.Uint64
	connects                    atomic.Uint64
	protocolErrors              atomic.Uint64
	reverseDials                atomic.Uint64 // connections this side dialled against the index rule
}

func newPeer(pc Peer, cfg *Config) *peer {
	return &peer{
		index:    pc.Index,
		pub:      append([]byte(nil), pc.PublicKey...),
		addr:     pc.Addr,
		high:     newLane(cfg.SendQueueMax, cfg.SendQueueBytesMax),
		low:      newLane(cfg.LowQueueMax, cfg.LowQueueBytesMax),
		incoming: make(chan net.Conn, 1),
	}
}

func (p *peer) lane(low bool) *lane {
	if low {
		return &p.low
	}
	return &p.high
}

// admit applies the cheap refusals before a frame is encoded.
func (p *peer) admit(low bool, frameBytes, frameBytesMax int) bool {
	if p.blocked.Load() {
		p.blockedDrops.Add(1)
		return false
	}
	return p.lane(low).admit(frameBytes, frameBytesMax)
}

// next dequeues the frame to write next without blocking: a consensus frame if
// any is queued, else a gossip frame when lowAllowed. nil when there is none.
func (p *peer) next(lowAllowed bool) (wire []byte, low bool) {
	if wire = p.high.take(); wire != nil {
		return wire, false
	}
	if lowAllowed {
		if wire = p.low.take(); wire != nil {
			return wire, true
		}
	}
	return nil, false
}

func (p *peer) stats() PeerStats {
	c := p.connects.Load()
	return PeerStats{
		Index:          p.index,
		Connected:      p.connected.Load(),
		SentFrames:     p.sentFrames.Load(),
		SentBytes:      p.sentBytes.Load(),
		LowSentFrames:  p.lowSentFrames.Load(),
		LowSentBytes:   p.lowSentBytes.Load(),
		RecvFrames:     p.recvFrames.Load(),
		RecvBytes:      p.recvBytes.Load(),
		Drops:          p.high.drops.Load(),
		LowDrops:       p.low.drops.Load(),
		BlockedDrops:   p.blockedDrops.Load(),
		Connects:       c,
		Reconnects:     max(c, 1) - 1,
		ProtocolErrors: p.protocolErrors.Load(),
		ReverseDials:   p.reverseDials.Load(),
	}
}

// runPeer keeps one connection to p alive until the transport stops. The
// canonical connection is dialled by the lower index; this side dials it when
// p has the higher index, with exponential backoff and jitter. A validator is
// its key and may move: so while no connection is up the other direction
// serves too. The higher index dials a lower one that has not reached it
// within ReverseDialAfter (its address for us may be stale: it moved, or our
// config names its old host), and either side takes a connection the other
// dialled whenever none is up. A canonical connection is never replaced by a
// reverse one (serve), so both sides settle on the same connection.
func (t *Transport) runPeer(p *peer) {
	defer t.wg.Done()
	dialer := p.index > t.cfg.Self
	backoff := t.cfg.DialBackoffMin
	var conn net.Conn
	canonical := false
	for t.ctx.Err() == nil {
		if conn == nil && (dialer || p.addr != "") {
			wait := jitter(backoff)
			if !dialer {
				wait = t.cfg.ReverseDialAfter + jitter(backoff)
			}
			select {
			case conn = <-p.incoming:
				canonical = !dialer
			case <-t.ctx.Done():
				return
			case <-time.After(wait):
				var err error
				if conn, err = t.dial(p); err != nil {
					conn = nil
					backoff = min(2*backoff, t.cfg.DialBackoffMax)
					continue
				}
				backoff, canonical = t.cfg.DialBackoffMin, dialer
				if !dialer {
					p.reverseDials.Add(1)
				}
			}
		}
		if conn == nil {
			select {
			case conn = <-p.incoming:
				canonical = !dialer
			case <-t.ctx.Done():
				return
			}
		}
		conn, canonical = t.serve(p, conn, canonical)
	}
	if conn != nil {
		t.untrack(conn)
	}
}

// jitter returns a duration uniformly drawn from [d/2, d].
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until the transport stops; it reports whether to go on.
func (t *Transport) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

func (t *Transport) dial(p *peer) (net.Conn, error) {
	d := net.Dialer{Timeout: t.cfg.HandshakeTimeout}
	raw, err := d.DialContext(t.ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	conn := t.secure(raw, p.index)
	if !t.track(conn) {
		return nil, ErrClosed
	}
	if _, err := t.handshake(conn, p.index); err != nil {
		t.handshakeFailures.Add(1)
		t.untrack(conn)
		return nil, err
	}
	return conn, nil
}

// acceptLoop authenticates inbound connections and hands each to its peer.
func (t *Transport) acceptLoop(ln net.Listener) {
	defer t.wg.Done()
	for {
		raw, err := ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if !t.sleep(10 * time.Millisecond) {
				return
			}
			continue
		}
		select {
		case t.handshakeSlots <- struct{}{}:
		default:
			raw.Close() // too many handshakes in flight
			continue
		}
		conn := t.secure(raw, -1)
		if !t.track(conn) {
			<-t.handshakeSlots
			return
		}
		t.wg.Add(1)
		go t.acceptOne(conn)
	}
}

func (t *Transport) acceptOne(conn net.Conn) {
	defer t.wg.Done()
	idx, err := t.handshake(conn, -1)
	<-t.handshakeSlots
	if err != nil {
		t.handshakeFailures.Add(1)
		t.untrack(conn)
		return
	}
	p := t.byIdx[idx]
	// The newest connection wins: a restarted peer's old connection may not have
	// failed yet on our side.
	for {
		select {
		case p.incoming <- conn:
			return
		case old := <-p.incoming:
			t.untrack(old)
		case <-t.ctx.Done():
			t.untrack(conn)
			return
		}
	}
}

// serve runs one authenticated connection: a reader goroutine delivers frames to
// Recv, and this goroutine writes p's queue. It returns when the connection fails
// or the transport stops (nil), or when a newer inbound connection from p arrives
// (that connection, to be served next).
func (t *Transport) serve(p *peer, conn net.Conn, canonical bool) (next net.Conn, nextCanonical bool) {
	p.connects.Add(1)
	p.connected.Store(true)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		t.readLoop(p, conn)
	}()
	// What p dials to us is canonical when p has the lower index.
	inboundCanonical := p.index < t.cfg.Self
	bw := bufio.NewWriterSize(conn, ioBufferBytes)
	for {
		// Control first, so that a busy queue cannot keep a dead or replaced
		// connection alive.
		select {
		case <-readerDone:
			return t.endServe(p, conn, readerDone, nil), false
		case next = <-p.incoming:
			if canonical && !inboundCanonical {
				t.untrack(next) // keep the canonical connection: p will settle on it too
				continue
			}
			return t.endServe(p, conn, readerDone, next), inboundCanonical
		case <-t.ctx.Done():
			return t.endServe(p, conn, readerDone, nil), false
		default:
		}
		wire, low := p.next(true) // consensus first
		if wire == nil {
			select {
			case wire = <-p.high.q:
				p.high.queuedBytes.Add(-int64(len(wire)))
			case wire = <-p.low.q:
				// Both lanes were empty: at most this one gossip frame goes
				// ahead of a consensus frame queued at the same moment.
				p.low.queuedBytes.Add(-int64(len(wire)))
				low = true
			case <-readerDone:
				return t.endServe(p, conn, readerDone, nil), false
			case next = <-p.incoming:
				if canonical && !inboundCanonical {
					t.untrack(next)
					continue
				}
				return t.endServe(p, conn, readerDone, next), inboundCanonical
			case <-t.ctx.Done():
				return t.endServe(p, conn, readerDone, nil), false
			}
		}
		if err := t.writeBatch(p, conn, bw, wire, low); err != nil {
			return t.endServe(p, conn, readerDone, nil), false
		}
	}
}

func (t *Transport) endServe(p *peer, conn net.Conn, readerDone <-chan struct{}, next net.Conn) net.Conn {
	p.connected.Store(false)
	t.untrack(conn)
	<-readerDone
	return next
}

// writeBatch writes wire, then more queued frames under one write deadline, and
// flushes. See fillBatch for which frames.
func (t *Transport) writeBatch(p *peer, conn net.Conn, bw *bufio.Writer, wire []byte, low bool) error {
	if err := conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)); err != nil {
		return err
	}
	if err := p.fillBatch(wire, low, func(w []byte) error { _, err := bw.Write(w); return err }); err != nil {
		return err
	}
	return bw.Flush()
}

// fillBatch writes wire (already dequeued; low says from which lane) and then up
// to writeBatchFramesMax-1 more frames, choosing each one afresh: a queued
// consensus frame always comes next; a gossip frame only when the consensus lane
// is empty and fewer than writeBatchLowBytesMax gossip bytes are in this batch.
// Frames to a blocked peer are dropped and counted instead of written.
func (p *peer) fillBatch(wire []byte, low bool, write func([]byte) error) error {
	lowBytes := 0
	for i := 0; ; i++ {
		if low {
			lowBytes += len(wire)
		}
		if p.blocked.Load() {
			p.blockedDrops.Add(1)
		} else {
			if err := write(wire); err != nil {
				return err
			}
			if low {
				p.lowSentFrames.Add(1)
				p.lowSentBytes.Add(uint64(len(wire)))
			} else {
				p.sentFrames.Add(1)
				p.sentBytes.Add(uint64(len(wire)))
			}
		}
		if i+1 == writeBatchFramesMax {
			return nil
		}
		if wire, low = p.next(lowBytes < writeBatchLowBytesMax); wire == nil {
			return nil
		}
	}
}

// readLoop reads frames until the connection fails. It never blocks on the
// consumer: when Recv() is full the frame is dropped and counted.
func (t *Transport) readLoop(p *peer, conn net.Conn) {
	br := bufio.NewReaderSize(conn, ioBufferBytes)
	var hdr [frameHeaderBytes]byte
	for {
		frame, n, err := t.codec.readFrame(br, hdr[:])
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadFrame) {
				p.protocolErrors.Add(1)
				conn.Close()
			}
			return
		}
		p.recvFrames.Add(1)
		p.recvBytes.Add(uint64(n))
		if p.blocked.Load() {
			p.blockedDrops.Add(1)
			continue
		}
		select {
		case t.recv <- Inbound{From: p.index, Frame: frame}:
		default:
			t.recvDrops.Add(1)
		}
	}
}
