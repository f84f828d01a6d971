// Package txn defines Settle's transaction: its canonical binary encoding, its JSON
// form, signing and the stateless checks that every transaction passes before it may
// enter a mempool. docs/protocol.md specifies every byte; this package is the
// reference implementation of that document.
//
// The binary encoding is a fixed layout in big-endian byte order. It is canonical:
// every transaction has exactly one encoding, and Decode rejects any other (trailing
// bytes, unknown versions or types, non-canonical assets, unsorted signers), so that
// a decode→encode round trip reproduces the input byte for byte and a signature
// covers exactly the bytes that were sent.
package txn

import (
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"

	"settle/engine/codes"
)

// Magic starts every encoded transaction. It is also the signature's domain
// separation context: a signature over a transaction can never be mistaken for a
// signature over anything else Settle signs (consensus messages use other contexts).
const Magic = "SETTLETX"

// Version is the only encoding version this package reads and writes.
const Version = 1

// Limits. They bound every input; docs/protocol.md repeats them.
const (
	ChainIDLenMax  = 32      // bytes of chain id
	MemoBytesMax   = 512     // bytes of memo (travel-rule data and payment references)
	SigCountMax    = 8       // signatures per transaction
	AmountMax      = 1 << 62 // largest amount or fee in minor units; sums of two never overflow uint64
	TxBytesMax     = 2048    // largest encoded transaction
	PublicKeySize  = 32
	SignatureSize  = 64
	sigEntrySize   = PublicKeySize + SignatureSize
	headerFixedLen = len(Magic) + 1 + 1 + 1 // magic, version, type, chain id length
)

// Type is a transaction type.
type Type uint8

// Sig is one signature over the transaction's signing message.
type Sig struct {
	PublicKey [PublicKeySize]byte
	Signature [SignatureSize]byte
}

// Tx is a decoded transaction. Fields mirror the binary layout.
type Tx struct {
	Type      Type
	ChainID   string
	Sender    AccountID
	Seq       uint64 // the sender's sequence number this transaction consumes
	Fee       uint64 // fee in native minor units
	LastValid uint64 // the last block height that may include this transaction
	Memo      []byte

	// Payment fields, shared by escrow_create (Dest, Asset, Amount), clawback
	// (Asset, Amount), trust_set, asset_set and limits_set (Asset).
	Dest   AccountID
	Asset  Asset
	Amount uint64

	// Fields of the other types (docs/protocol.md §4); zero when unused.
	Limit         uint64              // trust_set: the holder's limit
	ReleaseHeight uint64              // escrow_create: first height a finish may apply (0: no time lock)
	ExpiryHeight  uint64              // escrow_create: first height a finish may not apply and anyone may cancel
	Condition     [ConditionSize]byte // escrow_create: SHA-256 hash lock (zero: none)
	Owner         AccountID           // escrow_finish, escrow_cancel: the escrow's creator
	EscrowSeq     uint64              // escrow_finish, escrow_cancel: the sequence of the escrow_create
	Fulfillment   []byte              // escrow_finish: the hash-lock preimage (aliases the input)
	Legs          []Leg               // multi_leg
	Quorum        uint32              // signer_list_set
	Signers       []SignerEntry       // signer_list_set, sorted by public key
	RegularKey    [PublicKeySize]byte // regular_key_set (zero: remove)
	SetFlags      uint32              // account_set, asset_set
	ClearFlags    uint32              // account_set, asset_set
	Holder        AccountID           // asset_set (zero: the whole asset), clawback, limits_set
	PerTxMax      uint64              // limits_set (0: none)
	WindowMax     uint64              // limits_set (0: none)
	WindowBlocks  uint32              // limits_set
	Priority      uint8               // queued_payment, queued_multi_leg, queue_priority_set: PriorityUrgent or PriorityNormal
	QueueUntil    uint64              // queued_payment, queued_multi_leg: the last height it may settle at; it leaves the queue at the end of that block
	QueueSeq      uint64              // queue_cancel, queue_priority_set: the sequence of the sender's queued transaction

	Sigs []Sig

	// raw is the canonical signed encoding; bodyLen is the length of its signed
	// prefix (the signing message); hash is SHA-256(raw). Set by Decode and Sign.
	raw     []byte
	bodyLen int
	hash    Hash
	sigBuf  [1]Sig // inline storage for the common single-signature case
}

// Hash returns SHA-256 of the signed encoding. Valid after Decode or Sign.
func (tx *Tx) Hash() Hash { return tx.hash }

// Bytes returns the canonical signed encoding. Valid after Decode or Sign; callers
// must not modify it.
func (tx *Tx) Bytes() []byte { return tx.raw }

// SigningMessage returns the bytes every signature covers: the encoding up to the
// signature count (magic context, version, type, chain id, body).
func (tx *Tx) SigningMessage() []byte { return tx.raw[:tx.bodyLen] }

func bodyLen(tx *Tx) int {
	return headerFixedLen + len(tx.ChainID) + AccountIDSize + 8*3 + 2 + len(tx.Memo) + typeBodyLen(tx)
}

// appendBody appends the unsigned body (the signing message).
func appendBody(dst []byte, tx *Tx) []byte {
	dst = append(dst, Magic...)
	dst = append(dst, Version, byte(tx.Type), byte(len(tx.ChainID)))
	dst = append(dst, tx.ChainID...)
	dst = append(dst, tx.Sender[:]...)
	dst = binary.BigEndian.AppendUint64(dst, tx.Seq)
	dst = binary.BigEndian.AppendUint64(dst, tx.Fee)
	dst = binary.BigEndian.AppendUint64(dst, tx.LastValid)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(tx.Memo)))
	dst = append(dst, tx.Memo...)
	return appendTypeBody(dst, tx)
}

// AppendEncoding appends the full signed encoding of tx to dst.
func AppendEncoding(dst []byte, tx *Tx) []byte {
	dst = appendBody(dst, tx)
	dst = append(dst, byte(len(tx.Sigs)))
	for i := range tx.Sigs {
		dst = append(dst, tx.Sigs[i].PublicKey[:]...)
		dst = append(dst, tx.Sigs[i].Signature[:]...)
	}
	return dst
}

// seal sets raw, bodyLen and hash from the current fields.
func (tx *Tx) seal() {
	tx.bodyLen = bodyLen(tx)
	tx.raw = AppendEncoding(make([]byte, 0, tx.bodyLen+1+len(tx.Sigs)*sigEntrySize), tx)
	tx.hash = sha256.Sum256(tx.raw)
}

type reader struct {
	b   []byte
	off int
	err *codes.Error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = codes.Errorf(codes.Malformed, format, args...)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated at byte %d reading %s", r.off, what)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8(what string) uint8 {
	if s := r.take(1, what); s != nil {
		return s[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if s := r.take(2, what); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if s := r.take(8, what); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

func (r *reader) id(dst *AccountID, what string) {
	if s := r.take(AccountIDSize, what); s != nil {
		copy(dst[:], s)
	}
}

// Decode parses a signed transaction and runs every stateless check (Check). The
// returned Tx keeps a reference to b as its raw bytes: the caller must not reuse b.
// Errors are *codes.Error; decoding never panics on any input.
func Decode(b []byte) (*Tx, error) {
	tx := new(Tx)
	if err := DecodeInto(tx, b); err != nil {
		return nil, err
	}
	return tx, nil
}

// DecodeInto is Decode into a caller-provided Tx (for pooling).
func DecodeInto(tx *Tx, b []byte) error {
	*tx = Tx{}
	if len(b) > TxBytesMax {
		return codes.Errorf(codes.Malformed, "transaction is %d bytes, limit %d", len(b), TxBytesMax)
	}
	r := reader{b: b}
	if m := r.take(len(Magic), "magic"); m != nil && string(m) != Magic {
		return codes.Errorf(codes.Malformed, "bad magic %q, want %q", m, Magic)
	}
	if v := r.u8("version"); r.err == nil && v != Version {
		return codes.Errorf(codes.Malformed, "encoding version %d, want %d", v, Version)
	}
	tx.Type = Type(r.u8("type"))
	if r.err == nil && !tx.Type.Known() {
		return codes.Errorf(codes.UnsupportedType, "transaction type %d is not supported", tx.Type)
	}
	n := int(r.u8("chain id length"))
	if c := r.take(n, "chain id"); c != nil {
		tx.ChainID = internChainID(c)
	}
	r.id(&tx.Sender, "sender")
	tx.Seq = r.u64("sequence")
	tx.Fee = r.u64("fee")
	tx.LastValid = r.u64("last valid height")
	if m := r.take(int(r.u16("memo length")), "memo"); len(m) > 0 {
		tx.Memo = m
	}
	decodeTypeBody(&r, tx)
	tx.bodyLen = r.off
	sigCount := int(r.u8("signature count"))
	if r.err == nil && (sigCount == 0 || sigCount > SigCountMax) {
		return codes.Errorf(codes.Malformed, "%d signatures, want 1 to %d", sigCount, SigCountMax)
	}
	if sigCount <= len(tx.sigBuf) {
		tx.Sigs = tx.sigBuf[:sigCount]
	} else {
		tx.Sigs = make([]Sig, sigCount)
	}
	for i := 0; i < sigCount && r.err == nil; i++ {
		if s := r.take(sigEntrySize, "signature"); s != nil {
			copy(tx.Sigs[i].PublicKey[:], s)
			copy(tx.Sigs[i].Signature[:], s[PublicKeySize:])
		}
	}
	if r.err != nil {
		return r.err
	}
	if r.off != len(b) {
		return codes.Errorf(codes.Malformed, "%d trailing bytes after the transaction", len(b)-r.off)
	}
	tx.raw = b
	tx.hash = sha256.Sum256(b)
	return Check(tx)
}

// Check runs the stateless rules every transaction must pass. It does not verify
// signatures (that is batched, see package sigverify) nor anything that needs the
// ledger. Errors are *codes.Error.
func Check(tx *Tx) error {
	switch {
	case len(tx.ChainID) == 0 || len(tx.ChainID) > ChainIDLenMax:
		return codes.Errorf(codes.Malformed, "chain id must be 1 to %d bytes", ChainIDLenMax)
	case !printable(tx.ChainID):
		return codes.Errorf(codes.Malformed, "chain id must be printable ASCII")
	case len(tx.Memo) > MemoBytesMax:
		return codes.Errorf(codes.Malformed, "memo is %d bytes, limit %d", len(tx.Memo), MemoBytesMax)
	case tx.Sender.IsZero():
		return codes.Errorf(codes.Malformed, "sender is missing")
	case tx.Fee > AmountMax:
		return codes.Errorf(codes.AmountOverflow, "fee %d exceeds the maximum %d", tx.Fee, uint64(AmountMax))
	case len(tx.Sigs) == 0 || len(tx.Sigs) > SigCountMax:
		return codes.Errorf(codes.Malformed, "%d signatures, want 1 to %d", len(tx.Sigs), SigCountMax)
	}
	for i := 1; i < len(tx.Sigs); i++ {
		if string(tx.Sigs[i-1].PublicKey[:]) >= string(tx.Sigs[i].PublicKey[:]) {
			return codes.Errorf(codes.Malformed, "signatures must be sorted by public key without repeats")
		}
	}
	return checkType(tx)
}

func checkPayment(tx *Tx) error {
	switch {
	case tx.Amount == 0:
		return codes.Errorf(codes.AmountZero, "amount must be positive")
	case tx.Amount > AmountMax:
		return codes.Errorf(codes.AmountOverflow, "amount %d exceeds the maximum %d", tx.Amount, uint64(AmountMax))
	case tx.Dest.IsZero():
		return codes.Errorf(codes.Malformed, "destination is missing")
	case tx.Dest == tx.Sender:
		return codes.Errorf(codes.SelfPayment, "sender and destination are the same account")
	}
	if err := tx.Asset.Valid(); err != nil {
		return codes.Errorf(codes.Malformed, "%v", err)
	}
	return nil
}

// lastChainID remembers the last decoded chain id: a node sees one chain id in
// nearly every transaction, so decoding reuses the string instead of allocating.
var lastChainID atomic.Pointer[string]

func internChainID(b []byte) string {
	if p := lastChainID.Load(); p != nil && *p == string(b) { // the comparison does not allocate
		return *p
	}
	s := string(b)
	lastChainID.Store(&s)
	return s
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
