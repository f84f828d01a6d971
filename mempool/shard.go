package mempool

import (
	"sync"
	"sync/atomic"
)

// node is one queued transaction. Nodes are recycled through a per-shard free list.
type node[T any] struct {
	e        Entry[T]
	acc      *account[T]
	proposed bool
	expIdx   int // position in the shard's expiry heap, -1 when not in it
}

// account is one sender's queue of transactions, sorted by sequence.
//
// INVARIANT: nodes is sorted by Seq, without duplicates, every Seq >= committed,
// and len(nodes) <= Config.AccountTxMax.
// INVARIANT: nodes[:proposedN] are exactly the proposed nodes, and
// nodes[i].Seq == committed+i for i < proposedN.
// INVARIANT: readyN is the length of the run nodes[proposedN:] with
// nodes[i].Seq == committed+i; readyBytes is the sum of their sizes.
// INVARIANT: the account is in the ready list and the fee heap iff readyN > 0, and
// in the evict heap iff its last node is not proposed.
type account[T any] struct {
	sender     [20]byte
	committed  uint64 // the sender's committed next sequence, as far as the pool knows
	nodes      []*node[T]
	proposedN  int
	readyN     int
	readyBytes int
	readyStamp uint64      // position in the arrival order of ready accounts (round-robin turn)
	prev, next *account[T] // ready list links
	inReady    bool
	feeIdx     int // position in the fee heap, -1 when not in it
	evictIdx   int // position in the evict heap, -1 when not in it
	// The heaps' keys, copied here by reindexLocked so that heap comparisons do not
	// chase node pointers. INVARIANT: equal to headFee()/tailFee() while indexed.
	headFeeKey, tailFeeKey uint64
}

func (a *account[T]) headFee() uint64 { return a.nodes[a.proposedN].e.Fee }
func (a *account[T]) tailFee() uint64 { return a.nodes[len(a.nodes)-1].e.Fee }

// expiryItem is an entry of the expiry heap; the key is copied for locality.
type expiryItem[T any] struct {
	lastValid uint64
	n         *node[T]
}

// searchSeq returns the index of the first node with Seq >= seq.
func (a *account[T]) searchSeq(seq uint64) int {
	lo, hi := 0, len(a.nodes)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if a.nodes[mid].e.Seq < seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// shard holds the senders whose xxhash falls on it. Add locks one shard; the
// block-assembly side locks one shard at a time.
type shard[T any] struct {
	mu struct {
		sync.Mutex
		accounts map[[20]byte]*account[T]
		// byHash indexes the nodes of this shard. A hash commits to its sender, so
		// a duplicate always lands on the sender's shard.
		byHash map[[32]byte]*node[T]
		// The ready list holds the accounts with readyN > 0 in increasing readyStamp:
		// the fair (round-robin, arrival order) Reap order.
		readyHead, readyTail *account[T]
		fee                  heap[*account[T]]   // ready accounts, highest head fee first
		evict                heap[*account[T]]   // accounts with an evictable tail, lowest tail fee first
		expiry               heap[expiryItem[T]] // unproposed nodes, lowest LastValid first
		// recent remembers the committed next sequence of senders that left the
		// pool, in a ring of fixed size (oldest forgotten first).
		recent       map[[20]byte]uint64
		recentRing   [][20]byte
		recentLen    int
		recentNext   int
		freeNodes    []*node[T]
		freeAccounts []*account[T]
	}
	// Counters written under mu, read without it by Stats and NextBatch.
	readyCount    atomic.Int64
	readyBytes    atomic.Int64
	proposedCount atomic.Int64
	_             [64]byte // keep neighbouring shards' locks off one cache line
}

func (s *shard[T]) init(cfg Config) {
	perShard := max(cfg.TxCountMax/cfg.Shards, 1)
	recentMax := cfg.RecentSendersMax / cfg.Shards
	s.mu.accounts = make(map[[20]byte]*account[T], min(perShard, 1<<16))
	s.mu.byHash = make(map[[32]byte]*node[T], min(perShard, 1<<16))
	s.mu.fee = heap[*account[T]]{
		less: func(a, b *account[T]) bool {
			if fa, fb := a.headFeeKey, b.headFeeKey; fa != fb {
				return fa > fb
			}
			return a.readyStamp < b.readyStamp
		},
		setIdx: func(a *account[T], i int) { a.feeIdx = i },
	}
	s.mu.evict = heap[*account[T]]{
		less:   func(a, b *account[T]) bool { return a.tailFeeKey < b.tailFeeKey },
		setIdx: func(a *account[T], i int) { a.evictIdx = i },
	}
	s.mu.expiry = heap[expiryItem[T]]{
		less:   func(a, b expiryItem[T]) bool { return a.lastValid < b.lastValid },
		setIdx: func(it expiryItem[T], i int) { it.n.expIdx = i },
	}
	s.mu.recent = make(map[[20]byte]uint64, min(recentMax, 1<<16))
	s.mu.recentRing = make([][20]byte, recentMax)
}

// freeListMax bounds each shard's free lists, so that a burst does not pin memory.
const freeListMax = 4096

func (s *shard[T]) newNodeLocked() *node[T] {
	if n := len(s.mu.freeNodes); n > 0 {
		nd := s.mu.freeNodes[n-1]
		s.mu.freeNodes[n-1] = nil
		s.mu.freeNodes = s.mu.freeNodes[:n-1]
		return nd
	}
	return &node[T]{expIdx: -1}
}

func (s *shard[T]) freeNodeLocked(n *node[T]) {
	*n = node[T]{expIdx: -1} // drop the payload reference
	if len(s.mu.freeNodes) < freeListMax {
		s.mu.freeNodes = append(s.mu.freeNodes, n)
	}
}

func (s *shard[T]) newAccountLocked(sender [20]byte, committed uint64) *account[T] {
	var a *account[T]
	if n := len(s.mu.freeAccounts); n > 0 {
		a = s.mu.freeAccounts[n-1]
		s.mu.freeAccounts[n-1] = nil
		s.mu.freeAccounts = s.mu.freeAccounts[:n-1]
	} else {
		a = &account[T]{nodes: make([]*node[T], 0, 4)}
	}
	a.sender, a.committed = sender, committed
	a.feeIdx, a.evictIdx = -1, -1
	s.mu.accounts[sender] = a
	return a
}

// deleteAccountLocked forgets an empty account, remembering its committed sequence.
func (s *shard[T]) deleteAccountLocked(a *account[T]) {
	// INVARIANT: only empty accounts, already out of every index, are deleted.
	if len(a.nodes) != 0 || a.inReady || a.feeIdx >= 0 || a.evictIdx >= 0 {
		panic("mempool: deleting an account that is still indexed")
	}
	delete(s.mu.accounts, a.sender)
	s.recordRecentLocked(a.sender, a.committed)
	nodes := a.nodes[:0]
	*a = account[T]{nodes: nodes}
	if len(s.mu.freeAccounts) < freeListMax {
		s.mu.freeAccounts = append(s.mu.freeAccounts, a)
	}
}

// recordRecentLocked remembers a sender's committed next sequence after it left
// the pool, forgetting the oldest remembered sender when the ring is full.
func (s *shard[T]) recordRecentLocked(sender [20]byte, committed uint64) {
	if old, ok := s.mu.recent[sender]; ok {
		s.mu.recent[sender] = max(old, committed)
		return
	}
	ring := s.mu.recentRing
	if s.mu.recentLen == len(ring) {
		delete(s.mu.recent, ring[s.mu.recentNext])
	} else {
		s.mu.recentLen++
	}
	ring[s.mu.recentNext] = sender
	s.mu.recentNext = (s.mu.recentNext + 1) % len(ring)
	s.mu.recent[sender] = committed
}

func (s *shard[T]) listAppendLocked(a *account[T]) {
	a.prev, a.next = s.mu.readyTail, nil
	if s.mu.readyTail != nil {
		s.mu.readyTail.next = a
	} else {
		s.mu.readyHead = a
	}
	s.mu.readyTail = a
	a.inReady = true
}

func (s *shard[T]) listRemoveLocked(a *account[T]) {
	if a.prev != nil {
		a.prev.next = a.next
	} else {
		s.mu.readyHead = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	} else {
		s.mu.readyTail = a.prev
	}
	a.prev, a.next, a.inReady = nil, nil, false
}

// headLocked returns the account Reap should take from next: the oldest ready
// account in fair mode, the highest head fee under pressure.
func (s *shard[T]) headLocked(pressure bool) *account[T] {
	if pressure {
		if s.mu.fee.len() == 0 {
			return nil
		}
		return s.mu.fee.items[0]
	}
	return s.mu.readyHead
}

// evictCandidateLocked returns the account with the lowest-fee evictable tail,
// other than sender's own (evicting the sender's own tail would open a gap
// in front of the transaction being admitted), or nil.
func (s *shard[T]) evictCandidateLocked(sender [20]byte) *account[T] {
	items := s.mu.evict.items
	if len(items) == 0 {
		return nil
	}
	if items[0].sender != sender {
		return items[0]
	}
	// The second smallest of a binary heap is one of the root's children.
	var best *account[T]
	for _, i := range [2]int{1, 2} {
		if i < len(items) && (best == nil || items[i].tailFeeKey < best.tailFeeKey) {
			best = items[i]
		}
	}
	return best
}

func (s *shard[T]) expiryPushLocked(n *node[T]) {
	s.mu.expiry.push(expiryItem[T]{lastValid: n.e.LastValid, n: n})
}
