package hotstuff

import "fmt"

// forks is the tree of blocks above the last committed block (the root).
// INVARIANT: every block in blocks descends from root, and root is the highest
// committed block. Blocks whose parent is unknown wait in pending (bounded).
type forks struct {
	root         *Block
	top          uint64 // the highest height in blocks
	blocks       map[Hash]*Block
	pending      map[Hash][]pendingBlock // keyed by the missing parent's hash
	pendingCount int
	pendingMax   int
	parked       map[Hash]struct{} // hashes of the blocks in pending
	unsafeCommit bool
}

type pendingBlock struct {
	block *Block
	tc    *TC
	from  ValidatorIndex
	// certified: a verified QC names the block (sync), so its payload was
	// validated by at least f+1 honest voters and the payload hook is skipped.
	certified bool
}

func newForks(root *Block, pendingMax int, unsafeCommit bool) *forks {
	f := &forks{root: root, blocks: map[Hash]*Block{}, pending: map[Hash][]pendingBlock{}, parked: map[Hash]struct{}{}, pendingMax: pendingMax, unsafeCommit: unsafeCommit}
	f.blocks[root.Hash()] = root
	f.top = root.Height
	return f
}

func (f *forks) get(h Hash) (*Block, bool) {
	b, ok := f.blocks[h]
	return b, ok
}

// add inserts b. INVARIANT: its parent is in the tree, so it descends from root.
func (f *forks) add(b *Block) {
	if _, ok := f.blocks[b.Parent]; !ok {
		panic(fmt.Sprintf("hotstuff: block %s added without its parent %s", b.Hash(), b.Parent))
	}
	f.blocks[b.Hash()] = b
	f.top = max(f.top, b.Height)
}

// park keeps b until its parent arrives; false when the buffer is full.
func (f *forks) park(p pendingBlock) bool {
	for _, q := range f.pending[p.block.Parent] {
		if q.block.Hash() == p.block.Hash() {
			return true
		}
	}
	if f.pendingCount >= f.pendingMax {
		return false
	}
	f.pending[p.block.Parent] = append(f.pending[p.block.Parent], p)
	f.parked[p.block.Hash()] = struct{}{}
	f.pendingCount++
	return true
}

// unpark removes and returns the blocks waiting for parent.
func (f *forks) unpark(parent Hash) []pendingBlock {
	ps := f.pending[parent]
	delete(f.pending, parent)
	f.pendingCount -= len(ps)
	for _, p := range ps {
		delete(f.parked, p.block.Hash())
	}
	return ps
}

func (f *forks) isParked(h Hash) bool {
	_, ok := f.parked[h]
	return ok
}

// toCommit applies the commit rule to a QC for block b1 and returns the blocks it
// commits, in height order (nil if none).
//
// The 2-chain rule: b1's parent b0 is committed when b1 is certified AND
// b1.View == b0.View+1. Checking the parent link alone is not enough: the views
// must be consecutive (the Fast-HotStuff flaw found with Twins).
//
//	b0 (view v) <-- b1 (view v+1) <-- QC(b1, v+1)   ⇒ commit b0 and its ancestors
func (f *forks) toCommit(b1 *Block) []*Block {
	b0, ok := f.blocks[b1.Parent]
	if !ok || b0.Height <= f.root.Height {
		return nil
	}
	if b0.View+1 != b1.View && !f.unsafeCommit {
		return nil
	}
	var chain []*Block
	for b := b0; b != f.root; {
		chain = append(chain, b)
		p, ok := f.blocks[b.Parent]
		if !ok {
			panic(fmt.Sprintf("hotstuff: block %s in the tree does not reach the root", b.Hash()))
		}
		b = p
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

// provenCommitted is the highest height that the chain up to a new child of
// parent proves committed by the 2-chain rule: the parent of the highest
// ancestor (from parent down) certified in the view after its own parent's.
// Every validator that validates the child has processed those certificates
// and committed that height. 0 when no such pair lies above the root: the
// root may have been committed through another fork.
func (f *forks) provenCommitted(parent *Block) uint64 {
	for x := parent; x != f.root; {
		g, ok := f.blocks[x.Parent]
		if !ok {
			return 0
		}
		if x.View == g.View+1 {
			return g.Height
		}
		x = g
	}
	return 0
}

// commit makes b the new root and prunes every block that does not descend from it.
func (f *forks) commit(b *Block) {
	if b.Height <= f.root.Height {
		panic("hotstuff: commit must raise the committed height")
	}
	f.root = b
	keep := map[Hash]*Block{b.Hash(): b}
	for h, blk := range f.blocks {
		if blk.Height > b.Height && f.descends(blk, b) {
			keep[h] = blk
		}
	}
	f.blocks = keep
	for parent, ps := range f.pending {
		if ps[0].block.Height <= b.Height {
			f.unpark(parent)
		}
	}
}

func (f *forks) descends(blk, anc *Block) bool {
	for blk.Height > anc.Height {
		p, ok := f.blocks[blk.Parent]
		if !ok {
			return false
		}
		blk = p
	}
	return blk == anc
}
