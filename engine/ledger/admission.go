package ledger

import (
	"settle/engine/codes"
	"settle/engine/txn"
)

// CheckAdmission runs the stateful admission rules against the committed state:
// the sender exists, the signatures speak for it, the sequence is neither used nor
// more than seqAheadMax ahead, and the committed balances cover this transaction.
// It is advisory (the state may change before execution, which re-checks
// everything) but it keeps the documented codes at the door, so a transaction that
// cannot apply never costs a signature check or a mempool slot. Errors are
// *codes.Error. Safe from any goroutine.
func (l *Ledger) CheckAdmission(tx *txn.Tx, seqAheadMax uint64) error {
	acc, ok := l.Account(tx.Sender)
	if !ok {
		return codes.Errorf(codes.NoAccount, "sender %s does not exist", tx.Sender)
	}
	if err := checkSigner(&acc, tx); err != nil {
		return err
	}
	switch {
	case tx.Seq < acc.Seq:
		return codes.Errorf(codes.SeqPast, "sequence %d already used; the account's next is %d", tx.Seq, acc.Seq)
	case tx.Seq > acc.Seq+seqAheadMax:
		return codes.Errorf(codes.SeqTooFar, "sequence %d is more than %d past the account's next %d", tx.Seq, seqAheadMax, acc.Seq)
	}
	return l.checkFunds(&acc, tx)
}

// checkSigner is the admission form of authorized, with messages.
func checkSigner(acc *Account, tx *txn.Tx) error {
	code, _ := authorized(acc, tx.Sigs)
	switch code {
	case codes.Success:
		return nil
	case codes.WeakKey:
		return codes.Errorf(codes.WeakKey, "key %x is of small order or not a valid point", tx.Sigs[0].PublicKey)
	}
	return codes.Errorf(codes.NotAuthorized, "the signatures do not authorise account %s", acc.ID)
}

// checkFunds compares the committed balance with what this one transaction needs:
// the fee, and for a payment or an escrow the amount too.
func (l *Ledger) checkFunds(acc *Account, tx *txn.Tx) error {
	if tx.Type != txn.TypePayment && tx.Type != txn.TypeEscrowCreate {
		if acc.Native < tx.Fee {
			return codes.Errorf(codes.InsufficientFunds, "native balance %d below fee %d", acc.Native, tx.Fee)
		}
		return nil
	}
	if tx.Asset.IsNative() {
		if acc.Native < tx.Fee+tx.Amount { // no overflow: both <= AmountMax = 2^62
			return codes.Errorf(codes.InsufficientFunds, "balance %d below amount %d plus fee %d", acc.Native, tx.Amount, tx.Fee)
		}
		return nil
	}
	if acc.Native < tx.Fee {
		return codes.Errorf(codes.InsufficientFunds, "native balance %d below fee %d", acc.Native, tx.Fee)
	}
	if _, ok := l.Asset(tx.Asset); !ok {
		return codes.Errorf(codes.UnknownAsset, "asset %s is not declared on this ledger", tx.Asset)
	}
	if acc.ID != tx.Asset.Issuer && acc.Balance(tx.Asset) < tx.Amount {
		return codes.Errorf(codes.InsufficientFunds, "balance %d %s below amount %d", acc.Balance(tx.Asset), tx.Asset, tx.Amount)
	}
	return nil
}
