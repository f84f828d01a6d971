package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Role says which side of a transaction an account was on.
type Role uint8

// Roles in history entries.
const (
	// RoleExpiry marks an escrow returned to its owner automatically at the end
	// of the block at its expiry height (an entry for the owner and one for the
	// destination); no transaction stands for it: the entry's index follows the
	// block's transactions and its hash is the escrow id's ReturnHash. Queue
	// events (a queued transfer released, offset or expired at the end of a
	// block) use it too, with the queued transaction's hash and a queue_*
	// result: IsQueueResult tells them apart.
	RoleExpiry   Role = 0
	RoleSender   Role = 1 // sent the transaction, or was debited by one of its transfers
	RoleReceiver Role = 2 // was credited by one of its transfers
	RoleSubject  Role = 3 // its line, limits or escrow was changed by another account
)

func (r Role) String() string {
	switch r {
	case RoleSender:
		return "sender"
	case RoleSubject:
		return "subject"
	case RoleExpiry:
		return "expiry"
	}
	return "receiver"
}

// IsQueueResult reports whether a history result is a queue event's: the
// entry (role RoleExpiry) is a queued transfer leaving the queue, not an
// escrow returned on expiry.
func IsQueueResult(c codes.Code) bool {
	switch c {
	case codes.QueueReleased, codes.QueueOffset, codes.QueueExpired:
		return true
	}
	return false
}

// HistoryEntry is one line of an account's append-only audit history.
type HistoryEntry struct {
	Height       uint64
	Index        uint32
	Role         Role
	Part         uint8 // which transfer of the transaction (a multi-leg leg), 0 to 7
	Hash         txn.Hash
	Result       codes.Code
	Asset        txn.Asset
	Amount       uint64
	Fee          uint64
	Counterparty txn.AccountID
}

// HistoryPageMax bounds one history page.
const HistoryPageMax = 1000

func historyPrefix(id txn.AccountID) []byte { return append([]byte{prefixHistory, '/'}, id[:]...) }

// historyKey's last byte is the role in its low two bits and the part above them.
func historyKey(id txn.AccountID, h uint64, i uint32, role Role, part uint8) []byte {
	return appendHistoryKey(make([]byte, 0, historyKeyLen), id, h, i, role, part)
}

const historyKeyLen = 2 + 20 + 8 + 4 + 1

// appendHistoryKey is historyKey appended to dst: CommitBlock builds every key
// in one scratch buffer (Set copies it), so an entry costs no allocation.
func appendHistoryKey(dst []byte, id txn.AccountID, h uint64, i uint32, role Role, part uint8) []byte {
	dst = append(append(dst, prefixHistory, '/'), id[:]...)
	dst = binary.BigEndian.AppendUint64(dst, h)
	dst = binary.BigEndian.AppendUint32(dst, i)
	return append(dst, byte(role)|part<<2)
}

// value: hash [32] | fee u64 | asset [23] | amount u64 | counterparty [20] | code len u8 | code
func appendHistoryValue(dst []byte, r *ledger.Receipt, as txn.Asset, amount uint64, counterparty txn.AccountID) []byte {
	dst = append(dst, r.Hash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.Fee)
	k := ledger.AssetKey(as)
	dst = append(dst, k[:]...)
	dst = binary.BigEndian.AppendUint64(dst, amount)
	dst = append(dst, counterparty[:]...)
	dst = append(dst, byte(len(r.Result)))
	return append(dst, r.Result...)
}

// summary is what the sender's history entry shows of a transaction: its main
// asset, amount and counterparty (zero where the type has none).
func summary(tx *txn.Tx) (txn.Asset, uint64, txn.AccountID) {
	switch tx.Type {
	case txn.TypePayment, txn.TypeEscrowCreate, txn.TypeQueuedPayment:
		return tx.Asset, tx.Amount, tx.Dest
	case txn.TypeClawback:
		return tx.Asset, tx.Amount, tx.Holder
	case txn.TypeAssetSet, txn.TypeLimitsSet:
		return tx.Asset, 0, tx.Holder
	case txn.TypeTrustSet:
		return tx.Asset, tx.Limit, tx.Asset.Issuer
	case txn.TypeEscrowFinish, txn.TypeEscrowCancel:
		return txn.Native, 0, tx.Owner
	case txn.TypeMultiLeg, txn.TypeQueuedMultiLeg:
		l := &tx.Legs[0]
		return l.Asset, l.Amount, l.To
	}
	return txn.Native, 0, txn.AccountID{}
}

// addHistory records an applied transaction: for its sender always; on success,
// for both sides of each of its transfers (a multi-leg transaction's legs are
// parts 0 to 7), and for the account another account's asset_set, limits_set or
// escrow_cancel changed.
// kb and buf are scratch buffers for the keys and values (set copies both).
func addHistory(set func(k, v []byte), kb, buf []byte, h uint64, i uint32, tx *txn.Tx, r *ledger.Receipt, transfers []ledger.Transfer) {
	as, amount, cp := summary(tx)
	set(appendHistoryKey(kb[:0], tx.Sender, h, i, RoleSender, 0), appendHistoryValue(buf[:0], r, as, amount, cp))
	if r.Result != codes.Success {
		return
	}
	for k, t := range transfers {
		set(appendHistoryKey(kb[:0], t.From, h, i, RoleSender, uint8(k)), appendHistoryValue(buf[:0], r, t.Asset, t.Amount, t.To))
		set(appendHistoryKey(kb[:0], t.To, h, i, RoleReceiver, uint8(k)), appendHistoryValue(buf[:0], r, t.Asset, t.Amount, t.From))
	}
	switch {
	case (tx.Type == txn.TypeAssetSet || tx.Type == txn.TypeLimitsSet) && !tx.Holder.IsZero():
		set(appendHistoryKey(kb[:0], tx.Holder, h, i, RoleSubject, 0), appendHistoryValue(buf[:0], r, tx.Asset, 0, tx.Sender))
	case tx.Type == txn.TypeEscrowCancel && tx.Owner != tx.Sender:
		set(appendHistoryKey(kb[:0], tx.Owner, h, i, RoleSubject, 0), appendHistoryValue(buf[:0], r, txn.Native, 0, tx.Sender))
	}
}

// addExpiryHistory records the escrows a block returned on expiry: for the
// owner and for the destination, at index first+k for the k-th return, with the
// result escrow_expired, no fee, and the escrow's asset and amount.
func addExpiryHistory(set func(k, v []byte), buf []byte, h uint64, first uint32, expired []*ledger.Escrow) {
	for k, e := range expired {
		r := ledger.Receipt{Hash: e.ID.ReturnHash(), Result: codes.EscrowExpired}
		i := first + uint32(k)
		set(historyKey(e.ID.Owner, h, i, RoleExpiry, 0), appendHistoryValue(buf[:0], &r, e.Asset, e.Amount, e.Dest))
		set(historyKey(e.Dest, h, i, RoleExpiry, 0), appendHistoryValue(buf[:0], &r, e.Asset, e.Amount, e.ID.Owner))
	}
}

// History returns up to limit entries of an account's history, newest first, starting
// after cursor ("" for the newest). next is "" when there is nothing older.
func (s *Store) History(id txn.AccountID, cursor string, limit int) (entries []HistoryEntry, next string, err error) {
	if limit <= 0 || limit > HistoryPageMax {
		return nil, "", fmt.Errorf("history limit %d must be 1 to %d", limit, HistoryPageMax)
	}
	prefix := historyPrefix(id)
	upper := prefixEnd(prefix)
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || len(c) != 13 {
			return nil, "", fmt.Errorf("history cursor %q is not valid", cursor)
		}
		upper = append(append([]byte(nil), prefix...), c...) // exclusive: entries strictly older
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, "", err
	}
	defer it.Close()
	for ok := it.Last(); ok && len(entries) < limit; ok = it.Prev() {
		e, err := decodeHistory(it.Key()[len(prefix):], it.Value())
		if err != nil {
			return nil, "", fmt.Errorf("history of %s: %w", id, err)
		}
		entries = append(entries, e)
	}
	if err := it.Error(); err != nil {
		return nil, "", err
	}
	if len(entries) == limit && it.Valid() {
		last := entries[len(entries)-1]
		next = hex.EncodeToString(historyKey(id, last.Height, last.Index, last.Role, last.Part)[len(prefix):])
	}
	return entries, next, nil
}

func decodeHistory(k, v []byte) (HistoryEntry, error) {
	var e HistoryEntry
	if len(k) != 13 || len(v) < 32+8+23+8+20+1 {
		return e, fmt.Errorf("history entry truncated")
	}
	e.Height = binary.BigEndian.Uint64(k)
	e.Index = binary.BigEndian.Uint32(k[8:])
	e.Role, e.Part = Role(k[12]&3), k[12]>>2
	copy(e.Hash[:], v)
	e.Fee = binary.BigEndian.Uint64(v[32:])
	as, err := ledger.AssetFromKey(v[40:63])
	if err != nil && !allZero(v[40:63]) {
		return e, err
	}
	e.Asset = as
	e.Amount = binary.BigEndian.Uint64(v[63:])
	copy(e.Counterparty[:], v[71:91])
	n := int(v[91])
	if len(v) != 92+n {
		return e, fmt.Errorf("history entry code truncated")
	}
	e.Result = codes.Code(v[92:])
	return e, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
