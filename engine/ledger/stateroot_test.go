package ledger_test

import (
	"crypto/sha256"
	"errors"
	"testing"

	"settle/engine/ledger"
	"settle/engine/merkle"
	"settle/engine/txn"
)

// TestProveAccountAtKeptHeights: after every block, an account's proof at any
// kept height verifies against that height's state root and carries the
// account as it was then (not as it is now); an account that does not exist
// gets an absence proof; heights outside the kept window are refused.
func TestProveAccountAtKeptHeights(t *testing.T) {
	l := newLedger(t, plainGenesis(4, 1_000_000))
	l.SetProofHeightsKept(5)
	roots := map[uint64]txn.Hash{0: l.Meta().StateRoot}
	natives := map[uint64]uint64{0: mustAccount(t, l, 2).Native}
	for h := uint64(1); h <= 12; h++ {
		txs := []*txn.Tx{payment{from: 1, to: 2, seq: h, amount: 10 * h}.sign(t)}
		if h%3 == 0 { // some blocks leave account 2 alone
			txs = []*txn.Tx{payment{from: 1, to: 3, seq: h, amount: 1}.sign(t)}
		}
		l.Apply(l.Execute(h, txs))
		roots[h] = l.Meta().StateRoot
		natives[h] = mustAccount(t, l, 2).Native
		for at := uint64(0); at <= h; at++ {
			p, err := l.ProveAccount(at, id(2))
			kept := h < 5 || at > h-5
			if !kept {
				if !errors.Is(err, ledger.ErrHeightNotKept) {
					t.Fatalf("after %d: height %d outside the window: %v", h, at, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("after %d: prove at %d: %v", h, at, err)
			}
			if p.Root != merkle.Hash(roots[at]) || p.Account == nil || p.Account.Native != natives[at] {
				t.Fatalf("after %d: proof at %d: root %x (want %x), account %+v (native want %d)", h, at, p.Root, roots[at], p.Account, natives[at])
			}
			vh, present, err := merkle.VerifyState(p.Root, ledger.AccountStateKey(id(2)), p.Proof)
			if err != nil || !present || vh != sha256.Sum256(p.Account.AppendBinary(nil)) {
				t.Fatalf("after %d: proof at %d does not verify: %v present=%v", h, at, err, present)
			}
		}
	}
	var nobody txn.AccountID
	nobody[0] = 0xee
	p, err := l.ProveAccount(l.Meta().Height, nobody)
	if err != nil || p.Account != nil {
		t.Fatalf("absent account: %v %+v", err, p.Account)
	}
	if _, present, err := merkle.VerifyState(p.Root, ledger.AccountStateKey(nobody), p.Proof); err != nil || present {
		t.Fatalf("absence proof: %v present=%v", err, present)
	}
}

func mustAccount(t *testing.T, l *ledger.Ledger, i int) ledger.Account {
	t.Helper()
	a, ok := l.Account(id(i))
	if !ok {
		t.Fatalf("account %d missing", i)
	}
	return a
}

// TestProveAccountWhileApplying: the API proves accounts on its goroutines
// while the executor applies blocks; every proof is of one height, tree and
// account together (run with -race).
func TestProveAccountWhileApplying(t *testing.T) {
	l := newLedger(t, plainGenesis(4, 1_000_000))
	done := make(chan struct{})
	var proofs int
	go func() {
		defer close(done)
		for proofs < 2000 {
			h := l.Meta().Height
			p, err := l.ProveAccount(h, id(2))
			if errors.Is(err, ledger.ErrHeightNotKept) {
				continue // the head moved past the window's end between the two reads
			}
			if err != nil {
				t.Error(err)
				return
			}
			vh, present, err := merkle.VerifyState(p.Root, ledger.AccountStateKey(id(2)), p.Proof)
			if err != nil || !present || vh != sha256.Sum256(p.Account.AppendBinary(nil)) {
				t.Errorf("proof at %d: %v present=%v", h, err, present)
				return
			}
			proofs++
		}
	}()
	for h := uint64(1); h <= 300; h++ {
		l.Apply(l.Execute(h, []*txn.Tx{payment{from: 1, to: 2, seq: h, amount: 1}.sign(t)}))
	}
	<-done
}
