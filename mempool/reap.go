package mempool

// shardHead is one shard's best candidate in Reap's merge across shards.
type shardHead struct {
	shard int
	fee   uint64
	stamp uint64
}

func headOf[T any](i int, a *account[T]) shardHead {
	return shardHead{shard: i, fee: a.headFeeKey, stamp: a.readyStamp}
}

type pickResult uint8

const (
	picked pickResult = iota
	pickEmpty
	pickNoFit
)

// Reap appends to dst up to maxCount ready transactions totalling at most
// maxBytes, for the block at height, and marks them proposed: they stay in the
// pool (Has reports them, their sequences stay taken) until Commit removes them
// or Requeue returns them. Pass dst[:0] of a reused slice to avoid allocation.
//
// Per sender it takes only consecutive sequences from the sender's next expected
// one (committed next sequence plus those already proposed). Across senders it
// takes one transaction per sender per round, senders in the order they became
// ready (round robin); when the pool is under pressure (MinFee above BaseFee) it
// takes the highest fee first instead. It stops at the first transaction that does
// not fit in the bytes left, so it never reorders to pack a block: a block ends at
// most one transaction short of maxBytes. Expired entries it meets are dropped.
//
// Cost: O(Shards) to start, then O(log Shards + log n) per transaction taken.
func (p *Pool[T]) Reap(maxCount, maxBytes int, height uint64, dst []Entry[T]) []Entry[T] {
	p.asm.Lock()
	defer p.asm.Unlock()
	if maxCount <= 0 || maxBytes <= 0 {
		return dst
	}
	pressure := p.underPressure()
	merge := &p.asm.mergeFair
	if pressure {
		merge = &p.asm.mergeFee
	}
	merge.items = merge.items[:0]
	for i := range p.shards {
		s := &p.shards[i]
		if s.readyCount.Load() == 0 {
			continue
		}
		s.mu.Lock()
		if a := s.headLocked(pressure); a != nil {
			merge.push(headOf(i, a))
		}
		s.mu.Unlock()
	}
	count, bytes := 0, 0
	dropBudget := p.cfg.ExpirySweepMax
	for count < maxCount && merge.len() > 0 {
		i := merge.items[0].shard
		s := &p.shards[i]
		s.mu.Lock()
		e, res := p.pickLocked(s, pressure, height, maxBytes-bytes, &dropBudget)
		a := s.headLocked(pressure)
		var next shardHead
		if a != nil {
			next = headOf(i, a)
		}
		s.mu.Unlock()
		if res == pickNoFit {
			break
		}
		if res == picked {
			dst = append(dst, e)
			count++
			bytes += e.SizeBytes
		}
		if a != nil && res == picked {
			merge.items[0] = next
			merge.fix(0)
		} else {
			merge.remove(0)
		}
	}
	return dst
}

// pickLocked takes the shard's best ready transaction and marks it proposed.
// Expired heads are dropped on the way, up to *dropBudget of them.
func (p *Pool[T]) pickLocked(s *shard[T], pressure bool, height uint64, bytesLeft int, dropBudget *int) (Entry[T], pickResult) {
	for {
		a := s.headLocked(pressure)
		if a == nil {
			return Entry[T]{}, pickEmpty
		}
		i := a.proposedN
		n := a.nodes[i]
		if n.e.LastValid < height {
			if *dropBudget == 0 {
				return Entry[T]{}, pickEmpty
			}
			*dropBudget--
			p.expired.Add(1)
			p.dropLocked(n, DropExpired, "")
			p.removeRangeLocked(s, a, i, i+1, true)
			p.normalizeLocked(s, a)
			continue
		}
		if n.e.SizeBytes > bytesLeft {
			return Entry[T]{}, pickNoFit
		}
		n.proposed = true
		s.mu.expiry.remove(n.expIdx)
		a.proposedN++
		a.readyN--
		a.readyBytes -= n.e.SizeBytes
		s.proposedCount.Add(1)
		s.readyCount.Add(-1)
		s.readyBytes.Add(-int64(n.e.SizeBytes))
		p.reindexLocked(s, a, true)
		return n.e, picked
	}
}

// Committed describes one transaction of a committed block.
type Committed struct {
	Hash    [32]byte
	Sender  [20]byte
	NextSeq uint64 // the sender's committed next sequence after this transaction
	// Applied says the transaction consumed its sequence (its receipt is final).
	// A transaction the block carried but that did not apply (a failed
	// precondition: sequence, expiry, signer, fee) changed nothing and its hash
	// is not consumed: with Retry it stays queued (its predecessor was missing,
	// say, so it may apply in a later block); without, it is dropped with Reason.
	Applied bool
	Retry   bool
	Reason  string // the execution result of a transaction that did not apply
}

// Commit is called once per committed block, in height order, with the block's
// transactions. It removes the applied ones and every queued transaction of
// their senders below the new next sequence (superseded by the block's), drops
// the ones that did not apply unless they may apply later (Committed.Retry: they
// stay queued, and return to the queue if this validator had proposed them),
// and sweeps up to Config.ExpirySweepMax entries that can no longer be included
// (LastValid <= height). Transactions of the block that the pool never saw only
// update the sender's next sequence. Proposed transactions not in the block stay
// proposed: Requeue them if their block was abandoned.
//
// Cost: O(len(txs) * AccountTxMax + swept * log n); never a scan of the pool.
func (p *Pool[T]) Commit(height uint64, txs []Committed) {
	p.asm.Lock()
	defer p.asm.Unlock()
	for k := range txs {
		c := &txs[k]
		s := p.shardFor(c.Sender)
		s.mu.Lock()
		a := s.mu.accounts[c.Sender]
		if a == nil {
			s.recordRecentLocked(c.Sender, c.NextSeq)
			s.mu.Unlock()
			continue
		}
		committedHash := &c.Hash
		if !c.Applied {
			committedHash = nil
		}
		p.advanceLocked(s, a, c.NextSeq, committedHash)
		// An applied transaction is below NextSeq and gone by now; one that did not
		// apply may still be queued.
		if n, ok := s.mu.byHash[c.Hash]; ok {
			a = n.acc
			i := a.searchSeq(n.e.Seq)
			switch {
			case c.Retry && !c.Applied:
				p.unproposeFromLocked(s, a, i)
			default:
				if !c.Applied {
					p.dropLocked(n, DropFailed, c.Reason)
				}
				p.removeRangeLocked(s, a, i, i+1, true)
			}
			p.normalizeLocked(s, a)
		}
		s.mu.Unlock()
	}
	p.sweepExpired(height+1, p.cfg.ExpirySweepMax)
	if count, _ := p.readyTotals(); count > 0 {
		p.signal()
	}
}

// sweepExpired removes up to budget unproposed entries with LastValid < height,
// visiting shards round robin from where the last sweep stopped. Each shard's
// expiry heap yields only expired entries, so the work is O(Shards + budget*log n).
func (p *Pool[T]) sweepExpired(height uint64, budget int) {
	for k := 0; k < len(p.shards) && budget > 0; k++ {
		i := (p.asm.sweepShard + k) % len(p.shards)
		s := &p.shards[i]
		s.mu.Lock()
		for budget > 0 && s.mu.expiry.len() > 0 && s.mu.expiry.items[0].lastValid < height {
			n := s.mu.expiry.items[0].n
			a := n.acc
			j := a.searchSeq(n.e.Seq)
			p.dropLocked(n, DropExpired, "")
			p.removeRangeLocked(s, a, j, j+1, true)
			p.normalizeLocked(s, a)
			p.expired.Add(1)
			budget--
		}
		s.mu.Unlock()
		if budget == 0 {
			p.asm.sweepShard = i // this shard may have more
		}
	}
}

// Requeue returns proposed transactions whose block consensus abandoned to the
// queue. Proposed transactions of the same sender with higher sequences return
// too (no block can hold them without the earlier ones). Unknown or unproposed
// hashes are ignored. A sender that was not ready joins the back of the round.
//
// Cost: O(Shards + AccountTxMax) per hash.
func (p *Pool[T]) Requeue(hashes [][32]byte) {
	p.asm.Lock()
	defer p.asm.Unlock()
	for _, h := range hashes {
		for i := range p.shards {
			s := &p.shards[i]
			s.mu.Lock()
			n, ok := s.mu.byHash[h]
			if ok && n.proposed {
				a := n.acc
				p.unproposeFromLocked(s, a, a.searchSeq(n.e.Seq))
				p.normalizeLocked(s, a)
			}
			s.mu.Unlock()
			if ok {
				break
			}
		}
	}
	if count, _ := p.readyTotals(); count > 0 {
		p.signal()
	}
}

// Carried names a transaction of a block: its sender and hash.
type Carried struct {
	Sender [20]byte
	Hash   [32]byte
}

// Hold marks as proposed the entries that a block built by another validator
// carries, in the block's order, as Reap marks what this validator proposes.
// Without it this validator's next Reap would hand out those entries again
// (they are only "ready" here, having come by gossip), and the payload
// selection would then hold them back as carried by an ancestor: each block's
// room went to transactions already on the chain, and at long round trips,
// with two or three uncommitted ancestors, blocks came out at a fraction of
// their limit. Only an account's next ready entry can be held, so the
// proposed prefix stays consecutive; others are left as they are. Held entries
// live as reaped ones do: Commit removes them, and Requeue returns them when
// their block is abandoned.
func (p *Pool[T]) Hold(txs []Carried) {
	p.asm.Lock()
	defer p.asm.Unlock()
	for _, c := range txs {
		s := p.shardFor(c.Sender)
		s.mu.Lock()
		if a := s.mu.accounts[c.Sender]; a != nil && a.readyN > 0 && a.nodes[a.proposedN].e.Hash == c.Hash {
			n := a.nodes[a.proposedN]
			n.proposed = true
			s.mu.expiry.remove(n.expIdx)
			a.proposedN++
			a.readyN--
			a.readyBytes -= n.e.SizeBytes
			s.proposedCount.Add(1)
			s.readyCount.Add(-1)
			s.readyBytes.Add(-int64(n.e.SizeBytes))
			p.reindexLocked(s, a, false)
		}
		s.mu.Unlock()
	}
}
