package hotstuff

import "fmt"

// onSyncRequest answers with the requested block and up to CountMax-1 ancestors,
// oldest first, from the block tree and then from Storage, plus the high QC.
func (c *Core) onSyncRequest(from ValidatorIndex, r *SyncRequest) error {
	if from == c.self {
		return fmt.Errorf("sync request from self: %w", ErrNotForMe)
	}
	count := min(int(r.CountMax), c.cfg.SyncBlocksMax)
	var chain []*Block
	for h := r.Hash; len(chain) < count; {
		b, ok := c.forks.get(h)
		if !ok && c.cfg.Storage != nil {
			b, ok = c.cfg.Storage.Block(h)
		}
		if !ok || b.Height == 0 {
			break
		}
		chain = append(chain, b)
		h = b.Parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	hq := c.safety.HighQC
	c.send(from, &SyncResponse{Blocks: chain, HighQC: &hq})
	return nil
}

// onSyncResponse verifies and inserts the blocks of a response. A block's own QC
// certifies its parent, so a linked chain is self-certifying; the first block's
// parent is fetched in turn if unknown, walking back to the committed root.
func (c *Core) onSyncResponse(from ValidatorIndex, r *SyncResponse) error {
	if len(r.Blocks) > c.cfg.SyncBlocksMax {
		return fmt.Errorf("%w: sync response of %d blocks", ErrMalformed, len(r.Blocks))
	}
	for i := 1; i < len(r.Blocks); i++ {
		if r.Blocks[i].Parent != r.Blocks[i-1].Hash() {
			return fmt.Errorf("%w: sync response blocks are not linked", ErrMalformed)
		}
	}
	if r.HighQC != nil {
		if err := c.cert.verifyQC(r.HighQC); err != nil {
			return fmt.Errorf("sync high QC: %w", err)
		}
		c.processQC(r.HighQC, from)
	}
	for _, b := range r.Blocks {
		if err := c.acceptSynced(from, b); err != nil {
			return fmt.Errorf("sync block height %d: %w", b.Height, err)
		}
	}
	return nil
}

func (c *Core) acceptSynced(from ValidatorIndex, b *Block) error {
	if b.Height <= c.forks.root.Height {
		return nil // already committed here
	}
	if _, ok := c.forks.get(b.Hash()); ok {
		return nil
	}
	if err := c.verifyBlock(b, nil, false); err != nil {
		return err
	}
	c.processQC(&b.QC, from)
	return c.insertBlock(pendingBlock{block: b, from: from})
}
