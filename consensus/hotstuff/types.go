package hotstuff

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is a SHA-256 digest: block hashes and state hashes.
type Hash [32]byte

// String shows the first four bytes, enough to tell blocks apart in logs and tests.
func (h Hash) String() string { return hex.EncodeToString(h[:4]) }

// SignatureSize is the size of an Ed25519 signature.
const SignatureSize = 64

// Signature is an Ed25519 signature (or the simulator's fake of one).
type Signature [SignatureSize]byte

// ValidatorIndex is a validator's position in the genesis list.
type ValidatorIndex uint16

// QC is a quorum certificate: 2f+1 votes for one block in one view, encoded as a
// signer bitmap plus the signatures of the set bits in ascending index order.
type QC struct {
	View      uint64
	BlockHash Hash
	Signers   Bitmap
	Sigs      []Signature
}

// TC is a timeout certificate: 2f+1 timeout messages for one view. Each signer
// signed (view, the view of its highest QC); HighQC is the highest of those QCs.
type TC struct {
	View        uint64
	Signers     Bitmap
	HighQCViews []uint64 // per set bit of Signers, ascending index order
	Sigs        []Signature
	HighQC      QC
}

// MaxHighQCView is the highest QC view any signer of the TC reported.
func (tc *TC) MaxHighQCView() uint64 {
	m := uint64(0)
	for _, v := range tc.HighQCViews {
		m = max(m, v)
	}
	return m
}

// Block is one proposal in the chain. Payload is opaque to the core.
//
// ExecHeight and ExecStateHash carry the proposer's state hash after executing the
// committed block at ExecHeight: execution is decoupled from ordering and the state
// hash rides in later blocks, so a validator whose execution diverges is detected.
type Block struct {
	Parent        Hash
	View          uint64
	Height        uint64
	QC            QC // certifies Parent (the "justify" of HotStuff)
	Proposer      ValidatorIndex
	Payload       []byte
	ExecHeight    uint64
	ExecStateHash Hash
	Signature     Signature

	hash    Hash   // cached; zero until computed
	header  []byte // cached with hash: HeaderBytes, whose SHA-256 it is
	hashSet bool
}

// Hash returns SHA-256 of the block's header (HeaderBytes).
func (b *Block) Hash() Hash {
	b.cacheHeader()
	return b.hash
}

// HeaderBytes returns the block's header: the bytes its hash covers. It is
// computed once with the hash (it digests the whole payload) and must not be
// modified.
func (b *Block) HeaderBytes() []byte {
	b.cacheHeader()
	return b.header
}

func (b *Block) cacheHeader() {
	if !b.hashSet {
		b.header = encodeHeader(b)
		b.hash = sha256.Sum256(b.header)
		b.hashSet = true
	}
}

// Message is one of *Proposal, *Vote, *Timeout, *SyncRequest, *SyncResponse,
// *RangeRequest.
type Message interface{ msgType() msgType }

type msgType uint8

const (
	typeProposal     msgType = 1
	typeVote         msgType = 2
	typeTimeout      msgType = 3
	typeSyncRequest  msgType = 4
	typeSyncResponse msgType = 5
	typeRangeRequest msgType = 6
)

// Proposal carries a new block; TC is set when the block's QC is not for the
// previous view (the leader entered its view through a timeout certificate).
type Proposal struct {
	Block *Block
	TC    *TC
}

// Vote is a signature over (view, block hash), sent to the next view's leader.
type Vote struct {
	View      uint64
	BlockHash Hash
	Voter     ValidatorIndex
	Signature Signature
}

// Timeout says its sender gave up on View. HighQC is the sender's highest QC;
// LastTC is the TC for View-1 when HighQC is not for View-1, so that every
// timeout proves that its view was reached. The signature covers
// (View, HighQC.View).
type Timeout struct {
	View      uint64
	Sender    ValidatorIndex
	HighQC    QC
	LastTC    *TC
	Signature Signature
}

// SyncRequest asks a peer for the block with hash Hash and up to CountMax-1 of its
// ancestors.
type SyncRequest struct {
	Hash     Hash
	CountMax uint16
}

// RangeRequest asks a peer for the blocks of its chain from height FromHeight on,
// at most CountMax of them: the committed ones, then the certified ones above. A
// validator that is far behind catches up with it, oldest first, instead of
// walking back from the newest block by hash. The answer is a SyncResponse.
type RangeRequest struct {
	FromHeight uint64
	CountMax   uint16
}

// SyncResponse carries blocks in ascending height order, each linked to the next by
// its parent hash; every block carries the QC of its parent. HighQC, when set, is
// the responder's highest QC so that a lagging replica learns the current view.
type SyncResponse struct {
	Blocks []*Block
	HighQC *QC
}

func (*Proposal) msgType() msgType     { return typeProposal }
func (*Vote) msgType() msgType         { return typeVote }
func (*Timeout) msgType() msgType      { return typeTimeout }
func (*SyncRequest) msgType() msgType  { return typeSyncRequest }
func (*SyncResponse) msgType() msgType { return typeSyncResponse }
func (*RangeRequest) msgType() msgType { return typeRangeRequest }
