package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"settle/consensus/hotstuff"
	"settle/engine/txn"
)

// payloadCache maps a payload's SHA-256 to its decoded, verified transactions,
// so that a block validated at vote time is not decoded or verified again at
// commit. Bounded: the oldest entry goes first. Core goroutine only.
type payloadCache struct {
	m     map[[32]byte][]*txn.Tx
	order [][32]byte
	max   int
}

func newPayloadCache(n int) payloadCache {
	return payloadCache{m: make(map[[32]byte][]*txn.Tx, n), max: n}
}

func (c *payloadCache) get(payload []byte) ([]*txn.Tx, bool) {
	if len(payload) == 0 {
		return nil, true
	}
	txs, ok := c.m[sha256.Sum256(payload)]
	return txs, ok
}

func (c *payloadCache) put(payload []byte, txs []*txn.Tx) {
	if len(payload) == 0 {
		return
	}
	k := sha256.Sum256(payload)
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = txs
	c.order = append(c.order, k)
}

// validatePayload is the core's ValidatePayload hook (core goroutine).
func (d *Driver) validatePayload(payload []byte) error {
	if _, ok := d.cache.get(payload); ok {
		return nil
	}
	txs, err := d.cfg.App.ValidatePayload(payload)
	if err != nil {
		return err
	}
	d.cache.put(payload, txs)
	return nil
}

// payloadResult is an assembled payload for view.
type payloadResult struct {
	view    uint64
	payload []byte
	txs     []*txn.Tx
	hashes  [][32]byte // reaped and included: requeued if the proposal fails
}

// inflight returns the transactions of the blocks from parent down to the
// executed height: they are ordered (or about to be executed) already, so a new
// block must not include them again although the local mempool may still hold
// them as ready (gossip).
func (d *Driver) inflight(parent hotstuff.Hash) map[[32]byte]struct{} {
	set := map[[32]byte]struct{}{}
	for h := parent; ; {
		info, ok := d.blocks[h]
		if !ok || info.block.Height <= d.execHeight {
			return set
		}
		for _, th := range info.hashes {
			set[th] = struct{}{}
		}
		h = info.block.Parent
	}
}

// startAssembly answers a NeedPayload without blocking the core goroutine: a
// helper goroutine waits for a full block or the block deadline (NextBatch) and
// sends the payload back. With nothing ready it proposes an empty block after
// EmptyBlockDelay (or after the block deadline when ancestors still carry
// transactions, so that they commit promptly): empty blocks keep views moving and
// commit the tail of the chain, at a pace an idle cluster can afford.
func (d *Driver) startAssembly(ctx context.Context, req *hotstuff.PayloadRequest) {
	if d.asmCancel != nil {
		d.asmCancel()
	}
	exclude := d.inflight(req.Parent)
	idle := d.cfg.EmptyBlockDelay
	if len(exclude) > 0 {
		idle = d.cfg.Block.BlockDelayMax
	}
	actx, cancel := context.WithCancel(ctx)
	d.asmCancel = cancel
	go d.assemble(actx, *req, exclude, idle)
}

func (d *Driver) assemble(ctx context.Context, req hotstuff.PayloadRequest, exclude map[[32]byte]struct{}, idle time.Duration) {
	tctx, cancel := context.WithTimeout(ctx, idle)
	entries, err := d.cfg.Pool.NextBatch(tctx, d.cfg.Block, req.Height, nil)
	cancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		d.cfg.Logf("cluster: assemble block %d: %v", req.Height, err)
	}
	res := payloadResult{view: req.View}
	raws := make([][]byte, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		if _, dup := exclude[e.Hash]; dup {
			continue // stays proposed here; its ancestor block commits or is abandoned
		}
		tx := e.Tx.(*txn.Tx)
		raws = append(raws, tx.Bytes())
		res.txs = append(res.txs, tx)
		res.hashes = append(res.hashes, e.Hash)
	}
	if len(raws) > 0 {
		res.payload = txn.EncodeBatch(raws)
	}
	select {
	case d.payloadC <- res:
	case <-ctx.Done():
		d.requeue(res.hashes)
	}
}

func (d *Driver) requeue(hashes [][32]byte) {
	if len(hashes) > 0 {
		d.cfg.Pool.Requeue(hashes)
	}
}

// propose hands an assembled payload to the core (core goroutine).
func (d *Driver) propose(res payloadResult) {
	d.cache.put(res.payload, res.txs) // mempool entries: verified on admission
	if err := d.core.Propose(res.view, res.payload); err != nil {
		d.requeue(res.hashes)
		if !errors.Is(err, hotstuff.ErrNoPending) {
			d.cfg.Logf("cluster: propose view %d: %v", res.view, err)
		}
		return
	}
	d.counters.proposals.Add(1)
}
