// Package testpay builds signed devnet payments for tests.
package testpay

import (
	"testing"

	"settle/engine/devnet"
	"settle/engine/txn"
)

// Payment is demo account from's native payment of amount to demo account to,
// with sequence seq and the base fee, signed, on the devnet chain.
func Payment(t testing.TB, from, to int, seq, amount uint64) *txn.Tx {
	t.Helper()
	return PaymentOf(t, from, to, seq, amount, txn.Native)
}

// PaymentOf is Payment of an asset.
func PaymentOf(t testing.TB, from, to int, seq, amount uint64, asset txn.Asset) *txn.Tx {
	t.Helper()
	k := devnet.DemoKey(devnet.ChainID, from)
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seq, Fee: 10,
		LastValid: 1 << 40, Dest: devnet.DemoKey(devnet.ChainID, to).AccountID(), Asset: asset, Amount: amount}
	if err := txn.Sign(tx, k); err != nil {
		t.Fatal(err)
	}
	return tx
}
