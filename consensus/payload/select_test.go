package payload

import (
	"fmt"
	"slices"
	"testing"

	"settle/consensus/hotstuff"
	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/mempool"
)

// signedTx is demo account from's payment with sequence seq.
func signedTx(t testing.TB, from int, seq uint64) *txn.Tx {
	t.Helper()
	k := devnet.DemoKey(devnet.ChainID, from)
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seq, Fee: 10,
		LastValid: 1 << 40, Dest: devnet.DemoKey(devnet.ChainID, from+100).AccountID(), Amount: 1}
	if err := txn.Sign(tx, k); err != nil {
		t.Fatal(err)
	}
	return tx
}

func entryOf(tx *txn.Tx) mempool.Entry[*txn.Tx] {
	return mempool.Entry[*txn.Tx]{Hash: tx.Hash(), Sender: tx.Sender, Seq: tx.Seq, Fee: tx.Fee, LastValid: tx.LastValid,
		SizeBytes: len(tx.Bytes()), Tx: tx}
}

// chainOf builds a tracker holding a linear chain of blocks above height
// execHeight, one block per list of transactions, and returns the tip's hash.
func chainOf(t testing.TB, execHeight uint64, blocks ...[]*txn.Tx) (*Tracker, hotstuff.Hash) {
	t.Helper()
	tr := NewTracker(16)
	tr.Executed(execHeight)
	parent := hotstuff.Hash{0xee}
	for i, txs := range blocks {
		raws := make([][]byte, len(txs))
		for k, tx := range txs {
			raws[k] = tx.Bytes()
		}
		var payload []byte
		if len(raws) > 0 {
			payload = txn.EncodeBatch(raws)
		}
		b := &hotstuff.Block{Parent: parent, View: uint64(10 + i), Height: execHeight + 1 + uint64(i), Payload: payload}
		tr.Track(b)
		parent = b.Hash()
	}
	return tr, parent
}

func names(txs []*txn.Tx, ids map[txn.AccountID]int) []string {
	out := make([]string, len(txs))
	for i, tx := range txs {
		out[i] = fmt.Sprintf("%c%d", 'A'+ids[tx.Sender], tx.Seq)
	}
	return out
}

func TestSelect(t *testing.T) {
	a, b := 0, 1
	ids := map[txn.AccountID]int{devnet.DemoKey(devnet.ChainID, a).AccountID(): 0, devnet.DemoKey(devnet.ChainID, b).AccountID(): 1}
	tx := func(from int, seq uint64) *txn.Tx { return signedTx(t, from, seq) }
	for _, tc := range []struct {
		name      string
		ancestors [][]*txn.Tx
		committed map[int]uint64 // next sequence per account in the committed ledger (default 1)
		reaped    []*txn.Tx
		want      []string
		requeue   int
		held      int
		stale     int
	}{
		{
			name:   "an idle chain takes consecutive sequences",
			reaped: []*txn.Tx{tx(a, 1), tx(b, 1), tx(a, 2)},
			want:   []string{"A1", "B1", "A2"},
		},
		{
			// The leader's block for A1 was orphaned: its mempool still marks A1
			// proposed and offers A2. A2 must not go in before A1.
			name:    "a sequence gap on the chain is requeued",
			reaped:  []*txn.Tx{tx(a, 2), tx(b, 1), tx(a, 3)},
			want:    []string{"B1"},
			requeue: 2,
		},
		{
			// Another leader's ancestor carries A1 (this mempool has it ready, by
			// gossip): A1 is not proposed again, A2 follows it.
			name:      "what an ancestor carries is held, its successor follows",
			ancestors: [][]*txn.Tx{{tx(a, 1)}},
			reaped:    []*txn.Tx{tx(a, 1), tx(a, 2)},
			want:      []string{"A2"},
			held:      1,
		},
		{
			// The ledger already executed A1, the mempool has not heard yet.
			name:      "a sequence the committed state passed stays out",
			committed: map[int]uint64{a: 2},
			reaped:    []*txn.Tx{tx(a, 1), tx(a, 2)},
			want:      []string{"A2"},
			stale:     1,
		},
		{
			// The committed state is newer than the chain's executed height: the
			// ancestor's A1 is already in it, and the fold does not count it twice.
			name:      "a committed state newer than the chain",
			ancestors: [][]*txn.Tx{{tx(a, 1)}, {tx(b, 1)}},
			committed: map[int]uint64{a: 2},
			reaped:    []*txn.Tx{tx(a, 2), tx(b, 1), tx(b, 2)},
			want:      []string{"A2", "B2"},
			held:      1,
		},
		{
			// A different transaction with A1's sequence sits in an ancestor: this
			// one conflicts, and A2 (which would follow the ancestor's A1) waits.
			name:      "a conflict with an ancestor blocks the sender",
			ancestors: [][]*txn.Tx{{tx(a, 1)}},
			reaped: []*txn.Tx{func() *txn.Tx {
				x := tx(a, 1)
				x.Amount = 2
				_ = txn.Sign(x, devnet.DemoKey(devnet.ChainID, a))
				return x
			}(), tx(a, 2)},
			want:    []string{},
			requeue: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, tip := chainOf(t, 0, tc.ancestors...)
			c := tr.Chain(tip)
			if !c.Complete {
				t.Fatal("a tracked chain down to the executed height is incomplete")
			}
			entries := make([]mempool.Entry[*txn.Tx], len(tc.reaped))
			for i, x := range tc.reaped {
				entries[i] = entryOf(x)
			}
			sel := c.Select(entries, func(id txn.AccountID) uint64 {
				if s, ok := tc.committed[ids[id]]; ok {
					return s
				}
				return 1
			})
			if got := names(sel.Txs, ids); !slices.Equal(got, tc.want) {
				t.Fatalf("selected %v, want %v", got, tc.want)
			}
			if len(sel.Requeue) != tc.requeue || sel.Held != tc.held || sel.Stale != tc.stale {
				t.Fatalf("requeue %d held %d stale %d, want %d %d %d", len(sel.Requeue), sel.Held, sel.Stale, tc.requeue, tc.held, tc.stale)
			}
		})
	}
}

// TestChainIncomplete: an ancestor missing between the parent and the executed
// height makes the chain incomplete, and Select then proposes nothing.
func TestChainIncomplete(t *testing.T) {
	tr := NewTracker(16)
	orphan := &hotstuff.Block{Parent: hotstuff.Hash{1}, View: 5, Height: 3}
	tr.Track(orphan) // its parent (height 2) is unknown, executed height 0
	c := tr.Chain(orphan.Hash())
	if c.Complete {
		t.Fatal("a chain with a missing ancestor reports complete")
	}
	x := signedTx(t, 0, 1)
	sel := c.Select([]mempool.Entry[*txn.Tx]{entryOf(x)}, func(txn.AccountID) uint64 { return 1 })
	if len(sel.Txs) != 0 || len(sel.Requeue) != 1 {
		t.Fatalf("incomplete chain selected %d, requeued %d", len(sel.Txs), len(sel.Requeue))
	}
}

// TestTrackerAbandonAndExecuted: blocks of a pruned fork give their hashes back
// once; committed blocks are forgotten once executed.
func TestTrackerAbandonAndExecuted(t *testing.T) {
	x, y := signedTx(t, 0, 1), signedTx(t, 1, 1)
	tr, tip := chainOf(t, 0, []*txn.Tx{x})
	fork := &hotstuff.Block{Parent: hotstuff.Hash{0xee}, View: 20, Height: 1, Payload: txn.EncodeBatch([][]byte{y.Bytes()})}
	tr.Track(fork)
	main, _ := tr.Get(tip)
	tr.Commit(main.Block)
	requeue, n := tr.Abandon(1)
	if n != 1 || len(requeue) != 1 || requeue[0] != y.Hash() {
		t.Fatalf("abandon: %d blocks, %v", n, requeue)
	}
	if tr.Len() != 1 {
		t.Fatalf("%d blocks tracked after abandoning the fork", tr.Len())
	}
	tr.Executed(1)
	if tr.Len() != 0 {
		t.Fatalf("%d blocks tracked after executing the committed one", tr.Len())
	}
}
