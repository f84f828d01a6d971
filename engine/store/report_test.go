package store

import (
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

func signTx(t testing.TB, tx *txn.Tx, signers ...int) *txn.Tx {
	t.Helper()
	tx.ChainID, tx.Fee, tx.LastValid = devnet.ChainID, testFee, 1<<40
	ks := make([]txn.Key, len(signers))
	for i, s := range signers {
		ks[i] = keys[s]
	}
	if err := txn.Sign(tx, ks...); err != nil {
		t.Fatal(err)
	}
	return tx
}

// interbankBlocks commits blocks with every kind of transfer: payments (random,
// from randomBlocks), a co-signed multi-leg exchange, an escrow finished and one
// cancelled, a clawback; it returns the last height.
func interbankBlocks(t *testing.T, s *Store, l *ledger.Ledger) uint64 {
	t.Helper()
	randomBlocks(t, s, l, 7, 3, 40)
	seq := func(i int) uint64 { a, _ := l.Account(keys[i].AccountID()); return a.Seq }
	id := func(i int) txn.AccountID { return keys[i].AccountID() }
	cond := sha256.Sum256([]byte("pre"))
	txs := []*txn.Tx{
		signTx(t, &txn.Tx{Type: txn.TypeAssetSet, Sender: id(0), Seq: seq(0), Asset: usd(), SetFlags: txn.AssetFlagClawback}, 0),
	}
	_, res := commit(t, s, l, txs)
	if res.Receipts[0].Result != codes.NotPermitted { // USD is outstanding after randomBlocks
		t.Fatalf("clawback enabled late: %s", res.Receipts[0].Result)
	}
	txs = []*txn.Tx{
		signTx(t, &txn.Tx{Type: txn.TypePayment, Sender: id(0), Seq: seq(0), Dest: id(2), Asset: usd(), Amount: 500}, 0),
		signTx(t, &txn.Tx{Type: txn.TypeMultiLeg, Sender: id(1), Seq: seq(1), Legs: []txn.Leg{
			{From: id(1), To: id(2), Asset: txn.Native, Amount: 700}, {From: id(2), To: id(1), Asset: usd(), Amount: 70},
			{From: id(1), To: id(3), Asset: txn.Native, Amount: 5}}}, 1, 2),
		signTx(t, &txn.Tx{Type: txn.TypeEscrowCreate, Sender: id(3), Seq: seq(3), Dest: id(4), Asset: txn.Native, Amount: 900, ExpiryHeight: 100, Condition: cond}, 3),
		signTx(t, &txn.Tx{Type: txn.TypeEscrowCreate, Sender: id(4), Seq: seq(4), Dest: id(3), Asset: txn.Native, Amount: 300, ExpiryHeight: 100, ReleaseHeight: 1}, 4),
		signTx(t, &txn.Tx{Type: txn.TypeEscrowCreate, Sender: id(6), Seq: seq(6), Dest: id(7), Asset: txn.Native, Amount: 123, ExpiryHeight: 1000, Condition: cond}, 6), // stays open
	}
	commit(t, s, l, txs)
	txs = []*txn.Tx{
		signTx(t, &txn.Tx{Type: txn.TypeEscrowFinish, Sender: id(5), Seq: seq(5), Owner: id(3), EscrowSeq: seq(3) - 1, Fulfillment: []byte("pre")}, 5),
		signTx(t, &txn.Tx{Type: txn.TypeEscrowCancel, Sender: id(3), Seq: seq(3), Owner: id(4), EscrowSeq: seq(4) - 1}, 3),
	}
	_, res = commit(t, s, l, txs)
	for i, r := range res.Receipts {
		if r.Result != codes.Success {
			t.Fatalf("escrow tx %d: %s", i, r.Result)
		}
	}
	randomBlocks(t, s, l, 8, 2, 40)
	return l.Meta().Height
}

// TestReportReconcilesWithHistory: a report's positions equal the sums of the
// receiver entries of every account's history (each transfer appears once as a
// receiver entry, with its source as counterparty), per asset net positions sum
// to zero, and a single-account report equals that account's rows.
func TestReportReconcilesWithHistory(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	l, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	head := interbankBlocks(t, s, l)
	for _, rng := range [][2]uint64{{1, head}, {2, head - 1}, {head - 2, head - 2}} {
		from, to := rng[0], rng[1]
		rep, err := s.Report(from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			id txn.AccountID
			as txn.Asset
		}
		want := map[key][2]*big.Int{}
		add := func(k key, side int, v uint64) {
			p, ok := want[k]
			if !ok {
				p = [2]*big.Int{new(big.Int), new(big.Int)}
				want[k] = p
			}
			p[side].Add(p[side], new(big.Int).SetUint64(v))
		}
		for _, k := range keys {
			entries, _, err := s.History(k.AccountID(), "", HistoryPageMax)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Role != RoleReceiver || e.Height < from || e.Height > to {
					continue
				}
				add(key{k.AccountID(), e.Asset}, 0, e.Amount)
				add(key{e.Counterparty, e.Asset}, 1, e.Amount)
			}
		}
		if len(rep.Positions) != len(want) {
			t.Fatalf("[%d,%d]: %d positions, history has %d", from, to, len(rep.Positions), len(want))
		}
		net := map[txn.Asset]*big.Int{}
		for _, p := range rep.Positions {
			w := want[key{p.Account, p.Asset}]
			if w[0] == nil || p.Credited.Cmp(w[0]) != 0 || p.Debited.Cmp(w[1]) != 0 {
				t.Fatalf("[%d,%d] %s %s: report %s/%s, history %v", from, to, p.Account, p.Asset, p.Credited, p.Debited, w)
			}
			if net[p.Asset] == nil {
				net[p.Asset] = new(big.Int)
			}
			net[p.Asset].Add(net[p.Asset], p.Net())
		}
		for as, n := range net {
			if n.Sign() != 0 {
				t.Errorf("[%d,%d] %s nets to %s, want 0", from, to, as, n)
			}
		}
		one := keys[1].AccountID()
		mine, err := s.Report(from, to, &one)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range mine.Positions {
			if p.Account != one {
				t.Errorf("account filter let %s through", p.Account)
			}
		}
	}
	for _, bad := range [][2]uint64{{0, 1}, {3, 2}, {1, head + 1}} {
		if _, err := s.Report(bad[0], bad[1], nil); !errors.Is(err, ErrReportRange) {
			t.Errorf("report %v: %v, want ErrReportRange", bad, err)
		}
	}
	// Escrows survive a restart, and replay reproduces the state hash.
	l2, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if a, _ := l2.Account(keys[6].AccountID()); a.Extended().NativeEscrowed != 123 || len(l2.Escrows()) != 1 {
		t.Errorf("after restart: escrowed %d, %d escrows", a.Extended().NativeEscrowed, len(l2.Escrows()))
	}
	if m, err := s.Replay(g); err != nil || m.StateHash != l.Meta().StateHash {
		t.Fatalf("replay: %v", err)
	}
}
