package loadgen

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"settle/engine/txn"
)

// Transaction states in the tracker.
const (
	stNew      uint8 = iota // not yet dispatched
	stInFlight              // dispatched, waiting for a commit, a rejection or the timeout
	stDone                  // committed, rejected or timed out
)

// tracker follows every dispatched transaction until it finishes. Commits arrive
// as hashes, so it keeps a hash→index map of the transactions in flight; the map is
// bounded by limit, which the dispatcher honours before dispatching.
type tracker struct {
	set        *TxSet
	intendedNs []int64 // intended send time per tx, relative to the start; written before dispatch
	limit      int64

	dispatched atomic.Int64  // transactions dispatched so far (a prefix of the set)
	finished   atomic.Int64  // transactions done so far
	freed      chan struct{} // signalled (cap 1) when transactions finish

	mu struct {
		sync.Mutex
		byHash    map[uint64]uint32 // first 8 bytes of the hash → tx index, in-flight txs only
		state     []uint8
		sweepNext int // every tx below it is done
	}
}

func newTracker(set *TxSet, limit int) *tracker {
	t := &tracker{set: set, intendedNs: make([]int64, set.Len()), limit: int64(limit), freed: make(chan struct{}, 1)}
	t.mu.byHash = make(map[uint64]uint32, min(limit, set.Len()))
	t.mu.state = make([]uint8, set.Len())
	return t
}

func hashKey(h *txn.Hash) uint64 { return binary.LittleEndian.Uint64(h[:8]) }

// room is how many more transactions may be dispatched now.
func (t *tracker) room() int {
	return int(t.limit - (t.dispatched.Load() - t.finished.Load()))
}

func (t *tracker) inFlight() int64 { return t.dispatched.Load() - t.finished.Load() }

// add marks transactions [lo, hi) in flight. INVARIANT: lo is the previous hi (the
// set is dispatched in order) and hi-lo ≤ room().
func (t *tracker) add(lo, hi int) {
	t.mu.Lock()
	for i := lo; i < hi; i++ {
		t.mu.state[i] = stInFlight
		// A collision of 64-bit hash prefixes among in-flight transactions is
		// astronomically unlikely; if it happens the newer tx is never matched and
		// times out, which errs on the side of a worse figure.
		k := hashKey(&t.set.hashes[i])
		if _, taken := t.mu.byHash[k]; !taken {
			t.mu.byHash[k] = uint32(i)
		}
	}
	t.mu.Unlock()
	t.dispatched.Store(int64(hi))
}

// finishLocked marks tx i done if it is in flight and reports whether it was.
func (t *tracker) finishLocked(i uint32) bool {
	if t.mu.state[i] != stInFlight {
		return false
	}
	t.mu.state[i] = stDone
	k := hashKey(&t.set.hashes[i])
	if j, ok := t.mu.byHash[k]; ok && j == i {
		delete(t.mu.byHash, k)
	}
	return true
}

func (t *tracker) noteFinished(n int) {
	if n == 0 {
		return
	}
	t.finished.Add(int64(n))
	select {
	case t.freed <- struct{}{}:
	default:
	}
}

// reject finishes the rejected transactions of a batch (codes[j] != "") and returns
// how many were still in flight.
func (t *tracker) reject(idx []uint32, codes []string) {
	n := 0
	t.mu.Lock()
	for j, c := range codes {
		if c != "" && t.finishLocked(idx[j]) {
			n++
		}
	}
	t.mu.Unlock()
	t.noteFinished(n)
}

// commit matches committed hashes; it appends the matched indexes and their results
// to idx and results and returns them. Unknown hashes (other clients' transactions,
// or ones already finished) are ignored.
func (t *tracker) commit(hashes []txn.Hash, res []string, idx []uint32, results []string) ([]uint32, []string) {
	n := 0
	t.mu.Lock()
	for j := range hashes {
		i, ok := t.mu.byHash[hashKey(&hashes[j])]
		if !ok || t.set.hashes[i] != hashes[j] || !t.finishLocked(i) {
			continue
		}
		idx = append(idx, i)
		results = append(results, res[j])
		n++
	}
	t.mu.Unlock()
	t.noteFinished(n)
	return idx, results
}

// sweep times out every in-flight transaction whose intended time is at or before
// cutoffNs, appending their indexes to out. Dispatch is in index order and intended
// times are non-decreasing in index, so the sweep walks a prefix once in total.
func (t *tracker) sweep(cutoffNs int64, out []uint32) []uint32 {
	n := 0
	disp := int(t.dispatched.Load())
	t.mu.Lock()
	for i := t.mu.sweepNext; i < disp; i++ {
		if t.mu.state[i] == stInFlight {
			if t.intendedNs[i] > cutoffNs {
				break
			}
			t.finishLocked(uint32(i))
			out = append(out, uint32(i))
			n++
		}
		t.mu.sweepNext = i + 1
	}
	t.mu.Unlock()
	t.noteFinished(n)
	return out
}
