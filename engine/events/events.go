// Package events fans committed-block notifications out to subscribers (the API's
// event stream, receipts waiters) without ever blocking the executor: each
// subscriber has a bounded queue, and one that falls behind is dropped and must
// resume from its last height (the API then replays from storage).
package events

import (
	"sync"

	"settle/engine/ledger"
	"settle/engine/txn"
)

// Block announces one committed block.
type Block struct {
	Height    uint64
	Hash      txn.Hash
	StateHash txn.Hash
	TimeMs    int64
	Receipts  []ledger.Receipt // shared: subscribers must not modify
	// Queue are the RTGS queue entries that left the queue at this block, in
	// the order they did (ledger.BlockResult.QueueEvents; shared, read-only;
	// nil for the common block without any).
	Queue []ledger.QueueEvent
}

// Broadcaster delivers Blocks to subscribers.
type Broadcaster struct {
	mu struct {
		sync.Mutex
		subs map[*Subscription]struct{}
	}
	queueMax int
}

// Subscription receives blocks on C until it is closed or dropped.
type Subscription struct {
	C       chan *Block
	b       *Broadcaster
	dropped chan struct{}
	once    sync.Once
}

// Dropped is closed when the subscriber fell QueueMax blocks behind and was cut off.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

// Close unsubscribes.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.mu.subs, s)
	s.b.mu.Unlock()
}

// New returns a broadcaster whose subscribers may lag at most queueMax blocks.
func New(queueMax int) *Broadcaster {
	if queueMax <= 0 {
		panic("events: queueMax must be positive")
	}
	b := &Broadcaster{queueMax: queueMax}
	b.mu.subs = map[*Subscription]struct{}{}
	return b
}

// Subscribe registers a subscriber for blocks published from now on.
func (b *Broadcaster) Subscribe() *Subscription {
	s := &Subscription{C: make(chan *Block, b.queueMax), b: b, dropped: make(chan struct{})}
	b.mu.Lock()
	b.mu.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Subscribers returns the number of live subscriptions.
func (b *Broadcaster) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mu.subs)
}

// Publish hands blk to every subscriber without blocking; a subscriber whose queue
// is full is dropped.
func (b *Broadcaster) Publish(blk *Block) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.mu.subs {
		select {
		case s.C <- blk:
		default:
			delete(b.mu.subs, s)
			s.once.Do(func() { close(s.dropped) })
		}
	}
}
