package payload

import (
	"crypto/sha256"
	"fmt"

	"settle/consensus/hotstuff"
	"settle/engine/txn"
)

// Info is what the tracker keeps about one block the core accepted.
type Info struct {
	Block     *hotstuff.Block
	Txs       []*txn.Tx
	Hashes    [][32]byte // Txs[i].Hash()
	Committed bool       // handed to execution
}

// Tracker remembers the blocks the core accepted above the executed height, and
// the decoded transactions of recently validated payloads. It is not safe for
// concurrent use: the core's goroutine owns it.
type Tracker struct {
	blocks     map[hotstuff.Hash]*Info
	cache      payloadCache
	execHeight uint64
}

// NewTracker returns an empty tracker whose payload cache holds at most cacheMax
// payloads.
func NewTracker(cacheMax int) *Tracker {
	return &Tracker{blocks: map[hotstuff.Hash]*Info{}, cache: newPayloadCache(cacheMax)}
}

// Validated records the decoded, verified transactions of a payload, so that
// tracking or committing its block decodes nothing again.
func (t *Tracker) Validated(payload []byte, txs []*txn.Tx) { t.cache.put(payload, txs) }

// IsValidated reports whether a payload was validated recently.
func (t *Tracker) IsValidated(payload []byte) bool {
	_, ok := t.cache.get(payload)
	return ok
}

// Track records a block the core accepted (stored or learnt by sync) and
// returns its info. Every accepted block was validated (signatures included)
// before the core accepted it, so decoding is enough here.
func (t *Tracker) Track(b *hotstuff.Block) *Info {
	h := b.Hash()
	if info, ok := t.blocks[h]; ok {
		return info
	}
	info := &Info{Block: b}
	if txs, ok := t.cache.get(b.Payload); ok {
		info.Txs = txs
	} else {
		txs, err := txn.DecodeBatch(b.Payload)
		if err != nil {
			panic(fmt.Sprintf("payload: accepted block %s has an undecodable payload: %v", h, err))
		}
		info.Txs = txs
	}
	info.Hashes = make([][32]byte, len(info.Txs))
	for i, tx := range info.Txs {
		info.Hashes[i] = tx.Hash()
	}
	t.blocks[h] = info
	return info
}

// Get returns the info of a tracked block.
func (t *Tracker) Get(h hotstuff.Hash) (*Info, bool) {
	info, ok := t.blocks[h]
	return info, ok
}

// Commit marks a block handed to execution and returns its info.
func (t *Tracker) Commit(b *hotstuff.Block) *Info {
	info := t.Track(b)
	info.Committed = true
	return info
}

// Certificate returns the QC that certifies block h, from a tracked child.
func (t *Tracker) Certificate(h hotstuff.Hash) (hotstuff.QC, bool) {
	for _, c := range t.blocks {
		if c.Block.QC.BlockHash == h {
			return c.Block.QC, true
		}
	}
	return hotstuff.QC{}, false
}

// Abandon forgets the blocks at or below the committed height that were not
// committed (a pruned fork) and returns their transactions' hashes, for the
// mempool to requeue (Requeue ignores those this validator never proposed).
func (t *Tracker) Abandon(committedHeight uint64) (requeue [][32]byte, blocks int) {
	for h, info := range t.blocks {
		if info.Block.Height > committedHeight || info.Committed {
			continue
		}
		requeue = append(requeue, info.Hashes...)
		blocks++
		delete(t.blocks, h)
	}
	return requeue, blocks
}

// Executed records that execution reached height: committed blocks at or below
// it are forgotten.
func (t *Tracker) Executed(height uint64) {
	t.execHeight = max(t.execHeight, height)
	for h, info := range t.blocks {
		if info.Committed && info.Block.Height <= t.execHeight {
			delete(t.blocks, h)
		}
	}
}

// ExecHeight is the highest executed height reported.
func (t *Tracker) ExecHeight() uint64 { return t.execHeight }

// Len is the number of tracked blocks.
func (t *Tracker) Len() int { return len(t.blocks) }

// payloadCache maps a payload's SHA-256 to its decoded, verified transactions,
// so that a block validated at vote time is not decoded or verified again at
// commit. Bounded: the oldest entry goes first.
type payloadCache struct {
	m     map[[32]byte][]*txn.Tx
	order [][32]byte
	max   int
}

func newPayloadCache(n int) payloadCache {
	return payloadCache{m: make(map[[32]byte][]*txn.Tx, n), max: n}
}

func (c *payloadCache) get(payload []byte) ([]*txn.Tx, bool) {
	if len(payload) == 0 {
		return nil, true
	}
	txs, ok := c.m[sha256.Sum256(payload)]
	return txs, ok
}

func (c *payloadCache) put(payload []byte, txs []*txn.Tx) {
	if len(payload) == 0 {
		return
	}
	k := sha256.Sum256(payload)
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = txs
	c.order = append(c.order, k)
}
