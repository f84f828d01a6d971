package sim

import (
	"crypto/sha256"

	"settle/consensus/hotstuff"
)

// FakeSigner is a fast, insecure, deterministic stand-in for Ed25519 that the
// simulator signs consensus messages with: sig = SHA-256(key | msg) twice.
// FakeVerify checks it. It exists only in this package, never in production.
type FakeSigner struct{ Key [32]byte }

var _ hotstuff.Signer = FakeSigner{}

// Sign signs msg.
func (s FakeSigner) Sign(msg []byte) (sig hotstuff.Signature) {
	h := sha256.New()
	h.Write(s.Key[:])
	h.Write(msg)
	d := h.Sum(nil)
	copy(sig[:32], d)
	copy(sig[32:], d)
	return sig
}

// PublicKey returns the key itself (the fake scheme has no secret).
func (s FakeSigner) PublicKey() []byte { return s.Key[:] }

// FakeVerify verifies a FakeSigner signature.
func FakeVerify(pub, msg []byte, sig hotstuff.Signature) bool {
	var k [32]byte
	if copy(k[:], pub) != 32 {
		return false
	}
	return FakeSigner{Key: k}.Sign(msg) == sig
}

// The simulator signs Byzantine variants itself through the core's exported
// helpers, so that they pass signature checks and exercise the deeper rules.

func (c *Cluster) signVote(n *Node, view uint64, h hotstuff.Hash) hotstuff.Signature {
	return hotstuff.SignVote(n.signer, "settle-sim", view, h)
}

func (c *Cluster) resign(n *Node, b *hotstuff.Block) *hotstuff.Block {
	return hotstuff.SignBlock(n.signer, "settle-sim", b)
}
