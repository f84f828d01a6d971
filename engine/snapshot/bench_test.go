package snapshot_test

import (
	"testing"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/snapshot"
	"settle/internal/testkit"
)

// TestSnapshotIsPure: cutting and checking a snapshot is a function of the
// ledger and the chunks alone.
func TestSnapshotIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{Banned: testkit.DeterministicBans, NoGoroutines: true})
}

// BenchmarkSnapshot cuts and restores the state of a genesis of 100,000
// funded accounts: what a joining validator's state sync costs here beside
// fetching the chunks (about 100 bytes an account).
//
//	go test ./engine/snapshot -run '^$' -bench Snapshot -benchtime 3x
func BenchmarkSnapshot(b *testing.B) {
	o := devnet.DefaultOptions()
	o.Accounts = 100_000
	g := devnet.Genesis(o)
	l, err := ledger.FromGenesis(g)
	if err != nil {
		b.Fatal(err)
	}
	m, chunks, err := snapshot.Build(l, [32]byte{}, 0)
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for _, c := range chunks {
		size += len(c)
	}
	b.Run("build", func(b *testing.B) {
		for range b.N {
			if _, _, err := snapshot.Build(l, [32]byte{}, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
		b.ReportMetric(float64(len(chunks)), "chunks")
	})
	// Restore checks the chain to the trusted hash, which a genesis state
	// (height 0) has not: check the chunks and rebuild as Restore does, by
	// restoring at a fake height 1 whose commitment is computed here.
	m.Height, m.Meta.Height = 1, 1
	m.Meta.StateHash = ledger.StateCommitment(m.PrevStateHash, 1, m.Meta.StateRoot, m.Meta.TxRoot)
	b.Run("restore", func(b *testing.B) {
		for range b.N {
			if _, err := snapshot.Restore(g, m, m.Meta.StateHash, func(i int) ([]byte, error) { return chunks[i], nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
