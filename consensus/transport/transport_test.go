package transport

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
)

func TestMeshExchangesFrames(t *testing.T) {
	const n, perPeer = 4, 20
	c := newCluster(t, n, nil)
	c.waitConnected()
	for from, tr := range c.nodes {
		for to := range n {
			if to == from {
				continue
			}
			for seq := range perPeer {
				if !tr.Send(to, fmt.Appendf(nil, "%d>%d#%d", from, to, seq)) {
					t.Fatalf("Send %d>%d refused", from, to)
				}
			}
		}
		tr.Broadcast(fmt.Appendf(nil, "%d>all", from))
	}
	for to, tr := range c.nodes {
		next := make([]int, n) // per sender: next expected seq (order is kept per connection)
		got := 0
		for got < (n-1)*(perPeer+1) {
			in := recvOne(t, tr)
			got++
			if string(in.Frame) == fmt.Sprintf("%d>all", in.From) {
				continue
			}
			want := fmt.Sprintf("%d>%d#%d", in.From, to, next[in.From])
			if string(in.Frame) != want {
				t.Fatalf("node %d got %q, want %q", to, in.Frame, want)
			}
			next[in.From]++
		}
		for _, ps := range tr.Stats().Peers {
			if ps.Drops != 0 || ps.ProtocolErrors != 0 || ps.RecvFrames != perPeer+1 {
				t.Fatalf("node %d peer stats %+v", to, ps)
			}
		}
	}
}

func TestSendRejectsSelfAndUnknown(t *testing.T) {
	c := newCluster(t, 2, nil)
	for _, to := range []int{0, 7, -1} {
		if c.nodes[0].Send(to, []byte("x")) {
			t.Fatalf("Send(%d) accepted", to)
		}
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.waitConnected()
	c.nodes[1].Close()
	waitFor(t, "node 0 sees the disconnect", func() bool { return !peerStats(c.nodes[0], 1).Connected })
	c.start(1, listen(t, c.addrs[1]))
	c.waitConnected()
	for !c.nodes[0].Send(1, []byte("after restart")) {
	}
	if in := recvOne(t, c.nodes[1]); string(in.Frame) != "after restart" || in.From != 0 {
		t.Fatalf("got %+v", in)
	}
	if c.nodes[1].Send(0, []byte("back")); string(recvOne(t, c.nodes[0]).Frame) != "back" {
		t.Fatal("reverse direction broken")
	}
	if ps := peerStats(c.nodes[0], 1); ps.Reconnects < 1 {
		t.Fatalf("Reconnects = %d, want >= 1", ps.Reconnects)
	}
}

func TestAcceptorReplacesStaleConnection(t *testing.T) {
	// Node 0 restarts while node 1 keeps its old connection: node 1 must switch
	// to the newer one.
	c := newCluster(t, 2, nil)
	c.waitConnected()
	c.nodes[0].Close()
	c.start(0, nil)
	c.waitConnected()
	c.nodes[0].Send(1, []byte("hello"))
	if in := recvOne(t, c.nodes[1]); string(in.Frame) != "hello" {
		t.Fatalf("got %q", in.Frame)
	}
}

func TestFullQueuesDropRatherThanBlock(t *testing.T) {
	const queueMax = 8
	c := newCluster(t, 2, func(i int, cfg *Config) {
		cfg.SendQueueMax = queueMax
		cfg.RecvQueueMax = 4
	})
	// Node 0 is never connected to an absent peer 2: its queue fills and stays full.
	c.nodes[0].Close()
	c.peers = append(c.peers, Peer{Index: 2, PublicKey: pub(testKey(2)), Addr: "127.0.0.1:1"})
	c.start(0, nil)
	accepted := 0
	for range 100 {
		if c.nodes[0].Send(2, []byte("x")) {
			accepted++
		}
	}
	if ps := peerStats(c.nodes[0], 2); accepted != queueMax || ps.Drops != 100-queueMax {
		t.Fatalf("accepted %d, drops %d; want %d and %d", accepted, ps.Drops, queueMax, 100-queueMax)
	}
	// Node 1 never reads Recv(): its reader drops instead of blocking.
	c.waitConnectedPair(0, 1)
	sent := 0
	for sent < 50 {
		if c.nodes[0].Send(1, []byte("y")) {
			sent++
		}
	}
	waitFor(t, "node 1 reads all frames", func() bool { return peerStats(c.nodes[1], 0).RecvFrames == 50 })
	if d := c.nodes[1].Stats().RecvDrops; d != 50-4 {
		t.Fatalf("RecvDrops = %d, want %d", d, 50-4)
	}
}

func (c *cluster) waitConnectedPair(a, b int) {
	c.t.Helper()
	waitFor(c.t, "pair connected", func() bool {
		return peerStats(c.nodes[a], b).Connected && peerStats(c.nodes[b], a).Connected
	})
}

func TestCompressionRoundTrip(t *testing.T) {
	for name, comp := range map[string]Compression{"s2": CompressionS2, "zstd": CompressionZstd} {
		t.Run(name, func(t *testing.T) { testCompressionRoundTrip(t, comp) })
	}
}

func testCompressionRoundTrip(t *testing.T, comp Compression) {
	c := newCluster(t, 2, func(i int, cfg *Config) {
		cfg.CompressMinBytes = 1024
		cfg.Compression = comp
	})
	c.waitConnected()
	random := make([]byte, 100_000)
	rand.Read(random)
	frames := [][]byte{
		bytes.Repeat([]byte("settle payment "), 10_000), // compressible
		random,         // incompressible: sent raw
		[]byte("vote"), // below the threshold
		proposalPayload(2000),
	}
	for _, f := range frames {
		for !c.nodes[0].Send(1, f) {
		}
	}
	for i, f := range frames {
		if in := recvOne(t, c.nodes[1]); !bytes.Equal(in.Frame, f) {
			t.Fatalf("frame %d differs after the round trip (%d vs %d bytes)", i, len(in.Frame), len(f))
		}
	}
	if got := c.nodes[0].Stats().CompressedFrames; got != 2 {
		t.Fatalf("CompressedFrames = %d, want 2", got)
	}
	ps := peerStats(c.nodes[0], 1)
	raw := 0
	for _, f := range frames {
		raw += len(f) + frameHeaderBytes
	}
	if ps.SentBytes >= uint64(raw) {
		t.Fatalf("sent %d wire bytes for %d raw", ps.SentBytes, raw)
	}
}

func TestPartitionDropsAndHeals(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitConnected()
	c.nodes[2].SetBlocked([]int{0, 1}) // cut validator 2 off, both directions
	if c.nodes[2].Send(0, []byte("from 2")) {
		t.Fatal("blocked Send accepted")
	}
	c.nodes[0].Broadcast([]byte("cut"))
	if in := recvOne(t, c.nodes[1]); string(in.Frame) != "cut" {
		t.Fatalf("node 1 got %q", in.Frame)
	}
	waitFor(t, "node 2 reads and drops the frame", func() bool {
		ps := peerStats(c.nodes[2], 0)
		return ps.RecvFrames == 1 && ps.BlockedDrops == 2 // one sent, one received
	})
	select {
	case in := <-c.nodes[2].Recv():
		t.Fatalf("partitioned node received %q", in.Frame)
	default:
	}
	c.nodes[2].SetBlocked(nil)
	c.nodes[0].Send(2, []byte("healed"))
	if in := recvOne(t, c.nodes[2]); string(in.Frame) != "healed" {
		t.Fatalf("node 2 got %q after healing", in.Frame)
	}
	if !c.nodes[2].Send(1, []byte("back")) || string(recvOne(t, c.nodes[1]).Frame) != "back" {
		t.Fatal("node 2 cannot send after healing")
	}
}

func TestCloseIsIdempotentAndClosesRecv(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.nodes[0].Close()
	c.nodes[0].Close()
	if _, ok := <-c.nodes[0].Recv(); ok {
		t.Fatal("Recv still open after Close")
	}
	if err := c.nodes[0].Start(t.Context()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestSendQueueByteBound(t *testing.T) {
	c := newClusterOnly(t, 2, func(i int, cfg *Config) {
		cfg.SendQueueBytesMax = 1000
		cfg.Compression = CompressionNone
	}, map[int]bool{1: true})
	if !c.nodes[0].Send(1, make([]byte, 600)) {
		t.Fatal("first frame refused")
	}
	if c.nodes[0].Send(1, make([]byte, 600)) {
		t.Fatal("frame beyond the byte bound accepted")
	}
	if !c.nodes[0].Send(1, make([]byte, 300)) {
		t.Fatal("frame within the byte bound refused")
	}
	if ps := peerStats(c.nodes[0], 1); ps.Drops != 1 {
		t.Fatalf("Drops = %d, want 1", ps.Drops)
	}
}
