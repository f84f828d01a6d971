package ledger_test

import (
	"crypto/sha256"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Interbank fixture: demo account 0 issues USD; 1-4 trust USD at the maximum;
// 5 has no line and is the genesis compliance authority.
const (
	ibAccounts  = 6
	ibAuthority = 5
)

func ibGenesis() *ledger.Genesis {
	g := genesis(ibAccounts, testNative)
	g.Accounts[ibAuthority].Issued = nil
	g.ComplianceAuthority = id(ibAuthority).String()
	return g
}

// step is one transaction: from sends it, signed by keys (default: from's own key).
type step struct {
	from  int
	keys  []txn.Key
	build func(tx *txn.Tx)
}

// run executes s alone as the next block (checking the invariants) and returns its receipt.
func run(t *testing.T, l *ledger.Ledger, s step) ledger.Receipt {
	t.Helper()
	seq := uint64(1)
	if a, ok := l.Account(id(s.from)); ok {
		seq = a.Seq
	}
	tx := &txn.Tx{ChainID: testChain, Sender: id(s.from), Seq: seq, Fee: testBaseFee, LastValid: noExpiry}
	s.build(tx)
	keys := s.keys
	if keys == nil {
		keys = []txn.Key{key(s.from)}
	}
	if err := txn.Sign(tx, keys...); err != nil {
		t.Fatalf("sign %s: %v", tx.Type, err)
	}
	return execApply(t, l, []*txn.Tx{tx}).Receipts[0]
}

// Step builders.
func pay(from, to int, as txn.Asset, amount uint64) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Dest, tx.Asset, tx.Amount = txn.TypePayment, id(to), as, amount
	}}
}

func trust(from int, limit uint64) step {
	return step{from: from, build: func(tx *txn.Tx) { tx.Type, tx.Asset, tx.Limit = txn.TypeTrustSet, usd(), limit }}
}

func assetSet(holder int, set, clear uint32) step {
	return step{from: 0, build: func(tx *txn.Tx) {
		tx.Type, tx.Asset, tx.SetFlags, tx.ClearFlags = txn.TypeAssetSet, usd(), set, clear
		if holder >= 0 {
			tx.Holder = id(holder)
		}
	}}
}

func clawback(holder int, amount uint64) step {
	return step{from: 0, build: func(tx *txn.Tx) {
		tx.Type, tx.Holder, tx.Asset, tx.Amount = txn.TypeClawback, id(holder), usd(), amount
	}}
}

var preimage = []byte("fulfil me")

func escrow(from, to int, as txn.Asset, amount, release, expiry uint64, locked bool) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Dest, tx.Asset, tx.Amount = txn.TypeEscrowCreate, id(to), as, amount
		tx.ReleaseHeight, tx.ExpiryHeight = release, expiry
		if locked {
			tx.Condition = sha256.Sum256(preimage)
		}
	}}
}

func finish(from, owner int, seq uint64, f []byte) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Owner, tx.EscrowSeq, tx.Fulfillment = txn.TypeEscrowFinish, id(owner), seq, f
	}}
}

func cancel(from, owner int, seq uint64) step {
	return step{from: from, build: func(tx *txn.Tx) { tx.Type, tx.Owner, tx.EscrowSeq = txn.TypeEscrowCancel, id(owner), seq }}
}

func limits(from, holder int, as txn.Asset, perTx, window uint64, blocks uint32) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Holder, tx.Asset, tx.PerTxMax, tx.WindowMax, tx.WindowBlocks = txn.TypeLimitsSet, id(holder), as, perTx, window, blocks
	}}
}

func legs(from int, keys []txn.Key, ls ...txn.Leg) step {
	return step{from: from, keys: keys, build: func(tx *txn.Tx) { tx.Type, tx.Legs = txn.TypeMultiLeg, ls }}
}

func leg(from, to int, as txn.Asset, amount uint64) txn.Leg {
	return txn.Leg{From: id(from), To: id(to), Asset: as, Amount: amount}
}

func signed(s step, keys ...txn.Key) step { s.keys = keys; return s }

func noop(from int) step { return pay(from, (from+1)%4, txn.Native, 1) }

func TestInterbankExecution(t *testing.T) {
	k2 := key(2)
	tests := []struct {
		name    string
		setup   []step // each must succeed
		tx      step
		want    codes.Code
		leg     uint8                                // failing leg in the receipt
		check   func(t *testing.T, l *ledger.Ledger) // state after tx
		applied *bool                                // default: true
	}{
		// Trust lines, authorisation and freezes.
		{name: "issue to an account without a trust line", tx: pay(0, ibAuthority, usd(), 5), want: codes.NoTrustLine},
		{name: "issue within a new line's limit", setup: []step{trust(ibAuthority, 100)}, tx: pay(0, ibAuthority, usd(), 100), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) { wantUSD(t, l, ibAuthority, 100) }},
		{name: "issue past the limit", setup: []step{trust(ibAuthority, 100)}, tx: pay(0, ibAuthority, usd(), 101), want: codes.TrustLimit},
		{name: "lower a limit below the balance", setup: []step{pay(0, 1, usd(), 50)}, tx: trust(1, 49), want: codes.TrustLimit},
		{name: "remove an empty line", setup: []step{trust(ibAuthority, 10)}, tx: trust(ibAuthority, 0), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) {
				if a := account(t, l, id(ibAuthority)); len(a.Issued) != 0 {
					t.Error("the line survived")
				}
			}},
		{name: "require auth refuses an unauthorised holder", setup: []step{assetSet(-1, txn.AssetFlagRequireAuth, 0)},
			tx: pay(0, 1, usd(), 5), want: codes.LineNotAuthorized},
		{name: "require auth after authorising", setup: []step{assetSet(-1, txn.AssetFlagRequireAuth, 0), assetSet(1, txn.LineFlagAuthorized, 0)},
			tx: pay(0, 1, usd(), 5), want: codes.Success},
		{name: "frozen line cannot send", setup: []step{pay(0, 1, usd(), 50), assetSet(1, txn.LineFlagFrozen, 0)},
			tx: pay(1, 2, usd(), 5), want: codes.Frozen},
		{name: "frozen line may redeem", setup: []step{pay(0, 1, usd(), 50), assetSet(1, txn.LineFlagFrozen, 0)},
			tx: pay(1, 0, usd(), 5), want: codes.Success},
		{name: "frozen line cannot receive", setup: []step{pay(0, 1, usd(), 50), assetSet(2, txn.LineFlagFrozen, 0)},
			tx: pay(1, 2, usd(), 5), want: codes.Frozen},
		{name: "global freeze", setup: []step{pay(0, 1, usd(), 50), assetSet(-1, txn.AssetFlagGlobalFreeze, 0)},
			tx: pay(1, 2, usd(), 5), want: codes.Frozen},
		{name: "unfreeze", setup: []step{pay(0, 1, usd(), 50), assetSet(-1, txn.AssetFlagGlobalFreeze, 0), assetSet(-1, 0, txn.AssetFlagGlobalFreeze)},
			tx: pay(1, 2, usd(), 5), want: codes.Success},
		{name: "no freeze forbids freezing", setup: []step{assetSet(-1, txn.AssetFlagNoFreeze, 0)},
			tx: assetSet(1, txn.LineFlagFrozen, 0), want: codes.NotPermitted},
		{name: "no freeze is permanent", setup: []step{assetSet(-1, txn.AssetFlagNoFreeze, 0)},
			tx: assetSet(-1, 0, txn.AssetFlagNoFreeze), want: codes.NotPermitted},
		// Clawback.
		{name: "clawback needs the asset flag", setup: []step{pay(0, 1, usd(), 50)}, tx: clawback(1, 5), want: codes.NotPermitted},
		{name: "clawback cannot be enabled once issued", setup: []step{pay(0, 1, usd(), 50)},
			tx: assetSet(-1, txn.AssetFlagClawback, 0), want: codes.NotPermitted},
		{name: "clawback", setup: []step{assetSet(-1, txn.AssetFlagClawback, 0), pay(0, 1, usd(), 50)}, tx: clawback(1, 20), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) {
				wantUSD(t, l, 1, 30)
				if info, _ := l.Asset(usd()); info.Outstanding != 30 {
					t.Errorf("outstanding %d, want 30", info.Outstanding)
				}
			}},
		{name: "clawback beyond the balance", setup: []step{assetSet(-1, txn.AssetFlagClawback, 0), pay(0, 1, usd(), 50)},
			tx: clawback(1, 51), want: codes.InsufficientFunds},
		// Escrow (block heights: the setup's first block is 1).
		{name: "escrow finish with the preimage", setup: []step{escrow(1, 2, txn.Native, 500, 0, 100, true)},
			tx: finish(3, 1, 1, preimage), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) {
				if a := account(t, l, id(2)); a.Native != testNative+500 {
					t.Errorf("destination holds %d", a.Native)
				}
				if a := account(t, l, id(1)); a.Extended().NativeEscrowed != 0 || a.Extended().EscrowCount != 0 {
					t.Errorf("owner still escrows %d in %d escrows", a.Extended().NativeEscrowed, a.Extended().EscrowCount)
				}
			}},
		{name: "escrow holds funds out of the balance", tx: escrow(1, 2, txn.Native, 500, 0, 100, true), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) {
				if a := account(t, l, id(1)); a.Native != testNative-500-testBaseFee || a.Extended().NativeEscrowed != 500 || a.Extended().EscrowCount != 1 {
					t.Errorf("owner native %d escrowed %d count %d", a.Native, a.Extended().NativeEscrowed, a.Extended().EscrowCount)
				}
			}},
		{name: "escrow finish with a wrong preimage", setup: []step{escrow(1, 2, txn.Native, 500, 0, 100, true)},
			tx: finish(3, 1, 1, []byte("wrong")), want: codes.BadFulfillment},
		{name: "escrow finish before release", setup: []step{escrow(1, 2, txn.Native, 500, 50, 100, false)},
			tx: finish(2, 1, 1, nil), want: codes.EscrowLocked},
		{name: "escrow finish after release", setup: []step{escrow(1, 2, txn.Native, 500, 2, 100, false)},
			tx: finish(2, 1, 1, nil), want: codes.Success},
		{name: "escrow finish at expiry", setup: []step{escrow(1, 2, txn.Native, 500, 0, 2, true)},
			tx: finish(2, 1, 1, preimage), want: codes.EscrowExpired},
		{name: "escrow cancel before expiry by a third party", setup: []step{escrow(1, 2, txn.Native, 500, 0, 100, true)},
			tx: cancel(3, 1, 1), want: codes.EscrowNotExpired},
		{name: "escrow reject by the destination", setup: []step{escrow(1, 2, txn.Native, 500, 0, 100, true)},
			tx: cancel(2, 1, 1), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) {
				if a := account(t, l, id(1)); a.Native != testNative-testBaseFee || a.Extended().NativeEscrowed != 0 {
					t.Errorf("owner native %d escrowed %d", a.Native, a.Extended().NativeEscrowed)
				}
			}},
		{name: "escrow expire by anyone", setup: []step{escrow(1, 2, txn.Native, 500, 0, 2, true)}, tx: cancel(3, 1, 1), want: codes.Success},
		{name: "escrow already finished", setup: []step{escrow(1, 2, txn.Native, 500, 0, 100, true), finish(3, 1, 1, preimage)},
			tx: finish(3, 1, 1, preimage), want: codes.EscrowNotFound},
		{name: "escrow with an expiry already passed", setup: []step{noop(1), noop(1)},
			tx: escrow(1, 2, txn.Native, 500, 0, 3, true), want: codes.EscrowExpired},
		{name: "escrow of USD finished into a full line", setup: []step{pay(0, 1, usd(), 50), trust(ibAuthority, 10), escrow(1, ibAuthority, usd(), 20, 0, 100, true)},
			tx: finish(3, 1, 1, preimage), want: codes.TrustLimit},
		{name: "escrow of USD cancelled", setup: []step{pay(0, 1, usd(), 50), escrow(1, 2, usd(), 20, 0, 100, true)},
			tx: cancel(2, 1, 1), want: codes.Success, check: func(t *testing.T, l *ledger.Ledger) { wantUSD(t, l, 1, 50) }},
		{name: "escrow of USD from a frozen line", setup: []step{pay(0, 1, usd(), 50), assetSet(1, txn.LineFlagFrozen, 0)},
			tx: escrow(1, 2, usd(), 20, 0, 100, true), want: codes.Frozen},
		// Multi-signature and key rotation.
		{name: "regular key signs", setup: []step{{from: 1, build: func(tx *txn.Tx) { tx.Type, tx.RegularKey = txn.TypeRegularKeySet, k2.PublicKey() }}},
			tx: signed(noop(1), k2), want: codes.Success},
		{name: "disable master without another key", tx: step{from: 1, build: func(tx *txn.Tx) { tx.Type, tx.SetFlags = txn.TypeAccountSet, ledger.FlagDisableMaster }},
			want: codes.NoAlternativeKey},
		{name: "disabled master cannot sign", setup: []step{
			{from: 1, build: func(tx *txn.Tx) { tx.Type, tx.RegularKey = txn.TypeRegularKeySet, k2.PublicKey() }},
			{from: 1, build: func(tx *txn.Tx) { tx.Type, tx.SetFlags = txn.TypeAccountSet, ledger.FlagDisableMaster }}},
			tx: noop(1), want: codes.NotAuthorized, applied: new(bool)},
		{name: "signer list quorum reached", setup: []step{signerList(1, 3, 2, 3, 4)},
			tx: signed(noop(1), key(2), key(3)), want: codes.Success},
		{name: "signer list quorum missed", setup: []step{signerList(1, 3, 2, 3, 4)},
			tx: signed(noop(1), key(2)), want: codes.NotAuthorized, applied: new(bool)},
		// Multi-leg.
		{name: "exchange USD for native, co-signed", setup: []step{pay(0, 2, usd(), 100)},
			tx: legs(1, []txn.Key{key(1), key(2)}, leg(1, 2, txn.Native, 1000), leg(2, 1, usd(), 100)), want: codes.Success,
			check: func(t *testing.T, l *ledger.Ledger) { wantUSD(t, l, 1, 100); wantUSD(t, l, 2, 0) }},
		{name: "leg without its source's signature rolls back", setup: []step{pay(0, 2, usd(), 100)},
			tx: legs(1, nil, leg(1, 2, txn.Native, 1000), leg(2, 1, usd(), 100)), want: codes.NotAuthorized, leg: 2,
			check: func(t *testing.T, l *ledger.Ledger) {
				if a := account(t, l, id(1)); a.Native != testNative-testBaseFee {
					t.Errorf("first leg not rolled back: native %d", a.Native)
				}
				wantUSD(t, l, 2, 100)
			}},
		{name: "leg with insufficient funds", tx: legs(1, nil, leg(1, 2, txn.Native, 10), leg(1, 3, txn.Native, 2*testNative)),
			want: codes.InsufficientFunds, leg: 2},
		// Compliance limits.
		{name: "per-transaction limit set by the issuer", setup: []step{pay(0, 1, usd(), 100), limits(0, 1, usd(), 10, 0, 0)},
			tx: pay(1, 2, usd(), 11), want: codes.OutflowLimit},
		{name: "window limit set by the compliance authority", setup: []step{limits(ibAuthority, 1, txn.Native, 0, 100, 1000), pay(1, 2, txn.Native, 60)},
			tx: pay(1, 2, txn.Native, 50), want: codes.OutflowLimit},
		{name: "window limit leaves room", setup: []step{limits(ibAuthority, 1, txn.Native, 0, 100, 1000), pay(1, 2, txn.Native, 60)},
			tx: pay(1, 2, txn.Native, 40), want: codes.Success},
		{name: "limits need an authority", tx: limits(2, 1, txn.Native, 10, 0, 0), want: codes.NotPermitted},
		{name: "issuer cannot limit native", tx: limits(0, 1, txn.Native, 10, 0, 0), want: codes.NotPermitted},
		{name: "escrow counts against the limit", setup: []step{limits(ibAuthority, 1, txn.Native, 100, 0, 0)},
			tx: escrow(1, 2, txn.Native, 101, 0, 100, true), want: codes.OutflowLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, ibGenesis())
			for i, s := range tc.setup {
				if r := run(t, l, s); r.Result != codes.Success {
					t.Fatalf("setup step %d: %s", i, r.Result)
				}
			}
			before := l.Meta()
			r := run(t, l, tc.tx)
			applied := tc.applied == nil || *tc.applied
			if r.Result != tc.want || r.Applied() != applied || r.Leg != tc.leg {
				t.Fatalf("receipt %s applied=%v leg=%d, want %s applied=%v leg=%d", r.Result, r.Applied(), r.Leg, tc.want, applied, tc.leg)
			}
			if applied && l.Meta().FeesBurned != before.FeesBurned+testBaseFee {
				t.Errorf("fee not burned")
			}
			if tc.check != nil {
				tc.check(t, l)
			}
		})
	}
}

func signerList(from int, quorum uint32, signers ...int) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Quorum = txn.TypeSignerListSet, quorum
		for _, s := range signers {
			tx.Signers = append(tx.Signers, txn.SignerEntry{PublicKey: key(s).PublicKey(), Weight: 1 + uint16(s%2)})
		}
		sortSigners(tx.Signers)
	}}
}

func sortSigners(s []txn.SignerEntry) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && string(s[j].PublicKey[:]) < string(s[j-1].PublicKey[:]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func wantUSD(t *testing.T, l *ledger.Ledger, i int, want uint64) {
	t.Helper()
	a := account(t, l, id(i))
	if got := a.Balance(usd()); got != want {
		t.Errorf("account %d holds %d USD, want %d", i, got, want)
	}
}

// TestWindowLimitRolls checks that the rolling window frees up after two windows.
func TestWindowLimitRolls(t *testing.T) {
	l := newLedger(t, ibGenesis())
	if r := run(t, l, limits(ibAuthority, 1, txn.Native, 0, 100, 3)); r.Result != codes.Success {
		t.Fatal(r.Result)
	}
	var got []codes.Code
	for h := 0; h < 8; h++ {
		got = append(got, run(t, l, pay(1, 2, txn.Native, 60)).Result)
	}
	// Heights 2..9, windows of 3 blocks: [0,2] [3,5] [6,8] [9,11]. A payment needs
	// this window's and the previous window's outflow plus 60 to stay within 100:
	// after the payment at height 2, the next fits only at 6, the next at 12.
	want := []codes.Code{codes.Success, codes.OutflowLimit, codes.OutflowLimit, codes.OutflowLimit,
		codes.Success, codes.OutflowLimit, codes.OutflowLimit, codes.OutflowLimit}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("height %d: %v, want %v (all: %v)", i+2, got[i], want[i], got)
		}
	}
}
