package ledger_test

import (
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
