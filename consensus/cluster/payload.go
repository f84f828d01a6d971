package cluster

import (
	"context"
	"errors"
	"time"

	"settle/consensus/hotstuff"
	"settle/consensus/payload"
	"settle/engine/txn"
	"settle/mempool"
)

// validatePayload is the core's ValidatePayload hook (core goroutine).
func (d *Driver) validatePayload(payload []byte) error {
	if d.tracker.IsValidated(payload) {
		return nil
	}
	txs, err := d.cfg.App.ValidatePayload(payload)
	if err != nil {
		return err
	}
	d.tracker.Validated(payload, txs)
	return nil
}

// payloadResult is an assembled payload for a request (view and parent).
type payloadResult struct {
	req     hotstuff.PayloadRequest
	payload []byte
	txs     []*txn.Tx
	hashes  [][32]byte // reaped and included: requeued if the proposal fails
}

// startAssembly answers a NeedPayload without blocking the core goroutine: a
// helper goroutine waits for a full block or the block deadline (NextBatch),
// keeps what continues the parent's chain (payload.Chain.Select) and sends the
// payload back. With nothing ready it proposes an empty block after
// EmptyBlockDelay, or the block delay if longer (or after the block deadline when ancestors still carry
// transactions, so that they commit promptly): empty blocks keep views moving and
// commit the tail of the chain, at a pace an idle cluster can afford.
func (d *Driver) startAssembly(ctx context.Context, req hotstuff.PayloadRequest) {
	if d.asmCancel != nil {
		d.asmCancel()
	}
	c := d.tracker.Chain(req.Parent)
	// Never shorter than the block delay: NextBatch releases a batch smaller
	// than a block only that long after its first transaction is ready, and an
	// assembly that gave up first would propose an empty block, every view, for
	// ever once the chain carries nothing (TestPartialBatchWithLongBlockDelay).
	idle := max(d.cfg.EmptyBlockDelay, d.cfg.Block.BlockDelayMax)
	switch {
	case c.Carries():
		idle = d.cfg.Block.BlockDelayMax
	case d.quiet():
		idle = 0 // wait for a transaction, however long: see quiet
	}
	if !c.Complete {
		d.cfg.Logf("cluster: block %d: an ancestor between the parent and the executed height %d is unknown; proposing no transactions",
			req.Height, d.tracker.ExecHeight())
	}
	actx, cancel := context.WithCancel(ctx)
	d.asmCancel = cancel
	go d.assemble(actx, req, c, idle)
}

// quiet reports that an idle cluster has nothing left to finish (core
// goroutine): no block above the committed root carries transactions (the
// caller checks the chain it builds on) and the committed root claims the
// state after the last block that did, so that every committed transaction
// has its certified state claim (a proof's anchor). Then a leader proposes
// nothing until a transaction comes: empty blocks would cost every
// validator a synced write each for nothing. Its view times out instead,
// with the pacemaker's growing timeouts (up to ViewTimeoutTicksMax), and
// that is all an idle cluster writes (docs/consensus.md, "Quiet when idle").
func (d *Driver) quiet() bool {
	return !d.cfg.IdleBlocks && d.core.Committed().ExecHeight >= d.lastTxHeight
}

func (d *Driver) assemble(ctx context.Context, req hotstuff.PayloadRequest, c payload.Chain, idle time.Duration) {
	// Within, not NextBatch under a deadline: when idle is the block delay and
	// transactions are ready, both clocks end together, and the leader must
	// propose what it has rather than an empty block.
	entries, err := d.cfg.Pool.NextBatchWithin(ctx, d.cfg.Block, req.Height, idle, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		d.cfg.Logf("cluster: assemble block %d: %v", req.Height, err)
	}
	sel := c.Select(entries, d.cfg.App.NextSeq)
	d.requeue(sel.Requeue)
	res := payloadResult{req: req, txs: sel.Txs, hashes: sel.Hashes}
	if len(sel.Txs) > 0 {
		raws := make([][]byte, len(sel.Txs))
		for i, tx := range sel.Txs {
			raws[i] = tx.Bytes()
		}
		res.payload = txn.EncodeBatch(raws)
	}
	select {
	case d.payloadC <- res:
	case <-ctx.Done():
		d.requeue(res.hashes)
	}
}

// holdCarried marks in the mempool the transactions of a block the core
// accepted, so that this validator's next proposal does not reap them again
// only for payload.Select to hold them back (mempool.Pool.Hold). The tracker's
// Abandon returns them to the queue if the block loses.
func (d *Driver) holdCarried(info *payload.Info) {
	if len(info.Txs) == 0 {
		return
	}
	cs := make([]mempool.Carried, len(info.Txs))
	for i, tx := range info.Txs {
		cs[i] = mempool.Carried{Sender: tx.Sender, Hash: info.Hashes[i]}
	}
	d.cfg.Pool.Hold(cs)
}

func (d *Driver) requeue(hashes [][32]byte) {
	if len(hashes) > 0 {
		d.cfg.Pool.Requeue(hashes)
	}
}

// propose hands an assembled payload to the core (core goroutine).
func (d *Driver) propose(res payloadResult) {
	d.tracker.Validated(res.payload, res.txs) // mempool entries: verified on admission
	if err := d.core.Propose(res.req, res.payload); err != nil {
		d.requeue(res.hashes)
		if !errors.Is(err, hotstuff.ErrNoPending) {
			d.cfg.Logf("cluster: propose view %d: %v", res.req.View, err)
		}
		return
	}
	d.counters.proposals.Add(1)
}
