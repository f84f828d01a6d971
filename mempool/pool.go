package mempool

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Entry is one verified transaction as the pool sees it. The pool orders by the
// fields beside Tx and never looks inside Tx, whose type is the caller's (the
// node's *txn.Tx): it hands it back in Reap's batches, typed, without a cast.
type Entry[T any] struct {
	Hash      [32]byte // transaction hash (dedup key); it commits to Sender
	Sender    [20]byte // account id
	Seq       uint64   // sender sequence number of this tx
	Fee       uint64   // fee in native minor units
	LastValid uint64   // last block height at which the tx may be included
	SizeBytes int      // encoded size
	Tx        T        // the caller's transaction, carried into batches
}

// Stats is a snapshot of the pool's counters. Under concurrent Adds the fields are
// read one after another, not atomically together.
type Stats struct {
	TxCount, Bytes, TxCountMax, BytesMax int
	ReadyCount                           int // queued, not proposed, and next in their sender's sequence
	Proposed                             int // handed out by Reap, awaiting Commit or Requeue
	MinFee                               uint64
	Evicted                              uint64 // entries evicted to admit better-paying ones
	Rejected                             uint64 // Adds that returned an error
	Expired                              uint64 // entries dropped because LastValid passed
	Replaced                             uint64 // entries replaced by a higher fee for the same sequence
}

// Pool is the sharded transaction pool. Add, MinFee, Has, Ready and Stats may be
// called from any goroutine; Reap, Commit, Requeue and NextBatch are meant for one
// block-assembly goroutine (they serialise on an internal lock if misused).
type Pool[T any] struct {
	cfg    Config
	shards []shard[T]
	mask   uint64

	// Whole-pool usage, reserved by compare-and-swap before an entry is inserted,
	// so that the bounds are never exceeded even transiently.
	// INVARIANT: 0 <= count <= TxCountMax and 0 <= bytes <= BytesMax.
	count atomic.Int64
	bytes atomic.Int64

	stamp    atomic.Uint64 // arrival order of ready accounts across shards
	evicted  atomic.Uint64
	rejected atomic.Uint64
	expired  atomic.Uint64
	replaced atomic.Uint64

	ready chan struct{} // 1-buffered; signalled when transactions become ready

	onDrop func(Dropped) // set before use (SetDropHook); called under a shard lock

	// asm is the block-assembly side's state.
	asm struct {
		sync.Mutex
		mergeFair  heap[shardHead]
		mergeFee   heap[shardHead]
		sweepShard int
	}
}

// New returns an empty pool, or the first configuration error.
func New[T any](cfg Config) (*Pool[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pool[T]{
		cfg:    cfg,
		shards: make([]shard[T], cfg.Shards),
		mask:   uint64(cfg.Shards - 1),
		ready:  make(chan struct{}, 1),
	}
	for i := range p.shards {
		p.shards[i].init(cfg)
	}
	noIdx := func(shardHead, int) {}
	p.asm.mergeFair = heap[shardHead]{
		items:  make([]shardHead, 0, cfg.Shards),
		less:   func(a, b shardHead) bool { return a.stamp < b.stamp },
		setIdx: noIdx,
	}
	p.asm.mergeFee = heap[shardHead]{
		items: make([]shardHead, 0, cfg.Shards),
		less: func(a, b shardHead) bool {
			if a.fee != b.fee {
				return a.fee > b.fee
			}
			return a.stamp < b.stamp
		},
		setIdx: noIdx,
	}
	return p, nil
}

// Config returns the configuration the pool was built with.
func (p *Pool[T]) Config() Config { return p.cfg }

func (p *Pool[T]) shardFor(sender [20]byte) *shard[T] {
	return &p.shards[xxhash.Sum64(sender[:])&p.mask]
}

// fillPpm is the fill of the tighter bound in parts per million.
func (p *Pool[T]) fillPpm() uint64 {
	countPpm := uint64(p.count.Load()) * fillPpmMax / uint64(p.cfg.TxCountMax)
	bytesPpm := uint64(p.bytes.Load()) * fillPpmMax / uint64(p.cfg.BytesMax)
	return max(countPpm, bytesPpm)
}

// MinFee returns the fee a new transaction must pay now: Config.MinFeeAt of the
// current fill. It is BaseFee until the pool is EscalationStartPermille full.
func (p *Pool[T]) MinFee() uint64 { return p.cfg.MinFeeAt(p.fillPpm()) }

// underPressure reports whether fees escalate, and therefore whether Reap orders
// by fee rather than by arrival.
func (p *Pool[T]) underPressure() bool {
	return p.fillPpm() > uint64(p.cfg.EscalationStartPermille)*1000
}

// Ready returns a channel that receives a value whenever transactions become
// ready. A receive means "look again", not "exactly this many"; NextBatch uses it.
func (p *Pool[T]) Ready() <-chan struct{} { return p.ready }

func (p *Pool[T]) signal() {
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// Has reports whether a transaction with this hash is in the pool (queued or
// proposed). It looks in every shard: O(Shards).
func (p *Pool[T]) Has(hash [32]byte) bool {
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		_, ok := s.mu.byHash[hash]
		s.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// Stats returns the pool's counters.
func (p *Pool[T]) Stats() Stats {
	st := Stats{
		TxCount:    int(p.count.Load()),
		Bytes:      int(p.bytes.Load()),
		TxCountMax: p.cfg.TxCountMax,
		BytesMax:   p.cfg.BytesMax,
		MinFee:     p.MinFee(),
		Evicted:    p.evicted.Load(),
		Rejected:   p.rejected.Load(),
		Expired:    p.expired.Load(),
		Replaced:   p.replaced.Load(),
	}
	for i := range p.shards {
		st.ReadyCount += int(p.shards[i].readyCount.Load())
		st.Proposed += int(p.shards[i].proposedCount.Load())
	}
	return st
}

// readyTotals sums the ready counters without locks.
func (p *Pool[T]) readyTotals() (count, bytes int) {
	for i := range p.shards {
		count += int(p.shards[i].readyCount.Load())
		bytes += int(p.shards[i].readyBytes.Load())
	}
	return count, bytes
}

// reserve takes dCount entries and dBytes bytes of the whole-pool bounds, or
// nothing; negative deltas are not applied here (see release).
func (p *Pool[T]) reserve(dCount, dBytes int64) bool {
	if dCount > 0 && !casAddBounded(&p.count, dCount, int64(p.cfg.TxCountMax)) {
		return false
	}
	if dBytes > 0 && !casAddBounded(&p.bytes, dBytes, int64(p.cfg.BytesMax)) {
		if dCount > 0 {
			p.count.Add(-dCount)
		}
		return false
	}
	return true
}

// release returns capacity; it ignores positive deltas (those were reserved).
func (p *Pool[T]) release(dCount, dBytes int64) {
	if dCount < 0 {
		p.count.Add(dCount)
	}
	if dBytes < 0 {
		p.bytes.Add(dBytes)
	}
}

func casAddBounded(v *atomic.Int64, d, limit int64) bool {
	for {
		cur := v.Load()
		if cur+d > limit {
			return false
		}
		if v.CompareAndSwap(cur, cur+d) {
			return true
		}
	}
}

// evictAttemptsMax bounds how many entries one Add may evict (or lose to a
// concurrent Add) before it gives up with ErrFull.
const evictAttemptsMax = 8

// Add admits a verified transaction. committedSeq is the sender's committed next
// sequence as the caller read it; height is the height of the next block to be
// proposed. Errors: ErrExpired, *FeeTooLowError (ErrFeeTooLow), ErrDuplicate,
// ErrSeqPast, ErrSeqTooFar, ErrSeqTaken, ErrFull, ErrInvalid.
func (p *Pool[T]) Add(e Entry[T], committedSeq uint64, height uint64) error {
	err := p.add(&e, committedSeq, height)
	if err != nil {
		p.rejected.Add(1)
	}
	return err
}

func (p *Pool[T]) add(e *Entry[T], committedSeq, height uint64) error {
	if e.SizeBytes < 1 || e.SizeBytes > p.cfg.TxBytesMax {
		return fmt.Errorf("%w: size %d bytes is outside 1..%d", ErrInvalid, e.SizeBytes, p.cfg.TxBytesMax)
	}
	if e.LastValid < height {
		return fmt.Errorf("%w: last valid height %d is below the next height %d", ErrExpired, e.LastValid, height)
	}
	if minFee := p.MinFee(); e.Fee < minFee {
		return &FeeTooLowError{MinFee: minFee, Fee: e.Fee}
	}
	s := p.shardFor(e.Sender)
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		pl, err := p.prepareLocked(s, e, committedSeq)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		if p.reserve(pl.dCount, pl.dBytes) {
			becameReady := p.applyLocked(s, pl, e)
			s.mu.Unlock()
			p.release(pl.dCount, pl.dBytes)
			if becameReady {
				p.signal()
			}
			return nil
		}
		s.mu.Unlock()
		if attempt == evictAttemptsMax || !p.evictOne(e.Fee, e.Sender) {
			return fmt.Errorf("%w: pool holds %d of %d txs and %d of %d bytes, nothing cheaper than fee %d to evict",
				ErrFull, p.count.Load(), p.cfg.TxCountMax, p.bytes.Load(), p.cfg.BytesMax, e.Fee)
		}
	}
}

type planKind uint8

const (
	planInsert   planKind = iota // a new node at idx
	planReplace                  // the node at idx is replaced (fee bump)
	planDisplace                 // the account is full: its tail goes, a new node goes at idx
)

// plan is what Add will do once capacity is reserved.
type plan[T any] struct {
	kind      planKind
	acc       *account[T] // nil: a new account
	idx       int
	committed uint64 // for a new account
	dCount    int64  // net change of the whole-pool usage
	dBytes    int64
}

// prepareLocked checks e against the shard's state and plans its admission.
func (p *Pool[T]) prepareLocked(s *shard[T], e *Entry[T], committedSeq uint64) (plan[T], error) {
	acc := s.mu.accounts[e.Sender]
	committed := committedSeq
	if acc == nil {
		if r, ok := s.mu.recent[e.Sender]; ok {
			committed = max(committed, r)
		}
	} else {
		if committed > acc.committed {
			// The caller saw a newer state than the last Commit: drop what it made stale.
			p.advanceLocked(s, acc, committed, nil)
			acc = s.mu.accounts[e.Sender]
		}
		if acc != nil {
			committed = acc.committed
		}
	}
	if _, dup := s.mu.byHash[e.Hash]; dup {
		return plan[T]{}, fmt.Errorf("%w: sender %x sequence %d", ErrDuplicate, e.Sender, e.Seq)
	}
	if e.Seq < committed {
		return plan[T]{}, fmt.Errorf("%w: sequence %d is below the committed next sequence %d", ErrSeqPast, e.Seq, committed)
	}
	if e.Seq-committed > p.cfg.SeqAheadMax {
		return plan[T]{}, fmt.Errorf("%w: sequence %d is more than %d past the committed next sequence %d",
			ErrSeqTooFar, e.Seq, p.cfg.SeqAheadMax, committed)
	}
	size := int64(e.SizeBytes)
	if acc == nil {
		return plan[T]{kind: planInsert, committed: committed, dCount: 1, dBytes: size}, nil
	}
	i := acc.searchSeq(e.Seq)
	if i < len(acc.nodes) && acc.nodes[i].e.Seq == e.Seq {
		old := acc.nodes[i]
		if old.proposed {
			return plan[T]{}, fmt.Errorf("%w: sequence %d is already proposed in a block", ErrSeqTaken, e.Seq)
		}
		if !p.cfg.feeBumpOK(old.e.Fee, e.Fee) {
			return plan[T]{}, fmt.Errorf("%w: sequence %d is queued with fee %d; a replacement needs %d%% more",
				ErrSeqTaken, e.Seq, old.e.Fee, p.cfg.ReplaceFeeBumpPercent)
		}
		return plan[T]{kind: planReplace, acc: acc, idx: i, dBytes: size - int64(old.e.SizeBytes)}, nil
	}
	if len(acc.nodes) >= p.cfg.AccountTxMax {
		// A full queue gives way only to a lower sequence, which the account needs
		// first: its highest sequence goes (no gap is created).
		tail := acc.nodes[len(acc.nodes)-1]
		if tail.proposed || tail.e.Seq < e.Seq {
			return plan[T]{}, fmt.Errorf("%w: sender %x already has %d queued transactions", ErrFull, e.Sender, len(acc.nodes))
		}
		return plan[T]{kind: planDisplace, acc: acc, idx: i, dBytes: size - int64(tail.e.SizeBytes)}, nil
	}
	return plan[T]{kind: planInsert, acc: acc, idx: i, dCount: 1, dBytes: size}, nil
}

// applyLocked carries out a plan whose capacity is reserved, and reports whether
// the sender gained ready transactions.
func (p *Pool[T]) applyLocked(s *shard[T], pl plan[T], e *Entry[T]) bool {
	acc := pl.acc
	if acc == nil {
		acc = s.newAccountLocked(e.Sender, pl.committed)
	}
	readyBefore := acc.readyN
	switch pl.kind {
	case planInsert:
		s.insertNodeLocked(acc, pl.idx, e)
		s.extendRunLocked(acc)
		p.reindexLocked(s, acc, false)
	case planReplace:
		n := acc.nodes[pl.idx]
		p.dropLocked(n, DropReplaced, "")
		delete(s.mu.byHash, n.e.Hash)
		s.mu.expiry.remove(n.expIdx)
		n.e = *e
		s.mu.byHash[e.Hash] = n
		s.expiryPushLocked(n)
		p.replaced.Add(1)
		p.normalizeLocked(s, acc)
	case planDisplace:
		p.dropLocked(acc.nodes[len(acc.nodes)-1], DropEvicted, "")
		p.removeRangeLocked(s, acc, len(acc.nodes)-1, len(acc.nodes), false)
		p.evicted.Add(1)
		s.insertNodeLocked(acc, pl.idx, e)
		p.normalizeLocked(s, acc)
	}
	return acc.readyN > readyBefore
}

// evictOne removes the lowest-fee evictable entry of the pool if its fee is below
// fee and it is not sender's. It locks the shards one at a time: O(Shards).
// It reports whether the caller should try again.
func (p *Pool[T]) evictOne(fee uint64, sender [20]byte) bool {
	best, bestFee := -1, fee
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		if a := s.evictCandidateLocked(sender); a != nil && a.tailFeeKey < bestFee {
			best, bestFee = i, a.tailFeeKey
		}
		s.mu.Unlock()
	}
	if best < 0 {
		return false
	}
	s := &p.shards[best]
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.evictCandidateLocked(sender)
	if a == nil || a.tailFee() >= fee {
		return true // the shard changed under us; look again
	}
	p.dropLocked(a.nodes[len(a.nodes)-1], DropEvicted, "")
	p.removeRangeLocked(s, a, len(a.nodes)-1, len(a.nodes), true)
	p.evicted.Add(1)
	p.normalizeLocked(s, a)
	return true
}

// HasFrom is Has for a known sender: it looks in the sender's shard only, O(1).
func (p *Pool[T]) HasFrom(sender [20]byte, hash [32]byte) bool {
	s := p.shardFor(sender)
	s.mu.Lock()
	_, ok := s.mu.byHash[hash]
	s.mu.Unlock()
	return ok
}

// Lookup returns the pending entry with this hash, looking in every shard.
func (p *Pool[T]) Lookup(hash [32]byte) (Entry[T], bool) {
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n, ok := s.mu.byHash[hash]
		var e Entry[T]
		if ok {
			e = n.e
		}
		s.mu.Unlock()
		if ok {
			return e, true
		}
	}
	return Entry[T]{}, false
}
