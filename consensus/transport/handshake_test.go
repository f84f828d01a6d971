package transport

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// modes are the two handshakes: TLS 1.3 (the default) and plaintext.
var modes = []struct {
	name       string
	disableTLS bool
}{{"tls", false}, {"plain", true}}

// rawNode is a hand-built Transport that is never started, so tests can give it
// any key, chain id or signer. claimedKey is the key it presents; sign makes its
// handshake signatures; certSign (nil: sign) signs its TLS certificate, so a
// test can present validator 0's genuine certificate without holding its key
// for the handshake.
func rawNode(t *testing.T, disableTLS bool, chainID string, self int, claimedKey []byte, sign, certSign SignFunc, peers []Peer) *Transport {
	t.Helper()
	tr := &Transport{
		cfg: Config{
			ChainID:          chainID,
			Self:             self,
			PublicKey:        claimedKey,
			Sign:             sign,
			HandshakeTimeout: 5 * time.Second,
			DisableTLS:       disableTLS,
		},
		byIdx: map[int]*peer{},
		byKey: map[[32]byte]*peer{},
	}
	for _, pc := range peers {
		if pc.Index == self {
			continue
		}
		p := newPeer(pc, &Config{SendQueueMax: 1, SendQueueBytesMax: 1 << 20, LowQueueMax: 1, LowQueueBytesMax: 1 << 20})
		tr.byIdx[pc.Index] = p
		tr.byKey[[32]byte(pc.PublicKey)] = p
	}
	if certSign != nil {
		tr.cfg.Sign = certSign
	}
	if err := tr.initTLS(); err != nil {
		t.Fatalf("initTLS: %v", err)
	}
	if !disableTLS {
		tr.cert.PrivateKey = keySigner{pub: tr.cert.PrivateKey.(keySigner).pub, sign: sign}
	}
	tr.cfg.Sign = sign
	return tr
}

func signer(k ed25519.PrivateKey) SignFunc {
	return func(m []byte) []byte { return ed25519.Sign(k, m) }
}

// smallOrderKey is the identity point: under it, (R = identity, S = 0) verifies
// for every message, so anyone can forge its signatures.
var smallOrderKey = append([]byte{1}, make([]byte, 31)...)

func forgeSmallOrder([]byte) []byte { return append(bytes.Clone(smallOrderKey), make([]byte, 32)...) }

// impostors are dialers that validator 1 must refuse. Each claims to be
// validator 0 (or a stranger) with a flaw.
type impostor struct {
	name       string
	chainID    string
	claimedKey []byte
	sign       SignFunc
	certSign   SignFunc
	// wantServer is what the acceptor concludes (errors.Is), per mode.
	wantServerTLS, wantServerPlain error
}

func impostors() []impostor {
	stranger := testKey(9)
	return []impostor{
		{"unknown key", testChainID, pub(stranger), signer(stranger), nil, ErrUnknownKey, ErrUnknownKey},
		{"wrong chain id", "settle-other", pub(testKey(0)), signer(testKey(0)), nil, ErrWrongChain, ErrBadSignature},
		// Validator 0's genuine certificate, but the handshake signed by a stranger.
		{"bad signature", testChainID, pub(testKey(0)), signer(stranger), signer(testKey(0)), ErrHandshake, ErrBadSignature},
		{"small-order key", testChainID, smallOrderKey, forgeSmallOrder, nil, ErrUnknownKey, ErrUnknownKey},
	}
}

// pairHandshake runs dialer d against acceptor a over a loopback TCP
// connection and returns both ends' errors.
func pairHandshake(t *testing.T, d, a *Transport, wantPeer int) (dErr, aErr error) {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			accepted <- err
			return
		}
		conn := a.secure(raw, -1)
		defer conn.Close()
		_, err = a.handshake(conn, -1)
		if err == nil {
			io.Copy(io.Discard, conn) // hold the connection open until the dialer ends
		}
		accepted <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn := d.secure(raw, wantPeer)
	_, dErr = d.handshake(conn, wantPeer)
	conn.Close()
	return dErr, <-accepted
}

// TestHandshakeErrors runs every impostor against an acceptor built the same
// way, so both ends' conclusions can be checked, in both modes.
func TestHandshakeErrors(t *testing.T) {
	peers := []Peer{{Index: 0, PublicKey: pub(testKey(0))}, {Index: 1, PublicKey: pub(testKey(1)), Addr: "unused"}}
	for _, m := range modes {
		for _, im := range impostors() {
			t.Run(m.name+"/"+im.name, func(t *testing.T) {
				d := rawNode(t, m.disableTLS, im.chainID, 0, im.claimedKey, im.sign, im.certSign, peers)
				a := rawNode(t, m.disableTLS, testChainID, 1, pub(testKey(1)), signer(testKey(1)), nil, peers)
				dErr, aErr := pairHandshake(t, d, a, 1)
				want := im.wantServerTLS
				if m.disableTLS {
					want = im.wantServerPlain
				}
				if !errors.Is(aErr, want) {
					t.Errorf("acceptor: %v, want %v", aErr, want)
				}
				if !m.disableTLS && !errors.Is(dErr, ErrHandshake) {
					// The ack makes a refused TLS dialer know it was refused.
					t.Errorf("dialer: %v, want %v", dErr, ErrHandshake)
				}
			})
		}
		t.Run(m.name+"/genuine", func(t *testing.T) {
			d := rawNode(t, m.disableTLS, testChainID, 0, pub(testKey(0)), signer(testKey(0)), nil, peers)
			a := rawNode(t, m.disableTLS, testChainID, 1, pub(testKey(1)), signer(testKey(1)), nil, peers)
			if dErr, aErr := pairHandshake(t, d, a, 1); dErr != nil || aErr != nil {
				t.Fatalf("dialer %v, acceptor %v", dErr, aErr)
			}
		})
	}
}

// TestDialerRefusesImpostorAcceptor: the dialer checks the acceptor too — a
// stranger or a validator of another chain answering at validator 1's address.
func TestDialerRefusesImpostorAcceptor(t *testing.T) {
	peers := []Peer{{Index: 0, PublicKey: pub(testKey(0))}, {Index: 1, PublicKey: pub(testKey(1)), Addr: "unused"}}
	stranger := testKey(9)
	for _, m := range modes {
		for _, tc := range []struct {
			name    string
			chainID string
			key     ed25519.PrivateKey
			want    error
		}{
			{"stranger", testChainID, stranger, ErrUnknownKey},
			{"wrong chain", "settle-other", testKey(1), ErrWrongChain},
		} {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				d := rawNode(t, m.disableTLS, testChainID, 0, pub(testKey(0)), signer(testKey(0)), nil, peers)
				// The acceptor's own set lists the impostor key as validator 1 so it
				// gets as far as it can.
				ap := []Peer{peers[0], {Index: 1, PublicKey: pub(tc.key), Addr: "unused"}}
				a := rawNode(t, m.disableTLS, tc.chainID, 1, pub(tc.key), signer(tc.key), nil, ap)
				dErr, aErr := pairHandshake(t, d, a, 1)
				if aErr == nil {
					t.Errorf("acceptor completed the handshake")
				}
				want := tc.want
				switch {
				case m.disableTLS && tc.name == "wrong chain":
					want = ErrBadSignature
				case tc.name == "wrong chain":
					// The acceptor refuses first, with an alert the dialer reports.
					want = ErrHandshake
				}
				if !errors.Is(dErr, want) {
					t.Errorf("dialer: %v, want %v", dErr, want)
				}
			})
		}
	}
}

// TestHandshakeRejects runs the impostors against a real, started transport.
func TestHandshakeRejects(t *testing.T) {
	for _, m := range modes {
		for _, im := range impostors() {
			t.Run(m.name+"/"+im.name, func(t *testing.T) {
				// Validator 1 waits for validator 0, which we impersonate.
				c := newClusterOnly(t, 2, func(_ int, cfg *Config) { cfg.DisableTLS = m.disableTLS }, map[int]bool{0: true})
				client := rawNode(t, m.disableTLS, im.chainID, 0, im.claimedKey, im.sign, im.certSign, c.peers)
				raw, err := net.Dial("tcp", c.addrs[1])
				if err != nil {
					t.Fatal(err)
				}
				conn := client.secure(raw, 1)
				defer conn.Close()
				client.handshake(conn, 1)
				waitFor(t, "handshake failure counted", func() bool { return c.nodes[1].Stats().HandshakeFailures == 1 })
				raw.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.ReadAll(raw); err != nil {
					t.Fatalf("connection not closed by the server: %v", err)
				}
				if ps := peerStats(c.nodes[1], 0); ps.Connects != 0 {
					t.Fatalf("server accepted the connection: %+v", ps)
				}
			})
		}
	}
}

func TestHandshakeAccepts(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := newClusterOnly(t, 2, func(_ int, cfg *Config) { cfg.DisableTLS = m.disableTLS }, map[int]bool{0: true})
			client := rawNode(t, m.disableTLS, testChainID, 0, pub(c.keys[0]), signer(c.keys[0]), nil, c.peers)
			raw, err := net.Dial("tcp", c.addrs[1])
			if err != nil {
				t.Fatal(err)
			}
			conn := client.secure(raw, 1)
			defer conn.Close()
			if idx, err := client.handshake(conn, 1); err != nil || idx != 1 {
				t.Fatalf("handshake = %d, %v", idx, err)
			}
			waitFor(t, "server connected", func() bool { return peerStats(c.nodes[1], 0).Connected })
		})
	}
}

// TestMovedValidatorDialsBack: a validator is its key, not its address. Node
// 0 holds a stale address for node 2 (it moved); node 2, the higher index,
// dials 0 back once 0 has not reached it, and the two exchange frames both
// ways. Between nodes whose addresses are right, nobody dials back: the
// canonical direction (lower dials higher) wins.
func TestMovedValidatorDialsBack(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := newCluster(t, 3, func(i int, cfg *Config) {
				cfg.DisableTLS = m.disableTLS
				cfg.ReverseDialAfter = 300 * time.Millisecond
				if i == 0 {
					peers := append([]Peer(nil), cfg.Peers...)
					peers[2].Addr = "127.0.0.1:1" // where node 2 used to be
					cfg.Peers = peers
				}
			})
			c.waitConnected()
			for !c.nodes[0].Send(2, []byte("to the moved one")) {
			}
			if in := recvOne(t, c.nodes[2]); string(in.Frame) != "to the moved one" || in.From != 0 {
				t.Fatalf("got %+v", in)
			}
			for !c.nodes[2].Send(0, []byte("back")) {
			}
			if in := recvOne(t, c.nodes[0]); string(in.Frame) != "back" || in.From != 2 {
				t.Fatalf("got %+v", in)
			}
			if ps := peerStats(c.nodes[2], 0); ps.ReverseDials < 1 {
				t.Fatalf("node 2 never dialled node 0 back: %+v", ps)
			}
			for _, pair := range [][2]int{{1, 0}, {2, 1}} {
				if ps := peerStats(c.nodes[pair[0]], pair[1]); ps.ReverseDials != 0 || ps.Connects != 1 {
					t.Errorf("node %d to %d, addresses right: %+v", pair[0], pair[1], ps)
				}
			}
		})
	}
}

// TestTLSAndPlainDoNotConnect: a TLS validator and a plaintext one refuse each
// other instead of exchanging frames in the clear.
func TestTLSAndPlainDoNotConnect(t *testing.T) {
	c := newCluster(t, 2, func(i int, cfg *Config) { cfg.DisableTLS = i == 1 })
	waitFor(t, "both ends count a failure", func() bool {
		return c.nodes[0].Stats().HandshakeFailures > 0 && c.nodes[1].Stats().HandshakeFailures > 0
	})
	for i, tr := range c.nodes {
		if ps := peerStats(tr, 1-i); ps.Connects != 0 {
			t.Fatalf("node %d connected: %+v", i, ps)
		}
	}
}

func TestTranscriptDigestSeparatesRoles(t *testing.T) {
	n1, n2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	k1, k2 := pub(testKey(0)), pub(testKey(1))
	base := transcriptDigest("c", n1, n2, k1, k2, roleDialer)
	for name, d := range map[string][]byte{
		"role":     transcriptDigest("c", n1, n2, k1, k2, roleAcceptor),
		"chain":    transcriptDigest("d", n1, n2, k1, k2, roleDialer),
		"nonces":   transcriptDigest("c", n2, n1, k1, k2, roleDialer),
		"keys":     transcriptDigest("c", n1, n2, k2, k1, roleDialer),
		"chainlen": transcriptDigest("c\x00", n1, n2, k1, k2, roleDialer),
	} {
		if bytes.Equal(base, d) {
			t.Errorf("changing %s leaves the digest unchanged", name)
		}
	}
}

func TestALPNSeparatesChains(t *testing.T) {
	a, b := alpnFor("settle-a"), alpnFor("settle-b")
	if a == b || len(a) > 255 || alpnFor(string(bytes.Repeat([]byte{'x'}, 255))) == a {
		t.Fatalf("alpn %q %q", a, b)
	}
}
