package mempool

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	propSeed = flag.Uint64("mempool.seed", 1, "seed of TestConcurrentRandomWorkload")
	propOps  = flag.Int("mempool.ops", 4000, "Adds per goroutine in TestConcurrentRandomWorkload")
)

// fakeLedger is the committed next sequence of every sender, as the node's state
// would report it to Add.
type fakeLedger struct {
	mu   sync.Mutex
	next []uint64
}

func (l *fakeLedger) get(s int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next[s]
}

// TestConcurrentRandomWorkload runs Adds from several goroutines against one block
// assembler that reaps, pipelines up to two blocks, commits or abandons them, and
// checks after every step that bounds hold, that every batch is valid against the
// ledger, and at the end that the pool's structure and accounting are exact.
// Reproduce a failure with: go test -race -run ConcurrentRandom ./mempool -mempool.seed=N
func TestConcurrentRandomWorkload(t *testing.T) {
	seed := *propSeed
	t.Logf("seed %d (rerun with -mempool.seed=%d)", seed, seed)
	cfg := Config{
		Shards: 4, TxCountMax: 150, BytesMax: 150 * 120, TxBytesMax: 200, AccountTxMax: 6, SeqAheadMax: 8,
		BaseFee: 10, EscalationStartPermille: 500, EscalationFactorMax: 20, ReplaceFeeBumpPercent: 25,
		ExpirySweepMax: 16, RecentSendersMax: 1024,
	}
	const senders, adders = 40, 4
	p := mustNew(t, cfg)
	ledger := &fakeLedger{next: make([]uint64, senders)}
	var height atomic.Uint64
	height.Store(1)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, adders)
	for g := range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- runAdder(p, ledger, &height, &accepted, rand.New(rand.NewPCG(seed, uint64(g))), *propOps, senders)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	rng := rand.New(rand.NewPCG(seed, 1000))
	asm := &blockSim{t: t, p: p, ledger: ledger, height: &height, rng: rng}
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		asm.step()
		if err := p.checkInvariants(false); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	for range adders {
		if err := <-errc; err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	asm.drain()
	if err := p.checkInvariants(true); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	st := p.Stats()
	left := accepted.Load() - asm.committed - int64(st.Evicted) - int64(st.Expired) - int64(st.Replaced)
	if left != int64(st.TxCount) {
		t.Fatalf("seed %d: accepted %d, committed %d, %+v: %d unaccounted for", seed, accepted.Load(), asm.committed, st, left-int64(st.TxCount))
	}
	if asm.committed == 0 || st.Evicted == 0 {
		t.Logf("weak run: committed %d, stats %+v", asm.committed, st)
	}
	t.Logf("committed %d blocks %d, stats %+v", asm.committed, asm.blocks, st)
}

func runAdder(p *Pool[int], ledger *fakeLedger, height *atomic.Uint64, accepted *atomic.Int64, rng *rand.Rand, ops, senders int) error {
	cfg := p.Config()
	for range ops {
		s := rng.IntN(senders)
		sender := senderID(s)
		committed := ledger.get(s)
		h := height.Load()
		seq := committed + uint64(rng.IntN(10))
		fee := p.MinFee() + uint64(rng.IntN(200))
		if rng.IntN(10) == 0 {
			fee = uint64(rng.IntN(20))
		}
		e := Entry[int]{
			Hash: txHash(sender, seq, uint32(rng.IntN(3))), Sender: sender, Seq: seq, Fee: fee,
			LastValid: h + uint64(rng.IntN(30)) - 1, SizeBytes: 50 + rng.IntN(100),
		}
		err := p.Add(e, committed, h)
		switch {
		case err == nil:
			accepted.Add(1)
		case errors.Is(err, ErrDuplicate), errors.Is(err, ErrSeqPast), errors.Is(err, ErrSeqTooFar),
			errors.Is(err, ErrSeqTaken), errors.Is(err, ErrFull), errors.Is(err, ErrFeeTooLow), errors.Is(err, ErrExpired):
		default:
			return fmt.Errorf("unexpected Add error: %v", err)
		}
		if st := p.Stats(); st.TxCount > cfg.TxCountMax || st.Bytes > cfg.BytesMax {
			return fmt.Errorf("bounds exceeded: %+v", st)
		}
	}
	return nil
}

// blockSim plays the block-assembly goroutine: up to two blocks in flight.
type blockSim struct {
	t         *testing.T
	p         *Pool[int]
	ledger    *fakeLedger
	height    *atomic.Uint64
	rng       *rand.Rand
	inflight  [][]Entry[int]
	committed int64
	blocks    int
}

func (b *blockSim) step() {
	h := b.height.Load()
	if len(b.inflight) < 2 {
		count, bytes := 1+b.rng.IntN(30), 200+b.rng.IntN(3000)
		batch := b.p.Reap(count, bytes, h+uint64(len(b.inflight)), nil)
		b.checkBatch(batch, count, bytes, h+uint64(len(b.inflight)))
		b.inflight = append(b.inflight, batch)
		if b.rng.IntN(3) == 0 {
			return // pipeline: leave it in flight
		}
	}
	switch r := b.rng.IntN(10); {
	case r == 0: // the newest block is abandoned
		last := b.inflight[len(b.inflight)-1]
		b.inflight = b.inflight[:len(b.inflight)-1]
		b.p.Requeue(hashesOf(last))
	case r == 1 && len(b.inflight) == 2: // both are abandoned
		b.p.Requeue(hashesOf(b.inflight[0]))
		b.p.Requeue(hashesOf(b.inflight[1]))
		b.inflight = b.inflight[:0]
	default:
		b.commitOldest()
	}
}

func (b *blockSim) commitOldest() {
	batch := b.inflight[0]
	b.inflight = b.inflight[1:]
	h := b.height.Load()
	b.ledger.mu.Lock()
	for _, e := range batch {
		s := int(e.Sender[7]) - 1
		b.ledger.next[s] = e.Seq + 1
	}
	b.ledger.mu.Unlock()
	b.p.Commit(h, committedOf(batch))
	b.height.Add(1)
	b.committed += int64(len(batch))
	b.blocks++
}

// checkBatch: each sender's txs continue its committed sequence (plus what earlier
// in-flight blocks hold) without gaps, are valid at the height, and fit the limits.
func (b *blockSim) checkBatch(batch []Entry[int], count, bytes int, height uint64) {
	b.t.Helper()
	if len(batch) > count {
		b.t.Fatalf("batch of %d txs, limit %d", len(batch), count)
	}
	total := 0
	expect := map[[20]byte]uint64{}
	for _, blk := range b.inflight {
		for _, e := range blk {
			expect[e.Sender] = e.Seq + 1
		}
	}
	for _, e := range batch {
		total += e.SizeBytes
		want, ok := expect[e.Sender]
		if !ok {
			want = b.ledger.get(int(e.Sender[7]) - 1)
		}
		if e.Seq != want {
			b.t.Fatalf("sender %d: batch has seq %d, want %d", e.Sender[7], e.Seq, want)
		}
		expect[e.Sender] = e.Seq + 1
		if e.LastValid < height {
			b.t.Fatalf("batch at height %d has a tx valid only to %d", height, e.LastValid)
		}
	}
	if total > bytes {
		b.t.Fatalf("batch of %d bytes, limit %d", total, bytes)
	}
}

func (b *blockSim) drain() {
	for len(b.inflight) > 0 {
		b.commitOldest()
	}
}

func hashesOf(batch []Entry[int]) [][32]byte {
	out := make([][32]byte, len(batch))
	for i, e := range batch {
		out[i] = e.Hash
	}
	return out
}
