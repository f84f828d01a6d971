package node

import (
	"sync"

	"settle/engine/txn"
	"settle/mempool"
)

// droppedMaxDefault bounds the transactions whose drop reason a node remembers.
const droppedMaxDefault = 1 << 16

// dropLog remembers why the mempool let transactions go without committing
// (expired, evicted, replaced, superseded, failed at execution), so that GET
// /v1/tx answers a client with the reason. Bounded: the oldest is forgotten
// first. Safe for concurrent use; the mempool calls record under a shard lock,
// so it only takes its own short lock.
type dropLog struct {
	mu struct {
		sync.Mutex
		byHash map[txn.Hash]DropInfo
		ring   []txn.Hash
		next   int
		full   bool
	}
}

// DropInfo is why a transaction left this validator's mempool.
type DropInfo struct {
	Reason string // mempool.DropReason's name
	Detail string // for "failed": the execution result code
	Height uint64 // the committed height when it was dropped
}

func newDropLog(max int) *dropLog {
	d := &dropLog{}
	d.mu.byHash = make(map[txn.Hash]DropInfo, min(max, 1<<12))
	d.mu.ring = make([]txn.Hash, max)
	return d
}

func (d *dropLog) record(x mempool.Dropped, height uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := txn.Hash(x.Hash)
	if _, ok := d.mu.byHash[h]; !ok {
		if d.mu.full {
			delete(d.mu.byHash, d.mu.ring[d.mu.next])
		}
		d.mu.ring[d.mu.next] = h
		if d.mu.next++; d.mu.next == len(d.mu.ring) {
			d.mu.next, d.mu.full = 0, true
		}
	}
	d.mu.byHash[h] = DropInfo{Reason: x.Reason.String(), Detail: x.Detail, Height: height}
}

func (d *dropLog) lookup(h txn.Hash) (DropInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	info, ok := d.mu.byHash[h]
	return info, ok
}
