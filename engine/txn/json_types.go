package txn

import (
	"encoding/hex"
	"math"

	"settle/engine/codes"
)

// typeJSONKeys lists, per type name, every key its JSON form may carry: the
// common ones and its own (docs/protocol.md §10).
var typeJSONKeys = func() map[string]map[string]bool {
	common := []string{"type", "chain_id", "sender", "sequence", "fee", "last_valid", "memo", "signatures", "hash"}
	own := map[Type][]string{
		TypePayment:          {"destination", "asset", "amount"},
		TypeTrustSet:         {"asset", "limit"},
		TypeEscrowCreate:     {"destination", "asset", "amount", "release_height", "expiry_height", "condition"},
		TypeEscrowFinish:     {"owner", "escrow_sequence", "fulfillment"},
		TypeEscrowCancel:     {"owner", "escrow_sequence"},
		TypeMultiLeg:         {"legs"},
		TypeSignerListSet:    {"quorum", "signers"},
		TypeRegularKeySet:    {"regular_key"},
		TypeAccountSet:       {"set_flags", "clear_flags"},
		TypeAssetSet:         {"asset", "holder", "set_flags", "clear_flags"},
		TypeClawback:         {"holder", "asset", "amount"},
		TypeLimitsSet:        {"holder", "asset", "per_tx_max", "window_max", "window_blocks"},
		TypeQueuedPayment:    {"destination", "asset", "amount", "priority", "queue_until"},
		TypeQueuedMultiLeg:   {"legs", "priority", "queue_until"},
		TypeQueueCancel:      {"queue_sequence"},
		TypeQueuePrioritySet: {"queue_sequence", "priority"},
	}
	out := map[string]map[string]bool{}
	for t, keys := range own {
		m := map[string]bool{}
		for _, k := range append(append([]string(nil), common...), keys...) {
			m[k] = true
		}
		out[t.String()] = m
	}
	return out
}()

func uintPtr(v uint64) *Uint { u := Uint(v); return &u }

// typeToJSON fills the type-specific fields of j.
func typeToJSON(tx *Tx, j *JSON) {
	switch tx.Type {
	case TypePayment, TypeQueuedPayment:
		j.Destination, j.Asset, j.Amount = tx.Dest.String(), tx.Asset.String(), Uint(tx.Amount)
		if tx.Type == TypeQueuedPayment {
			j.Priority, j.QueueUntil = PriorityName(tx.Priority), uintPtr(tx.QueueUntil)
		}
	case TypeTrustSet:
		j.Asset, j.Limit = tx.Asset.String(), uintPtr(tx.Limit)
	case TypeEscrowCreate:
		j.Destination, j.Asset, j.Amount = tx.Dest.String(), tx.Asset.String(), Uint(tx.Amount)
		j.ReleaseHeight, j.ExpiryHeight = uintPtr(tx.ReleaseHeight), uintPtr(tx.ExpiryHeight)
		if tx.Condition != ([ConditionSize]byte{}) {
			j.Condition = hex.EncodeToString(tx.Condition[:])
		}
	case TypeEscrowFinish, TypeEscrowCancel:
		j.Owner, j.EscrowSequence = tx.Owner.String(), uintPtr(tx.EscrowSeq)
		j.Fulfillment = hex.EncodeToString(tx.Fulfillment)
	case TypeMultiLeg:
		j.Legs = legsToJSON(tx.Legs)
	case TypeSignerListSet:
		j.Quorum = uintPtr(uint64(tx.Quorum))
		for _, s := range tx.Signers {
			j.Signers = append(j.Signers, SignerJSON{PublicKey: hex.EncodeToString(s.PublicKey[:]), Weight: Uint(s.Weight)})
		}
	case TypeRegularKeySet:
		j.RegularKey = hex.EncodeToString(tx.RegularKey[:])
	case TypeAccountSet:
		j.SetFlags, j.ClearFlags = uintPtr(uint64(tx.SetFlags)), uintPtr(uint64(tx.ClearFlags))
	case TypeAssetSet:
		j.Asset = tx.Asset.String()
		if !tx.Holder.IsZero() {
			j.Holder = tx.Holder.String()
		}
		j.SetFlags, j.ClearFlags = uintPtr(uint64(tx.SetFlags)), uintPtr(uint64(tx.ClearFlags))
	case TypeClawback:
		j.Holder, j.Asset, j.Amount = tx.Holder.String(), tx.Asset.String(), Uint(tx.Amount)
	case TypeLimitsSet:
		j.Holder, j.Asset = tx.Holder.String(), tx.Asset.String()
		j.PerTxMax, j.WindowMax, j.WindowBlocks = uintPtr(tx.PerTxMax), uintPtr(tx.WindowMax), uintPtr(uint64(tx.WindowBlocks))
	case TypeQueuedMultiLeg:
		j.Legs = legsToJSON(tx.Legs)
		j.Priority, j.QueueUntil = PriorityName(tx.Priority), uintPtr(tx.QueueUntil)
	case TypeQueueCancel:
		j.QueueSequence = uintPtr(tx.QueueSeq)
	case TypeQueuePrioritySet:
		j.QueueSequence, j.Priority = uintPtr(tx.QueueSeq), PriorityName(tx.Priority)
	}
}

func legsToJSON(legs []Leg) []LegJSON {
	out := make([]LegJSON, 0, len(legs))
	for _, l := range legs {
		out = append(out, LegJSON{From: l.From.String(), To: l.To.String(), Asset: l.Asset.String(), Amount: Uint(l.Amount)})
	}
	return out
}

// jsonFields reads JSON values into a transaction, keeping the first error.
type jsonFields struct{ err error }

func (f *jsonFields) address(dst *AccountID, s, what string) {
	if f.err != nil {
		return
	}
	v, err := ParseAddress(s)
	if err != nil {
		f.err = codes.Errorf(codes.Malformed, "%s: %v", what, err)
		return
	}
	*dst = v
}

func (f *jsonFields) asset(dst *Asset, s string) {
	if f.err != nil {
		return
	}
	v, err := ParseAsset(s)
	if err != nil {
		f.err = codes.Errorf(codes.Malformed, "%v", err)
		return
	}
	*dst = v
}

// required reads a mandatory integer no larger than max.
func (f *jsonFields) required(u *Uint, what string, max uint64) uint64 {
	switch {
	case f.err != nil:
		return 0
	case u == nil:
		f.err = codes.Errorf(codes.Malformed, "field %q is required", what)
		return 0
	case uint64(*u) > max:
		f.err = codes.Errorf(codes.Malformed, "field %q is %d, limit %d", what, uint64(*u), max)
		return 0
	}
	return uint64(*u)
}

func (f *jsonFields) hexBytes(dst []byte, s, what string) {
	if f.err == nil && s != "" {
		if err := hexInto(dst, s); err != nil {
			f.err = codes.Errorf(codes.Malformed, "%s: %v", what, err)
		}
	}
}

// typeFromJSON reads the type-specific fields of j into tx (its Type is set).
func typeFromJSON(j *JSON, tx *Tx) error {
	f := &jsonFields{}
	switch tx.Type {
	case TypePayment, TypeQueuedPayment:
		f.address(&tx.Dest, j.Destination, "destination")
		f.asset(&tx.Asset, j.Asset)
		if tx.Type == TypeQueuedPayment {
			tx.Priority = f.priority(j.Priority)
			tx.QueueUntil = f.required(j.QueueUntil, "queue_until", math.MaxUint64)
		}
	case TypeTrustSet:
		f.asset(&tx.Asset, j.Asset)
		tx.Limit = f.required(j.Limit, "limit", math.MaxUint64)
	case TypeEscrowCreate:
		f.address(&tx.Dest, j.Destination, "destination")
		f.asset(&tx.Asset, j.Asset)
		tx.ReleaseHeight = f.required(j.ReleaseHeight, "release_height", math.MaxUint64)
		tx.ExpiryHeight = f.required(j.ExpiryHeight, "expiry_height", math.MaxUint64)
		f.hexBytes(tx.Condition[:], j.Condition, "condition")
	case TypeEscrowFinish, TypeEscrowCancel:
		f.address(&tx.Owner, j.Owner, "owner")
		tx.EscrowSeq = f.required(j.EscrowSequence, "escrow_sequence", math.MaxUint64)
		if f.err == nil && j.Fulfillment != "" {
			if len(j.Fulfillment) > 2*FulfillmentBytesMax {
				return codes.Errorf(codes.Malformed, "fulfillment is over %d bytes", FulfillmentBytesMax)
			}
			b, err := hex.DecodeString(j.Fulfillment)
			if err != nil {
				return codes.Errorf(codes.Malformed, "fulfillment is not hex")
			}
			tx.Fulfillment = b
		}
	case TypeMultiLeg:
		if err := f.legs(j.Legs, tx); err != nil {
			return err
		}
	case TypeSignerListSet:
		tx.Quorum = uint32(f.required(j.Quorum, "quorum", math.MaxUint32))
		if len(j.Signers) > SignerCountMax {
			return codes.Errorf(codes.Malformed, "%d signers, limit %d", len(j.Signers), SignerCountMax)
		}
		for _, s := range j.Signers {
			var e SignerEntry
			f.hexBytes(e.PublicKey[:], s.PublicKey, "signer public key")
			if s.PublicKey == "" && f.err == nil {
				f.err = codes.Errorf(codes.Malformed, "signer public key is missing")
			}
			w := s.Weight
			e.Weight = uint16(f.required(&w, "weight", math.MaxUint16))
			tx.Signers = append(tx.Signers, e)
		}
	case TypeRegularKeySet:
		f.hexBytes(tx.RegularKey[:], j.RegularKey, "regular_key")
	case TypeAccountSet:
		tx.SetFlags = uint32(f.required(j.SetFlags, "set_flags", math.MaxUint32))
		tx.ClearFlags = uint32(f.required(j.ClearFlags, "clear_flags", math.MaxUint32))
	case TypeAssetSet:
		f.asset(&tx.Asset, j.Asset)
		if j.Holder != "" {
			f.address(&tx.Holder, j.Holder, "holder")
		}
		tx.SetFlags = uint32(f.required(j.SetFlags, "set_flags", math.MaxUint32))
		tx.ClearFlags = uint32(f.required(j.ClearFlags, "clear_flags", math.MaxUint32))
	case TypeClawback:
		f.address(&tx.Holder, j.Holder, "holder")
		f.asset(&tx.Asset, j.Asset)
	case TypeLimitsSet:
		f.address(&tx.Holder, j.Holder, "holder")
		f.asset(&tx.Asset, j.Asset)
		tx.PerTxMax = f.required(j.PerTxMax, "per_tx_max", math.MaxUint64)
		tx.WindowMax = f.required(j.WindowMax, "window_max", math.MaxUint64)
		tx.WindowBlocks = uint32(f.required(j.WindowBlocks, "window_blocks", math.MaxUint32))
	case TypeQueuedMultiLeg:
		if err := f.legs(j.Legs, tx); err != nil {
			return err
		}
		tx.Priority = f.priority(j.Priority)
		tx.QueueUntil = f.required(j.QueueUntil, "queue_until", math.MaxUint64)
	case TypeQueueCancel:
		tx.QueueSeq = f.required(j.QueueSequence, "queue_sequence", math.MaxUint64)
	case TypeQueuePrioritySet:
		tx.QueueSeq = f.required(j.QueueSequence, "queue_sequence", math.MaxUint64)
		tx.Priority = f.priority(j.Priority)
	}
	return f.err
}

func (f *jsonFields) legs(legs []LegJSON, tx *Tx) error {
	if len(legs) > LegCountMax {
		return codes.Errorf(codes.Malformed, "%d legs, limit %d", len(legs), LegCountMax)
	}
	tx.Legs = make([]Leg, len(legs))
	for i, l := range legs {
		f.address(&tx.Legs[i].From, l.From, "leg source")
		f.address(&tx.Legs[i].To, l.To, "leg destination")
		f.asset(&tx.Legs[i].Asset, l.Asset)
		tx.Legs[i].Amount = uint64(l.Amount)
	}
	return nil
}

func (f *jsonFields) priority(s string) uint8 {
	if f.err != nil {
		return 0
	}
	p, ok := PriorityFromName(s)
	if !ok {
		f.err = codes.Errorf(codes.Malformed, "priority %q must be \"urgent\" or \"normal\"", s)
	}
	return p
}
