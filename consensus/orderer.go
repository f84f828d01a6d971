// Package consensus orders transactions into committed blocks. The node sees it
// through Orderer: a stream of committed blocks in height order. Solo is the
// single-validator orderer; package hotstuff holds the BFT core that the cluster
// driver runs behind the same interface.
package consensus

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"settle/engine/txn"
	"settle/mempool"
)

// Block is a block that consensus has committed: final, delivered in height order.
type Block struct {
	Height uint64
	View   uint64
	Hash   txn.Hash
	Parent txn.Hash
	TimeMs int64 // proposer's clock; informational, never used by execution
	Txs    []*txn.Tx
	Cert   []byte // encoded certificate proving the commit; empty for Solo
}

// Head is the last committed block an orderer resumes after.
type Head struct {
	Height uint64
	Hash   txn.Hash
}

// CommitFunc receives committed blocks in height order. It may block (bounded
// execution queue): that is how execution applies backpressure to ordering.
type CommitFunc func(ctx context.Context, b *Block) error

// Orderer produces committed blocks.
type Orderer interface {
	// Run orders blocks after head until ctx ends or commit fails.
	Run(ctx context.Context, head Head, commit CommitFunc) error
	// Status describes the orderer for /v1/status.
	Status() Status
}

// Status is what an orderer reports about itself.
type Status struct {
	View   uint64
	Leader string
	Peers  []string
}

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
	pool *mempool.Pool
	cfg  mempool.AssemblerConfig
	now  func() time.Time
}

// NewSolo returns a Solo orderer over pool.
func NewSolo(pool *mempool.Pool, cfg mempool.AssemblerConfig) (*Solo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("solo orderer: %w", err)
	}
	return &Solo{pool: pool, cfg: cfg, now: time.Now}, nil
}

// Status implements Orderer.
func (s *Solo) Status() Status { return Status{Leader: "self"} }

// Run implements Orderer.
func (s *Solo) Run(ctx context.Context, head Head, commit CommitFunc) error {
	height, parent := head.Height, head.Hash
	var entries []mempool.Entry
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
			txs[i] = entries[i].Tx.(*txn.Tx)
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
