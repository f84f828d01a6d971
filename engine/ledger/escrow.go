package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"settle/engine/txn"
)

// EscrowID names an escrow: its creator and the sequence of the escrow_create
// transaction, unique because sequences are.
type EscrowID struct {
	Owner txn.AccountID
	Seq   uint64
}

// EscrowIDLen is the width of an escrow id's key form: owner [20] | seq u64.
const EscrowIDLen = txn.AccountIDSize + 8

// Key is the escrow id's key form.
func (id EscrowID) Key() [EscrowIDLen]byte { return seqKey(id.Owner, id.Seq) }

// EscrowIDFromKey is the inverse of Key.
func EscrowIDFromKey(k []byte) (EscrowID, error) {
	a, seq, err := parseSeqKey(k, "escrow")
	return EscrowID{Owner: a, Seq: seq}, err
}

// seqKey is the key form of an object named by an account and one of its
// sequences (an escrow, a queued entry): account [20] | seq u64.
func seqKey(a txn.AccountID, seq uint64) [txn.AccountIDSize + 8]byte {
	var k [txn.AccountIDSize + 8]byte
	copy(k[:], a[:])
	binary.BigEndian.PutUint64(k[txn.AccountIDSize:], seq)
	return k
}

func parseSeqKey(k []byte, what string) (txn.AccountID, uint64, error) {
	var a txn.AccountID
	if len(k) != txn.AccountIDSize+8 {
		return a, 0, fmt.Errorf("%s key is %d bytes, want %d", what, len(k), txn.AccountIDSize+8)
	}
	copy(a[:], k)
	return a, binary.BigEndian.Uint64(k[txn.AccountIDSize:]), nil
}

func escrowLess(x, y EscrowID) bool {
	if c := bytes.Compare(x.Owner[:], y.Owner[:]); c != 0 {
		return c < 0
	}
	return x.Seq < y.Seq
}

// Escrow is a conditional transfer held out of its owner's spendable balance
// (docs/ledger.md, "Conditional transfers"). Heights are block heights.
type Escrow struct {
	ID            EscrowID
	Dest          txn.AccountID
	Asset         txn.Asset
	Amount        uint64
	ReleaseHeight uint64                  // a finish applies only at heights >= this
	ExpiryHeight  uint64                  // a finish applies only below this; from it on anyone may cancel
	Condition     [txn.ConditionSize]byte // SHA-256 of the fulfillment; zero: no hash lock
}

const escrowRecordLen = txn.AccountIDSize + 3 + txn.AccountIDSize + 8 + 8 + 8 + txn.ConditionSize

// AppendBinary appends dest [20] | asset [23] | amount u64 | release u64 |
// expiry u64 | condition [32] (the id is the key).
func (e *Escrow) AppendBinary(dst []byte) []byte {
	dst = append(dst, e.Dest[:]...)
	k := AssetKey(e.Asset)
	dst = append(dst, k[:]...)
	dst = binary.BigEndian.AppendUint64(dst, e.Amount)
	dst = binary.BigEndian.AppendUint64(dst, e.ReleaseHeight)
	dst = binary.BigEndian.AppendUint64(dst, e.ExpiryHeight)
	return append(dst, e.Condition[:]...)
}

// DecodeEscrow parses an escrow encoding.
func DecodeEscrow(id EscrowID, b []byte) (*Escrow, error) {
	if len(b) != escrowRecordLen {
		return nil, fmt.Errorf("escrow %x: record is %d bytes, want %d", id.Key(), len(b), escrowRecordLen)
	}
	e := &Escrow{ID: id}
	copy(e.Dest[:], b)
	copy(e.Asset.Code[:], b[20:])
	copy(e.Asset.Issuer[:], b[23:])
	if err := e.Asset.Valid(); err != nil {
		return nil, fmt.Errorf("escrow %x: %w", id.Key(), err)
	}
	e.Amount = binary.BigEndian.Uint64(b[43:])
	e.ReleaseHeight = binary.BigEndian.Uint64(b[51:])
	e.ExpiryHeight = binary.BigEndian.Uint64(b[59:])
	copy(e.Condition[:], b[67:])
	return e, nil
}

// EscrowWrite is one escrow created or removed by a block.
type EscrowWrite struct {
	ID      EscrowID
	Escrow  *Escrow // nil: removed (finished or cancelled)
	Deleted bool
}
