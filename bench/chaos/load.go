package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"settle/engine/devnet"
	"settle/engine/txn"
)

// client is the chaos run's load: payments among the demo accounts, posted as
// binary batches to a random running validator, each sender keeping a few
// transactions in flight and resending (the same bytes) what has not been
// announced as committed after a while, as a real client does when its
// validator dies. It keeps its own log of every transaction it created.
type client struct {
	chainID        string
	vals           []*validator
	log            *chainLog
	windowMax      int
	resendAfter    time.Duration
	lastValidAhead uint64
	queue          bool // a quarter of the payments queued (Options.Queue)
	draining       atomic.Bool

	mu struct {
		sync.Mutex
		rng     *rand.Rand
		senders []*sender
		cursor  int
		all     []*ptx
		codes   map[string]int // per-transaction answers, by code
		posts   int
		postErr int
	}
	http *http.Client
}

type sender struct {
	idx  int
	key  txn.Key
	id   txn.AccountID
	next uint64
	open []*ptx // created and not yet announced as committed, in sequence order
}

// ptx is one transaction the client created.
type ptx struct {
	tx        *txn.Tx
	hash      txn.Hash
	raw       []byte
	created   time.Time
	lastSent  time.Time
	sends     int
	accepted  bool // a validator accepted it (or answered that it holds it)
	lastCode  string
	ackHeight uint64
}

func newClient(chainID string, accounts int, vals []*validator, log *chainLog, seed int64) *client {
	c := &client{chainID: chainID, vals: vals, log: log, windowMax: 4, resendAfter: 3 * time.Second,
		lastValidAhead: 1 << 30, http: &http.Client{Timeout: 5 * time.Second}}
	c.mu.rng = rand.New(rand.NewSource(seed))
	c.mu.codes = map[string]int{}
	for i := 0; i < accounts; i++ {
		k := devnet.DemoKey(chainID, i)
		c.mu.senders = append(c.mu.senders, &sender{idx: i, key: k, id: k.AccountID(), next: 1})
	}
	return c
}

// run offers rate new transactions per second (none once draining) and resends
// until ctx ends.
func (c *client) run(ctx context.Context, rate int) {
	const tick = 25 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	created := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		quota := 0
		if !c.draining.Load() {
			quota = int(time.Since(start).Seconds()*float64(rate)) - created
		}
		batch, n := c.nextBatch(quota)
		created += n
		if len(batch) > 0 {
			c.post(ctx, batch)
		}
	}
}

// batchTxMax bounds one post (resends and new transactions together).
const batchTxMax = 512

// nextBatch retires what was announced, picks what to resend and creates up to
// quota new transactions.
func (c *client) nextBatch(quota int) ([]*ptx, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var batch []*ptx
	for _, s := range c.mu.senders {
		s.open = c.retire(s.open)
		for _, p := range s.open {
			if len(batch) >= batchTxMax/2 {
				break
			}
			if now.Sub(p.lastSent) >= c.resendAfter {
				batch = append(batch, p)
			}
		}
	}
	created := 0
	top := c.log.topHeight()
	for tries := 0; created < quota && len(batch) < batchTxMax && tries < len(c.mu.senders); tries++ {
		s := c.mu.senders[c.mu.cursor]
		c.mu.cursor = (c.mu.cursor + 1) % len(c.mu.senders)
		if len(s.open) >= c.windowMax {
			continue
		}
		p := c.create(s, top, now)
		s.open = append(s.open, p)
		c.mu.all = append(c.mu.all, p)
		batch = append(batch, p)
		created++
		tries = -1 // a sender with room was found: keep going
	}
	for _, p := range batch {
		p.lastSent = now
		p.sends++
	}
	return batch, created
}

// retire drops the transactions the streams announced.
func (c *client) retire(open []*ptx) []*ptx {
	keep := open[:0]
	for _, p := range open {
		if a, ok := c.log.acked(p.hash); ok {
			p.ackHeight = a.height
			continue
		}
		keep = append(keep, p)
	}
	clear(open[len(keep):])
	return keep
}

func (c *client) create(s *sender, top uint64, now time.Time) *ptx {
	dest := c.mu.senders[c.mu.rng.Intn(len(c.mu.senders))]
	if dest == s {
		dest = c.mu.senders[(c.mu.cursor+1)%len(c.mu.senders)]
	}
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: c.chainID, Sender: s.id, Seq: s.next, Fee: 10,
		LastValid: top + c.lastValidAhead, Dest: dest.id, Amount: 1 + uint64(c.mu.rng.Intn(100))}
	if c.queue && c.mu.rng.Intn(4) == 0 {
		c.queued(tx, s)
	}
	if err := txn.Sign(tx, s.key); err != nil {
		panic(fmt.Sprintf("chaos: sign: %v", err)) // INVARIANT: the fields above pass Check
	}
	s.next++
	return &ptx{tx: tx, hash: tx.Hash(), raw: tx.Bytes(), created: now}
}

// queueBanks are the accounts that send each other large queued payments
// in a Queue run, so that cycles form for gridlock resolution to offset.
const queueBanks = 8

// queued turns tx into a queued payment: between two of the first
// queueBanks accounts, of 0.6 to 1.2 × 10^12 (about what a demo account
// holds, so most wait), a fifth urgent; from other senders, small.
func (c *client) queued(tx *txn.Tx, s *sender) {
	tx.Type, tx.Priority, tx.QueueUntil = txn.TypeQueuedPayment, txn.PriorityNormal, tx.LastValid
	if c.mu.rng.Intn(5) == 0 {
		tx.Priority = txn.PriorityUrgent
	}
	if s.idx >= queueBanks || len(c.mu.senders) < queueBanks {
		return
	}
	to := c.mu.rng.Intn(queueBanks - 1)
	if to >= s.idx {
		to++
	}
	tx.Dest, tx.Amount = c.mu.senders[to].id, 600_000_000_000+uint64(c.mu.rng.Int63n(600_000_000_000))
}

// post sends a batch to a random running validator and records each answer.
func (c *client) post(ctx context.Context, batch []*ptx) {
	v := c.pickUp()
	if v == nil {
		return
	}
	raws := make([][]byte, len(batch))
	for i, p := range batch {
		raws[i] = p.raw
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+v.api+"/v1/batch", bytes.NewReader(txn.EncodeBatch(raws)))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.posts++
	if err != nil {
		c.mu.postErr++
		return
	}
	defer resp.Body.Close()
	var ans struct {
		Results []struct {
			Code string `json:"code"`
		} `json:"results"`
	}
	if json.NewDecoder(resp.Body).Decode(&ans) != nil || len(ans.Results) != len(batch) {
		c.mu.postErr++
		for _, p := range batch {
			p.lastSent = time.Time{} // refused whole: try again at once, elsewhere
		}
		return
	}
	for i, r := range ans.Results {
		p := batch[i]
		p.lastCode = r.Code
		c.mu.codes[r.Code]++
		switch r.Code {
		case "accepted", "duplicate", "seq_past":
			// Held by a mempool, or committed already (the stream will say).
			p.accepted = true
		case "mempool_full", "overloaded", "not_ready":
			p.lastSent = time.Time{} // retry at once, elsewhere
		}
	}
}

func (c *client) pickUp() *validator {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range c.mu.rng.Perm(len(c.vals)) {
		if c.vals[i].isUp() {
			return c.vals[i]
		}
	}
	return nil
}

// open returns the accepted transactions not yet announced, and how many were
// created and accepted in all.
func (c *client) pending() (open []*ptx, created, accepted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.mu.senders {
		s.open = c.retire(s.open)
	}
	for _, p := range c.mu.all {
		if p.accepted {
			accepted++
		}
		if _, ok := c.log.acked(p.hash); !ok && p.accepted {
			open = append(open, p)
		}
	}
	return open, len(c.mu.all), accepted
}

// neverAccepted counts transactions no validator accepted.
func (c *client) neverAccepted() []*ptx {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*ptx
	for _, p := range c.mu.all {
		if _, ok := c.log.acked(p.hash); !ok && !p.accepted {
			out = append(out, p)
		}
	}
	return out
}
