package sim

import (
	"crypto/sha256"
	"encoding/binary"
)

// Executor is the replicated application: it executes committed payloads in height
// order and returns the state hash after each. The real ledger engine implements
// it too. It models durable state: it survives a replica crash (the engine commits
// each block durably) but not a wiped disk.
type Executor interface {
	Execute(height uint64, payload []byte) (stateHash [32]byte)
	// CheckInvariants reports a broken application invariant.
	CheckInvariants() error
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
func (h *HashChain) Execute(height uint64, payload []byte) [32]byte {
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
