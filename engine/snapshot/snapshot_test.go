package snapshot_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/snapshot"
	"settle/engine/txn"
)

// chainOf runs a few blocks of payments, an escrow and queued payments on a
// dev ledger and returns it with the state hash before its last block.
func chainOf(t *testing.T, accounts int) (*ledger.Genesis, *ledger.Ledger, txn.Hash) {
	t.Helper()
	o := devnet.DefaultOptions()
	o.Accounts, o.NativeEach = accounts, 1_000_000
	g := devnet.Genesis(o)
	usd := "USD/" + devnet.DemoKey(o.ChainID, 0).AccountID().String()
	for i := 1; i < accounts; i++ {
		g.Accounts[i].Issued = []ledger.GenesisBalance{{Asset: usd}}
	}
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 0}
	l, err := ledger.FromGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	as, _ := txn.ParseAsset(usd)
	key := func(i int) txn.Key { return devnet.DemoKey(o.ChainID, i) }
	seq := map[int]uint64{}
	sign := func(from int, build func(tx *txn.Tx)) *txn.Tx {
		seq[from]++
		tx := &txn.Tx{ChainID: o.ChainID, Sender: key(from).AccountID(), Seq: seq[from], Fee: o.BaseFee, LastValid: 1 << 40}
		build(tx)
		if err := txn.Sign(tx, key(from)); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	var prev txn.Hash
	for b := 0; b < 5; b++ {
		var txs []*txn.Tx
		for i := 1; i < accounts; i++ {
			to := key(1 + i%(accounts-1)).AccountID()
			switch {
			case b == 0:
				txs = append(txs, sign(0, func(tx *txn.Tx) { tx.Type, tx.Dest, tx.Asset, tx.Amount = txn.TypePayment, key(i).AccountID(), as, 100 }))
			case b == 1 && i == 1:
				txs = append(txs, sign(i, func(tx *txn.Tx) {
					tx.Type, tx.Dest, tx.Asset, tx.Amount, tx.ReleaseHeight, tx.ExpiryHeight = txn.TypeEscrowCreate, to, txn.Native, 500, 1, 1000
				}))
			case b >= 2:
				txs = append(txs, sign(i, func(tx *txn.Tx) {
					tx.Type, tx.Dest, tx.Asset, tx.Amount, tx.Priority, tx.QueueUntil = txn.TypeQueuedPayment, to, as, uint64(70*b), txn.PriorityNormal, 1<<40
				}))
			}
		}
		prev = l.Meta().StateHash
		res := l.Execute(l.Meta().Height+1, txs)
		l.Apply(res)
	}
	if len(l.QueuedEntries()) == 0 || len(l.Escrows()) == 0 {
		t.Fatalf("the fixture holds %d queued entries and %d escrows", len(l.QueuedEntries()), len(l.Escrows()))
	}
	return g, l, prev
}

func fetch(chunks [][]byte) func(int) ([]byte, error) {
	return func(i int) ([]byte, error) {
		if i >= len(chunks) {
			return nil, fmt.Errorf("no chunk %d", i)
		}
		return chunks[i], nil
	}
}

// TestRestore: a ledger rebuilt from a snapshot in small chunks has the same
// totals and state root, and executes the next block to the same state hash.
func TestRestore(t *testing.T) {
	g, l, prev := chainOf(t, 40)
	m, chunks, err := snapshot.Build(l, prev, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 {
		t.Fatalf("%d chunks: the test wants several", len(chunks))
	}
	mb := m.AppendBinary(nil)
	m2, err := snapshot.DecodeManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	r, err := snapshot.Restore(g, m2, l.Meta().StateHash, fetch(chunks))
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta() != l.Meta() {
		t.Fatalf("restored totals %+v, want %+v", r.Meta(), l.Meta())
	}
	if len(r.QueuedEntries()) != len(l.QueuedEntries()) || len(r.Escrows()) != len(l.Escrows()) {
		t.Fatal("restored queue or escrows differ")
	}
	a, b := l.Execute(l.Meta().Height+1, nil), r.Execute(r.Meta().Height+1, nil)
	if a.Meta.StateHash != b.Meta.StateHash {
		t.Fatal("the restored ledger executes the next block to another state hash")
	}
	// The same state cuts the same way.
	m3, chunks3, _ := snapshot.Build(l, prev, 2048)
	if string(m3.AppendBinary(nil)) != string(mb) || len(chunks3) != len(chunks) {
		t.Fatal("two snapshots of one state differ")
	}
}

// TestRestoreRefusesForgeries: every way a peer can lie is refused, and what
// is false says ErrMismatch.
func TestRestoreRefusesForgeries(t *testing.T) {
	g, l, prev := chainOf(t, 30)
	trusted := l.Meta().StateHash
	m, chunks, err := snapshot.Build(l, prev, 2048)
	if err != nil {
		t.Fatal(err)
	}
	clone := func() (*snapshot.Manifest, [][]byte) {
		c := *m
		c.Chunks = append([]txn.Hash(nil), m.Chunks...)
		cs := make([][]byte, len(chunks))
		for i := range chunks {
			cs[i] = append([]byte(nil), chunks[i]...)
		}
		return &c, cs
	}
	tests := []struct {
		name     string
		mutate   func(m *snapshot.Manifest, cs [][]byte) [][]byte
		trusted  txn.Hash
		mismatch bool
	}{
		{name: "another trusted hash", trusted: txn.Hash{1}, mismatch: true},
		{name: "a flipped byte in a chunk", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte { cs[1][10] ^= 1; return cs }, mismatch: true},
		{name: "a chunk left out, its hash too", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte {
			m.Chunks = append(m.Chunks[:1], m.Chunks[2:]...)
			return append(cs[:1], cs[2:]...)
		}, mismatch: true},
		{name: "a forged chunk with its hash in the manifest", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte {
			cs[0][len(cs[0])-1] ^= 1
			m.Chunks[0] = sha256Of(cs[0])
			return cs
		}, mismatch: true},
		{name: "chunks swapped with their hashes", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte {
			m.Chunks[0], m.Chunks[1] = m.Chunks[1], m.Chunks[0]
			cs[0], cs[1] = cs[1], cs[0]
			return cs
		}, mismatch: true},
		{name: "a wrong previous state hash", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte { m.PrevStateHash[0] ^= 1; return cs }, mismatch: true},
		{name: "a missing chunk", mutate: func(m *snapshot.Manifest, cs [][]byte) [][]byte { return cs[:len(cs)-1] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mm, cs := clone()
			if tc.mutate != nil {
				cs = tc.mutate(mm, cs)
			}
			tr := trusted
			if tc.trusted != (txn.Hash{}) {
				tr = tc.trusted
			}
			_, err := snapshot.Restore(g, mm, tr, fetch(cs))
			if err == nil {
				t.Fatal("restored")
			}
			if errors.Is(err, snapshot.ErrMismatch) != tc.mismatch {
				t.Fatalf("error %v: mismatch %v, want %v", err, errors.Is(err, snapshot.ErrMismatch), tc.mismatch)
			}
		})
	}
	// A chunk cut anywhere, its hash recomputed, is refused without a panic.
	for cut := 0; cut < len(chunks[0]); cut += 7 {
		mm, cs := clone()
		cs[0] = cs[0][:cut]
		mm.Chunks[0] = sha256Of(cs[0])
		if _, err := snapshot.Restore(g, mm, trusted, fetch(cs)); err == nil {
			t.Fatalf("chunk 0 cut at %d restored", cut)
		}
	}
	for _, cut := range []int{0, 10, len(m.AppendBinary(nil)) - 1} {
		if _, err := snapshot.DecodeManifest(m.AppendBinary(nil)[:cut]); err == nil {
			t.Errorf("a manifest cut at %d decoded", cut)
		}
	}
}

func sha256Of(b []byte) txn.Hash { return sha256.Sum256(b) }
