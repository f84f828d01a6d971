package transport

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"testing"
)

// Test frames of the priority tests: kind byte ('C' consensus, 'L' gossip), u32
// enqueue sequence number, padding.
func seqFrame(kind byte, seq uint32, padBytes int) []byte {
	f := make([]byte, 5+padBytes)
	f[0] = kind
	binary.BigEndian.PutUint32(f[1:], seq)
	return f
}

func frameLabel(f []byte) string {
	return fmt.Sprintf("%c%d", f[0], binary.BigEndian.Uint32(f[1:]))
}

// TestFillBatchPrefersConsensus drives the writer's batch selection directly:
// consensus frames go first, one queued mid-batch is written next, and a batch
// holds a bounded amount of gossip.
func TestFillBatchPrefersConsensus(t *testing.T) {
	lowPad := writeBatchLowBytesMax / 4
	p := newPeer(Peer{Index: 1}, &Config{SendQueueMax: 128, SendQueueBytesMax: 1 << 30, LowQueueMax: 64, LowQueueBytesMax: 1 << 30})
	for i := range 10 {
		p.low.enqueue(seqFrame('L', uint32(i), lowPad))
	}
	for i := range 3 {
		p.high.enqueue(seqFrame('C', uint32(i), 0))
	}
	var got []string
	lowWritten := 0
	write := func(w []byte) error {
		got = append(got, frameLabel(w))
		if w[0] == 'L' {
			if lowWritten++; lowWritten == 2 {
				p.high.enqueue(seqFrame('C', 3, 0)) // arrives mid-batch
			}
		}
		return nil
	}
	batch := func() {
		got = got[:0]
		wire, low := p.next(true)
		if err := p.fillBatch(wire, low, write); err != nil {
			t.Fatal(err)
		}
	}
	batch()
	// Four gossip frames reach writeBatchLowBytesMax: the batch ends there.
	if want := []string{"C0", "C1", "C2", "L0", "L1", "C3", "L2", "L3"}; !slices.Equal(got, want) {
		t.Fatalf("first batch %v, want %v", got, want)
	}
	batch()
	if want := []string{"L4", "L5", "L6", "L7"}; !slices.Equal(got, want) {
		t.Fatalf("second batch %v, want %v", got, want)
	}
	// A full consensus backlog is cut at writeBatchFramesMax frames per batch.
	for i := range writeBatchFramesMax + 5 {
		p.high.enqueue(seqFrame('C', uint32(100+i), 0))
	}
	batch()
	if len(got) != writeBatchFramesMax || got[0] != "C100" || got[len(got)-1] != fmt.Sprintf("C%d", 100+writeBatchFramesMax-1) {
		t.Fatalf("consensus batch of %d frames: %v ... %v", len(got), got[0], got[len(got)-1])
	}
	batch()
	if want := []string{"C164", "C165", "C166", "C167", "C168", "L8", "L9"}; !slices.Equal(got, want) {
		t.Fatalf("last batch %v, want %v", got, want)
	}
	if p.high.queuedBytes.Load() != 0 || p.low.queuedBytes.Load() != 0 {
		t.Fatalf("queued bytes left: %d consensus, %d gossip", p.high.queuedBytes.Load(), p.low.queuedBytes.Load())
	}
	if ps := p.stats(); ps.SentFrames != 3+1+writeBatchFramesMax+5 || ps.LowSentFrames != 10 {
		t.Fatalf("sent %d consensus and %d gossip frames", ps.SentFrames, ps.LowSentFrames)
	}
}

// TestGossipFloodKeepsConsensusFirst queues a gossip flood and then consensus
// frames while the peer is not yet up: the low lane drops the excess instead of
// blocking, and once connected every consensus frame arrives, in order, before any
// gossip. Then, connected, consensus frames interleaved with a gossip flood still
// arrive in order, and no gossip frame queued after a consensus frame overtakes
// it by more than the one a writer wake-up may pick.
func TestGossipFloodKeepsConsensusFirst(t *testing.T) {
	const (
		lowQueueMax = 256
		floodFrames = 2000
		consFrames  = 100
	)
	c := &cluster{t: t, nodes: make([]*Transport, 2), tweak: func(i int, cfg *Config) {
		cfg.LowQueueMax = lowQueueMax
		cfg.RecvQueueMax = 16384
		cfg.Compression = CompressionNone
	}}
	lns := make([]net.Listener, 2)
	for i := range 2 {
		c.keys = append(c.keys, testKey(i))
		lns[i] = listen(t, "127.0.0.1:0")
		c.addrs = append(c.addrs, lns[i].Addr().String())
		c.peers = append(c.peers, Peer{Index: i, PublicKey: pub(c.keys[i]), Addr: c.addrs[i]})
	}
	t.Cleanup(func() {
		for i, tr := range c.nodes {
			if tr != nil {
				tr.Close()
			} else {
				lns[i].Close()
			}
		}
	})
	// Node 1 accepts but is not started: node 0's handshake waits, frames queue.
	c.start(0, lns[0])
	seq := uint32(0)
	accepted := 0
	for range floodFrames {
		if c.nodes[0].SendLow(1, seqFrame('L', seq, 200)) {
			accepted++
		}
		seq++
	}
	if ps := peerStats(c.nodes[0], 1); accepted != lowQueueMax || ps.LowDrops != floodFrames-lowQueueMax || ps.Drops != 0 {
		t.Fatalf("gossip accepted %d, LowDrops %d, Drops %d; want %d, %d, 0", accepted, ps.LowDrops, ps.Drops, lowQueueMax, floodFrames-lowQueueMax)
	}
	for range consFrames {
		if !c.nodes[0].Send(1, seqFrame('C', seq, 0)) {
			t.Fatal("consensus frame refused behind a full gossip lane")
		}
		seq++
	}
	c.start(1, lns[1])
	var got []string
	for range consFrames + lowQueueMax {
		got = append(got, frameLabel(recvOne(t, c.nodes[1]).Frame))
	}
	for i, l := range got {
		want := fmt.Sprintf("C%d", floodFrames+i)
		if i >= consFrames {
			want = fmt.Sprintf("L%d", i-consFrames)
		}
		if l != want {
			t.Fatalf("frame %d is %s, want %s (first frames: %v)", i, l, want, got[:min(len(got), 8)])
		}
	}

	// Connected: interleave. Gossip may drop (queue full); consensus may not.
	sent := map[byte]int{}
	for round := range 200 {
		for range 8 {
			c.nodes[0].BroadcastLow(seqFrame('L', seq, 8<<10))
			seq++
		}
		if !c.nodes[0].Send(1, seqFrame('C', seq, 0)) {
			t.Fatalf("round %d: consensus frame refused", round)
		}
		seq++
		sent['C']++
	}
	lowSent := func() uint64 { return peerStats(c.nodes[0], 1).LowSentFrames + peerStats(c.nodes[0], 1).LowDrops }
	waitFor(t, "gossip lane drained", func() bool { return lowSent() == floodFrames+200*8 })
	waitFor(t, "all frames received", func() bool {
		return peerStats(c.nodes[1], 0).RecvFrames == peerStats(c.nodes[0], 1).SentFrames+peerStats(c.nodes[0], 1).LowSentFrames
	})
	var lowAfter []uint32 // gossip received so far, by sequence
	lastC := uint32(0)
	for len(c.nodes[1].Recv()) > 0 {
		f := (<-c.nodes[1].Recv()).Frame
		s := binary.BigEndian.Uint32(f[1:])
		if f[0] == 'L' {
			lowAfter = append(lowAfter, s)
			continue
		}
		sent['C']--
		if s <= lastC {
			t.Fatalf("consensus frame %d after %d", s, lastC)
		}
		lastC = s
		overtook := 0
		for _, ls := range lowAfter {
			if ls > s {
				overtook++
			}
		}
		if overtook > 1 {
			t.Fatalf("%d gossip frames queued after consensus frame %d arrived before it", overtook, s)
		}
		lowAfter = lowAfter[:0]
	}
	if sent['C'] != 0 {
		t.Fatalf("%d consensus frames missing", sent['C'])
	}
}
