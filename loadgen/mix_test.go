package loadgen

import (
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

const mixChain = "settle-mix"

// mixBlocks generates and signs blocks×perBlock transactions of a mix and the
// genesis they run on.
func mixBlocks(tb testing.TB, name string, blocks, perBlock int) (*ledger.Genesis, [][]*txn.Tx) {
	tb.Helper()
	var spec MixSpec
	var err error
	if name == "payments" { // the baseline: plain native payments among the same banks
		spec, err = MixSpecFor(MixInterbank, 1, 10, 1<<40)
		spec.EscrowShare, spec.MultiSigShare, spec.NativeShare = 0, 0, 1
	} else {
		spec, err = MixSpecFor(name, 1, 10, 1<<40)
	}
	if err != nil {
		tb.Fatal(err)
	}
	g, keys, err := MixGenesis(spec, mixChain, 10, 1_000_000_000_000, 1_000_000_000_000)
	if err != nil {
		tb.Fatal(err)
	}
	env := Env{ChainID: mixChain}
	for _, k := range keys {
		env.Accounts = append(env.Accounts, k.AccountID())
		env.StartSeqs = append(env.StartSeqs, 1)
	}
	w, err := NewMix(name, spec, env)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]*txn.Tx, blocks)
	for b := range out {
		for range perBlock {
			tx := new(txn.Tx)
			signer := w.Next(tx)
			ks := []txn.Key{keys[signer]}
			for _, c := range w.CoSigners() {
				ks = append(ks, keys[c])
			}
			if err := txn.Sign(tx, ks...); err != nil {
				tb.Fatalf("sign %s: %v", tx.Type, err)
			}
			out[b] = append(out[b], tx)
		}
	}
	return g, out
}

// TestMixesExecute runs each mix through the real ledger: every block keeps the
// invariants and nearly every transaction succeeds (the mixes are funded).
func TestMixesExecute(t *testing.T) {
	for _, name := range []string{MixMultiAsset, MixConditional, MixInterbank} {
		t.Run(name, func(t *testing.T) {
			g, blocks := mixBlocks(t, name, 6, 300)
			l, err := ledger.FromGenesis(g)
			if err != nil {
				t.Fatal(err)
			}
			results := map[codes.Code]int{}
			types := map[txn.Type]int{}
			for i, txs := range blocks {
				res := l.Execute(uint64(i+1), txs)
				l.Apply(res)
				if err := l.CheckInvariants(); err != nil {
					t.Fatalf("block %d: %v", i+1, err)
				}
				for j, r := range res.Receipts {
					results[r.Result]++
					types[txs[j].Type]++
				}
			}
			t.Logf("%s: results %v, types %v", name, results, types)
			if total := 6 * 300; results[codes.Success] < total*98/100 {
				t.Errorf("only %d of %d succeeded: %v", results[codes.Success], total, results)
			}
			if name != MixMultiAsset && types[txn.TypeEscrowFinish] == 0 {
				t.Errorf("no escrow was finished: %v", types)
			}
		})
	}
}

// BenchmarkExecuteMix: ledger Execute + Apply throughput of blocks of 2000
// transactions, plain native payments versus the interbank mix (signatures are
// verified before execution and are not part of it).
//
//	go test ./loadgen -run '^$' -bench BenchmarkExecuteMix -benchtime 40x
func BenchmarkExecuteMix(b *testing.B) {
	const perBlock, blocks = 2000, 10
	for _, name := range []string{"payments", MixInterbank} {
		b.Run(name, func(b *testing.B) {
			g, txs := mixBlocks(b, name, blocks, perBlock)
			var l *ledger.Ledger
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%blocks == 0 {
					b.StopTimer()
					l, _ = ledger.FromGenesis(g)
					b.StartTimer()
				}
				l.Apply(l.Execute(uint64(i%blocks+1), txs[i%blocks]))
			}
			b.ReportMetric(float64(b.N*perBlock)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
