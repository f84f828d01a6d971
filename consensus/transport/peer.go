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

// peer is the state kept for one remote validator across its connections.
type peer struct {
	index int
	pub   []byte
	addr  string
	// sendQ holds encoded wire frames; its capacity is Config.SendQueueMax.
	sendQ chan []byte
	// queuedBytes is the wire size of the frames in sendQ.
	// INVARIANT: queuedBytes <= sendQueueBytesMax + one frame (admit and
	// enqueue are not atomic together; concurrent senders may overshoot by one
	// frame each).
	queuedBytes       atomic.Int64
	sendQueueBytesMax int64
	// incoming hands an authenticated inbound connection to runPeer (accepting
	// side only). Capacity 1: a newer connection replaces a waiting one.
	incoming chan net.Conn

	blocked   atomic.Bool
	connected atomic.Bool

	sentFrames, sentBytes atomic.Uint64
	recvFrames, recvBytes atomic.Uint64
	drops, blockedDrops   atomic.Uint64
	connects              atomic.Uint64
	protocolErrors        atomic.Uint64
}

func newPeer(pc Peer, queueMax, queueBytesMax int) *peer {
	return &peer{
		sendQueueBytesMax: int64(queueBytesMax),
		index:             pc.Index,
		pub:               append([]byte(nil), pc.PublicKey...),
		addr:              pc.Addr,
		sendQ:             make(chan []byte, queueMax),
		incoming:          make(chan net.Conn, 1),
	}
}

// admit applies the cheap refusals before a frame is encoded.
func (p *peer) admit(frameBytes, frameBytesMax int) bool {
	switch {
	case p.blocked.Load():
		p.blockedDrops.Add(1)
		return false
	case frameBytes > frameBytesMax || len(p.sendQ) == cap(p.sendQ) ||
		p.queuedBytes.Load()+int64(frameBytes) > p.sendQueueBytesMax:
		p.drops.Add(1)
		return false
	}
	return true
}

func (p *peer) enqueue(wire []byte) bool {
	p.queuedBytes.Add(int64(len(wire)))
	select {
	case p.sendQ <- wire:
		return true
	default:
		p.queuedBytes.Add(-int64(len(wire)))
		p.drops.Add(1)
		return false
	}
}

func (p *peer) stats() PeerStats {
	c := p.connects.Load()
	return PeerStats{
		Index:          p.index,
		Connected:      p.connected.Load(),
		SentFrames:     p.sentFrames.Load(),
		SentBytes:      p.sentBytes.Load(),
		RecvFrames:     p.recvFrames.Load(),
		RecvBytes:      p.recvBytes.Load(),
		Drops:          p.drops.Load(),
		BlockedDrops:   p.blockedDrops.Load(),
		Connects:       c,
		Reconnects:     max(c, 1) - 1,
		ProtocolErrors: p.protocolErrors.Load(),
	}
}

// runPeer keeps one connection to p alive until the transport stops: it dials
// (when p has the higher index) with exponential backoff and jitter, or waits for
// p to dial us, then serves the connection until it fails.
func (t *Transport) runPeer(p *peer) {
	defer t.wg.Done()
	dialer := p.index > t.cfg.Self
	backoff := t.cfg.DialBackoffMin
	var conn net.Conn
	for t.ctx.Err() == nil {
		if conn == nil && dialer {
			var err error
			if conn, err = t.dial(p); err != nil {
				if !t.sleep(jitter(backoff)) {
					return
				}
				backoff = min(2*backoff, t.cfg.DialBackoffMax)
				continue
			}
			backoff = t.cfg.DialBackoffMin
		}
		if conn == nil {
			select {
			case conn = <-p.incoming:
			case <-t.ctx.Done():
				return
			}
		}
		conn = t.serve(p, conn)
		if conn == nil && dialer && !t.sleep(jitter(backoff)) {
			return // pause before redialling, so a flapping peer costs little
		}
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
	conn, err := d.DialContext(t.ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
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
		conn, err := ln.Accept()
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
			conn.Close() // too many handshakes in flight
			continue
		}
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
func (t *Transport) serve(p *peer, conn net.Conn) (next net.Conn) {
	p.connects.Add(1)
	p.connected.Store(true)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		t.readLoop(p, conn)
	}()
	incoming := p.incoming
	if p.index > t.cfg.Self {
		incoming = nil // we dial p; p never dials us
	}
	bw := bufio.NewWriterSize(conn, ioBufferBytes)
loop:
	for {
		select {
		case wire := <-p.sendQ:
			if err := t.writeBatch(p, conn, bw, wire); err != nil {
				break loop
			}
		case <-readerDone:
			break loop
		case next = <-incoming:
			break loop
		case <-t.ctx.Done():
			break loop
		}
	}
	p.connected.Store(false)
	t.untrack(conn)
	<-readerDone
	return next
}

// writeBatch writes wire and whatever else is queued (up to writeBatchFramesMax
// frames) under one write deadline, then flushes.
func (t *Transport) writeBatch(p *peer, conn net.Conn, bw *bufio.Writer, wire []byte) error {
	if err := conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)); err != nil {
		return err
	}
	for i := 0; ; i++ {
		p.queuedBytes.Add(-int64(len(wire)))
		if p.blocked.Load() {
			p.blockedDrops.Add(1)
		} else {
			if _, err := bw.Write(wire); err != nil {
				return err
			}
			p.sentFrames.Add(1)
			p.sentBytes.Add(uint64(len(wire)))
		}
		if i+1 == writeBatchFramesMax {
			break
		}
		select {
		case wire = <-p.sendQ:
			continue
		default:
		}
		break
	}
	return bw.Flush()
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
