package hotstuff

import "fmt"

// Block sync has two modes.
//
// Near the tip, a proposal or QC naming an unknown block parks what waits for
// it and fetches the block and its ancestors by hash (Fetch → SyncRequest).
//
// Far behind (a restarted or wiped validator, a healed partition), walking back
// by hash from the newest block would park the whole gap before inserting
// anything. Instead the core catches up forward: it asks for ranges of heights
// from its committed root upward (RangeRequest), up to SyncPipelineMax ranges of
// SyncBlocksMax blocks in flight to different peers, and inserts each answer as
// it arrives. Blocks arriving more than the catch-up window above the root are
// not parked: the ranges will bring them.
//
// A block that the answer itself certifies (the next block's QC, or the high
// QC, names it; both verified) skips the payload hook: 2f+1 validators voted for
// it, so at least f+1 honest ones validated its payload already. Catching up
// then costs the certificates' signatures, not every transaction's.

// catchup is the forward sync state.
type catchup struct {
	known    uint64              // highest block height seen in a verified block
	hint     ValidatorIndex      // a peer that showed it
	inflight map[uint64]rangeAsk // first height asked → when and whom
	next     uint64              // the lowest height not yet asked for
	asked    uint64              // range requests sent (stats)
}

type rangeAsk struct {
	tick uint64
	peer ValidatorIndex
}

// SyncStatus says how far this validator knows it is behind.
type SyncStatus struct {
	Known     uint64 // highest block height seen
	Committed uint64 // the core's committed height
	Top       uint64 // highest block in the tree
	Next      uint64 // lowest height not yet asked for
	Parked    int    // blocks waiting for their parent
	Ranges    int    // range requests in flight
	Asked     uint64 // range requests sent so far
}

// Behind is the number of blocks seen but not yet committed here.
func (s SyncStatus) Behind() uint64 {
	if s.Known > s.Committed {
		return s.Known - s.Committed
	}
	return 0
}

// Sync reports the catch-up state.
func (c *Core) Sync() SyncStatus {
	return SyncStatus{Known: c.sync.known, Committed: c.forks.root.Height, Top: c.forks.top, Next: c.sync.next,
		Parked: c.forks.pendingCount, Ranges: len(c.sync.inflight), Asked: c.sync.asked}
}

// farBehind reports that the newest block seen is more than one sync message
// above the committed root: catching up is the ranges' job.
func (c *Core) farBehind() bool {
	return c.sync.known > c.forks.root.Height+uint64(c.cfg.SyncBlocksMax)
}

// window is how far above the root a block may be parked; beyond, ranges fetch it.
func (c *Core) window() uint64 {
	return uint64(c.cfg.SyncPipelineMax+1) * uint64(c.cfg.SyncBlocksMax)
}

// requestRanges keeps up to SyncPipelineMax range requests in flight, from the
// committed root upward, while the highest known block is above the highest
// block in the tree. It starts only when that gap is more than one hash fetch
// can bring (SyncBlocksMax); nearer the tip, fetches by hash serve.
//
// Two rules keep it live whatever the answers are. It asks only for ranges
// that fit in the parking window, so no answer is cut for arriving too early.
// And the tree holds every height from the root to its top, so top+1 is always
// missing: when no request in flight covers it (an answer came back short, for
// bytes, or cut, or a peer lagged), asking resumes from there.
func (c *Core) requestRanges() {
	root := c.forks.root.Height
	for from := range c.sync.inflight {
		if from <= root {
			delete(c.sync.inflight, from)
		}
	}
	if c.sync.known <= c.forks.top {
		clear(c.sync.inflight)
		c.sync.next = 0
		return
	}
	if len(c.sync.inflight) == 0 && c.sync.known <= root+uint64(c.cfg.SyncBlocksMax) {
		return
	}
	step := uint64(c.cfg.SyncBlocksMax)
	gap := c.forks.top + 1
	if !c.sync.covers(gap, step) {
		c.sync.next = min(c.sync.next, gap)
	}
	from := max(c.sync.next, gap)
	last := root + c.window() // the highest height an answer may bring
	for len(c.sync.inflight) < c.cfg.SyncPipelineMax && from <= c.sync.known && from+step-1 <= last {
		if !c.sync.covers(from, step) {
			peer := c.rangePeer(len(c.sync.inflight))
			c.sync.inflight[from] = rangeAsk{tick: c.ticks, peer: peer}
			c.sync.asked++
			c.send(peer, &RangeRequest{FromHeight: from, CountMax: uint16(step)})
		}
		from += step
	}
	c.sync.next = from
}

// covers reports whether a range in flight includes height h.
func (s *catchup) covers(h, step uint64) bool {
	for from := range s.inflight {
		if from <= h && h < from+step {
			return true
		}
	}
	return false
}

// retryRanges asks again, elsewhere, for ranges unanswered for a base timeout.
func (c *Core) retryRanges() {
	for from, a := range c.sync.inflight {
		if c.ticks-a.tick >= uint64(c.cfg.ViewTimeoutTicks) {
			delete(c.sync.inflight, from)
			c.sync.next = min(c.sync.next, from)
		}
	}
	c.requestRanges()
}

// rangePeer spreads the k-th concurrent request over the other validators,
// starting from the one that showed the newest block, rotating on every retry.
func (c *Core) rangePeer(k int) ValidatorIndex {
	n := c.vals.n()
	if n < 2 {
		return c.self
	}
	start := int(c.sync.hint) + k + int(c.sync.asked)
	for i := 0; i < n; i++ {
		if p := ValidatorIndex((start + i) % n); p != c.self {
			return p
		}
	}
	return c.self
}

// onSyncRequest answers with the requested block and up to CountMax-1 ancestors,
// oldest first, from the block tree and then from Storage, plus the high QC.
func (c *Core) onSyncRequest(from ValidatorIndex, r *SyncRequest) error {
	if from == c.self {
		return fmt.Errorf("sync request from self: %w", ErrNotForMe)
	}
	count := min(int(r.CountMax), c.cfg.SyncBlocksMax)
	var chain []*Block
	size := 0
	for h := r.Hash; len(chain) < count; {
		b, ok := c.forks.get(h)
		if !ok && c.cfg.Storage != nil {
			b, ok = c.cfg.Storage.Block(h)
		}
		if !ok || b.Height == 0 || (len(chain) > 0 && size+len(b.Payload) > c.cfg.SyncBytesMax) {
			break
		}
		chain = append(chain, b)
		size += len(b.Payload)
		h = b.Parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	hq := c.safety.HighQC
	c.send(from, &SyncResponse{Blocks: chain, HighQC: &hq})
	return nil
}

// onRangeRequest answers with this validator's chain from FromHeight on: the
// committed blocks (Storage below the root, then the root), then the certified
// blocks above the root toward the high QC's block, oldest first, bounded by
// count and bytes, plus the high QC.
func (c *Core) onRangeRequest(from ValidatorIndex, r *RangeRequest) error {
	if from == c.self {
		return fmt.Errorf("range request from self: %w", ErrNotForMe)
	}
	if r.FromHeight == 0 {
		return fmt.Errorf("%w: range request from height 0", ErrMalformed)
	}
	count := min(int(r.CountMax), c.cfg.SyncBlocksMax)
	var chain []*Block
	size := 0
	add := func(b *Block) bool {
		if len(chain) >= count || (len(chain) > 0 && size+len(b.Payload) > c.cfg.SyncBytesMax) {
			return false
		}
		chain = append(chain, b)
		size += len(b.Payload)
		return true
	}
	root := c.forks.root
	for h := r.FromHeight; h < root.Height; h++ {
		b, ok := c.blockAt(h)
		if !ok || !add(b) {
			break
		}
	}
	full := len(chain) >= count
	if !full && r.FromHeight <= root.Height && (len(chain) == 0 || chain[len(chain)-1].Height == root.Height-1) {
		full = !add(root)
	}
	if !full && len(chain) > 0 && chain[len(chain)-1].Height == root.Height || r.FromHeight > root.Height {
		for _, b := range c.certifiedAbove(root) {
			if b.Height >= r.FromHeight && !add(b) {
				break
			}
		}
	}
	hq := c.safety.HighQC
	c.send(from, &SyncResponse{Blocks: chain, HighQC: &hq})
	return nil
}

// blockAt returns the committed block at height (below the root).
func (c *Core) blockAt(height uint64) (*Block, bool) {
	if c.cfg.Storage == nil {
		return nil, false
	}
	return c.cfg.Storage.BlockAt(height)
}

// certifiedAbove returns the blocks from just above root to the high QC's block,
// oldest first (empty if that block is not in the tree).
func (c *Core) certifiedAbove(root *Block) []*Block {
	var path []*Block
	b, ok := c.forks.get(c.safety.HighQC.BlockHash)
	for ok && b.Height > root.Height {
		path = append(path, b)
		b, ok = c.forks.get(b.Parent)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// onSyncResponse verifies and inserts the blocks of a response. A block's own QC
// certifies its parent, so a linked chain is self-certifying; the first block's
// parent is fetched in turn if unknown (near the tip), or comes from another
// range (catching up).
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
	if len(r.Blocks) > 0 {
		delete(c.sync.inflight, r.Blocks[0].Height)
	}
	// Blocks beyond the parking window would be verified only to be dropped:
	// cut them before any signature is checked (heights are only trusted to skip
	// work here; what is kept is verified as usual).
	limit := c.forks.root.Height + c.window()
	keep := len(r.Blocks)
	for keep > 0 && r.Blocks[keep-1].Height > limit {
		keep--
	}
	if keep < len(r.Blocks) {
		// The known height is not raised from these unverified heights: a
		// Byzantine peer could otherwise keep this validator "behind" for ever.
		r = &SyncResponse{Blocks: r.Blocks[:keep], HighQC: r.HighQC}
	}
	certified := c.certifiedIn(r)
	for i, b := range r.Blocks {
		if err := c.acceptSynced(from, b, certified[i]); err != nil {
			return fmt.Errorf("sync block height %d: %w", b.Height, err)
		}
	}
	c.requestRanges()
	return nil
}

// certifiedIn says which blocks of a linked response a verified QC of the same
// response certifies: each block but the last by its successor's QC, the last by
// the (already verified) high QC.
func (c *Core) certifiedIn(r *SyncResponse) []bool {
	out := make([]bool, len(r.Blocks))
	for i := 0; i+1 < len(r.Blocks); i++ {
		next := r.Blocks[i+1]
		out[i] = next.QC.BlockHash == r.Blocks[i].Hash() && c.cert.verifyQC(&next.QC) == nil
	}
	if n := len(r.Blocks); n > 0 && r.HighQC != nil && r.HighQC.BlockHash == r.Blocks[n-1].Hash() {
		out[n-1] = true
	}
	return out
}

func (c *Core) acceptSynced(from ValidatorIndex, b *Block, certified bool) error {
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
	if b.Height > c.sync.known {
		c.sync.known, c.sync.hint = b.Height, from
	}
	return c.insertBlock(pendingBlock{block: b, from: from, certified: certified})
}
