package mempool

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// benchEntry derives a distinct transaction from i without allocating: sender
// i/4 (four sequences per sender), sequence i%4.
func benchEntry(i uint64, round uint32) Entry[int] {
	var s [20]byte
	binary.LittleEndian.PutUint64(s[:], i/4+1)
	return Entry[int]{Hash: txHash(s, i%4, round), Sender: s, Seq: i % 4, Fee: 10, LastValid: 1 << 40, SizeBytes: 200}
}

func benchConfig(txs int) Config {
	cfg := DefaultConfig()
	cfg.TxCountMax = max(4*txs, 1024) // stays below the escalation start
	cfg.BytesMax = cfg.TxCountMax * 200
	cfg.AccountTxMax = 8
	return cfg
}

// warm adds and commits n transactions so that nodes, accounts and map space
// are recycled by the measured phase, as in a running node.
func warm(b testing.TB, p *Pool[int], n int) {
	for i := range uint64(n) {
		if err := p.Add(benchEntry(i, 0), 0, 1); err != nil {
			b.Fatal(err)
		}
	}
	var out []Entry[int]
	for {
		out = p.Reap(4096, 1<<30, 1, out[:0])
		if len(out) == 0 {
			break
		}
		p.Commit(1, committedOf(out))
	}
	if st := p.Stats(); st.TxCount != 0 {
		b.Fatalf("warm-up left %+v", st)
	}
}

// BenchmarkAdd measures concurrent admission into a pool with room, from
// GOMAXPROCS goroutines; ns/op is wall time per Add across all of them. To keep
// memory bounded, Adds run in rounds of addRound; between rounds, outside the
// timer, the pool is drained by Reap and Commit (so nodes are recycled as in a
// running node).
func BenchmarkAdd(b *testing.B) {
	const addRound = 1 << 16
	p := mustNew(b, benchConfig(addRound))
	warm(b, p, addRound)
	workers := runtime.GOMAXPROCS(0)
	seqBase := uint64(4) // every sender's committed next sequence after warm-up
	var out []Entry[int]
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, addRound)
		var next atomic.Uint64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < uint64(n); i = next.Add(1) - 1 {
					e := benchEntry(i, 0)
					e.Seq += seqBase
					e.Hash = txHash(e.Sender, e.Seq, 0)
					if err := p.Add(e, seqBase, 1); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
		done += n
		b.StopTimer()
		for {
			out = p.Reap(4096, 1<<30, 1, out[:0])
			if len(out) == 0 {
				break
			}
			p.Commit(1, committedOf(out))
		}
		p.Commit(1, commitAll(n, seqBase+4)) // senders that got fewer than 4 txs
		seqBase += 4
		b.StartTimer()
	}
}

// commitAll reports every sender of the first n benchEntry indexes as committed
// up to next.
func commitAll(n int, next uint64) []Committed {
	out := make([]Committed, 0, n/4+1)
	for i := uint64(0); i < uint64(n); i += 4 {
		e := benchEntry(i, 0)
		out = append(out, Committed{Sender: e.Sender, NextSeq: next})
	}
	return out
}

// BenchmarkReapCommit measures the block-assembly side per transaction: Reap of
// blocks of 1,000 then Commit of each, with the pool refilled outside the timer.
func BenchmarkReapCommit(b *testing.B) {
	const block = 1000
	p := mustNew(b, benchConfig(4*block))
	warm(b, p, 4*block)
	var out []Entry[int]
	commits := make([]Committed, 0, block)
	seqBase := uint64(4) // committed next sequence of every sender after warm-up
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		for i := range uint64(4 * block) {
			e := benchEntry(i, 0)
			e.Seq += seqBase
			e.Hash = txHash(e.Sender, e.Seq, 0)
			if err := p.Add(e, seqBase, 1); err != nil {
				b.Fatal(err)
			}
		}
		seqBase += 4
		b.StartTimer()
		for {
			out = p.Reap(block, 1<<30, 1, out[:0])
			if len(out) == 0 {
				break
			}
			commits = commits[:0]
			for _, e := range out {
				commits = append(commits, Committed{Hash: e.Hash, Sender: e.Sender, NextSeq: e.Seq + 1})
			}
			p.Commit(1, commits)
			done += len(out)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/tx")
}

// TestAddDoesNotAllocate checks the hot path: once nodes, accounts and map space
// have been recycled, Add allocates nothing.
func TestAddDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful in -short runs")
	}
	const n = 4096
	p := mustNew(t, benchConfig(n))
	warm(t, p, n)
	i := uint64(0)
	allocs := testing.AllocsPerRun(n-1, func() {
		e := benchEntry(i, 0)
		e.Seq += 4
		e.Hash = txHash(e.Sender, e.Seq, 0)
		if err := p.Add(e, 4, 1); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("Add allocates %.2f times per call", allocs)
	}
	out := make([]Entry[int], 0, n)
	allocs = testing.AllocsPerRun(4, func() {
		out = p.Reap(n/8, 1<<30, 1, out[:0])
		if len(out) != n/8 {
			t.Fatalf("Reap returned %d", len(out))
		}
	})
	if allocs != 0 {
		t.Fatalf("Reap allocates %.2f times per call", allocs)
	}
}
