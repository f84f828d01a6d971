package transport

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"settle/internal/testkit"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

const testChainID = "settle-test"

// testKey returns a deterministic validator key.
func testKey(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

func pub(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

// cluster is n transports on 127.0.0.1 forming a mesh.
type cluster struct {
	t     *testing.T
	keys  []ed25519.PrivateKey
	addrs []string
	peers []Peer
	nodes []*Transport
	tweak func(i int, c *Config)
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return ln
}

func newCluster(t *testing.T, n int, tweak func(i int, c *Config)) *cluster {
	t.Helper()
	return newClusterOnly(t, n, tweak, nil)
}

// newClusterOnly is newCluster, but starts only the nodes for which skip is false
// (the others' listeners stay bound, so tests can impersonate them).
func newClusterOnly(t *testing.T, n int, tweak func(i int, c *Config), skip map[int]bool) *cluster {
	t.Helper()
	c := &cluster{t: t, tweak: tweak, nodes: make([]*Transport, n)}
	lns := make([]net.Listener, n)
	for i := range n {
		c.keys = append(c.keys, testKey(i))
		lns[i] = listen(t, "127.0.0.1:0")
		c.addrs = append(c.addrs, lns[i].Addr().String())
		c.peers = append(c.peers, Peer{Index: i, PublicKey: pub(c.keys[i]), Addr: c.addrs[i]})
	}
	for i := range n {
		if skip[i] {
			// Nobody dials the real port of a skipped node: a dial to a closed
			// loopback port can self-connect and count a handshake failure.
			lns[i].Close()
			c.peers[i].Addr = "127.0.0.1:1"
		}
	}
	for i := range n {
		if !skip[i] {
			c.start(i, lns[i])
		}
	}
	t.Cleanup(func() {
		for _, tr := range c.nodes {
			if tr != nil {
				tr.Close()
			}
		}
	})
	return c
}

func (c *cluster) config(i int, ln net.Listener) Config {
	cfg := Config{
		ChainID:        testChainID,
		Self:           i,
		Key:            c.keys[i],
		Peers:          c.peers,
		Listener:       ln,
		DialBackoffMin: 5 * time.Millisecond,
		DialBackoffMax: 100 * time.Millisecond,
	}
	if c.tweak != nil {
		c.tweak(i, &cfg)
	}
	return cfg
}

// start (re)starts node i on ln.
func (c *cluster) start(i int, ln net.Listener) {
	c.t.Helper()
	tr, err := New(c.config(i, ln))
	if err != nil {
		c.t.Fatalf("New(%d): %v", i, err)
	}
	if err := tr.Start(context.Background()); err != nil {
		c.t.Fatalf("Start(%d): %v", i, err)
	}
	c.nodes[i] = tr
}

// waitFor polls cond until it holds (the bound only catches hangs).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, cond)
}

func (c *cluster) waitConnected() {
	c.t.Helper()
	for i, tr := range c.nodes {
		waitFor(c.t, fmt.Sprintf("node %d fully connected", i), func() bool {
			for _, ps := range tr.Stats().Peers {
				if !ps.Connected {
					return false
				}
			}
			return true
		})
	}
}

func peerStats(tr *Transport, idx int) PeerStats {
	for _, ps := range tr.Stats().Peers {
		if ps.Index == idx {
			return ps
		}
	}
	panic(fmt.Sprintf("no peer %d", idx))
}

// recvOne waits for one frame on tr.
func recvOne(t *testing.T, tr *Transport) Inbound {
	t.Helper()
	select {
	case in := <-tr.Recv():
		return in
	case <-time.After(10 * time.Second):
		t.Fatalf("no frame received")
		return Inbound{}
	}
}
