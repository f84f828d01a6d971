package ledger

import (
	"crypto/sha256"

	"settle/engine/codes"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

// trustSet creates a trust line or changes its limit. A limit below what the line
// holds (spendable plus escrowed) is refused, so a line never holds more than its
// limit; a zero limit on an empty line with no issuer flags removes it.
func (x *execCtx) trustSet() codes.Code {
	tx := x.tx
	if x.o.asset(tx.Asset) == nil {
		return codes.UnknownAsset
	}
	sender := x.o.account(tx.Sender)
	ln := sender.line(tx.Asset)
	if ln == nil {
		if tx.Limit == 0 {
			return codes.Success // nothing to remove
		}
		if ln = sender.lineOrCreate(tx.Asset); ln == nil {
			return codes.TooManyEntries
		}
	}
	if tx.Limit < ln.Amount+ln.Escrowed {
		return codes.TrustLimit
	}
	ln.Limit = tx.Limit
	sender.prune(tx.Asset)
	return codes.Success
}

// escrowCreate moves the amount from the sender's spendable balance into a new
// escrow (the Interledger/Mojaloop "prepare"). The outflow counts against the
// sender's limits now; the destination's line is checked at finish.
func (x *execCtx) escrowCreate() codes.Code {
	tx := x.tx
	sender := x.o.account(tx.Sender)
	switch {
	case tx.ExpiryHeight <= x.height:
		return codes.EscrowExpired
	case int(sender.Extended().EscrowCount) >= EscrowsPerAccountMax:
		return codes.TooManyEntries
	case x.o.account(tx.Dest) == nil:
		return codes.NoDestination
	}
	if tx.Asset.IsNative() {
		if sender.Native < tx.Amount {
			return codes.InsufficientFunds
		}
		if sender.Ext != nil && !sender.Ext.NativeLimits.allow(x.height, tx.Amount) {
			return codes.OutflowLimit
		}
		sx := sender.ext()
		sender.Native -= tx.Amount
		sx.NativeLimits.consume(x.height, tx.Amount)
		sx.NativeEscrowed += tx.Amount
		x.res.nativeOut += tx.Amount // out of the spendable balance, into the escrowed one
		x.res.nativeIn += tx.Amount
	} else {
		info := x.o.asset(tx.Asset)
		if info == nil {
			return codes.UnknownAsset
		}
		ln := sender.line(tx.Asset)
		if code := debitable(info, ln, tx.Amount, tx.Dest == tx.Asset.Issuer, x.height); code != codes.Success {
			return code
		}
		ln.Amount -= tx.Amount
		ln.Limits.consume(x.height, tx.Amount)
		ln.Escrowed += tx.Amount
	}
	id := EscrowID{Owner: tx.Sender, Seq: tx.Seq}
	x.o.escrows[id] = &Escrow{ID: id, Dest: tx.Dest, Asset: tx.Asset, Amount: tx.Amount,
		ReleaseHeight: tx.ReleaseHeight, ExpiryHeight: tx.ExpiryHeight, Condition: tx.Condition}
	sender.ext().EscrowCount++
	return codes.Success
}

// escrowFinish delivers an escrow to its destination (the "fulfil"): anyone may
// send it, at a height in [release, expiry), with the preimage of the hash lock.
func (x *execCtx) escrowFinish() codes.Code {
	tx := x.tx
	id := EscrowID{Owner: tx.Owner, Seq: tx.EscrowSeq}
	e := x.o.escrow(id)
	switch {
	case e == nil:
		return codes.EscrowNotFound
	case x.height < e.ReleaseHeight:
		return codes.EscrowLocked
	case x.height >= e.ExpiryHeight:
		return codes.EscrowExpired
	case e.Condition == [txn.ConditionSize]byte{} && len(tx.Fulfillment) > 0,
		e.Condition != [txn.ConditionSize]byte{} && sha256.Sum256(tx.Fulfillment) != e.Condition:
		return codes.BadFulfillment
	}
	owner, dest := x.o.account(e.ID.Owner), x.o.account(e.Dest)
	if e.Asset.IsNative() {
		owner.Ext.NativeEscrowed -= e.Amount // INVARIANT: an owner of an open escrow has Ext
		dest.Native += e.Amount
		x.res.nativeOut += e.Amount
		x.res.nativeIn += e.Amount
	} else {
		info := x.o.asset(e.Asset)
		if e.Dest == e.Asset.Issuer {
			info.Outstanding -= e.Amount // redemption
		} else {
			dst := dest.line(e.Asset)
			if code := creditable(info, dst, e.Amount); code != codes.Success {
				return code
			}
			dst.Amount += e.Amount
		}
		owner.line(e.Asset).Escrowed -= e.Amount // INVARIANT: the owner's line holds the escrowed amount
		owner.prune(e.Asset)
	}
	owner.Ext.EscrowCount--
	owner.compact()
	x.o.removeEscrow(e)
	x.record(e.ID.Owner, e.Dest, e.Asset, e.Amount)
	return codes.Success
}

// escrowCancel returns an escrow to its owner: the destination may cancel at
// any time (the "reject"), anyone from the expiry height on (the "expire").
func (x *execCtx) escrowCancel() codes.Code {
	tx := x.tx
	id := EscrowID{Owner: tx.Owner, Seq: tx.EscrowSeq}
	e := x.o.escrow(id)
	switch {
	case e == nil:
		return codes.EscrowNotFound
	case x.height < e.ExpiryHeight && tx.Sender != e.Dest:
		return codes.EscrowNotExpired
	}
	returnEscrow(x.o, x.res, e)
	return codes.Success
}

// returnEscrow gives an escrow back to its owner's spendable balance and removes
// it: a cancel, or the automatic return of an expired escrow (expireEscrows).
func returnEscrow(o *overlay, res *BlockResult, e *Escrow) {
	owner := o.account(e.ID.Owner)
	ox := owner.Ext // INVARIANT: an owner of an open escrow has Ext (EscrowCount > 0)
	if e.Asset.IsNative() {
		ox.NativeEscrowed -= e.Amount
		owner.Native += e.Amount
		res.nativeOut += e.Amount
		res.nativeIn += e.Amount
	} else {
		ln := owner.line(e.Asset) // INVARIANT: exists while it holds an escrowed amount
		ln.Escrowed -= e.Amount
		ln.Amount += e.Amount // Amount + Escrowed is unchanged: still within the limit
	}
	ox.EscrowCount--
	owner.compact()
	o.removeEscrow(e)
}

// hasAlternativeKey reports whether the account can sign without its master key.
func hasAlternativeKey(a *Account) bool {
	x := a.Extended()
	return x.RegularKey != [txn.PublicKeySize]byte{} || x.Quorum != 0
}

func (x *execCtx) signerListSet() codes.Code {
	tx := x.tx
	sender := x.o.account(tx.Sender)
	for _, s := range tx.Signers {
		if sigverify.WeakKey(s.PublicKey[:]) { // decoding refused it already; a key entering the ledger is checked here too
			return codes.WeakKey
		}
	}
	if len(tx.Signers) == 0 && sender.Flags&FlagDisableMaster != 0 && sender.Extended().RegularKey == [txn.PublicKeySize]byte{} {
		return codes.NoAlternativeKey
	}
	sx := sender.ext()
	sx.Quorum = tx.Quorum
	sx.Signers = append([]txn.SignerEntry(nil), tx.Signers...)
	if len(sx.Signers) == 0 {
		sx.Signers = nil
	}
	sender.compact()
	return codes.Success
}

func (x *execCtx) regularKeySet() codes.Code {
	tx := x.tx
	sender := x.o.account(tx.Sender)
	if tx.RegularKey == [txn.PublicKeySize]byte{} {
		if sender.Flags&FlagDisableMaster != 0 && sender.Extended().Quorum == 0 {
			return codes.NoAlternativeKey
		}
	} else if sigverify.WeakKey(tx.RegularKey[:]) {
		return codes.WeakKey
	}
	sender.ext().RegularKey = tx.RegularKey
	sender.compact()
	return codes.Success
}

func (x *execCtx) accountSet() codes.Code {
	tx := x.tx
	sender := x.o.account(tx.Sender)
	flags := (sender.Flags | tx.SetFlags) &^ tx.ClearFlags
	if flags&FlagDisableMaster != 0 && !hasAlternativeKey(sender) {
		return codes.NoAlternativeKey
	}
	sender.Flags = flags
	return codes.Success
}

// assetSet changes an asset's flags (holder zero) or one holder's line flags.
// The sender is the issuer (a stateless rule).
func (x *execCtx) assetSet() codes.Code {
	tx := x.tx
	info := x.o.asset(tx.Asset)
	if info == nil {
		return codes.UnknownAsset
	}
	if tx.Holder.IsZero() {
		switch {
		case info.Flags&txn.AssetFlagNoFreeze != 0 && tx.SetFlags&txn.AssetFlagGlobalFreeze != 0,
			info.Flags&txn.AssetFlagNoFreeze != 0 && tx.ClearFlags&txn.AssetFlagNoFreeze != 0,
			tx.SetFlags&txn.AssetFlagClawback != 0 && info.Flags&txn.AssetFlagClawback == 0 && info.Outstanding != 0:
			return codes.NotPermitted
		}
		info.Flags = (info.Flags | tx.SetFlags) &^ tx.ClearFlags
		return codes.Success
	}
	if info.Flags&txn.AssetFlagNoFreeze != 0 && tx.SetFlags&txn.LineFlagFrozen != 0 {
		return codes.NotPermitted
	}
	holder := x.o.account(tx.Holder)
	if holder == nil {
		return codes.NoDestination
	}
	ln := holder.lineOrCreate(tx.Asset)
	if ln == nil {
		return codes.TooManyEntries
	}
	ln.Flags = (ln.Flags | tx.SetFlags) &^ tx.ClearFlags
	holder.prune(tx.Asset)
	return codes.Success
}

// clawback takes amount of the issuer's asset back from a holder's spendable
// balance (not from its escrows); the units cease to exist.
func (x *execCtx) clawback() codes.Code {
	tx := x.tx
	info := x.o.asset(tx.Asset)
	switch {
	case info == nil:
		return codes.UnknownAsset
	case info.Flags&txn.AssetFlagClawback == 0:
		return codes.NotPermitted
	}
	holder := x.o.account(tx.Holder)
	if holder == nil {
		return codes.NoDestination
	}
	ln := holder.line(tx.Asset)
	if ln == nil || ln.Amount < tx.Amount {
		return codes.InsufficientFunds
	}
	ln.Amount -= tx.Amount
	info.Outstanding -= tx.Amount
	holder.prune(tx.Asset)
	x.record(tx.Holder, tx.Sender, tx.Asset, tx.Amount)
	return codes.Success
}

// limitsSet sets a holder's outflow limits for one asset. The authority is the
// genesis compliance authority (any asset) or the asset's issuer (its asset).
func (x *execCtx) limitsSet() codes.Code {
	tx := x.tx
	authority := !x.l.compliance.IsZero() && tx.Sender == x.l.compliance
	if !tx.Asset.IsNative() {
		if x.o.asset(tx.Asset) == nil {
			return codes.UnknownAsset
		}
		authority = authority || tx.Sender == tx.Asset.Issuer
	}
	if !authority {
		return codes.NotPermitted
	}
	holder := x.o.account(tx.Holder)
	if holder == nil {
		return codes.NoDestination
	}
	var lim *Limits
	if tx.Asset.IsNative() {
		lim = &holder.ext().NativeLimits
	} else {
		ln := holder.lineOrCreate(tx.Asset)
		if ln == nil {
			return codes.TooManyEntries
		}
		lim = &ln.Limits
	}
	if lim.WindowBlocks != tx.WindowBlocks {
		*lim = Limits{} // a new window length starts counting afresh
	}
	lim.PerTxMax, lim.WindowMax, lim.WindowBlocks = tx.PerTxMax, tx.WindowMax, tx.WindowBlocks
	if lim.WindowMax == 0 {
		*lim = Limits{PerTxMax: tx.PerTxMax}
	}
	if tx.Asset.IsNative() {
		holder.compact()
	} else {
		holder.prune(tx.Asset)
	}
	return codes.Success
}
