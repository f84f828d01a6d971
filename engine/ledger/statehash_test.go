package ledger_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// TestStateHashAsDocumented rebuilds a block's state hash from docs/protocol.md
// ("Proofs") alone: the account encoding written out from docs/storage.md's
// basic layout, the sparse Merkle tree and the RFC 6962 list from their
// definitions, none of it through the ledger's or engine/merkle's code. The
// block holds a success, an applied failure (amount above the balance: fee
// charged) and a not-applied one (the fee above the balance: fee 0), so
// receipts of every kind are covered.
func TestStateHashAsDocumented(t *testing.T) {
	const native = 1000
	l := newLedger(t, plainGenesis(4, native))
	prev := l.Meta().StateHash
	txs := []*txn.Tx{
		payment{from: 1, to: 2, seq: 1, amount: 100}.sign(t),
		payment{from: 3, to: 2, seq: 1, amount: 5000}.sign(t),         // applied, insufficient_funds
		payment{from: 1, to: 3, seq: 2, fee: 5000, amount: 1}.sign(t), // not applied: the fee
	}
	before := map[int]ledger.Account{}
	for i := 0; i < 4; i++ {
		a, ok := l.Account(id(i))
		if !ok || a.Ext != nil || len(a.Issued) != 0 || a.Flags != 1 {
			t.Fatalf("account %d is not a plain account with its master key set", i)
		}
		before[i] = a
	}
	assets := l.Assets() // untouched by the block
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

	// Every account after the block, in the basic layout: seq u64 | flags u32 |
	// master key [32] | native u64 | issued count u16. Account 0 is untouched.
	leaves := map[[32]byte][32]byte{}
	for i := 0; i < 4; i++ {
		seq, bal := before[i].Seq, before[i].Native
		switch i {
		case 1:
			seq, bal = seq+1, bal-100-testBaseFee
		case 2:
			bal += 100
		case 3:
			seq, bal = seq+1, bal-testBaseFee
		}
		a, _ := l.Account(id(i))
		pub := key(i).PublicKey()
		enc := binary.BigEndian.AppendUint64(nil, seq)
		enc = binary.BigEndian.AppendUint32(enc, a.Flags|1) // master key set once it signed (docs/api.md flags bit 0)
		if i == 2 || i == 4 {
			enc = binary.BigEndian.AppendUint32(enc[:8], a.Flags) // never signed: as it was
			pub = a.MasterKey
		}
		enc = append(enc, pub[:]...)
		enc = binary.BigEndian.AppendUint64(enc, bal)
		enc = binary.BigEndian.AppendUint16(enc, 0)
		aid := id(i)
		leaves[sha256.Sum256(append([]byte{'a'}, aid[:]...))] = sha256.Sum256(enc)
	}
	// Each issued asset: key 's' | code [3] | issuer [20]; value outstanding
	// u64 | flags u32.
	for _, a := range assets {
		k := append(append([]byte{'s'}, a.Asset.Code[:]...), a.Asset.Issuer[:]...)
		v := binary.BigEndian.AppendUint64(nil, a.Outstanding)
		leaves[sha256.Sum256(k)] = sha256.Sum256(binary.BigEndian.AppendUint32(v, a.Flags))
	}
	// The totals leaf: native supply u64 | fees burned u64 | tx count u64.
	totals := binary.BigEndian.AppendUint64(nil, 4*native)
	totals = binary.BigEndian.AppendUint64(totals, 2*testBaseFee)
	totals = binary.BigEndian.AppendUint64(totals, 2)
	leaves[sha256.Sum256([]byte{'m'})] = sha256.Sum256(totals)
	stateRoot := docStateRoot(leaves, 0)

	// The transaction root over the receipts' leaves: index u32 | tx hash |
	// fee u64 | result length u8 | result | failed leg u8.
	var txLeaves [][32]byte
	for i, tx := range txs {
		h := tx.Hash()
		leaf := append([]byte{0}, binary.BigEndian.AppendUint32(nil, uint32(i))...)
		leaf = append(leaf, h[:]...)
		leaf = binary.BigEndian.AppendUint64(leaf, want[i].fee)
		leaf = append(leaf, byte(len(want[i].code)))
		leaf = append(append(leaf, want[i].code...), 0)
		txLeaves = append(txLeaves, sha256.Sum256(leaf))
	}
	txRoot := docListRoot(txLeaves)

	pre := append([]byte("settle/state/v2"), prev[:]...)
	pre = binary.BigEndian.AppendUint64(pre, 1)
	pre = append(append(pre, stateRoot[:]...), txRoot[:]...)
	if got := sha256.Sum256(pre); got != [32]byte(res.Meta.StateHash) {
		t.Fatalf("state hash %x, the documented rule gives %x (state root %x, ours %x; tx root %x, ours %x)",
			res.Meta.StateHash, got, res.Meta.StateRoot, stateRoot, res.Meta.TxRoot, txRoot)
	}
}

// docStateRoot is the sparse Merkle tree's root by its definition: an empty
// set hashes to 32 zero bytes, a set of one leaf to SHA-256(0x00 | key |
// value hash), any other to SHA-256(0x01 | left | right) split on the key's
// bit at depth, most significant bit first.
func docStateRoot(set map[[32]byte][32]byte, depth int) [32]byte {
	switch len(set) {
	case 0:
		return [32]byte{}
	case 1:
		for k, v := range set {
			return sha256.Sum256(append(append([]byte{0}, k[:]...), v[:]...))
		}
	}
	left, right := map[[32]byte][32]byte{}, map[[32]byte][32]byte{}
	for k, v := range set {
		if k[depth/8]>>(7-depth%8)&1 == 0 {
			left[k] = v
		} else {
			right[k] = v
		}
	}
	l, r := docStateRoot(left, depth+1), docStateRoot(right, depth+1)
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// docListRoot is RFC 6962's Merkle tree hash over leaf hashes.
func docListRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := docListRoot(leaves[:k]), docListRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}
