package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// Inbound is one frame received from validator From. Frame is owned by the caller.
type Inbound struct {
	From  int
	Frame []byte
}

// Transport connects this validator to every other one. Create it with New, run
// it with Start, stop it with Close. All methods are safe for concurrent use.
type Transport struct {
	cfg   Config
	peers []*peer // every validator but Self, by ascending index
	byIdx map[int]*peer
	byKey map[[32]byte]*peer
	codec *codec
	recv  chan Inbound

	// cert is this validator's self-signed TLS certificate and alpn the chain's
	// replica protocol (tls.go); unset with DisableTLS.
	cert tls.Certificate
	alpn string

	recvDrops         atomic.Uint64
	compressedFrames  atomic.Uint64
	handshakeFailures atomic.Uint64

	// handshakeSlots bounds concurrent inbound handshakes.
	handshakeSlots chan struct{}

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started atomic.Bool
	closed  sync.Once

	mu struct {
		sync.Mutex
		ln    net.Listener
		conns map[net.Conn]struct{} // every open connection, for shutdown
	}
}

// New validates cfg and builds a Transport; nothing is opened until Start.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:   cfg,
		byIdx: map[int]*peer{},
		byKey: map[[32]byte]*peer{},
		recv:  make(chan Inbound, cfg.RecvQueueMax),
	}
	for _, pc := range cfg.Peers {
		if pc.Index == cfg.Self {
			continue
		}
		p := newPeer(pc, &cfg)
		t.peers = append(t.peers, p)
		t.byIdx[p.index] = p
		t.byKey[[32]byte(p.pub)] = p
	}
	slices.SortFunc(t.peers, func(a, b *peer) int { return a.index - b.index })
	if err := t.initTLS(); err != nil {
		return nil, err
	}
	t.handshakeSlots = make(chan struct{}, 2*len(t.peers)+4)
	// One decoder per peer reader may run at once.
	t.codec, err = newCodec(cfg.Compression, cfg.FrameBytesMax, cfg.CompressMinBytes, max(1, len(t.peers)))
	if err != nil {
		return nil, err
	}
	t.mu.conns = map[net.Conn]struct{}{}
	t.mu.ln = cfg.Listener
	return t, nil
}

// Start opens the listener (if any) and begins dialling and accepting. Cancelling
// ctx stops the transport's network activity; Close must still be called.
func (t *Transport) Start(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	t.mu.Lock()
	ln := t.mu.ln
	t.mu.Unlock()
	if ln == nil && t.cfg.ListenAddr != "" {
		var err error
		ln, err = net.Listen("tcp", t.cfg.ListenAddr)
		if err != nil {
			t.cancel()
			return fmt.Errorf("transport: listen on %s: %w", t.cfg.ListenAddr, err)
		}
		t.mu.Lock()
		t.mu.ln = ln
		t.mu.Unlock()
	}
	context.AfterFunc(t.ctx, t.closeIO)
	if ln != nil {
		t.wg.Add(1)
		go t.acceptLoop(ln)
	}
	for _, p := range t.peers {
		t.wg.Add(1)
		go t.runPeer(p)
	}
	return nil
}

// Addr returns the listening address, or nil before Start / without a listener.
func (t *Transport) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.ln == nil {
		return nil
	}
	return t.mu.ln.Addr()
}

// Close stops every goroutine, closes every connection and then the Recv channel.
func (t *Transport) Close() {
	t.closed.Do(func() {
		if t.started.Load() {
			t.cancel()
			t.wg.Wait()
		} else {
			t.started.Store(true) // Start after Close fails
			t.closeIO()
		}
		t.codec.close()
		close(t.recv)
	})
}

// closeIO closes the listener and every connection, unblocking all I/O.
func (t *Transport) closeIO() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.ln != nil {
		t.mu.ln.Close()
	}
	for c := range t.mu.conns {
		c.Close()
	}
}

// track registers conn for shutdown; it returns false (and closes conn) when the
// transport is already stopping.
func (t *Transport) track(conn net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		conn.Close()
		return false
	}
	t.mu.conns[conn] = struct{}{}
	return true
}

func (t *Transport) untrack(conn net.Conn) {
	conn.Close()
	t.mu.Lock()
	delete(t.mu.conns, conn)
	t.mu.Unlock()
}

// Recv returns the bounded channel of received frames. It is closed by Close.
func (t *Transport) Recv() <-chan Inbound { return t.recv }

// Send queues a consensus frame for validator to without blocking. It returns
// false, and counts a drop, when the peer's queue is full, the peer is blocked
// (SetBlocked), unknown or the frame is larger than FrameBytesMax. frame may be
// reused by the caller as soon as Send returns.
func (t *Transport) Send(to int, frame []byte) bool { return t.send(to, frame, false) }

// Broadcast sends a consensus frame to every other validator, compressing it once.
func (t *Transport) Broadcast(frame []byte) { t.broadcast(frame, false) }

// SendLow is Send on the low-priority lane, for transaction gossip: its own
// bounded queue per peer (LowQueueMax frames, LowQueueBytesMax bytes), drops
// counted in PeerStats.LowDrops, and frames written only when no consensus frame
// is waiting for that peer.
func (t *Transport) SendLow(to int, frame []byte) bool { return t.send(to, frame, true) }

// BroadcastLow is Broadcast on the low-priority lane (see SendLow).
func (t *Transport) BroadcastLow(frame []byte) { t.broadcast(frame, true) }

func (t *Transport) send(to int, frame []byte, low bool) bool {
	p := t.byIdx[to]
	if p == nil {
		return false
	}
	if !p.admit(low, len(frame), t.cfg.FrameBytesMax) {
		return false
	}
	return p.lane(low).enqueue(t.encode(frame))
}

func (t *Transport) broadcast(frame []byte, low bool) {
	var wire []byte
	for _, p := range t.peers {
		if !p.admit(low, len(frame), t.cfg.FrameBytesMax) {
			continue
		}
		if wire == nil {
			wire = t.encode(frame)
		}
		// INVARIANT: wire is never modified after encode, so peers share it.
		p.lane(low).enqueue(wire)
	}
}

func (t *Transport) encode(frame []byte) []byte {
	wire, compressed := t.codec.encode(frame)
	if compressed {
		t.compressedFrames.Add(1)
	}
	return wire
}

// SetBlocked drops every frame to and from the listed validators (others are
// unblocked) while keeping the connections up: a fault-injection knob for
// partition tests. SetBlocked(nil) heals.
func (t *Transport) SetBlocked(peers []int) {
	for _, p := range t.peers {
		p.blocked.Store(slices.Contains(peers, p.index))
	}
}

// PeerStats are the counters of one peer.
type PeerStats struct {
	Index          int
	Connected      bool
	SentFrames     uint64
	SentBytes      uint64 // wire bytes, headers included (consensus lane)
	LowSentFrames  uint64 // frames written from the low-priority lane
	LowSentBytes   uint64
	RecvFrames     uint64 // both lanes (the receiver cannot tell them apart)
	RecvBytes      uint64 // wire bytes, headers included
	Drops          uint64 // Send/Broadcast refused: queue full (frames or bytes) or frame too large
	LowDrops       uint64 // SendLow/BroadcastLow refused, for the same reasons
	BlockedDrops   uint64 // frames dropped by SetBlocked, both directions
	Connects       uint64 // authenticated connections established
	Reconnects     uint64 // Connects after the first
	ReverseDials   uint64 // connections this side dialled to a lower index that had not reached it
	ProtocolErrors uint64 // connections closed for an oversized or malformed frame
}

// Stats is a snapshot of the transport's counters.
type Stats struct {
	Peers             []PeerStats // by ascending index
	RecvDrops         uint64      // frames dropped because Recv() was full
	CompressedFrames  uint64      // frames encoded compressed
	HandshakeFailures uint64
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := Stats{
		RecvDrops:         t.recvDrops.Load(),
		CompressedFrames:  t.compressedFrames.Load(),
		HandshakeFailures: t.handshakeFailures.Load(),
	}
	for _, p := range t.peers {
		s.Peers = append(s.Peers, p.stats())
	}
	return s
}

// PeerUp reports whether an authenticated connection to validator i is open,
// and whether one ever was (a peer never reached since start may just be slow
// to start). Cheap: no allocation; the consensus driver asks on every tick.
func (t *Transport) PeerUp(i int) (up, ever bool) {
	for _, p := range t.peers {
		if p.index == i {
			return p.connected.Load(), p.connects.Load() > 0
		}
	}
	return false, false
}
