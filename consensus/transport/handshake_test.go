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

// rawClient is a hand-built dialer for validator 1's listener: a Transport value
// that is never started, so tests can give it any key, chain id or signer.
func rawClient(chainID string, self int, signKey ed25519.PrivateKey, claimedKey []byte, peers []Peer) *Transport {
	t := &Transport{
		cfg: Config{
			ChainID:          chainID,
			Self:             self,
			PublicKey:        claimedKey,
			Sign:             func(d []byte) []byte { return ed25519.Sign(signKey, d) },
			HandshakeTimeout: 5 * time.Second,
		},
		byIdx: map[int]*peer{},
		byKey: map[[32]byte]*peer{},
	}
	for _, pc := range peers {
		p := newPeer(pc, &Config{SendQueueMax: 1, SendQueueBytesMax: 1 << 20, LowQueueMax: 1, LowQueueBytesMax: 1 << 20})
		t.byIdx[pc.Index] = p
		t.byKey[[32]byte(pc.PublicKey)] = p
	}
	return t
}

func TestHandshakeRejects(t *testing.T) {
	stranger := testKey(9)
	smallOrder := append([]byte{1}, make([]byte, 31)...) // the identity point
	tests := []struct {
		name       string
		chainID    string
		signKey    ed25519.PrivateKey
		claimedKey []byte
		wantClient error // what the dialer itself concludes, nil if it cannot tell
	}{
		{"unknown key", testChainID, stranger, pub(stranger), nil},
		{"wrong chain id", "settle-other", testKey(0), pub(testKey(0)), ErrBadSignature},
		{"bad signature", testChainID, stranger, pub(testKey(0)), nil},
		{"small-order key", testChainID, stranger, smallOrder, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Validator 1 waits for validator 0, which we impersonate.
			c := newClusterOnly(t, 2, nil, map[int]bool{0: true})
			client := rawClient(tc.chainID, 0, tc.signKey, tc.claimedKey, c.peers)
			conn, err := net.Dial("tcp", c.addrs[1])
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = client.handshake(conn, 1)
			if tc.wantClient != nil && !errors.Is(err, tc.wantClient) {
				t.Fatalf("client handshake error %v, want %v", err, tc.wantClient)
			}
			waitFor(t, "handshake failure counted", func() bool { return c.nodes[1].Stats().HandshakeFailures == 1 })
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(conn); err != nil {
				t.Fatalf("connection not closed by the server: %v", err)
			}
			if ps := peerStats(c.nodes[1], 0); ps.Connects != 0 {
				t.Fatalf("server accepted the connection: %+v", ps)
			}
		})
	}
}

func TestHandshakeAccepts(t *testing.T) {
	c := newClusterOnly(t, 2, nil, map[int]bool{0: true})
	client := rawClient(testChainID, 0, c.keys[0], pub(c.keys[0]), c.peers)
	conn, err := net.Dial("tcp", c.addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if idx, err := client.handshake(conn, 1); err != nil || idx != 1 {
		t.Fatalf("handshake = %d, %v", idx, err)
	}
	waitFor(t, "server connected", func() bool { return peerStats(c.nodes[1], 0).Connected })
}

func TestHandshakeRejectsWrongDirection(t *testing.T) {
	// Validator 1 must be dialled by 0, never dial 0: node 0 refuses it.
	c := newClusterOnly(t, 2, nil, map[int]bool{1: true})
	client := rawClient(testChainID, 1, c.keys[1], pub(c.keys[1]), c.peers)
	conn, err := net.Dial("tcp", c.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client.handshake(conn, 0)
	waitFor(t, "handshake failure counted", func() bool { return c.nodes[0].Stats().HandshakeFailures == 1 })
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
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
