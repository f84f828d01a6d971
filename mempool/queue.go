package mempool

// This file keeps an account's queue and the shard's indexes in step. Fast paths
// (Add appending, Reap taking the head) update incrementally; the rare paths
// (Commit, Requeue, expiry, eviction, replacement) call normalizeLocked, which
// rebuilds the account's derived state in O(AccountTxMax).

// insertNodeLocked puts a new node for e at position i of the account's queue.
func (s *shard[T]) insertNodeLocked(a *account[T], i int, e *Entry[T]) {
	n := s.newNodeLocked()
	n.e, n.acc = *e, a
	a.nodes = append(a.nodes, nil)
	copy(a.nodes[i+1:], a.nodes[i:])
	a.nodes[i] = n
	s.mu.byHash[e.Hash] = n
	s.expiryPushLocked(n)
}

// extendRunLocked grows the ready run over nodes that now follow it without a
// gap: O(nodes that became ready).
func (s *shard[T]) extendRunLocked(a *account[T]) {
	n, b := 0, 0
	for i := a.proposedN + a.readyN; i < len(a.nodes) && a.nodes[i].e.Seq == a.committed+uint64(i); i++ {
		n++
		b += a.nodes[i].e.SizeBytes
	}
	if n > 0 {
		a.readyN += n
		a.readyBytes += b
		s.readyCount.Add(int64(n))
		s.readyBytes.Add(int64(b))
	}
}

// recountLocked recomputes the ready run from scratch.
func (s *shard[T]) recountLocked(a *account[T]) {
	n, b := 0, 0
	for i := a.proposedN; i < len(a.nodes) && a.nodes[i].e.Seq == a.committed+uint64(i); i++ {
		n++
		b += a.nodes[i].e.SizeBytes
	}
	s.readyCount.Add(int64(n - a.readyN))
	s.readyBytes.Add(int64(b - a.readyBytes))
	a.readyN, a.readyBytes = n, b
}

// removeRangeLocked removes a.nodes[lo:hi] from the account and the shard's
// indexes, returning their capacity to the pool when release is set. The caller
// then calls normalizeLocked (the account may be left inconsistent until then).
func (p *Pool[T]) removeRangeLocked(s *shard[T], a *account[T], lo, hi int, release bool) {
	var bytes int64
	for _, n := range a.nodes[lo:hi] {
		bytes += int64(n.e.SizeBytes)
		delete(s.mu.byHash, n.e.Hash)
		if n.expIdx >= 0 {
			s.mu.expiry.remove(n.expIdx)
		}
		if n.proposed {
			a.proposedN--
			s.proposedCount.Add(-1)
		}
		s.freeNodeLocked(n)
	}
	removed := hi - lo
	copy(a.nodes[lo:], a.nodes[hi:])
	clear(a.nodes[len(a.nodes)-removed:])
	a.nodes = a.nodes[:len(a.nodes)-removed]
	if release {
		p.release(-int64(removed), -bytes)
	}
}

// advanceLocked records a higher committed next sequence and drops the nodes
// below it: the committed transaction (committedHash, when the caller knows it)
// and any other one made stale because a transaction of its sequence committed.
func (p *Pool[T]) advanceLocked(s *shard[T], a *account[T], committed uint64, committedHash *[32]byte) {
	if committed <= a.committed {
		return
	}
	a.committed = committed
	i := a.searchSeq(committed)
	if i > 0 {
		for _, n := range a.nodes[:i] {
			if committedHash == nil || n.e.Hash != *committedHash {
				p.dropLocked(n, DropSuperseded, "")
			}
		}
		p.removeRangeLocked(s, a, 0, i, true)
	}
	p.normalizeLocked(s, a)
}

// unproposeFromLocked returns the account's proposed nodes from index i on to
// the queue (a block that held them was abandoned, or they did not apply). The
// caller then calls normalizeLocked.
func (p *Pool[T]) unproposeFromLocked(s *shard[T], a *account[T], i int) {
	if i >= a.proposedN {
		return
	}
	for _, m := range a.nodes[i:a.proposedN] {
		m.proposed = false
		s.proposedCount.Add(-1)
		s.expiryPushLocked(m)
	}
	a.proposedN = i
}

// normalizeLocked restores the account invariants after any change: the proposed
// prefix is cut where it stops being consecutive (later proposed nodes return to
// the queue), the ready run is recounted, and the indexes are updated. An empty
// account is deleted.
func (p *Pool[T]) normalizeLocked(s *shard[T], a *account[T]) {
	k := 0
	for k < len(a.nodes) && a.nodes[k].proposed && a.nodes[k].e.Seq == a.committed+uint64(k) {
		k++
	}
	for _, n := range a.nodes[k:] {
		if n.proposed {
			n.proposed = false
			s.proposedCount.Add(-1)
			s.expiryPushLocked(n)
		}
	}
	a.proposedN = k
	s.recountLocked(a)
	p.reindexLocked(s, a, false)
}

// reindexLocked puts the account where it belongs in the ready list, the fee heap
// and the evict heap. restamp sends a ready account to the back of the round
// (after Reap took from it). An empty account is deleted.
func (p *Pool[T]) reindexLocked(s *shard[T], a *account[T], restamp bool) {
	if a.readyN > 0 {
		if a.inReady && restamp {
			s.listRemoveLocked(a)
		}
		if !a.inReady {
			// Stamped under the shard lock, so each shard's list is in stamp order.
			a.readyStamp = p.stamp.Add(1)
			s.listAppendLocked(a)
		}
		a.headFeeKey = a.headFee()
		if a.feeIdx < 0 {
			s.mu.fee.push(a)
		} else {
			s.mu.fee.fix(a.feeIdx)
		}
	} else {
		if a.inReady {
			s.listRemoveLocked(a)
		}
		if a.feeIdx >= 0 {
			s.mu.fee.remove(a.feeIdx)
		}
	}
	if len(a.nodes) > 0 && !a.nodes[len(a.nodes)-1].proposed {
		a.tailFeeKey = a.tailFee()
		if a.evictIdx < 0 {
			s.mu.evict.push(a)
		} else {
			s.mu.evict.fix(a.evictIdx)
		}
	} else if a.evictIdx >= 0 {
		s.mu.evict.remove(a.evictIdx)
	}
	if len(a.nodes) == 0 {
		s.deleteAccountLocked(a)
	}
}
