package ledger

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"settle/engine/txn"
)

// Automatic return of expired escrows (docs/ledger.md, "Escrow": an expired
// escrow's funds return without a transaction). At the end of block h, after its transactions, every
// open escrow whose expiry height is at most h goes back to its owner's
// spendable balance, in the order (expiry height, owner, sequence). Until the end
// of the expiry block anyone may still cancel it by transaction; from the next
// block on it no longer exists (escrow_not_found).
//
// The ledger finds them through an index by expiry height, so a block's work is
// proportional to the escrows expiring in it, never to the open escrows. Storage
// persists the same index (docs/storage.md, "x/" keys).

// heightIndex maps heights to the ids due then: the open escrows by expiry
// height, the queued entries by queue_until.
// INVARIANT: after Apply(h) no bucket at a height <= h remains.
type heightIndex[K comparable] struct {
	buckets map[uint64]map[K]struct{}
	heights heightHeap // each height of buckets exactly once
}

func (x *heightIndex[K]) add(h uint64, id K) {
	if x.buckets == nil {
		x.buckets = map[uint64]map[K]struct{}{}
	}
	b := x.buckets[h]
	if b == nil {
		b = map[K]struct{}{}
		x.buckets[h] = b
		heap.Push(&x.heights, h)
	}
	b[id] = struct{}{}
}

// remove drops id from its bucket; the bucket itself stays until prune, so
// that a height enters the heap once.
func (x *heightIndex[K]) remove(h uint64, id K) {
	delete(x.buckets[h], id)
}

// prune drops the buckets of heights up to h, which Apply(h) emptied.
func (x *heightIndex[K]) prune(h uint64) {
	for len(x.heights) > 0 && x.heights[0] <= h {
		top := heap.Pop(&x.heights).(uint64)
		if n := len(x.buckets[top]); n != 0 {
			panic(fmt.Sprintf("ledger: %d entries due at %d left after block %d", n, top, h))
		}
		delete(x.buckets, top)
	}
}

// pruneEmptied drops the emptied buckets of heights up to h, oldest first,
// and stops at the first that still holds ids (the queue's backlog of a
// cut-off larger than a block removes).
func (x *heightIndex[K]) pruneEmptied(h uint64) {
	for len(x.heights) > 0 && x.heights[0] <= h && len(x.buckets[x.heights[0]]) == 0 {
		delete(x.buckets, heap.Pop(&x.heights).(uint64))
	}
}

// due appends the ids due at or below h. Cost: the heights visited (those <=
// h, plus their children) and the ids found.
func (x *heightIndex[K]) due(h uint64, out []K) []K {
	var walk func(i int)
	walk = func(i int) {
		if i >= len(x.heights) || x.heights[i] > h {
			return // a min-heap: nothing below i is <= h either
		}
		for id := range x.buckets[x.heights[i]] {
			out = append(out, id)
		}
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	return out
}

// anyDue reports whether some bucket at or below h exists.
func (x *heightIndex[K]) anyDue(h uint64) bool { return len(x.heights) > 0 && x.heights[0] <= h }

// len returns the number of ids indexed (for checks).
func (x *heightIndex[K]) len() int {
	n := 0
	for _, b := range x.buckets {
		n += len(b)
	}
	return n
}

type heightHeap []uint64

func (h heightHeap) Len() int           { return len(h) }
func (h heightHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h heightHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heightHeap) Push(v any)        { *h = append(*h, v.(uint64)) }
func (h *heightHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// expireEscrows returns every escrow that expires at or below height and is still
// open in the overlay, in (expiry, owner, sequence) order, and lists them in
// res.Expired.
func (l *Ledger) expireEscrows(o *overlay, res *BlockResult, height uint64) {
	l.mu.RLock()
	if !l.mu.expiry.anyDue(height) {
		l.mu.RUnlock()
		return // the common case: nothing expires
	}
	ids := l.mu.expiry.due(height, nil)
	due := make([]*Escrow, 0, len(ids))
	for _, id := range ids {
		if e := l.mu.escrows[id]; e != nil {
			due = append(due, e)
		}
	}
	l.mu.RUnlock()
	sort.Slice(due, func(i, j int) bool { return expiryLess(due[i], due[j]) })
	for _, e := range due {
		if o.escrow(e.ID) == nil {
			continue // finished or cancelled by a transaction of this block
		}
		returnEscrow(o, res, e)
		res.Expired = append(res.Expired, e)
	}
}

func expiryLess(x, y *Escrow) bool {
	if x.ExpiryHeight != y.ExpiryHeight {
		return x.ExpiryHeight < y.ExpiryHeight
	}
	if c := bytes.Compare(x.ID.Owner[:], y.ID.Owner[:]); c != 0 {
		return c < 0
	}
	return x.ID.Seq < y.ID.Seq
}

// ReturnHash names the automatic return of an expired escrow where a
// transaction hash would stand (the history): SHA-256("settle/escrow-return/v1"
// || owner || seq). An escrow is returned at most once, so it is unique; no
// transaction has it.
func (id EscrowID) ReturnHash() txn.Hash {
	b := make([]byte, 0, 24+EscrowIDLen)
	b = append(b, "settle/escrow-return/v1"...)
	b = append(b, id.Owner[:]...)
	b = binary.BigEndian.AppendUint64(b, id.Seq)
	return sha256.Sum256(b)
}

// ExpiryKey is the key form of an escrow in the expiry index, ordered as
// escrows are returned: expiry u64 | owner [20] | seq u64.
func (e *Escrow) ExpiryKey() [8 + EscrowIDLen]byte {
	var k [8 + EscrowIDLen]byte
	binary.BigEndian.PutUint64(k[:], e.ExpiryHeight)
	id := e.ID.Key()
	copy(k[8:], id[:])
	return k
}
