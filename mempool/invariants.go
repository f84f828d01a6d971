package mempool

import (
	"errors"
	"fmt"
)

// checkInvariants locks every shard and verifies the structural invariants of the
// pool. With quiescent set (no Add in flight) it also checks that the whole-pool
// counters equal the sum of the entries. It costs O(n) and exists for tests.
func (p *Pool[T]) checkInvariants(quiescent bool) error {
	for i := range p.shards {
		p.shards[i].mu.Lock()
	}
	defer func() {
		for i := range p.shards {
			p.shards[i].mu.Unlock()
		}
	}()
	var errs []error
	var count, bytes int64
	for i := range p.shards {
		s := &p.shards[i]
		c, b, err := p.checkShardLocked(i, s)
		count += c
		bytes += b
		if err != nil {
			errs = append(errs, err)
		}
	}
	if n, m := p.count.Load(), p.bytes.Load(); n > int64(p.cfg.TxCountMax) || m > int64(p.cfg.BytesMax) || n < 0 || m < 0 {
		errs = append(errs, fmt.Errorf("usage %d txs / %d bytes outside bounds %d / %d", n, m, p.cfg.TxCountMax, p.cfg.BytesMax))
	}
	if count > int64(p.cfg.TxCountMax) || bytes > int64(p.cfg.BytesMax) {
		errs = append(errs, fmt.Errorf("entries %d txs / %d bytes exceed bounds", count, bytes))
	}
	if quiescent && (count != p.count.Load() || bytes != p.bytes.Load()) {
		errs = append(errs, fmt.Errorf("counters %d txs / %d bytes, entries %d / %d", p.count.Load(), p.bytes.Load(), count, bytes))
	}
	return errors.Join(errs...)
}

func (p *Pool[T]) checkShardLocked(si int, s *shard[T]) (count, bytes int64, err error) {
	fail := func(format string, args ...any) (int64, int64, error) {
		return 0, 0, fmt.Errorf("shard %d: "+format, append([]any{si}, args...)...)
	}
	var ready, readyBytes, proposed, unproposed int
	for sender, a := range s.mu.accounts {
		if a.sender != sender || len(a.nodes) == 0 || len(a.nodes) > p.cfg.AccountTxMax {
			return fail("account %x: bad key or %d nodes", sender, len(a.nodes))
		}
		if p.shardFor(sender) != s {
			return fail("account %x on the wrong shard", sender)
		}
		run, runBytes, runOpen := 0, 0, true
		for i, n := range a.nodes {
			if n.acc != a || s.mu.byHash[n.e.Hash] != n || n.e.Sender != sender {
				return fail("account %x node %d not indexed", sender, i)
			}
			if n.e.Seq < a.committed || (i > 0 && n.e.Seq <= a.nodes[i-1].e.Seq) {
				return fail("account %x node %d seq %d out of order (committed %d)", sender, i, n.e.Seq, a.committed)
			}
			if (i < a.proposedN) != n.proposed {
				return fail("account %x node %d proposed=%v with proposedN %d", sender, i, n.proposed, a.proposedN)
			}
			if n.proposed && n.e.Seq != a.committed+uint64(i) {
				return fail("account %x proposed node %d seq %d not consecutive", sender, i, n.e.Seq)
			}
			if n.proposed != (n.expIdx < 0) || (n.expIdx >= 0 && s.mu.expiry.items[n.expIdx].n != n) {
				return fail("account %x node %d expiry index %d", sender, i, n.expIdx)
			}
			if !n.proposed {
				unproposed++
				if runOpen && n.e.Seq == a.committed+uint64(i) {
					run++
					runBytes += n.e.SizeBytes
				} else {
					runOpen = false
				}
			}
			count++
			bytes += int64(n.e.SizeBytes)
		}
		if run != a.readyN || runBytes != a.readyBytes {
			return fail("account %x readyN %d/%d bytes, want %d/%d", sender, a.readyN, a.readyBytes, run, runBytes)
		}
		if (a.feeIdx >= 0 && a.headFeeKey != a.headFee()) || (a.evictIdx >= 0 && a.tailFeeKey != a.tailFee()) {
			return fail("account %x stale heap keys", sender)
		}
		if a.inReady != (run > 0) || (a.feeIdx >= 0) != (run > 0) || (a.feeIdx >= 0 && s.mu.fee.items[a.feeIdx] != a) {
			return fail("account %x ready indexes inReady=%v feeIdx=%d", sender, a.inReady, a.feeIdx)
		}
		evictable := !a.nodes[len(a.nodes)-1].proposed
		if (a.evictIdx >= 0) != evictable || (a.evictIdx >= 0 && s.mu.evict.items[a.evictIdx] != a) {
			return fail("account %x evict index %d", sender, a.evictIdx)
		}
		ready += run
		readyBytes += runBytes
		proposed += a.proposedN
	}
	if len(s.mu.byHash) != int(count) || s.mu.expiry.len() != unproposed {
		return fail("%d hashes, %d expiry items for %d nodes (%d unproposed)", len(s.mu.byHash), s.mu.expiry.len(), count, unproposed)
	}
	if int64(ready) != s.readyCount.Load() || int64(readyBytes) != s.readyBytes.Load() || int64(proposed) != s.proposedCount.Load() {
		return fail("counters ready %d/%d proposed %d, want %d/%d/%d", s.readyCount.Load(), s.readyBytes.Load(),
			s.proposedCount.Load(), ready, readyBytes, proposed)
	}
	listed := 0
	for a := s.mu.readyHead; a != nil; a = a.next {
		if a.next != nil && a.next.readyStamp <= a.readyStamp {
			return fail("ready list out of stamp order")
		}
		listed++
	}
	if listed != s.mu.fee.len() {
		return fail("ready list has %d accounts, fee heap %d", listed, s.mu.fee.len())
	}
	if err := checkHeap(&s.mu.fee); err != nil {
		return fail("fee heap: %v", err)
	}
	if err := checkHeap(&s.mu.evict); err != nil {
		return fail("evict heap: %v", err)
	}
	if err := checkHeap(&s.mu.expiry); err != nil {
		return fail("expiry heap: %v", err)
	}
	return count, bytes, nil
}

func checkHeap[T any](h *heap[T]) error {
	for i := 1; i < len(h.items); i++ {
		if h.less(h.items[i], h.items[(i-1)/2]) {
			return fmt.Errorf("item %d is less than its parent", i)
		}
	}
	return nil
}

// CheckInvariants verifies the pool's structural invariants (every index, heap
// and counter against the queues); with quiescent set (no Add in flight) also
// the whole-pool counters. It locks every shard and costs O(n): for tests and
// builds with -tags invariants, never the production path.
func (p *Pool[T]) CheckInvariants(quiescent bool) error { return p.checkInvariants(quiescent) }
