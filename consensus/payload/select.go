package payload

import (
	"settle/consensus/hotstuff"
	"settle/engine/txn"
	"settle/mempool"
)

// Chain is what the blocks from a proposal's parent down to the executed height
// carry: the hashes of their transactions and, per sender, their sequences in
// chain order.
type Chain struct {
	hashes map[[32]byte]struct{}
	seqs   map[txn.AccountID][]uint64
	// Complete is false when an ancestor between the parent and the executed
	// height is not tracked: Select then proposes nothing rather than guess.
	Complete bool
}

// Chain collects what the ancestors of parent above the executed height carry.
func (t *Tracker) Chain(parent hotstuff.Hash) Chain {
	c := Chain{hashes: map[[32]byte]struct{}{}, seqs: map[txn.AccountID][]uint64{}}
	var path []*Info
	h := parent
	for {
		info, ok := t.blocks[h]
		if !ok {
			// Untracked: the genesis block, or a block at or below the executed
			// height (forgotten once executed). Anything else is a gap.
			break
		}
		if info.Block.Height <= t.execHeight {
			break
		}
		path = append(path, info)
		h = info.Block.Parent
	}
	c.Complete = len(path) == 0 || path[len(path)-1].Block.Height == t.execHeight+1
	for i := len(path) - 1; i >= 0; i-- { // oldest first
		for k, tx := range path[i].Txs {
			c.hashes[path[i].Hashes[k]] = struct{}{}
			c.seqs[tx.Sender] = append(c.seqs[tx.Sender], tx.Seq)
		}
	}
	return c
}

// Holds reports whether an ancestor carries the transaction.
func (c *Chain) Holds(hash [32]byte) bool {
	_, ok := c.hashes[hash]
	return ok
}

// Selection is what Select decided for a reaped batch.
type Selection struct {
	Txs    []*txn.Tx  // to propose, in the reaped order
	Hashes [][32]byte // their hashes
	// Requeue are reaped entries that cannot go in now: the mempool puts them
	// (and their senders' later proposed entries) back in the queue.
	Requeue [][32]byte
	// Held are reaped entries an ancestor already carries (they stay proposed),
	// Stale those whose sequence the committed state already passed (they stay
	// proposed until the mempool's Commit removes them).
	Held, Stale int
}

// Select keeps the entries of a reaped batch that apply next on the chain:
// per sender, the entry whose sequence is the sender's next one after the
// committed state (nextSeq) and the chain's ancestors. nextSeq may read a
// committed state newer than the chain's executed height: the fold below skips
// what it already counts. A sender whose entry cannot go in contributes nothing
// more to this batch (its later entries cannot apply before it).
//
// INVARIANT: the selected transactions, appended to the chain, give every
// sender a gap-free run of sequences, and none is carried by an ancestor.
func (c *Chain) Select(entries []mempool.Entry[*txn.Tx], nextSeq func(txn.AccountID) uint64) Selection {
	var sel Selection
	if !c.Complete {
		for i := range entries {
			sel.Requeue = append(sel.Requeue, entries[i].Hash)
		}
		return sel
	}
	type senderState struct {
		committed, next uint64
		blocked         bool
	}
	state := map[txn.AccountID]*senderState{}
	for i := range entries {
		e := &entries[i]
		if c.Holds(e.Hash) {
			sel.Held++
			continue
		}
		tx := e.Tx
		st := state[tx.Sender]
		if st == nil {
			committed := nextSeq(tx.Sender)
			st = &senderState{committed: committed, next: committed}
			for _, seq := range c.seqs[tx.Sender] {
				if seq == st.next {
					st.next++
				}
			}
			state[tx.Sender] = st
		}
		switch {
		case !st.blocked && tx.Seq == st.next:
			sel.Txs = append(sel.Txs, tx)
			sel.Hashes = append(sel.Hashes, e.Hash)
			st.next++
		case tx.Seq < st.committed:
			sel.Stale++
		default:
			// A gap (its predecessor is in no ancestor: an orphaned block of ours
			// holds it, say) or a conflict with another transaction of its
			// sequence that an ancestor carries.
			st.blocked = true
			sel.Requeue = append(sel.Requeue, e.Hash)
		}
	}
	return sel
}

// Carries reports whether the ancestors carry any transaction.
func (c *Chain) Carries() bool { return len(c.hashes) > 0 }
