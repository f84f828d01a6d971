package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"testing"

	"settle/engine/codes"
	"settle/engine/txn"
)

// TestStateHashAsDocumented rebuilds a block's state hash from docs/ledger.md
// alone: the account encoding written out from docs/storage.md's basic layout,
// not through the ledger's encoder. The block holds a success, an applied
// failure (amount above the balance: fee charged) and a not-applied one (the
// fee above the balance: fee 0), so receipts of every kind are covered.
func TestStateHashAsDocumented(t *testing.T) {
	const native = 1000
	l := newLedger(t, plainGenesis(4, native))
	prev := l.Meta().StateHash
	txs := []*txn.Tx{
		payment{from: 1, to: 2, seq: 1, amount: 100}.sign(t),
		payment{from: 3, to: 2, seq: 1, amount: 5000}.sign(t),         // applied, insufficient_funds
		payment{from: 1, to: 3, seq: 2, fee: 5000, amount: 1}.sign(t), // not applied: the fee
	}
	res := l.Execute(1, txs)
	want := []struct {
		code codes.Code
		fee  uint64
	}{{codes.Success, testBaseFee}, {codes.InsufficientFunds, testBaseFee}, {codes.InsufficientFunds, 0}}
	for i, w := range want {
		if r := res.Receipts[i]; r.Result != w.code || r.Fee != w.fee {
			t.Fatalf("receipt %d: %s fee %d, want %s fee %d", i, r.Result, r.Fee, w.code, w.fee)
		}
	}

	// The touched accounts after the block, by id, in the basic layout:
	// seq u64 | flags u32 | master key [32] | native u64 | issued count u16.
	type acct struct {
		id  [20]byte
		enc []byte
	}
	var accts []acct
	for _, i := range []int{1, 2, 3} {
		a, ok := l.Account(id(i)) // the committed state before the block
		if !ok {
			t.Fatal("missing account")
		}
		seq, bal := a.Seq, a.Native
		switch i {
		case 1:
			seq, bal = seq+1, bal-100-testBaseFee
		case 2:
			bal += 100
		case 3:
			seq, bal = seq+1, bal-testBaseFee
		}
		pub := key(i).PublicKey()
		enc := binary.BigEndian.AppendUint64(nil, seq)
		enc = binary.BigEndian.AppendUint32(enc, 1) // master key set (docs/api.md flags bit 0)
		enc = append(enc, pub[:]...)
		enc = binary.BigEndian.AppendUint64(enc, bal)
		enc = binary.BigEndian.AppendUint16(enc, 0)
		accts = append(accts, acct{id(i), enc})
	}
	sort.Slice(accts, func(i, j int) bool { return bytes.Compare(accts[i].id[:], accts[j].id[:]) < 0 })

	h := sha256.New()
	h.Write([]byte("settle/state/v1"))
	h.Write(prev[:])
	h.Write(binary.BigEndian.AppendUint64(nil, 1))
	for _, a := range accts {
		h.Write(a.id[:])
		h.Write(a.enc)
	}
	for i, tx := range txs {
		hash := tx.Hash()
		h.Write(hash[:])
		h.Write([]byte(want[i].code))
		h.Write(binary.BigEndian.AppendUint64(nil, want[i].fee))
	}
	var got [32]byte
	h.Sum(got[:0])
	if got != [32]byte(res.Meta.StateHash) {
		t.Fatalf("state hash %x, the documented rule gives %x", res.Meta.StateHash, got)
	}
}
