package ledger_test

import (
	"reflect"
	"sort"
	"testing"

	"settle/engine/ledger"
	"settle/engine/txn"
)

// stream generates n random transactions by executing each as a one-transaction
// block on a reference ledger, so that the generator's model stays exact. Last
// valid heights are 0 or "never", so the results cannot depend on block boundaries.
func stream(t *testing.T, seed uint64, n int) []*txn.Tx {
	l := newLedger(t, genesis(wlGenesis, wlNative))
	w := newWorkload(seed)
	w.neverExp = true
	txs := make([]*txn.Tx, 0, n)
	for len(txs) < n {
		w.sync(l)
		tx, _ := w.next(t)
		if execApply(t, l, []*txn.Tx{tx}).Receipts[0].Applied() {
			w.committed = append(w.committed, tx)
		}
		txs = append(txs, tx)
	}
	return txs
}

type state struct {
	accounts map[txn.AccountID]ledger.Account
	assets   []ledger.AssetInfo
	supply   uint64
	burned   uint64
	txCount  uint64
}

func stateOf(l *ledger.Ledger) state {
	s := state{accounts: map[txn.AccountID]ledger.Account{}, assets: l.Assets()}
	l.Accounts(func(a *ledger.Account) {
		c := *a
		c.Issued = append([]ledger.Balance(nil), a.Issued...)
		s.accounts[a.ID] = c
	})
	sort.Slice(s.assets, func(i, j int) bool { return s.assets[i].Asset.String() < s.assets[j].Asset.String() })
	m := l.Meta()
	s.supply, s.burned, s.txCount = m.NativeSupply, m.FeesBurned, m.TxCount
	return s
}

// runBlocks executes txs in blocks of size and returns the ledger and all receipts.
func runBlocks(t *testing.T, txs []*txn.Tx, size int) (*ledger.Ledger, []ledger.Receipt) {
	l := newLedger(t, genesis(wlGenesis, wlNative))
	var receipts []ledger.Receipt
	for i := 0; i < len(txs); i += size {
		res := execApply(t, l, txs[i:min(i+size, len(txs))])
		receipts = append(receipts, res.Receipts...)
	}
	return l, receipts
}

// TestBlockSizeEquivalence executes one stream of transactions in blocks of
// different sizes: receipts, accounts, assets and supply totals must be identical.
// State hashes differ by design (the chain has one link per block), but the same
// block sequence executed twice gives the same state hash.
func TestBlockSizeEquivalence(t *testing.T) {
	txs := stream(t, 11, 600)
	refLedger, refReceipts := runBlocks(t, txs, 1)
	ref := stateOf(refLedger)
	for _, size := range []int{7, 100, len(txs)} {
		l, receipts := runBlocks(t, txs, size)
		if !reflect.DeepEqual(receipts, refReceipts) {
			t.Errorf("blocks of %d: receipts differ from blocks of 1", size)
		}
		if got := stateOf(l); !reflect.DeepEqual(got, ref) {
			t.Errorf("blocks of %d: final state differs from blocks of 1", size)
		}
		again, _ := runBlocks(t, txs, size)
		if again.Meta() != l.Meta() {
			t.Errorf("blocks of %d: two runs end in %+v and %+v", size, l.Meta(), again.Meta())
		}
	}
	if refLedger.Meta().StateHash == newLedger(t, genesis(wlGenesis, wlNative)).Meta().StateHash {
		t.Error("the state hash did not move")
	}
}

// TestExecuteIsPure checks that Execute leaves the committed state alone until
// Apply, and that executing the same block twice gives the same result.
func TestExecuteIsPure(t *testing.T) {
	txs := stream(t, 12, 200)
	l := newLedger(t, genesis(wlGenesis, wlNative))
	before, meta := stateOf(l), l.Meta()
	first := l.Execute(1, txs)
	if !reflect.DeepEqual(stateOf(l), before) || l.Meta() != meta {
		t.Fatal("Execute changed the committed state")
	}
	second := l.Execute(1, txs)
	if !reflect.DeepEqual(first, second) {
		t.Fatal("two executions of one block differ")
	}
	l.Apply(first)
	if l.Meta() != first.Meta || reflect.DeepEqual(stateOf(l), before) {
		t.Fatal("Apply did not install the result")
	}
}

// TestStateHashDetectsDivergence: one different transaction in a block changes its
// state hash and every later one.
func TestStateHashDetectsDivergence(t *testing.T) {
	a := newLedger(t, genesis(4, testNative))
	b := newLedger(t, genesis(4, testNative))
	ra := execApply(t, a, []*txn.Tx{payment{from: 1, to: 2, seq: 1, amount: 5}.sign(t)})
	rb := execApply(t, b, []*txn.Tx{payment{from: 1, to: 2, seq: 1, amount: 6}.sign(t)})
	if ra.Meta.StateHash == rb.Meta.StateHash {
		t.Fatal("different blocks gave one state hash")
	}
	next := []*txn.Tx{payment{from: 2, to: 3, seq: 1, amount: 1}.sign(t)}
	if execApply(t, a, next).Meta.StateHash == execApply(t, b, next).Meta.StateHash {
		t.Fatal("the divergence did not carry into the next block")
	}
	// A failed transaction also enters the hash through its receipt.
	c := newLedger(t, genesis(4, testNative))
	d := newLedger(t, genesis(4, testNative))
	hc := execApply(t, c, nil).Meta.StateHash
	hd := execApply(t, d, []*txn.Tx{payment{from: 1, to: 2, seq: 9, amount: 1}.sign(t)}).Meta.StateHash
	if hc == hd {
		t.Fatal("a seq_too_far receipt left the state hash unchanged")
	}
}

func TestExecuteWrongHeightPanics(t *testing.T) {
	l := newLedger(t, genesis(4, testNative))
	for _, h := range []uint64{0, 2} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Execute at height %d after 0 did not panic", h)
				}
			}()
			l.Execute(h, nil)
		}()
	}
	res := l.Execute(1, nil)
	l.Apply(res)
	defer func() {
		if recover() == nil {
			t.Error("applying block 1 twice did not panic")
		}
	}()
	l.Apply(res)
}
