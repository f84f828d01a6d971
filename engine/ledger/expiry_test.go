package ledger_test

import (
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// signSteps signs steps as one block's transactions, giving each sender its
// next sequences in order.
func signSteps(t *testing.T, l *ledger.Ledger, steps ...step) []*txn.Tx {
	t.Helper()
	next := map[int]uint64{}
	txs := make([]*txn.Tx, len(steps))
	for i, s := range steps {
		if _, ok := next[s.from]; !ok {
			next[s.from] = 1
			if a, ok := l.Account(id(s.from)); ok {
				next[s.from] = a.Seq
			}
		}
		tx := &txn.Tx{ChainID: testChain, Sender: id(s.from), Seq: next[s.from], Fee: testBaseFee, LastValid: noExpiry}
		next[s.from]++
		s.build(tx)
		keys := s.keys
		if keys == nil {
			keys = []txn.Key{key(s.from)}
		}
		if err := txn.Sign(tx, keys...); err != nil {
			t.Fatalf("sign %s: %v", tx.Type, err)
		}
		txs[i] = tx
	}
	return txs
}

// restartFrom copies the committed state as storage would hold it and restores a
// ledger from it (a restart).
func restartFrom(t *testing.T, g *ledger.Genesis, l *ledger.Ledger) *ledger.Ledger {
	t.Helper()
	var accounts []*ledger.Account
	l.Accounts(func(a *ledger.Account) {
		b, err := ledger.DecodeAccount(a.ID, a.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, b)
	})
	infos := l.Assets()
	assets := make([]*ledger.AssetInfo, len(infos))
	for i := range infos {
		assets[i] = &infos[i]
	}
	var escrows []*ledger.Escrow
	for _, e := range l.Escrows() {
		c, err := ledger.DecodeEscrow(e.ID, e.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		escrows = append(escrows, c)
	}
	r := ledger.Restore(g, l.Meta(), accounts, assets, escrows...)
	if err := r.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEscrowExpiry: escrows are returned to their owners at the end of their
// expiry block with no transaction, in (expiry, owner, sequence) order; one
// finished or cancelled in its expiry block is not returned again; the
// invariants hold after every block; and a restart in the middle (which
// rebuilds the expiry index) gives the same state hashes.
func TestEscrowExpiry(t *testing.T) {
	g := ibGenesis()
	l := newLedger(t, g)
	execApply(t, l, signSteps(t, l, pay(0, 1, usd(), 1000), pay(0, 2, usd(), 1000))) // block 1
	before := map[int]ledger.Account{}
	for i := 1; i <= 4; i++ {
		before[i] = account(t, l, id(i))
	}
	// Block 2: five escrows. Expiring at 4: 2's USD, 1's two native ones; at 5:
	// 3's native, cancelled by its destination in block 5; at 6: 4's native.
	execApply(t, l, signSteps(t, l,
		escrow(2, 3, usd(), 300, 0, 4, true),
		escrow(1, 2, txn.Native, 500, 0, 4, true),
		escrow(1, 3, txn.Native, 70, 3, 4, false),
		escrow(3, 4, txn.Native, 9, 0, 5, true),
		escrow(4, 1, txn.Native, 11, 0, 6, true)))
	if n := len(l.Escrows()); n != 5 {
		t.Fatalf("%d escrows open, want 5", n)
	}

	blocks := map[uint64][]*txn.Tx{5: signSteps(t, l, cancel(4, 3, 1))}
	wants := map[uint64][]ledger.EscrowID{
		4: sortedIDs(ledger.EscrowID{Owner: id(1), Seq: 1}, ledger.EscrowID{Owner: id(1), Seq: 2}, ledger.EscrowID{Owner: id(2), Seq: 1}),
		6: {{Owner: id(4), Seq: 1}},
	}
	restarted := restartFrom(t, g, l)
	for h := uint64(3); h <= 7; h++ {
		res := execApply(t, l, blocks[h])
		if h == 4 {
			restarted = restartFrom(t, g, restarted) // a second restart, just before the returns
		}
		res2 := execApply(t, restarted, blocks[h])
		if res.Meta.StateHash != res2.Meta.StateHash {
			t.Fatalf("block %d: state hash %s, %s after a restart", h, res.Meta.StateHash, res2.Meta.StateHash)
		}
		for _, r := range res.Receipts {
			if r.Result != codes.Success {
				t.Fatalf("block %d: %s", h, r.Result)
			}
		}
		var got []ledger.EscrowID
		for _, e := range res.Expired {
			got = append(got, e.ID)
		}
		if len(got) != len(wants[h]) {
			t.Fatalf("block %d returned %v, want %v", h, got, wants[h])
		}
		for i := range got {
			if got[i] != wants[h][i] {
				t.Fatalf("block %d returned %v, want %v", h, got, wants[h])
			}
		}
	}
	if n := len(l.Escrows()); n != 0 {
		t.Fatalf("%d escrows still open", n)
	}
	for i := 1; i <= 4; i++ {
		a, b := account(t, l, id(i)), before[i]
		fees := uint64(0)
		switch i {
		case 1:
			fees = 2 * testBaseFee
		case 2, 3:
			fees = testBaseFee
		case 4:
			fees = 2 * testBaseFee
		}
		if a.Native != b.Native-fees || a.Balance(usd()) != b.Balance(usd()) || a.Ext != nil {
			t.Errorf("account %d: native %d usd %d ext %+v, want %d and %d and none", i, a.Native, a.Balance(usd()), a.Ext, b.Native-fees, b.Balance(usd()))
		}
		if ln, _ := a.Line(usd()); ln.Escrowed != 0 {
			t.Errorf("account %d still escrows %d USD", i, ln.Escrowed)
		}
	}
}

func sortedIDs(ids ...ledger.EscrowID) []ledger.EscrowID {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && string(ids[j].Owner[:]) < string(ids[j-1].Owner[:]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

// TestEscrowExpiryCancelInExpiryBlock: until the end of its expiry block anyone
// may still cancel an escrow; it is then not returned a second time, and from
// the next block on a cancel finds nothing.
func TestEscrowExpiryCancelInExpiryBlock(t *testing.T) {
	l := newLedger(t, ibGenesis())
	execApply(t, l, signSteps(t, l, escrow(1, 2, txn.Native, 500, 0, 2, true), escrow(1, 2, txn.Native, 40, 0, 2, true)))
	res := execApply(t, l, signSteps(t, l, cancel(3, 1, 1)))
	if res.Receipts[0].Result != codes.Success || len(res.Expired) != 1 || res.Expired[0].ID.Seq != 2 {
		t.Fatalf("expiry block: %s, returned %d", res.Receipts[0].Result, len(res.Expired))
	}
	res = execApply(t, l, signSteps(t, l, cancel(3, 1, 2)))
	if res.Receipts[0].Result != codes.EscrowNotFound || len(res.Expired) != 0 {
		t.Fatalf("after expiry: %s, returned %d", res.Receipts[0].Result, len(res.Expired))
	}
	if a := account(t, l, id(1)); a.Native != testNative-2*testBaseFee || a.Ext != nil {
		t.Errorf("owner native %d ext %+v", a.Native, a.Ext)
	}
}
