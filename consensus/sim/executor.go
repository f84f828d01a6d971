package sim

import (
	"crypto/sha256"
	"encoding/binary"

	"settle/consensus/hotstuff"
)

// Executor is the replicated application: it executes committed payloads in height
// order and returns the state hash after each. The real ledger engine implements
// it too. It models durable state: it survives a replica crash (the engine commits
// each block durably) but not a wiped disk.
type Executor interface {
	Execute(b *hotstuff.Block) (stateHash [32]byte)
	// CheckInvariants reports a broken application invariant.
	CheckInvariants() error
}

// PayloadValidator is an Executor that vets proposed payloads itself (the ledger
// verifies transaction signatures); the cluster installs it as the replica's
// hotstuff ValidatePayload hook instead of the default rule.
type PayloadValidator interface {
	ValidatePayload(payload []byte) error
}

// Recoverer is an Executor that rebuilds its in-memory state from its durable
// state when its replica restarts after a crash (not after a wipe, which replaces
// the executor).
type Recoverer interface {
	Recover() error
}

// Follower is an Executor that follows the blocks its replica's core handles,
// as the cluster driver does for its payload assembly (consensus/payload).
type Follower interface {
	// Accepted: blocks the core accepted, persisted with the Ready.
	Accepted(blocks []*hotstuff.Block)
	// Committed: blocks the core committed, in height order, before execution.
	Committed(blocks []*hotstuff.Block)
	// Restarted: the replica (re)started from its disk; memory-only state is gone.
	Restarted(st hotstuff.Start)
}

// Stepper is a PayloadSource that acts once per virtual tick (clients
// submitting transactions).
type Stepper interface {
	Step(c *Cluster)
}

// Drainer is a PayloadSource that can prove, after the liveness check, that
// everything its clients submitted ended committed.
type Drainer interface {
	Drain(c *Cluster, ticks int64) error
}

// PayloadSource makes the payloads of the cluster's leaders.
type PayloadSource interface {
	// Payload is what n proposes for req; bad asks for one honest nodes refuse.
	Payload(c *Cluster, n *Node, req hotstuff.PayloadRequest, bad bool) []byte
	// Equivocal is another payload for the same slot that honest nodes accept.
	Equivocal(payload []byte) []byte
}

// HashChain is the default executor: state = SHA-256(state | height | payload).
type HashChain struct {
	state  [32]byte
	height uint64
	bad    bool
}

// NewHashChain starts from the genesis state (all zeros).
func NewHashChain() Executor { return &HashChain{} }

// Execute folds the payload into the state.
func (h *HashChain) Execute(b *hotstuff.Block) [32]byte {
	height, payload := b.Height, b.Payload
	if height != h.height+1 {
		h.bad = true
	}
	h.height = height
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], height)
	d := sha256.New()
	d.Write(h.state[:])
	d.Write(hb[:])
	d.Write(payload)
	copy(h.state[:], d.Sum(nil))
	return h.state
}

// CheckInvariants reports heights executed out of order.
func (h *HashChain) CheckInvariants() error {
	if h.bad {
		return errOutOfOrder
	}
	return nil
}
