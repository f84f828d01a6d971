package ledger_test

import (
	"fmt"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

const (
	benchAccounts = 10_000
	benchBlockTxs = 2000
	benchBlocks   = 10 // pre-signed blocks, replayed from genesis in cycles
)

// benchBlock signs block k of a rotating workload: each block's 2000 senders are
// distinct, and each sends to the next account.
func benchBlock(b *testing.B, k int) []*txn.Tx {
	txs := make([]*txn.Tx, benchBlockTxs)
	for i := range txs {
		n := k*benchBlockTxs + i
		from := n % benchAccounts
		txs[i] = payment{from: from, to: (from + 1) % benchAccounts, seq: uint64(1 + n/benchAccounts), amount: 1}.sign(b)
	}
	return txs
}

// BenchmarkExecute measures ledger.Execute + Apply of native payments over 10,000
// accounts in blocks of 2000 transactions (signatures are not verified here),
// with the state tree maintained (the product) and without (what it costs).
//
//	go test ./engine/ledger -run '^$' -bench BenchmarkExecute -benchtime 200x -count 6
func BenchmarkExecute(b *testing.B) {
	g := plainGenesis(benchAccounts, 1_000_000_000) // native payments only: no trust lines to copy
	l0 := newLedger(b, g)
	var accounts []*ledger.Account
	l0.Accounts(func(a *ledger.Account) { accounts = append(accounts, a) })
	assets := l0.Assets()
	assetPtrs := make([]*ledger.AssetInfo, len(assets))
	for i := range assets {
		assetPtrs[i] = &assets[i]
	}
	meta0 := l0.Meta()
	blocks := make([][]*txn.Tx, benchBlocks)
	for k := range blocks {
		blocks[k] = benchBlock(b, k)
	}
	for _, root := range []bool{true, false} {
		name := "state-root=on"
		if !root {
			name = "state-root=off"
		}
		b.Run(name, func(b *testing.B) {
			// Installed accounts are never mutated in place, so every cycle can
			// restart from the same genesis records.
			restart := func() *ledger.Ledger {
				l := ledger.Restore(g, meta0, accounts, assetPtrs)
				if !root {
					l.DisableStateRoot()
				}
				return l
			}
			l := restart()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % benchBlocks
				if k == 0 && i > 0 {
					b.StopTimer()
					l = restart()
					b.StartTimer()
				}
				res := l.Execute(uint64(k+1), blocks[k])
				l.Apply(res)
				if i < benchBlocks && res.Receipts[benchBlockTxs-1].Result != codes.Success {
					b.Fatalf("block %d: %s", k+1, res.Receipts[benchBlockTxs-1].Result)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*benchBlockTxs)/b.Elapsed().Seconds(), "tx/s")
			if err := l.CheckInvariants(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// queueFixture is a ledger holding entries queued USD payments among banks
// (demo accounts 1..banks) that each hold opening USD, restored directly from
// records (no signing), with gridlock resolution every block.
func queueFixture(b *testing.B, banks, entries int, opening uint64) (*ledger.Genesis, *ledger.Ledger) {
	g := genesis(banks+1, 1_000_000_000)
	for i := 1; i <= banks; i++ {
		g.Accounts[i].Issued[0].Amount = txn.Uint(opening)
	}
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 1}
	l0 := newLedger(b, g)
	var accounts []*ledger.Account
	l0.Accounts(func(a *ledger.Account) { accounts = append(accounts, a) })
	assets := l0.Assets()
	assetPtrs := make([]*ledger.AssetInfo, len(assets))
	for i := range assets {
		assetPtrs[i] = &assets[i]
	}
	queued := make([]*ledger.Queued, entries)
	x := uint64(12345)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	seqs := map[int]uint64{}
	for i := range queued {
		from := 1 + int(next()%uint64(banks))
		to := 1 + int(next()%uint64(banks-1))
		if to >= from {
			to++
		}
		seqs[from]++
		prio := txn.PriorityNormal
		if next()%10 == 0 {
			prio = txn.PriorityUrgent
		}
		queued[i] = &ledger.Queued{ID: ledger.QueueID{Sender: id(from), Seq: seqs[from]}, Priority: prio, Height: 1 + uint64(i/1000),
			Index: uint32(i % 1000), Until: 1 << 40, Legs: []txn.Leg{leg(from, to, usd(), 1+next()%(2*opening))}}
	}
	meta := l0.Meta()
	meta.Height = uint64(entries/1000) + 1
	return g, ledger.RestoreState(g, meta, accounts, assetPtrs, nil, queued)
}

// BenchmarkGridlock measures one block's end-of-block queue work with a
// standing queue: an empty block at a gridlock height (release finds nothing
// touched, then gridlock resolution over the whole queue), among 50 banks
// each holding 1,000 USD against payments of 1 to 2,000, so that partial
// optimisation has work to do. The block is executed, not
// applied, so every iteration does the same work.
//
//	go test ./engine/ledger -run '^$' -bench BenchmarkGridlock -benchtime 5x -count 5
func BenchmarkGridlock(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			_, l := queueFixture(b, 50, n, 1_000)
			h := l.Meta().Height + 1
			var settled int
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res := l.Execute(h, nil)
				settled = len(res.QueueEvents)
			}
			b.ReportMetric(float64(settled), "settled")
		})
	}
}
