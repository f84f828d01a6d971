package hotstuff

import (
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/sigverify"
)

// Signer signs consensus messages with this validator's key. The message passed is
// already domain-separated (see signBytes).
type Signer interface {
	Sign(msg []byte) Signature
	PublicKey() []byte
}

// VerifyFunc reports whether sig is pub's signature over msg. Every replica must
// use the same rule: the product's one rule, ZIP-215 through engine/sigverify,
// which the cluster driver passes in. The simulator passes a fast fake.
type VerifyFunc func(pub, msg []byte, sig Signature) bool

// VerifyZIP215 is the product's one signature rule (engine/sigverify) as a
// VerifyFunc: the cluster driver's and every light client's.
func VerifyZIP215(pub, msg []byte, sig Signature) bool { return sigverify.Verify(pub, msg, sig[:]) }

// signContext prefixes every signed consensus message.
const signContext = "settle/hotstuff/v1"

// signBytes builds the domain-separated message: context | 0x00 | chain id length
// u8 | chain id | message type u8 | fields. A signature for one chain, message type
// or view is therefore useless for any other.
func signBytes(chainID string, t msgType, fields func(e *encoder)) []byte {
	e := encoder{buf: make([]byte, 0, 96)}
	e.bytes([]byte(signContext))
	e.u8(0)
	e.u8(uint8(len(chainID)))
	e.bytes([]byte(chainID))
	e.u8(uint8(t))
	fields(&e)
	return e.buf
}

func proposalSignBytes(chainID string, blockHash Hash) []byte {
	return signBytes(chainID, typeProposal, func(e *encoder) { e.bytes(blockHash[:]) })
}

func voteSignBytes(chainID string, view uint64, blockHash Hash) []byte {
	return signBytes(chainID, typeVote, func(e *encoder) { e.u64(view); e.bytes(blockHash[:]) })
}

func timeoutSignBytes(chainID string, view, highQCView uint64) []byte {
	return signBytes(chainID, typeTimeout, func(e *encoder) { e.u64(view); e.u64(highQCView) })
}

// Ed25519Signer signs with an Ed25519 private key (curve25519-voi).
type Ed25519Signer struct{ Key ed25519.PrivateKey }

var _ Signer = Ed25519Signer{}

// Sign signs msg.
func (s Ed25519Signer) Sign(msg []byte) (sig Signature) {
	copy(sig[:], ed25519.Sign(s.Key, msg))
	return sig
}

// PublicKey returns the 32-byte public key.
func (s Ed25519Signer) PublicKey() []byte { return s.Key.Public().(ed25519.PublicKey) }

// SignBlock returns a copy of b signed by s (its hash recomputed). The simulator
// uses it to build Byzantine variants; a driver never needs it.
func SignBlock(s Signer, chainID string, b *Block) *Block {
	out := *b
	out.hashSet, out.header = false, nil
	out.Signature = s.Sign(proposalSignBytes(chainID, out.Hash()))
	return &out
}

// SignVote signs a vote for (view, blockHash) with s.
func SignVote(s Signer, chainID string, view uint64, blockHash Hash) Signature {
	return s.Sign(voteSignBytes(chainID, view, blockHash))
}
