package loadgen

import (
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

const mixChain = "settle-mix"

// mixBlocks generates and signs blocks×perBlock transactions of a mix through the
// load generator's own pre-signing (BuildTxSet, which co-signs for a CoSigner)
// and returns the genesis they run on.
func mixBlocks(tb testing.TB, name string, blocks, perBlock int) (*ledger.Genesis, [][]*txn.Tx) {
	tb.Helper()
	spec, err := MixSpecFor(name, 1, 10, 1<<40)
	if err != nil {
		tb.Fatal(err)
	}
	g, keys, w := mixSetup(tb, name, spec)
	return g, signedBlocks(tb, w, keys, blocks, perBlock)
}

// mixSetup builds spec's genesis, keys and workload.
func mixSetup(tb testing.TB, name string, spec MixSpec) (*ledger.Genesis, []txn.Key, *Mix) {
	tb.Helper()
	g, keys, err := MixGenesis(spec, mixChain, 10, MixNativeEach, MixIssuedEach)
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
	return g, keys, w
}

// signedBlocks pre-signs blocks×perBlock transactions of w with BuildTxSet and
// decodes them back, as a node would receive them.
func signedBlocks(tb testing.TB, w Workload, keys []txn.Key, blocks, perBlock int) [][]*txn.Tx {
	tb.Helper()
	set, err := BuildTxSet(w, keys, blocks*perBlock, nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]*txn.Tx, blocks)
	for i := range set.Len() {
		tx, err := txn.Decode(set.Raw(i))
		if err != nil {
			tb.Fatalf("transaction %d: %v", i, err)
		}
		out[i/perBlock] = append(out[i/perBlock], tx)
	}
	return out
}

// execBlocks runs blocks through a ledger from g, checking the invariants after
// each, and counts results per transaction type.
func execBlocks(tb testing.TB, g *ledger.Genesis, blocks [][]*txn.Tx) map[txn.Type]map[codes.Code]int {
	tb.Helper()
	l, err := ledger.FromGenesis(g)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[txn.Type]map[codes.Code]int{}
	for i, txs := range blocks {
		res := l.Execute(uint64(i+1), txs)
		l.Apply(res)
		if err := l.CheckInvariants(); err != nil {
			tb.Fatalf("block %d: %v", i+1, err)
		}
		for j, r := range res.Receipts {
			if out[txs[j].Type] == nil {
				out[txs[j].Type] = map[codes.Code]int{}
			}
			out[txs[j].Type][r.Result]++
		}
	}
	return out
}

// hideCoSigner hides a workload's CoSigner method from BuildTxSet.
type hideCoSigner struct{ Workload }

// TestCoSignedExchangesSucceed: BuildTxSet signs each co-signed exchange with both
// banks' keys, so every one succeeds in the real ledger; signed by the sender
// alone, every one fails with not_authorized.
func TestCoSignedExchangesSucceed(t *testing.T) {
	spec, err := MixSpecFor(MixInterbank, 7, 10, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	spec.MultiSigShare = 0.2 // many exchanges in a small test
	tests := []struct {
		name     string
		wrap     func(*Mix) Workload
		wantCode codes.Code
	}{
		{"co-signed", func(m *Mix) Workload { return m }, codes.Success},
		{"sender only", func(m *Mix) Workload { return hideCoSigner{m} }, codes.NotAuthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, keys, m := mixSetup(t, MixInterbank, spec)
			blocks := signedBlocks(t, tc.wrap(m), keys, 4, 500)
			for _, tx := range blocks[0] {
				if want := 1 + btoi(tx.Type == txn.TypeMultiLeg && tc.wantCode == codes.Success); len(tx.Sigs) != want {
					t.Fatalf("%s carries %d signatures, want %d", tx.Type, len(tx.Sigs), want)
				}
			}
			got := execBlocks(t, g, blocks)[txn.TypeMultiLeg]
			total := 0
			for _, n := range got {
				total += n
			}
			if total < 100 || got[tc.wantCode] != total {
				t.Errorf("multi-leg results %v over %d exchanges, want all %s", got, total, tc.wantCode)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMixesExecute runs each mix through the real ledger: every block keeps the
// invariants and nearly every transaction succeeds (the mixes are funded), the
// co-signed exchanges included.
func TestMixesExecute(t *testing.T) {
	for _, name := range MixNames() {
		t.Run(name, func(t *testing.T) {
			g, blocks := mixBlocks(t, name, 6, 300)
			byType := execBlocks(t, g, blocks)
			results, ok := map[codes.Code]int{}, 0
			for _, m := range byType {
				for c, n := range m {
					results[c] += n
				}
			}
			ok = results[codes.Success]
			t.Logf("%s: results by type %v", name, byType)
			if total := 6 * 300; ok < total*98/100 {
				t.Errorf("only %d of %d succeeded: %v", ok, total, results)
			}
			if name == MixConditional || name == MixInterbank {
				if byType[txn.TypeEscrowFinish][codes.Success] == 0 {
					t.Errorf("no escrow was finished: %v", byType)
				}
			}
			for c, n := range byType[txn.TypeMultiLeg] {
				if c != codes.Success {
					t.Errorf("%d co-signed exchanges failed with %s", n, c)
				}
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
	for _, name := range []string{MixPayments, MixInterbank} {
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
