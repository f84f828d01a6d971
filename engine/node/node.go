// Package node wires one validator's pipeline: admission (pre-checks against the
// committed state, batched parallel signature verification, mempool), ordering
// (an Orderer: Solo here, HotStuff in a cluster), execution, durable commit (one
// synced Pebble batch per block), and commit notifications. It implements the
// HTTP API's Backend.
//
//	ingress ─► Submit ─► precheck ─► sigverify.Pool ─► mempool ─► Orderer ─► execQ ─► execute ─► store ─► ledger.Apply ─► mempool.Commit ─► events
//
// Every queue is bounded: the verification pool (VerifyQueueMax chunks), the
// mempool (count and bytes), the execution queue (ExecQueueMax blocks) and each
// event subscriber (EventQueueMax blocks).
package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"settle/engine/chain"
	"settle/engine/events"
	"settle/engine/ledger"
	"settle/engine/proof"
	"settle/engine/sigverify"
	"settle/engine/store"
	"settle/engine/txn"
	"settle/internal/invariants"
	"settle/mempool"
)

// Node is one validator.
type Node struct {
	cfg      Config
	store    *store.Store
	ledger   *ledger.Ledger
	pool     *mempool.Pool[*txn.Tx]
	verifier *sigverify.Pool
	orderer  chain.Orderer
	events   *events.Broadcaster
	metrics  *metrics
	dropped  *dropLog
	proofs   proof.Builder

	head      atomic.Pointer[chain.Head]
	ready     atomic.Bool
	lastBlock atomic.Int64 // unix ms of the last committed block
}

// OrdererFactory builds the orderer of a node from the node itself (its store,
// mempool and admission: what the cluster driver needs).
type OrdererFactory func(*Node) (chain.Orderer, error)

// New opens the data directory, recovers the ledger and builds the pipeline. A
// nil orderer factory means Solo (a single validator).
func New(cfg Config, orderer OrdererFactory) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	st, err := store.Open(cfg.DataDir, cfg.Genesis, store.Options{})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, store: st, events: events.New(cfg.EventQueueMax), dropped: newDropLog(droppedMaxDefault)}
	if err := n.recover(); err != nil {
		st.Close()
		return nil, err
	}
	if n.pool, err = mempool.New[*txn.Tx](cfg.Mempool); err != nil {
		st.Close()
		return nil, fmt.Errorf("mempool: %w", err)
	}
	n.pool.SetDropHook(func(d mempool.Dropped) {
		n.dropped.record(d, n.Height())
		if n.metrics != nil { // set below, before anything runs
			n.metrics.dropped(d.Reason)
		}
	})
	if orderer == nil {
		orderer = func(n *Node) (chain.Orderer, error) { return chain.NewSolo(n.pool, cfg.Assembler()) }
	}
	n.verifier = sigverify.NewPool(cfg.VerifyWorkers, cfg.VerifyQueueMax)
	if n.orderer, err = orderer(n); err != nil {
		n.verifier.Close()
		st.Close()
		return nil, err
	}
	n.metrics = newMetrics(n)
	return n, nil
}

// recover loads the committed ledger and head from storage and checks them.
func (n *Node) recover() error {
	l, err := n.store.Load(n.cfg.Genesis)
	if err != nil {
		return fmt.Errorf("recover ledger: %w", err)
	}
	n.ledger = l
	if n.cfg.ProofHeightsKept > 0 {
		l.SetProofHeightsKept(n.cfg.ProofHeightsKept)
	}
	if n.cfg.BenchStateRootOff {
		l.DisableStateRoot()
	}
	meta := l.Meta()
	genesisState := meta.StateHash
	n.proofs = proof.Builder{ChainID: n.cfg.Genesis.ChainID, Store: n.store, Ledger: l,
		Solo: len(n.cfg.Genesis.Validators) == 1,
		// Rebuilt from the genesis only if a proof of height 1 is asked for
		// after a restart: it costs the genesis state's tree.
		GenesisStateHash: sync.OnceValues(func() (txn.Hash, error) {
			if meta.Height == 0 {
				return genesisState, nil
			}
			gl, err := ledger.FromGenesis(n.cfg.Genesis)
			if err != nil {
				return txn.Hash{}, err
			}
			return gl.Meta().StateHash, nil
		})}
	head := chain.Head{Height: meta.Height}
	if meta.Height > 0 {
		rec, err := n.store.Block(meta.Height)
		if err != nil {
			return fmt.Errorf("recover head: %w", err)
		}
		// INVARIANT: the stored head block and the ledger totals come from one batch.
		if rec.StateHash != meta.StateHash {
			return fmt.Errorf("recover: block %d state hash %s differs from ledger %s", meta.Height, rec.StateHash, meta.StateHash)
		}
		head.Hash = rec.Hash
	}
	n.head.Store(&head)
	if !n.cfg.SkipInvariantCheck {
		if err := l.CheckInvariants(); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	}
	return nil
}

// Ledger exposes the committed ledger (read-only use).
func (n *Node) Ledger() *ledger.Ledger { return n.ledger }

// Store exposes storage (read-only use).
func (n *Node) Store() *store.Store { return n.store }

// Pool exposes the mempool.
func (n *Node) Pool() *mempool.Pool[*txn.Tx] { return n.pool }

// Events exposes the commit broadcaster.
func (n *Node) Events() *events.Broadcaster { return n.events }

// Run orders, executes and commits blocks until ctx ends. A storage failure is
// returned: the process must exit and recover from disk rather than limp on.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	execQ := make(chan *chain.Block, n.cfg.ExecQueueMax)
	execErr := make(chan error, 1)
	go func() {
		execErr <- n.executeLoop(ctx, execQ)
		cancel()
	}()
	n.orderer.Executed(n.Height(), n.ledger.Meta().StateHash)
	n.ready.Store(true)
	err := n.orderer.Run(ctx, *n.head.Load(), func(ctx context.Context, b *chain.Block) error {
		select {
		case execQ <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	n.ready.Store(false)
	close(execQ)
	if xerr := <-execErr; xerr != nil {
		return xerr
	}
	return err
}

// Close releases the verifier and storage. Call after Run returned.
func (n *Node) Close() error {
	n.verifier.Close()
	return n.store.Close()
}

func (n *Node) executeLoop(ctx context.Context, execQ <-chan *chain.Block) error {
	committed := make([]mempool.Committed, 0, n.cfg.BlockTxMax)
	for b := range execQ {
		var err error
		if committed, err = n.executeBlock(b, committed[:0]); err != nil {
			return err
		}
	}
	return nil
}

// executeBlock executes b, makes it durable, installs it and announces it.
func (n *Node) executeBlock(b *chain.Block, committed []mempool.Committed) ([]mempool.Committed, error) {
	head := n.head.Load()
	if b.Height != head.Height+1 || b.Parent != head.Hash {
		return committed, fmt.Errorf("execute: block %d (parent %s) does not extend head %d (%s)", b.Height, b.Parent, head.Height, head.Hash)
	}
	t0 := time.Now()
	res := n.ledger.Execute(b.Height, b.Txs)
	t1 := time.Now()
	rec := &store.BlockRecord{Height: b.Height, TimeMs: b.TimeMs, Hash: b.Hash, Parent: b.Parent,
		StateHash: res.Meta.StateHash, StateRoot: res.Meta.StateRoot, TxRoot: res.Meta.TxRoot,
		Receipts: res.Receipts, Header: b.Header, ClaimHeight: b.ClaimHeight, Cert: b.Cert}
	if err := n.store.CommitBlock(rec, b.Txs, res); err != nil {
		return committed, fmt.Errorf("execute: %w", err)
	}
	t2 := time.Now()
	n.ledger.Apply(res)
	n.head.Store(&chain.Head{Height: b.Height, Hash: b.Hash})
	// The mempool forgets the block's transactions before the orderer learns the
	// block executed: the orderer then stops counting the block as an ancestor
	// of its proposals, and a leader must not find its transactions still ready
	// in the mempool in between (they would be proposed again).
	committed = MempoolCommits(committed, n.ledger, b.Txs, res)
	n.pool.Commit(b.Height, committed)
	if invariants.Enabled {
		n.checkInvariants(b.Height)
	}
	n.orderer.Executed(b.Height, res.Meta.StateHash)
	n.events.Publish(&events.Block{Height: b.Height, Hash: b.Hash, StateHash: res.Meta.StateHash, TimeMs: b.TimeMs,
		Receipts: res.Receipts, Queue: res.QueueEvents})
	n.lastBlock.Store(time.Now().UnixMilli())
	n.metrics.block(len(b.Txs), t1.Sub(t0), t2.Sub(t1), res)
	return committed, nil
}

// checkInvariants asserts the ledger's supply invariants and the mempool's
// structure after a block (builds with -tags invariants): a broken invariant
// is a bug, and the node stops rather than persist the next block on it.
func (n *Node) checkInvariants(height uint64) {
	if err := n.ledger.CheckInvariants(); err != nil {
		panic(fmt.Sprintf("node: after block %d: ledger invariant: %v", height, err))
	}
	if err := n.pool.CheckInvariants(false); err != nil {
		panic(fmt.Sprintf("node: after block %d: mempool invariant: %v", height, err))
	}
}

// MempoolCommits describes an executed block's transactions for
// mempool.Commit: applied, or not applied and then kept for a later block (a
// missing predecessor) or dropped with the result code. l is the ledger with
// res applied. The node and the simulator both use it.
func MempoolCommits(dst []mempool.Committed, l *ledger.Ledger, txs []*txn.Tx, res *ledger.BlockResult) []mempool.Committed {
	for i, tx := range txs {
		r := &res.Receipts[i]
		c := mempool.Committed{Hash: r.Hash, Sender: tx.Sender, NextSeq: nextSeq(l, res, tx.Sender), Applied: r.Applied()}
		if !c.Applied {
			c.Retry, c.Reason = r.MayApplyLater(), string(r.Result)
		}
		dst = append(dst, c)
	}
	return dst
}

// nextSeq finds sender's next sequence in the block's touched accounts (sorted
// by id), else in the ledger.
func nextSeq(l *ledger.Ledger, res *ledger.BlockResult, id txn.AccountID) uint64 {
	lo, hi := 0, len(res.Accounts)
	for lo < hi {
		m := (lo + hi) / 2
		if string(res.Accounts[m].ID[:]) < string(id[:]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(res.Accounts) && res.Accounts[lo].ID == id {
		return res.Accounts[lo].Seq
	}
	a, _ := l.Account(id) // untouched: the tx did not apply
	return a.Seq
}

// Height is the last committed height.
func (n *Node) Height() uint64 { return n.head.Load().Height }

// Ready reports whether the node accepts transactions: it runs, and it is not
// catching up with the other validators.
func (n *Node) Ready() bool { return n.ready.Load() && !n.orderer.Syncing() }

// WaitHeight blocks until the committed height reaches h or ctx ends.
func (n *Node) WaitHeight(ctx context.Context, h uint64) error {
	sub := n.events.Subscribe()
	defer sub.Close()
	for n.Height() < h {
		select {
		case <-sub.C:
		case <-sub.Dropped():
			sub.Close()
			sub = n.events.Subscribe()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

var errNotReady = errors.New("node not ready")
