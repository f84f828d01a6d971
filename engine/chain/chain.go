// Package chain is the contract between a validator's pipeline (engine/node) and
// whatever orders its blocks: the committed Block the node executes, the Head it
// resumes after, and the Orderer interface that consensus implements. Solo, the
// single-validator orderer, lives here too; the HotStuff driver
// (consensus/cluster) implements Orderer from above, so imports run one way:
// consensus → engine.
package chain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"settle/engine/codes"
	"settle/engine/txn"
	"settle/mempool"
)

// Block is a block that consensus has committed: final, delivered in height order.
type Block struct {
	Height uint64
	View   uint64
	Hash   txn.Hash
	Parent txn.Hash
	TimeMs int64 // the local clock when this validator learnt of the commit; informational, never used by execution
	Txs    []*txn.Tx
	Cert   []byte // encoded certificate proving the commit; empty for Solo
	// Header is the consensus header the certificate signs (the bytes whose
	// SHA-256 is Hash); empty for Solo. Proofs carry it (docs/protocol.md).
	// ClaimHeight is the executed height whose state hash the header claims.
	Header      []byte
	ClaimHeight uint64
}

// Head is the last committed block an orderer resumes after.
type Head struct {
	Height uint64
	Hash   txn.Hash
}

// CommitFunc receives committed blocks in height order. It may block (bounded
// execution queue): that is how execution applies backpressure to ordering.
type CommitFunc func(ctx context.Context, b *Block) error

// Orderer produces committed blocks. Every method but Run must not block.
type Orderer interface {
	// Run orders blocks after head until ctx ends or commit fails.
	Run(ctx context.Context, head Head, commit CommitFunc) error
	// Status describes the orderer for /v1/status.
	Status() Status
	// Executed learns the state hash after each durably executed block (and,
	// before Run, the recovered head's), so that blocks carry it and a divergent
	// validator is detected.
	Executed(height uint64, stateHash [32]byte)
	// Gossip forwards transactions this validator admitted from its clients to
	// the other validators.
	Gossip(raws [][]byte)
	// Partition cuts the validator off from the listed peers (fault injection);
	// an empty list heals. ErrNotCluster where there are no peers.
	Partition(peers []int) error
	// Syncing reports that the validator is catching up with blocks the others
	// committed (or has not yet heard from them since it started): it is then
	// not ready for clients.
	Syncing() bool
}

// Status is what an orderer reports about itself.
type Status struct {
	View   uint64
	Leader string
	Peers  []string
	// Syncing is set while the validator is catching up with blocks that the
	// others committed: it then is not ready (GET /readyz answers 503).
	Syncing bool
	// BehindBlocks is how many committed blocks this validator knows it lacks.
	BehindBlocks uint64
	// SafetyRecovering is set while a validator whose safety state was lost (a
	// wiped disk) relearns it: it follows the chain but neither votes nor
	// proposes, so it counts against the fault budget f.
	SafetyRecovering bool
}

// ErrNotCluster is returned by Partition on a single validator.
var ErrNotCluster = codes.Errorf(codes.NotFound, "this validator runs no replica transport")

// BlockHash is SHA-256("settle/block/v1" | height u64 | parent | time i64 | tx
// count u32 | tx hashes), binding a block to its place and content.
func BlockHash(height uint64, parent txn.Hash, timeMs int64, txs []*txn.Tx) txn.Hash {
	h := sha256.New()
	var b [64]byte
	buf := append(b[:0], "settle/block/v1"...)
	buf = binary.BigEndian.AppendUint64(buf, height)
	h.Write(buf)
	h.Write(parent[:])
	buf = binary.BigEndian.AppendUint64(b[:0], uint64(timeMs))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(txs)))
	h.Write(buf)
	for _, tx := range txs {
		th := tx.Hash()
		h.Write(th[:])
	}
	var out txn.Hash
	h.Sum(out[:0])
	return out
}

// Solo is the single-validator orderer: it closes a block from the mempool when it
// reaches the size limits or the delay limit, and commits it at once (one validator
// is its own quorum). Block assembly of the next block overlaps execution of the
// previous one because CommitFunc only queues.
type Solo struct {
	pool *mempool.Pool[*txn.Tx]
	cfg  mempool.AssemblerConfig
	now  func() time.Time
}

var _ Orderer = (*Solo)(nil)

// NewSolo returns a Solo orderer over pool.
func NewSolo(pool *mempool.Pool[*txn.Tx], cfg mempool.AssemblerConfig) (*Solo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("solo orderer: %w", err)
	}
	return &Solo{pool: pool, cfg: cfg, now: time.Now}, nil
}

// Status implements Orderer.
func (s *Solo) Status() Status { return Status{Leader: "self"} }

// Executed implements Orderer: a single validator has nobody to tell.
func (s *Solo) Executed(uint64, [32]byte) {}

// Gossip implements Orderer: a single validator has nobody to tell.
func (s *Solo) Gossip([][]byte) {}

// Partition implements Orderer.
func (s *Solo) Partition([]int) error { return ErrNotCluster }

// Syncing implements Orderer: a single validator is never behind.
func (s *Solo) Syncing() bool { return false }

// Run implements Orderer.
func (s *Solo) Run(ctx context.Context, head Head, commit CommitFunc) error {
	height, parent := head.Height, head.Hash
	var entries []mempool.Entry[*txn.Tx]
	for {
		var err error
		entries, err = s.pool.NextBatch(ctx, s.cfg, height+1, entries[:0])
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("assemble block %d: %w", height+1, err)
		}
		if len(entries) == 0 {
			continue
		}
		txs := make([]*txn.Tx, len(entries))
		for i := range entries {
			txs[i] = entries[i].Tx
		}
		height++
		b := &Block{Height: height, View: height, Parent: parent, TimeMs: s.now().UnixMilli(), Txs: txs}
		b.Hash = BlockHash(b.Height, b.Parent, b.TimeMs, b.Txs)
		if err := commit(ctx, b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit block %d: %w", height, err)
		}
		parent = b.Hash
	}
}
