package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// Node is one simulated replica: the real core plus a driver that performs its
// Ready in the documented order, a disk that keeps only what was persisted, and
// an executor.
type Node struct {
	ID     int
	Name   string
	Val    hotstuff.ValidatorIndex
	Byz    Behavior
	signer FakeSigner

	core *hotstuff.Core // nil while crashed
	disk *disk
	exec Executor

	committedHeight uint64                   // last height the core committed
	executedHeight  uint64                   // last height the executor applied
	execQueue       []queued                 // committed, not yet executed (memory only)
	needPayload     *hotstuff.PayloadRequest // unanswered (manual or delayed proposing)
	proposeAt       int64                    // when a delayed payload is answered
	proposals       int                      // payload counter, makes payloads unique
}

// Honest reports whether the node's behaviour counts for safety and liveness.
func (n *Node) Honest() bool { return n.Byz == 0 }

// Up reports whether the node is running.
func (n *Node) Up() bool { return n.core != nil }

// Core exposes the node's core (nil while crashed), for tests.
func (n *Node) Core() *hotstuff.Core { return n.core }

// CommittedHeight is the last height this node committed.
func (n *Node) CommittedHeight() uint64 { return n.committedHeight }

// ExecutedHeight is the last height this node executed.
func (n *Node) ExecutedHeight() uint64 { return n.executedHeight }

// disk is what survives a crash: exactly what the driver persisted, and the
// executed head (the node's store).
type disk struct {
	safety     []byte // encoded SafetyState; nil before the first persist
	blocks     map[hotstuff.Hash]*hotstuff.Block
	root       *hotstuff.Block            // last executed block
	committed  map[uint64]*hotstuff.Block // committed blocks by height (range sync)
	execHeight uint64
	execHash   hotstuff.Hash
	execHashes map[uint64]hotstuff.Hash // every executed height's state hash (the node's block records)
}

func newDisk() *disk {
	return &disk{blocks: map[hotstuff.Hash]*hotstuff.Block{}, committed: map[uint64]*hotstuff.Block{},
		execHashes: map[uint64]hotstuff.Hash{}}
}

// Block serves sync requests for stored blocks (hotstuff.BlockReader).
func (d *disk) Block(h hotstuff.Hash) (*hotstuff.Block, bool) {
	b, ok := d.blocks[h]
	return b, ok
}

// BlockAt serves range sync of committed blocks (hotstuff.BlockReader).
func (d *disk) BlockAt(height uint64) (*hotstuff.Block, bool) {
	b, ok := d.committed[height]
	return b, ok
}

func (d *disk) start(lost bool) (hotstuff.Start, error) {
	st := hotstuff.Start{SafetyLost: lost, Root: d.root, ExecHeight: d.execHeight, ExecStateHash: d.execHash}
	if d.safety != nil {
		s, err := hotstuff.DecodeSafetyState(d.safety)
		if err != nil {
			return st, fmt.Errorf("stored safety state: %w", err)
		}
		st.Safety = s
	}
	minHeight := uint64(0)
	if d.root != nil {
		minHeight = d.root.Height
	}
	for _, b := range d.blocks {
		if b.Height > minHeight {
			st.Blocks = append(st.Blocks, b)
		}
	}
	return st, nil
}

// persist stores a Ready's safety state and blocks, through their codecs.
func (d *disk) persist(safety *hotstuff.SafetyState, blocks []*hotstuff.Block) {
	if safety != nil {
		d.safety = hotstuff.EncodeSafetyState(safety)
	}
	for _, b := range blocks {
		stored, err := hotstuff.DecodeBlock(hotstuff.EncodeBlock(b))
		if err != nil {
			panic(fmt.Sprintf("sim: stored block does not decode: %v", err))
		}
		d.blocks[b.Hash()] = stored
	}
}
