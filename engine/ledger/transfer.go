package ledger

import (
	"settle/engine/codes"
	"settle/engine/txn"
)

// execCtx is one transaction's execution: the overlay, the block result it adds
// to, and where it runs.
type execCtx struct {
	l      *Ledger
	o      *overlay
	res    *BlockResult
	height uint64
	idx    uint32
	tx     *txn.Tx
}

// transfer moves amount of as from one account to another: a payment or a
// multi-leg leg. The source is authorised by the caller. A native transfer to an
// unknown account creates it; an issued one needs the destination's trust line.
// It does not record the transfer: a leg's caller does, and a payment's transfer
// is the payment itself (BlockResult.TxTransfers).
func (x *execCtx) transfer(fromID, toID txn.AccountID, as txn.Asset, amount uint64) codes.Code {
	from := x.o.account(fromID)
	if as.IsNative() {
		if from.Native < amount {
			return codes.InsufficientFunds
		}
		if from.Ext != nil && !from.Ext.NativeLimits.allow(x.height, amount) {
			return codes.OutflowLimit
		}
		to := x.o.account(toID)
		if to == nil {
			// A native payment to an unknown address creates the account; its key
			// is bound by its first transaction.
			to = x.o.create(toID)
		}
		from.Native -= amount
		if from.Ext != nil {
			from.Ext.NativeLimits.consume(x.height, amount)
		}
		to.Native += amount // cannot overflow: total native supply <= AmountMax
		x.res.nativeOut += amount
		x.res.nativeIn += amount
		return codes.Success
	}
	info := x.o.asset(as)
	if info == nil {
		return codes.UnknownAsset
	}
	fromIssuer, toIssuer := fromID == as.Issuer, toID == as.Issuer
	var src *Balance
	if !fromIssuer {
		src = from.line(as)
		if code := debitable(info, src, amount, toIssuer, x.height); code != codes.Success {
			return code
		}
	} else if info.Flags&txn.AssetFlagGlobalFreeze != 0 {
		return codes.Frozen
	}
	to := x.o.account(toID)
	if to == nil {
		return codes.NoDestination
	}
	var dst *Balance
	if !toIssuer {
		dst = to.line(as)
		if code := creditable(info, dst, amount); code != codes.Success {
			return code
		}
	}
	switch {
	case fromIssuer: // issuance
		if info.Outstanding+amount > txn.AmountMax {
			return codes.AmountOverflow
		}
		info.Outstanding += amount
	case toIssuer: // redemption: the units cease to exist
		info.Outstanding -= amount
	}
	if src != nil {
		src.Amount -= amount
		src.Limits.consume(x.height, amount)
	}
	if dst != nil {
		dst.Amount += amount
	}
	if src != nil {
		from.prune(as) // after the last use of src and dst (dst is another account's)
	}
	return codes.Success
}

// debitable checks that a holder's line can send amount (to the issuer when
// toIssuer: a frozen or unauthorised holder may still redeem).
func debitable(info *AssetInfo, src *Balance, amount uint64, toIssuer bool, height uint64) codes.Code {
	switch {
	case src == nil || src.Amount < amount:
		return codes.InsufficientFunds
	case !toIssuer && (info.Flags&txn.AssetFlagGlobalFreeze != 0 || src.Flags&txn.LineFlagFrozen != 0):
		return codes.Frozen
	case !toIssuer && info.Flags&txn.AssetFlagRequireAuth != 0 && src.Flags&txn.LineFlagAuthorized == 0:
		return codes.LineNotAuthorized
	case !src.Limits.allow(height, amount):
		return codes.OutflowLimit
	}
	return codes.Success
}

// creditable checks that a holder's line can receive amount.
func creditable(info *AssetInfo, dst *Balance, amount uint64) codes.Code {
	switch {
	case dst == nil:
		return codes.NoTrustLine
	case info.Flags&txn.AssetFlagGlobalFreeze != 0 || dst.Flags&txn.LineFlagFrozen != 0:
		return codes.Frozen
	case info.Flags&txn.AssetFlagRequireAuth != 0 && dst.Flags&txn.LineFlagAuthorized == 0:
		return codes.LineNotAuthorized
	case dst.Amount+dst.Escrowed+amount > dst.Limit: // each term <= 2^62: no overflow
		return codes.TrustLimit
	}
	return codes.Success
}

func (x *execCtx) record(from, to txn.AccountID, as txn.Asset, amount uint64) {
	x.res.Transfers = append(x.res.Transfers, Transfer{Tx: x.idx, From: from, To: to, Asset: as, Amount: amount})
}

// multiLeg applies every leg in order or none: a failing leg restores the state
// from before the first leg (the fee and sequence stay charged) and reports its
// index. Every leg's source must be the sender or authorised by the
// transaction's signatures, exactly as if it had sent the transaction.
func (x *execCtx) multiLeg() (codes.Code, uint8) {
	j := &journal{nativeIn: x.res.nativeIn, nativeOut: x.res.nativeOut, transfers: len(x.res.Transfers)}
	x.o.journal = j
	defer func() { x.o.journal = nil }()
	code, leg := x.applyLegs(x.tx.Legs, true, true)
	if code != codes.Success {
		j.rollback(x.o, x.res)
	}
	return code, leg
}

// applyLegs applies legs in order, stopping at the first that fails (1 + its
// index is returned); the caller holds the journal that undoes the others.
// authorize checks each source other than the sender against the
// transaction's signatures (a queued entry was authorised when it was
// queued); record adds each leg to the block's transfers.
func (x *execCtx) applyLegs(legs []txn.Leg, authorize, record bool) (codes.Code, uint8) {
	for i := range legs {
		leg := &legs[i]
		from := x.o.account(leg.From)
		if from == nil {
			return codes.NoAccount, uint8(i + 1)
		}
		if authorize && leg.From != x.tx.Sender {
			code, bind := authorized(from, x.tx.Sigs)
			if code != codes.Success {
				return code, uint8(i + 1)
			}
			if bind >= 0 {
				from.MasterKey = x.tx.Sigs[bind].PublicKey
				from.Flags |= FlagMasterKeySet
			}
		}
		if code := x.transfer(leg.From, leg.To, leg.Asset, leg.Amount); code != codes.Success {
			return code, uint8(i + 1)
		}
		if record {
			x.record(leg.From, leg.To, leg.Asset, leg.Amount)
		}
	}
	return codes.Success, 0
}

// journal remembers the overlay state a multi-leg transaction found, so that a
// failing leg can put it back. Bounded: at most 2 accounts per leg plus their
// assets.
type journal struct {
	accounts  []savedAccount
	assets    []savedAsset
	nativeIn  uint64
	nativeOut uint64
	transfers int
}

type savedAccount struct {
	id      txn.AccountID
	prev    *Account // a copy of the overlay entry; nil when there was none
	present bool
}

type savedAsset struct {
	as      txn.Asset
	prev    *AssetInfo
	present bool
}

func (j *journal) saveAccount(id txn.AccountID, a *Account, present bool) {
	for i := range j.accounts {
		if j.accounts[i].id == id {
			return
		}
	}
	s := savedAccount{id: id, present: present}
	if present {
		s.prev = a.clone()
	}
	j.accounts = append(j.accounts, s)
}

func (j *journal) saveAsset(as txn.Asset, a *AssetInfo, present bool) {
	for i := range j.assets {
		if j.assets[i].as == as {
			return
		}
	}
	s := savedAsset{as: as, present: present}
	if present {
		c := *a
		s.prev = &c
	}
	j.assets = append(j.assets, s)
}

// rollback restores the overlay. An entry absent before is removed (it will be
// read again from the committed state, or it was created by a leg).
func (j *journal) rollback(o *overlay, res *BlockResult) {
	for _, s := range j.accounts {
		if s.present {
			*o.accounts[s.id] = *s.prev // in place: callers may hold the pointer
		} else {
			delete(o.accounts, s.id)
		}
	}
	for _, s := range j.assets {
		if s.present {
			*o.assets[s.as] = *s.prev
		} else {
			delete(o.assets, s.as)
		}
	}
	res.nativeIn, res.nativeOut = j.nativeIn, j.nativeOut
	res.Transfers = res.Transfers[:j.transfers]
}
