package txn

import (
	"encoding/binary"

	"settle/engine/codes"
	"settle/engine/sigverify"
)

// Transaction types. Values are consensus-critical (docs/protocol.md §4).
const (
	TypePayment       Type = 1
	TypeTrustSet      Type = 2
	TypeEscrowCreate  Type = 3
	TypeEscrowFinish  Type = 4
	TypeEscrowCancel  Type = 5
	TypeMultiLeg      Type = 6
	TypeSignerListSet Type = 7
	TypeRegularKeySet Type = 8
	TypeAccountSet    Type = 9
	TypeAssetSet      Type = 10
	TypeClawback      Type = 11
	TypeLimitsSet     Type = 12
	// The RTGS queue (docs/ledger.md, "Queued payments and liquidity saving").
	TypeQueuedPayment    Type = 13
	TypeQueuedMultiLeg   Type = 14
	TypeQueueCancel      Type = 15
	TypeQueuePrioritySet Type = 16
	typeEnd              Type = 17 // first unassigned value
)

var typeNames = [typeEnd]string{"", "payment", "trust_set", "escrow_create", "escrow_finish", "escrow_cancel",
	"multi_leg", "signer_list_set", "regular_key_set", "account_set", "asset_set", "clawback", "limits_set",
	"queued_payment", "queued_multi_leg", "queue_cancel", "queue_priority_set"}

func (t Type) String() string {
	if t > 0 && t < typeEnd {
		return typeNames[t]
	}
	return "unknown"
}

// Known reports whether t is an assigned transaction type.
func (t Type) Known() bool { return t > 0 && t < typeEnd }

// TypeFromString is the inverse of Type.String; ok is false for unknown names.
func TypeFromString(s string) (Type, bool) {
	for t := Type(1); t < typeEnd; t++ {
		if typeNames[t] == s {
			return t, true
		}
	}
	return 0, false
}

// Bounds of the interbank types; docs/protocol.md repeats them.
const (
	LegCountMax         = 8         // transfers in one multi-leg transaction
	SignerCountMax      = 8         // entries in a signer list
	FulfillmentBytesMax = 64        // bytes of an escrow fulfillment (hash-lock preimage)
	WindowBlocksMax     = 1_000_000 // longest rolling outflow window, in blocks
	ConditionSize       = 32        // SHA-256 hash lock
	legSize             = 2*AccountIDSize + assetLen + 8
	signerEntrySize     = PublicKeySize + 2
	assetLen            = 3 + AccountIDSize
	// QueueBlocksMax bounds how long a payment may wait in the queue: its
	// queue_until is at most this many blocks after its last_valid.
	QueueBlocksMax = 1_000_000
)

// Priorities of queued payments. Urgent payments settle before normal ones,
// each sender's in strict FIFO order; normal ones by FIFO with by-passing.
const (
	PriorityUrgent uint8 = 1
	PriorityNormal uint8 = 2
)

// PriorityName returns "urgent" or "normal" ("" for an invalid value).
func PriorityName(p uint8) string {
	switch p {
	case PriorityUrgent:
		return "urgent"
	case PriorityNormal:
		return "normal"
	}
	return ""
}

// PriorityFromName is the inverse of PriorityName.
func PriorityFromName(s string) (uint8, bool) {
	switch s {
	case "urgent":
		return PriorityUrgent, true
	case "normal":
		return PriorityNormal, true
	}
	return 0, false
}

// Flags carried by account_set and asset_set (docs/protocol.md §4, docs/ledger.md).
const (
	// AccountFlagDisableMaster stops the master key from signing for the account.
	AccountFlagDisableMaster uint32 = 1 << 1
	accountFlagsSettable            = AccountFlagDisableMaster

	// AssetFlagRequireAuth: holders need the issuer's authorisation of their line.
	AssetFlagRequireAuth uint32 = 1 << 0
	// AssetFlagGlobalFreeze: no transfers of the asset except redemption to the issuer.
	AssetFlagGlobalFreeze uint32 = 1 << 1
	// AssetFlagNoFreeze: the issuer gives up freezing, for good (cannot be cleared).
	AssetFlagNoFreeze uint32 = 1 << 2
	// AssetFlagClawback: the issuer may claw balances back (set only while nothing is outstanding).
	AssetFlagClawback  uint32 = 1 << 3
	assetFlagsSettable        = AssetFlagRequireAuth | AssetFlagGlobalFreeze | AssetFlagNoFreeze | AssetFlagClawback

	// LineFlagAuthorized: the issuer authorised this holder (for AssetFlagRequireAuth).
	LineFlagAuthorized uint32 = 1 << 0
	// LineFlagFrozen: the issuer froze this holder's line.
	LineFlagFrozen    uint32 = 1 << 1
	lineFlagsSettable        = LineFlagAuthorized | LineFlagFrozen
)

// Leg is one transfer of a multi-leg transaction.
type Leg struct {
	From   AccountID
	To     AccountID
	Asset  Asset
	Amount uint64
}

// SignerEntry is one weighted key of a signer list.
type SignerEntry struct {
	PublicKey [PublicKeySize]byte
	Weight    uint16
}

// typeBodyLen is the length of the type-specific body of tx.
func typeBodyLen(tx *Tx) int {
	switch tx.Type {
	case TypePayment:
		return AccountIDSize + assetLen + 8
	case TypeTrustSet:
		return assetLen + 8
	case TypeEscrowCreate:
		return AccountIDSize + assetLen + 8 + 8 + 8 + ConditionSize
	case TypeEscrowFinish:
		return AccountIDSize + 8 + 1 + len(tx.Fulfillment)
	case TypeEscrowCancel:
		return AccountIDSize + 8
	case TypeMultiLeg:
		return 1 + len(tx.Legs)*legSize
	case TypeSignerListSet:
		return 4 + 1 + len(tx.Signers)*signerEntrySize
	case TypeRegularKeySet:
		return PublicKeySize
	case TypeAccountSet:
		return 8
	case TypeAssetSet:
		return assetLen + AccountIDSize + 8
	case TypeClawback:
		return AccountIDSize + assetLen + 8
	case TypeLimitsSet:
		return AccountIDSize + assetLen + 8 + 8 + 4
	case TypeQueuedPayment:
		return AccountIDSize + assetLen + 8 + 1 + 8
	case TypeQueuedMultiLeg:
		return 1 + 8 + 1 + len(tx.Legs)*legSize
	case TypeQueueCancel:
		return 8
	case TypeQueuePrioritySet:
		return 8 + 1
	}
	return 0
}

func appendAsset(dst []byte, a Asset) []byte {
	dst = append(dst, a.Code[:]...)
	return append(dst, a.Issuer[:]...)
}

// appendTypeBody appends the type-specific body.
func appendTypeBody(dst []byte, tx *Tx) []byte {
	u64 := binary.BigEndian.AppendUint64
	u32 := binary.BigEndian.AppendUint32
	switch tx.Type {
	case TypePayment, TypeQueuedPayment:
		dst = append(dst, tx.Dest[:]...)
		dst = appendAsset(dst, tx.Asset)
		dst = u64(dst, tx.Amount)
		if tx.Type == TypeQueuedPayment {
			dst = append(dst, tx.Priority)
			dst = u64(dst, tx.QueueUntil)
		}
	case TypeTrustSet:
		dst = appendAsset(dst, tx.Asset)
		dst = u64(dst, tx.Limit)
	case TypeEscrowCreate:
		dst = append(dst, tx.Dest[:]...)
		dst = appendAsset(dst, tx.Asset)
		dst = u64(dst, tx.Amount)
		dst = u64(dst, tx.ReleaseHeight)
		dst = u64(dst, tx.ExpiryHeight)
		dst = append(dst, tx.Condition[:]...)
	case TypeEscrowFinish:
		dst = append(dst, tx.Owner[:]...)
		dst = u64(dst, tx.EscrowSeq)
		dst = append(dst, byte(len(tx.Fulfillment)))
		dst = append(dst, tx.Fulfillment...)
	case TypeEscrowCancel:
		dst = append(dst, tx.Owner[:]...)
		dst = u64(dst, tx.EscrowSeq)
	case TypeMultiLeg:
		dst = appendLegs(dst, tx.Legs)
	case TypeSignerListSet:
		dst = u32(dst, tx.Quorum)
		dst = append(dst, byte(len(tx.Signers)))
		for _, s := range tx.Signers {
			dst = append(dst, s.PublicKey[:]...)
			dst = binary.BigEndian.AppendUint16(dst, s.Weight)
		}
	case TypeRegularKeySet:
		dst = append(dst, tx.RegularKey[:]...)
	case TypeAccountSet:
		dst = u32(dst, tx.SetFlags)
		dst = u32(dst, tx.ClearFlags)
	case TypeAssetSet:
		dst = appendAsset(dst, tx.Asset)
		dst = append(dst, tx.Holder[:]...)
		dst = u32(dst, tx.SetFlags)
		dst = u32(dst, tx.ClearFlags)
	case TypeClawback:
		dst = append(dst, tx.Holder[:]...)
		dst = appendAsset(dst, tx.Asset)
		dst = u64(dst, tx.Amount)
	case TypeLimitsSet:
		dst = append(dst, tx.Holder[:]...)
		dst = appendAsset(dst, tx.Asset)
		dst = u64(dst, tx.PerTxMax)
		dst = u64(dst, tx.WindowMax)
		dst = u32(dst, tx.WindowBlocks)
	case TypeQueuedMultiLeg:
		dst = append(dst, tx.Priority)
		dst = u64(dst, tx.QueueUntil)
		dst = appendLegs(dst, tx.Legs)
	case TypeQueueCancel:
		dst = u64(dst, tx.QueueSeq)
	case TypeQueuePrioritySet:
		dst = u64(dst, tx.QueueSeq)
		dst = append(dst, tx.Priority)
	}
	return dst
}

// appendLegs appends a leg count u8 and the legs.
func appendLegs(dst []byte, legs []Leg) []byte {
	dst = append(dst, byte(len(legs)))
	for i := range legs {
		l := &legs[i]
		dst = append(dst, l.From[:]...)
		dst = append(dst, l.To[:]...)
		dst = appendAsset(dst, l.Asset)
		dst = binary.BigEndian.AppendUint64(dst, l.Amount)
	}
	return dst
}

func (r *reader) asset(dst *Asset, what string) {
	if s := r.take(assetLen, what); s != nil {
		copy(dst.Code[:], s)
		copy(dst.Issuer[:], s[3:])
	}
}

func (r *reader) u32(what string) uint32 {
	if s := r.take(4, what); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

// decodeTypeBody reads the type-specific body. Only multi-leg and signer-list
// bodies allocate (bounded by LegCountMax and SignerCountMax); a fulfillment
// aliases the input.
func decodeTypeBody(r *reader, tx *Tx) {
	switch tx.Type {
	case TypePayment, TypeQueuedPayment:
		r.id(&tx.Dest, "destination")
		r.asset(&tx.Asset, "asset")
		tx.Amount = r.u64("amount")
		if tx.Type == TypeQueuedPayment {
			tx.Priority = r.u8("priority")
			tx.QueueUntil = r.u64("queue until")
		}
	case TypeTrustSet:
		r.asset(&tx.Asset, "asset")
		tx.Limit = r.u64("limit")
	case TypeEscrowCreate:
		r.id(&tx.Dest, "destination")
		r.asset(&tx.Asset, "asset")
		tx.Amount = r.u64("amount")
		tx.ReleaseHeight = r.u64("release height")
		tx.ExpiryHeight = r.u64("expiry height")
		if s := r.take(ConditionSize, "condition"); s != nil {
			copy(tx.Condition[:], s)
		}
	case TypeEscrowFinish:
		r.id(&tx.Owner, "escrow owner")
		tx.EscrowSeq = r.u64("escrow sequence")
		n := int(r.u8("fulfillment length"))
		if r.err == nil && n > FulfillmentBytesMax {
			r.fail("fulfillment is %d bytes, limit %d", n, FulfillmentBytesMax)
		}
		if f := r.take(n, "fulfillment"); len(f) > 0 {
			tx.Fulfillment = f
		}
	case TypeEscrowCancel:
		r.id(&tx.Owner, "escrow owner")
		tx.EscrowSeq = r.u64("escrow sequence")
	case TypeMultiLeg:
		decodeLegs(r, tx)
	case TypeSignerListSet:
		tx.Quorum = r.u32("quorum")
		n := int(r.u8("signer count"))
		if r.err == nil && n > SignerCountMax {
			r.fail("%d signers, limit %d", n, SignerCountMax)
		}
		if r.err == nil && len(r.b)-r.off < n*signerEntrySize {
			r.fail("truncated at byte %d reading signers", r.off)
		}
		if r.err != nil || n == 0 {
			return
		}
		tx.Signers = make([]SignerEntry, n)
		for i := range tx.Signers {
			if s := r.take(PublicKeySize, "signer key"); s != nil {
				copy(tx.Signers[i].PublicKey[:], s)
			}
			tx.Signers[i].Weight = r.u16("signer weight")
		}
	case TypeRegularKeySet:
		if s := r.take(PublicKeySize, "regular key"); s != nil {
			copy(tx.RegularKey[:], s)
		}
	case TypeAccountSet:
		tx.SetFlags = r.u32("set flags")
		tx.ClearFlags = r.u32("clear flags")
	case TypeAssetSet:
		r.asset(&tx.Asset, "asset")
		r.id(&tx.Holder, "holder")
		tx.SetFlags = r.u32("set flags")
		tx.ClearFlags = r.u32("clear flags")
	case TypeClawback:
		r.id(&tx.Holder, "holder")
		r.asset(&tx.Asset, "asset")
		tx.Amount = r.u64("amount")
	case TypeLimitsSet:
		r.id(&tx.Holder, "holder")
		r.asset(&tx.Asset, "asset")
		tx.PerTxMax = r.u64("per-transaction maximum")
		tx.WindowMax = r.u64("window maximum")
		tx.WindowBlocks = r.u32("window blocks")
	case TypeQueuedMultiLeg:
		tx.Priority = r.u8("priority")
		tx.QueueUntil = r.u64("queue until")
		decodeLegs(r, tx)
	case TypeQueueCancel:
		tx.QueueSeq = r.u64("queue sequence")
	case TypeQueuePrioritySet:
		tx.QueueSeq = r.u64("queue sequence")
		tx.Priority = r.u8("priority")
	}
}

// decodeLegs reads a leg count and the legs (allocating at most LegCountMax).
func decodeLegs(r *reader, tx *Tx) {
	n := int(r.u8("leg count"))
	if r.err == nil && (n == 0 || n > LegCountMax) {
		r.fail("%d legs, want 1 to %d", n, LegCountMax)
	}
	if r.err == nil && len(r.b)-r.off < n*legSize {
		r.fail("truncated at byte %d reading legs", r.off)
	}
	if r.err != nil {
		return
	}
	tx.Legs = make([]Leg, n)
	for i := range tx.Legs {
		l := &tx.Legs[i]
		r.id(&l.From, "leg source")
		r.id(&l.To, "leg destination")
		r.asset(&l.Asset, "leg asset")
		l.Amount = r.u64("leg amount")
	}
}

// checkType runs the stateless rules of tx's type. Errors are *codes.Error.
func checkType(tx *Tx) error {
	switch tx.Type {
	case TypePayment:
		return checkPayment(tx)
	case TypeTrustSet:
		return checkTrustSet(tx)
	case TypeEscrowCreate:
		return checkEscrowCreate(tx)
	case TypeEscrowFinish, TypeEscrowCancel:
		if tx.Owner.IsZero() {
			return codes.Errorf(codes.Malformed, "escrow owner is missing")
		}
		if tx.Type == TypeEscrowCancel && len(tx.Fulfillment) > 0 {
			return codes.Errorf(codes.Malformed, "a cancel carries no fulfillment")
		}
		if len(tx.Fulfillment) > FulfillmentBytesMax {
			return codes.Errorf(codes.Malformed, "fulfillment is %d bytes, limit %d", len(tx.Fulfillment), FulfillmentBytesMax)
		}
		return nil
	case TypeMultiLeg:
		return checkLegs(tx)
	case TypeSignerListSet:
		return checkSignerList(tx)
	case TypeRegularKeySet:
		if tx.RegularKey != ([PublicKeySize]byte{}) && sigverify.WeakKey(tx.RegularKey[:]) {
			return codes.Errorf(codes.WeakKey, "regular key %x is of small order or not a valid point", tx.RegularKey)
		}
		return nil
	case TypeAccountSet:
		return checkFlags(tx.SetFlags, tx.ClearFlags, accountFlagsSettable, "account")
	case TypeAssetSet:
		if err := checkIssued(tx.Asset, tx.Sender, "asset"); err != nil {
			return err
		}
		if tx.Holder.IsZero() {
			return checkFlags(tx.SetFlags, tx.ClearFlags, assetFlagsSettable, "asset")
		}
		if tx.Holder == tx.Sender {
			return codes.Errorf(codes.Malformed, "the issuer holds no line of its own asset")
		}
		return checkFlags(tx.SetFlags, tx.ClearFlags, lineFlagsSettable, "trust line")
	case TypeClawback:
		if err := checkIssued(tx.Asset, tx.Sender, "clawback"); err != nil {
			return err
		}
		if tx.Holder.IsZero() || tx.Holder == tx.Sender {
			return codes.Errorf(codes.Malformed, "clawback needs a holder other than the issuer")
		}
		return checkAmount(tx.Amount)
	case TypeLimitsSet:
		return checkLimits(tx)
	case TypeQueuedPayment:
		if err := checkPayment(tx); err != nil {
			return err
		}
		return checkQueueTerms(tx)
	case TypeQueuedMultiLeg:
		if err := checkLegs(tx); err != nil {
			return err
		}
		return checkQueueTerms(tx)
	case TypeQueueCancel:
		return nil
	case TypeQueuePrioritySet:
		return checkPriority(tx.Priority)
	}
	return codes.Errorf(codes.UnsupportedType, "transaction type %d is not supported", tx.Type)
}

func checkAmount(v uint64) error {
	switch {
	case v == 0:
		return codes.Errorf(codes.AmountZero, "amount must be positive")
	case v > AmountMax:
		return codes.Errorf(codes.AmountOverflow, "amount %d exceeds the maximum %d", v, uint64(AmountMax))
	}
	return nil
}

// checkIssued requires an issued asset whose issuer is the sender.
func checkIssued(as Asset, sender AccountID, what string) error {
	if err := as.Valid(); err != nil {
		return codes.Errorf(codes.Malformed, "%v", err)
	}
	if as.IsNative() || as.Issuer != sender {
		return codes.Errorf(codes.Malformed, "%s: only the issuer of an issued asset may do this", what)
	}
	return nil
}

func checkFlags(set, clear, settable uint32, what string) error {
	switch {
	case (set|clear)&^settable != 0:
		return codes.Errorf(codes.Malformed, "%s flags %#x include bits that cannot be set or cleared", what, (set|clear)&^settable)
	case set&clear != 0:
		return codes.Errorf(codes.Malformed, "%s flags %#x are both set and cleared", what, set&clear)
	case set == 0 && clear == 0:
		return codes.Errorf(codes.Malformed, "%s set changes no flag", what)
	}
	return nil
}

func checkTrustSet(tx *Tx) error {
	if err := tx.Asset.Valid(); err != nil {
		return codes.Errorf(codes.Malformed, "%v", err)
	}
	switch {
	case tx.Asset.IsNative():
		return codes.Errorf(codes.Malformed, "trust lines are for issued assets, not %s", NativeCode)
	case tx.Asset.Issuer == tx.Sender:
		return codes.Errorf(codes.Malformed, "the issuer holds no line of its own asset")
	case tx.Limit > AmountMax:
		return codes.Errorf(codes.AmountOverflow, "limit %d exceeds the maximum %d", tx.Limit, uint64(AmountMax))
	}
	return nil
}

func checkEscrowCreate(tx *Tx) error {
	if err := checkAmount(tx.Amount); err != nil {
		return err
	}
	if err := tx.Asset.Valid(); err != nil {
		return codes.Errorf(codes.Malformed, "%v", err)
	}
	switch {
	case tx.Dest.IsZero():
		return codes.Errorf(codes.Malformed, "destination is missing")
	case tx.Dest == tx.Sender:
		return codes.Errorf(codes.SelfPayment, "sender and destination are the same account")
	case !tx.Asset.IsNative() && tx.Asset.Issuer == tx.Sender:
		return codes.Errorf(codes.Malformed, "an issuer cannot escrow its own asset; a holder can")
	case tx.ExpiryHeight == 0:
		return codes.Errorf(codes.Malformed, "an escrow needs an expiry height")
	case tx.ReleaseHeight >= tx.ExpiryHeight:
		return codes.Errorf(codes.Malformed, "release height %d must be below expiry height %d", tx.ReleaseHeight, tx.ExpiryHeight)
	case tx.ReleaseHeight == 0 && tx.Condition == [ConditionSize]byte{}:
		return codes.Errorf(codes.Malformed, "an escrow needs a time lock (release height), a hash lock (condition), or both")
	}
	return nil
}

func checkLegs(tx *Tx) error {
	if len(tx.Legs) == 0 || len(tx.Legs) > LegCountMax {
		return codes.Errorf(codes.Malformed, "%d legs, want 1 to %d", len(tx.Legs), LegCountMax)
	}
	for i := range tx.Legs {
		l := &tx.Legs[i]
		if err := checkAmount(l.Amount); err != nil {
			return codes.Errorf(codes.Of(err), "leg %d: %v", i, err.(*codes.Error).Msg)
		}
		if err := l.Asset.Valid(); err != nil {
			return codes.Errorf(codes.Malformed, "leg %d: %v", i, err)
		}
		switch {
		case l.From.IsZero() || l.To.IsZero():
			return codes.Errorf(codes.Malformed, "leg %d: source or destination is missing", i)
		case l.From == l.To:
			return codes.Errorf(codes.SelfPayment, "leg %d: source and destination are the same account", i)
		}
	}
	return nil
}

func checkSignerList(tx *Tx) error {
	if len(tx.Signers) > SignerCountMax {
		return codes.Errorf(codes.Malformed, "%d signers, limit %d", len(tx.Signers), SignerCountMax)
	}
	if len(tx.Signers) == 0 {
		if tx.Quorum != 0 {
			return codes.Errorf(codes.Malformed, "an empty signer list (removal) has quorum 0")
		}
		return nil
	}
	var sum uint32
	for i, s := range tx.Signers {
		if i > 0 && string(tx.Signers[i-1].PublicKey[:]) >= string(s.PublicKey[:]) {
			return codes.Errorf(codes.Malformed, "signers must be sorted by public key without repeats")
		}
		if s.Weight == 0 {
			return codes.Errorf(codes.Malformed, "signer %d has weight 0", i)
		}
		if sigverify.WeakKey(s.PublicKey[:]) {
			return codes.Errorf(codes.WeakKey, "signer %d key %x is of small order or not a valid point", i, s.PublicKey)
		}
		sum += uint32(s.Weight)
	}
	if tx.Quorum == 0 || tx.Quorum > sum {
		return codes.Errorf(codes.Malformed, "quorum %d must be 1 to the total weight %d", tx.Quorum, sum)
	}
	return nil
}

func checkLimits(tx *Tx) error {
	if err := tx.Asset.Valid(); err != nil {
		return codes.Errorf(codes.Malformed, "%v", err)
	}
	switch {
	case tx.Holder.IsZero():
		return codes.Errorf(codes.Malformed, "holder is missing")
	case !tx.Asset.IsNative() && tx.Holder == tx.Asset.Issuer:
		return codes.Errorf(codes.Malformed, "limits apply to holders, not to the issuer")
	case tx.PerTxMax > AmountMax || tx.WindowMax > AmountMax:
		return codes.Errorf(codes.AmountOverflow, "limits above the maximum %d", uint64(AmountMax))
	case tx.WindowBlocks > WindowBlocksMax:
		return codes.Errorf(codes.Malformed, "window of %d blocks, limit %d", tx.WindowBlocks, WindowBlocksMax)
	case (tx.WindowMax == 0) != (tx.WindowBlocks == 0):
		return codes.Errorf(codes.Malformed, "window maximum and window blocks are both zero (no window limit) or both positive")
	}
	return nil
}

func checkPriority(p uint8) error {
	if PriorityName(p) == "" {
		return codes.Errorf(codes.Malformed, "priority %d is neither urgent (%d) nor normal (%d)", p, PriorityUrgent, PriorityNormal)
	}
	return nil
}

// checkQueueTerms checks a queued transfer's priority and queue_until: at or
// after last_valid (so that it is never in the past where the transaction
// applies) and at most QueueBlocksMax blocks after it.
func checkQueueTerms(tx *Tx) error {
	if err := checkPriority(tx.Priority); err != nil {
		return err
	}
	switch {
	case tx.QueueUntil < tx.LastValid:
		return codes.Errorf(codes.Malformed, "queue_until %d is before last_valid %d", tx.QueueUntil, tx.LastValid)
	case tx.QueueUntil-tx.LastValid > QueueBlocksMax:
		return codes.Errorf(codes.Malformed, "queue_until %d is more than %d blocks after last_valid %d", tx.QueueUntil, QueueBlocksMax, tx.LastValid)
	}
	return nil
}
