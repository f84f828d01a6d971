package ledger_test

import (
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Demo accounts in the execution fixture: 0 issues USD, 1-3 are holders, 99 is not in
// the genesis (it appears only when a native payment creates it).
const newAcct = 99

var fixtureAccounts = []int{0, 1, 2, 3, newAcct}

type snapshot struct {
	exists      map[int]bool
	seq         map[int]uint64
	native, usd map[int]uint64
	outstanding uint64
	meta        ledger.Meta
}

func snap(l *ledger.Ledger) snapshot {
	s := snapshot{exists: map[int]bool{}, seq: map[int]uint64{}, native: map[int]uint64{}, usd: map[int]uint64{}}
	for _, i := range fixtureAccounts {
		a, ok := l.Account(id(i))
		s.exists[i], s.seq[i], s.native[i], s.usd[i] = ok, a.Seq, a.Native, a.Balance(usd())
	}
	info, _ := l.Asset(usd())
	s.outstanding, s.meta = info.Outstanding, l.Meta()
	return s
}

func TestExecutePayments(t *testing.T) {
	eur := usd()
	copy(eur.Code[:], "EUR")
	usdBy1 := txn.Asset{Code: usd().Code, Issuer: id(1)}
	wrongKey := key(2)
	newID := id(newAcct)
	// An amount that puts outstanding USD at the maximum.
	const maxUSD = txn.AmountMax

	tests := []struct {
		name    string
		setup   []payment // executed (all successfully) in block 1
		tx      payment   // executed alone in block 2
		want    codes.Code
		applied bool // fee charged and sequence consumed
		native  map[int]int64
		usd     map[int]int64
		outDiff int64 // change of outstanding USD
	}{
		{name: "native payment", tx: payment{from: 1, to: 2, seq: 1, amount: 1000},
			want: codes.Success, applied: true, native: map[int]int64{1: -1010, 2: 1000}},
		{name: "fee above base fee is burned in full", tx: payment{from: 1, to: 2, seq: 1, amount: 1, fee: 25},
			want: codes.Success, applied: true, native: map[int]int64{1: -26, 2: 1}},
		{name: "payment creates a new account", tx: payment{from: 1, toID: &newID, seq: 1, amount: 5000},
			want: codes.Success, applied: true, native: map[int]int64{1: -5010, newAcct: 5000}},
		{name: "new account's first transaction binds its key",
			setup: []payment{{from: 1, toID: &newID, seq: 1, amount: 5000}},
			tx:    payment{from: newAcct, to: 2, seq: 1, amount: 100},
			want:  codes.Success, applied: true, native: map[int]int64{newAcct: -110, 2: 100}},
		{name: "new account signed by a key that is not its own",
			setup: []payment{{from: 1, toID: &newID, seq: 1, amount: 5000}},
			tx:    payment{from: newAcct, to: 2, seq: 1, amount: 100, signer: &wrongKey},
			want:  codes.NotAuthorized},
		{name: "insufficient funds for the amount charges the fee",
			tx:   payment{from: 1, to: 2, seq: 1, amount: testNative},
			want: codes.InsufficientFunds, applied: true, native: map[int]int64{1: -10}},
		{name: "insufficient funds for the fee does not apply",
			setup: []payment{{from: 1, toID: &newID, seq: 1, amount: 5}},
			tx:    payment{from: newAcct, to: 2, seq: 1, amount: 1},
			want:  codes.InsufficientFunds},
		{name: "sequence already used", setup: []payment{{from: 1, to: 2, seq: 1, amount: 1}},
			tx: payment{from: 1, to: 2, seq: 1, amount: 2}, want: codes.SeqPast},
		{name: "sequence too far ahead", tx: payment{from: 1, to: 2, seq: 2, amount: 1}, want: codes.SeqTooFar},
		{name: "last valid height passed", tx: payment{from: 1, to: 2, seq: 1, amount: 1, lastValid: 1}, want: codes.Expired},
		{name: "last valid height is inclusive", tx: payment{from: 1, to: 2, seq: 1, amount: 1, lastValid: 2},
			want: codes.Success, applied: true, native: map[int]int64{1: -11, 2: 1}},
		{name: "wrong chain", tx: payment{from: 1, to: 2, seq: 1, amount: 1, chain: "settle-other"}, want: codes.WrongChain},
		{name: "fee below base fee", tx: payment{from: 1, to: 2, seq: 1, amount: 1, fee: testBaseFee - 1}, want: codes.FeeTooLow},
		{name: "unknown sender", tx: payment{from: newAcct, to: 2, seq: 1, amount: 1}, want: codes.NoAccount},
		{name: "signed by another account's key", tx: payment{from: 1, to: 2, seq: 1, amount: 1, signer: &wrongKey},
			want: codes.NotAuthorized},
		{name: "issuance by the issuer", tx: payment{from: 0, to: 1, seq: 1, asset: usd(), amount: 500},
			want: codes.Success, applied: true, native: map[int]int64{0: -10}, usd: map[int]int64{1: 500}, outDiff: 500},
		{name: "transfer between holders", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: 500}},
			tx:   payment{from: 1, to: 2, seq: 1, asset: usd(), amount: 200},
			want: codes.Success, applied: true, native: map[int]int64{1: -10}, usd: map[int]int64{1: -200, 2: 200}},
		{name: "redemption to the issuer", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: 500}},
			tx:   payment{from: 1, to: 0, seq: 1, asset: usd(), amount: 200},
			want: codes.Success, applied: true, native: map[int]int64{1: -10}, usd: map[int]int64{1: -200}, outDiff: -200},
		{name: "redemption of the whole balance", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: 500}},
			tx:   payment{from: 1, to: 0, seq: 1, asset: usd(), amount: 500},
			want: codes.Success, applied: true, native: map[int]int64{1: -10}, usd: map[int]int64{1: -500}, outDiff: -500},
		{name: "insufficient issued balance charges the fee", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: 500}},
			tx:   payment{from: 1, to: 2, seq: 1, asset: usd(), amount: 501},
			want: codes.InsufficientFunds, applied: true, native: map[int]int64{1: -10}},
		{name: "undeclared currency", tx: payment{from: 0, to: 1, seq: 1, asset: eur, amount: 1},
			want: codes.UnknownAsset, applied: true, native: map[int]int64{0: -10}},
		{name: "undeclared issuer", tx: payment{from: 1, to: 2, seq: 1, asset: usdBy1, amount: 1},
			want: codes.UnknownAsset, applied: true, native: map[int]int64{1: -10}},
		{name: "issued asset to a missing account", tx: payment{from: 0, toID: &newID, seq: 1, asset: usd(), amount: 1},
			want: codes.NoDestination, applied: true, native: map[int]int64{0: -10}},
		{name: "outstanding overflow", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: maxUSD}},
			tx:   payment{from: 0, to: 2, seq: 2, asset: usd(), amount: 1},
			want: codes.AmountOverflow, applied: true, native: map[int]int64{0: -10}},
		{name: "issuance up to the maximum", setup: []payment{{from: 0, to: 1, seq: 1, asset: usd(), amount: maxUSD - 1}},
			tx:   payment{from: 0, to: 2, seq: 2, asset: usd(), amount: 1},
			want: codes.Success, applied: true, native: map[int]int64{0: -10}, usd: map[int]int64{2: 1}, outDiff: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, genesis(4, testNative))
			setup := make([]*txn.Tx, len(tc.setup))
			for i, p := range tc.setup {
				setup[i] = p.sign(t)
			}
			for i, r := range execApply(t, l, setup).Receipts {
				if r.Result != codes.Success {
					t.Fatalf("setup tx %d: %s", i, r.Result)
				}
			}
			before := snap(l)
			tx := tc.tx.sign(t)
			res := execApply(t, l, []*txn.Tx{tx})
			after := snap(l)

			r := res.Receipts[0]
			if r.Result != tc.want || r.Applied() != tc.applied || r.Hash != tx.Hash() {
				t.Fatalf("receipt %s applied=%v (fee %d), want %s applied=%v", r.Result, r.Applied(), r.Fee, tc.want, tc.applied)
			}
			var fee uint64
			if tc.applied {
				fee = tx.Fee
			}
			if r.Fee != fee {
				t.Errorf("fee %d, want %d", r.Fee, fee)
			}
			if got := after.meta.FeesBurned - before.meta.FeesBurned; got != fee {
				t.Errorf("fees burned grew by %d, want %d", got, fee)
			}
			var counted uint64 // TxCount counts applied transactions only
			if tc.applied {
				counted = 1
			}
			if after.meta.TxCount != before.meta.TxCount+counted || after.meta.Height != 2 {
				t.Errorf("meta %+v after %+v", after.meta, before.meta)
			}
			var seqStep uint64
			if tc.applied {
				seqStep = 1
			}
			if before.exists[tc.tx.from] && after.seq[tc.tx.from] != before.seq[tc.tx.from]+seqStep {
				t.Errorf("sender seq %d -> %d, want +%d", before.seq[tc.tx.from], after.seq[tc.tx.from], seqStep)
			}
			for _, i := range fixtureAccounts {
				if d := int64(after.native[i] - before.native[i]); d != tc.native[i] {
					t.Errorf("account %d native changed by %d, want %d", i, d, tc.native[i])
				}
				if d := int64(after.usd[i] - before.usd[i]); d != tc.usd[i] {
					t.Errorf("account %d USD changed by %d, want %d", i, d, tc.usd[i])
				}
			}
			if d := int64(after.outstanding - before.outstanding); d != tc.outDiff {
				t.Errorf("outstanding USD changed by %d, want %d", d, tc.outDiff)
			}
		})
	}
}

// TestNewAccountKeyBinding follows an account created by a payment: it starts with
// sequence 1 and no key; its first applied transaction binds the key whose hash is
// its id, after which only that key authorises it.
func TestNewAccountKeyBinding(t *testing.T) {
	l := newLedger(t, genesis(4, testNative))
	newID := id(newAcct)
	execApply(t, l, []*txn.Tx{payment{from: 1, toID: &newID, seq: 1, amount: 5000}.sign(t)})
	a := account(t, l, newID)
	if a.Seq != 1 || a.Flags&ledger.FlagMasterKeySet != 0 || a.MasterKey != ([32]byte{}) || a.Native != 5000 {
		t.Fatalf("new account %+v, want seq 1, no key, 5000 native", a)
	}
	execApply(t, l, []*txn.Tx{payment{from: newAcct, to: 2, seq: 1, amount: 1}.sign(t)})
	a = account(t, l, newID)
	if a.Seq != 2 || a.Flags&ledger.FlagMasterKeySet == 0 || a.MasterKey != key(newAcct).PublicKey() {
		t.Fatalf("after first tx %+v, want seq 2 and the bound key", a)
	}
}

// TestExecuteBlockOrder checks that transactions of one block see each other's
// effects in order: a payment funds an account that pays on in the same block, and
// the second of two transactions with one sequence fails with seq_past.
func TestExecuteBlockOrder(t *testing.T) {
	l := newLedger(t, genesis(4, testNative))
	newID := id(newAcct)
	txs := []*txn.Tx{
		payment{from: 1, toID: &newID, seq: 1, amount: 5000}.sign(t),
		payment{from: newAcct, to: 2, seq: 1, amount: 4000}.sign(t),
		payment{from: 1, to: 3, seq: 1, amount: 7}.sign(t),
		payment{from: 1, to: 3, seq: 2, amount: 8}.sign(t),
		payment{from: 1, to: 3, seq: 2, amount: 8}.sign(t), // the same transaction again
	}
	res := execApply(t, l, txs)
	want := []codes.Code{codes.Success, codes.Success, codes.SeqPast, codes.Success, codes.SeqPast}
	for i, r := range res.Receipts {
		if r.Result != want[i] {
			t.Errorf("tx %d: %s, want %s", i, r.Result, want[i])
		}
	}
	if got := account(t, l, id(3)).Native; got != testNative+8 {
		t.Errorf("account 3 has %d, want %d", got, testNative+8)
	}
	if got := l.Meta().FeesBurned; got != 3*testBaseFee {
		t.Errorf("burned %d, want %d", got, 3*testBaseFee)
	}
}
