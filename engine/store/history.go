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
	RoleSender   Role = 1
	RoleReceiver Role = 2
)

func (r Role) String() string {
	if r == RoleSender {
		return "sender"
	}
	return "receiver"
}

// HistoryEntry is one line of an account's append-only audit history.
type HistoryEntry struct {
	Height       uint64
	Index        uint32
	Role         Role
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

func historyKey(id txn.AccountID, h uint64, i uint32, role Role) []byte {
	k := binary.BigEndian.AppendUint64(historyPrefix(id), h)
	k = binary.BigEndian.AppendUint32(k, i)
	return append(k, byte(role))
}

// value: hash [32] | fee u64 | asset [23] | amount u64 | counterparty [20] | code len u8 | code
func appendHistoryValue(dst []byte, tx *txn.Tx, r *ledger.Receipt, counterparty txn.AccountID) []byte {
	dst = append(dst, r.Hash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.Fee)
	k := ledger.AssetKey(tx.Asset)
	dst = append(dst, k[:]...)
	dst = binary.BigEndian.AppendUint64(dst, tx.Amount)
	dst = append(dst, counterparty[:]...)
	dst = append(dst, byte(len(r.Result)))
	return append(dst, r.Result...)
}

// addHistory records an applied transaction for its sender and, on success, its receiver.
func (s *Store) addHistory(set func(k, v []byte), buf []byte, h uint64, i uint32, tx *txn.Tx, r *ledger.Receipt) {
	set(historyKey(tx.Sender, h, i, RoleSender), appendHistoryValue(buf[:0], tx, r, tx.Dest))
	if r.Result == codes.Success {
		set(historyKey(tx.Dest, h, i, RoleReceiver), appendHistoryValue(buf[:0], tx, r, tx.Sender))
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
		next = hex.EncodeToString(historyKey(id, last.Height, last.Index, last.Role)[len(prefix):])
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
	e.Role = Role(k[12])
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
