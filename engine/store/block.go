package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// BlockRecord is a committed block as stored and served: its header, the hashes and
// results of its transactions (the transactions themselves live in the tx index),
// and the certificate that committed it (opaque here; empty for a single validator).
type BlockRecord struct {
	Height    uint64
	TimeMs    int64
	Hash      txn.Hash
	Parent    txn.Hash
	StateHash txn.Hash // after executing this block
	Receipts  []ledger.Receipt
	Cert      []byte
}

func blockKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixBlock, '/'}, h)
}

func txKey(h txn.Hash) []byte { return append([]byte{prefixTx, '/'}, h[:]...) }

func accountKey(id txn.AccountID) []byte { return append([]byte{prefixAccount, '/'}, id[:]...) }

func assetKey(as txn.Asset) []byte {
	k := ledger.AssetKey(as)
	return append([]byte{prefixAsset, '/'}, k[:]...)
}

// receiptLenMin is the size of a receipt with an empty code.
const receiptLenMin = 32 + 8 + 1 + 1

// appendReceipt: hash [32] | fee u64 | code length u8 | code | failed leg u8.
func appendReceipt(dst []byte, r *ledger.Receipt) []byte {
	dst = append(dst, r.Hash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.Fee)
	dst = append(dst, byte(len(r.Result)))
	dst = append(dst, r.Result...)
	return append(dst, r.Leg)
}

func decodeReceipt(b []byte) (ledger.Receipt, []byte, error) {
	var r ledger.Receipt
	if len(b) < receiptLenMin || len(b) < receiptLenMin+int(b[40]) {
		return r, nil, fmt.Errorf("receipt truncated")
	}
	copy(r.Hash[:], b)
	r.Fee = binary.BigEndian.Uint64(b[32:])
	n := int(b[40])
	r.Result = codes.Code(b[41 : 41+n])
	r.Leg = b[41+n]
	return r, b[receiptLenMin+n:], nil
}

// AppendBinary encodes the record: height u64 | time i64 | hash | parent | state |
// count u32 | receipts | cert length u32 | cert.
func (r *BlockRecord) AppendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, r.Height)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.TimeMs))
	dst = append(dst, r.Hash[:]...)
	dst = append(dst, r.Parent[:]...)
	dst = append(dst, r.StateHash[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Receipts)))
	for i := range r.Receipts {
		dst = appendReceipt(dst, &r.Receipts[i])
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Cert)))
	return append(dst, r.Cert...)
}

// DecodeBlockRecord parses a BlockRecord encoding.
func DecodeBlockRecord(b []byte) (*BlockRecord, error) {
	const fixed = 8 + 8 + 32*3 + 4
	if len(b) < fixed {
		return nil, fmt.Errorf("block record is %d bytes, want at least %d", len(b), fixed)
	}
	r := &BlockRecord{Height: binary.BigEndian.Uint64(b), TimeMs: int64(binary.BigEndian.Uint64(b[8:]))}
	copy(r.Hash[:], b[16:])
	copy(r.Parent[:], b[48:])
	copy(r.StateHash[:], b[80:])
	n := binary.BigEndian.Uint32(b[112:])
	rest := b[fixed:]
	if uint64(n) > uint64(len(rest))/receiptLenMin {
		return nil, fmt.Errorf("block record claims %d receipts in %d bytes", n, len(rest))
	}
	r.Receipts = make([]ledger.Receipt, n)
	var err error
	for i := range r.Receipts {
		if r.Receipts[i], rest, err = decodeReceipt(rest); err != nil {
			return nil, fmt.Errorf("block %d receipt %d: %w", r.Height, i, err)
		}
	}
	if len(rest) < 4 || len(rest)-4 != int(binary.BigEndian.Uint32(rest)) {
		return nil, fmt.Errorf("block %d: bad certificate length", r.Height)
	}
	r.Cert = append([]byte(nil), rest[4:]...)
	return r, nil
}

// TxRecord is a committed transaction with its place and result.
type TxRecord struct {
	Height  uint64
	Index   uint32
	Receipt ledger.Receipt
	Raw     []byte // canonical signed encoding
}

func appendTxRecord(dst []byte, height uint64, index uint32, r *ledger.Receipt, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, height)
	dst = binary.BigEndian.AppendUint32(dst, index)
	dst = appendReceipt(dst, r)
	return append(dst, raw...)
}

// CommitBlock makes one executed block durable in a single synced Pebble batch:
// the block record, each transaction, the history entries (including those of
// the escrows the block returned on expiry), the escrows and their expiry index,
// the touched accounts and assets, and the ledger totals. When it returns nil the block survives any crash.
func (s *Store) CommitBlock(rec *BlockRecord, txs []*txn.Tx, res *ledger.BlockResult) error {
	if len(txs) != len(res.Receipts) || rec.Height != res.Height {
		panic(fmt.Sprintf("store: block %d with %d txs and %d receipts", rec.Height, len(txs), len(res.Receipts)))
	}
	// About 700 bytes a transaction (tx record, two history entries, accounts):
	// sizing the batch once avoids regrowing (copying) it while it fills.
	b := s.db.NewBatchWithSize(1024 + 768*len(txs))
	defer b.Close()
	buf := make([]byte, 0, 4096)
	set := func(k, v []byte) {
		if err := b.Set(k, v, nil); err != nil {
			panic(fmt.Sprintf("store: batch set: %v", err)) // only fails on a closed batch
		}
	}
	set(blockKey(rec.Height), rec.AppendBinary(buf[:0]))
	written := make(map[txn.Hash]bool, len(txs)) // hashes given a tx record in this batch
	deltas := newNetDeltas(len(txs))
	transfers := res.Transfers
	var one [1]ledger.Transfer
	for i, tx := range txs {
		var mine []ledger.Transfer
		mine, transfers = res.TxTransfers(txs, i, transfers, &one)
		deltas.add(mine)
		r := &res.Receipts[i]
		if !r.Applied() && (written[r.Hash] || s.hasRecord(r.Hash)) {
			// A transaction a block carried without applying it (a replay, or one out
			// of sequence) keeps the record it has: the lookup by hash must keep
			// answering with the block that applied it. A first record of one that
			// did not apply only keeps its bytes for replay; Committed says false.
			continue
		}
		written[r.Hash] = true
		set(txKey(r.Hash), appendTxRecord(buf[:0], rec.Height, uint32(i), r, tx.Bytes()))
		if r.Applied() {
			addHistory(set, buf[:0], rec.Height, uint32(i), tx, r, mine)
		}
	}
	addExpiryHistory(set, buf[:0], rec.Height, uint32(len(txs)), res.Expired)
	deltas.write(set, rec.Height)
	for _, w := range res.Escrows {
		if w.Deleted {
			for _, k := range [][]byte{escrowKey(w.ID), expiryKey(w.Escrow)} {
				if err := b.Delete(k, nil); err != nil {
					panic(fmt.Sprintf("store: batch delete: %v", err))
				}
			}
			continue
		}
		set(escrowKey(w.ID), w.Escrow.AppendBinary(buf[:0]))
		set(expiryKey(w.Escrow), nil)
	}
	for _, a := range res.Accounts {
		set(accountKey(a.ID), a.AppendBinary(buf[:0]))
	}
	for _, a := range res.Assets {
		set(assetKey(a.Asset), a.AppendBinary(buf[:0]))
	}
	set(keyMeta, res.Meta.AppendBinary(buf[:0]))
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit block %d: %w", rec.Height, err)
	}
	return nil
}

// Block returns the committed block at height h.
func (s *Store) Block(h uint64) (*BlockRecord, error) {
	v, err := s.get(blockKey(h))
	if err != nil {
		return nil, fmt.Errorf("load block %d: %w", h, err)
	}
	return DecodeBlockRecord(v)
}

// Tx returns a committed transaction by hash.
func (s *Store) Tx(h txn.Hash) (*TxRecord, error) {
	v, err := s.get(txKey(h))
	if err != nil {
		return nil, fmt.Errorf("load tx %s: %w", h, err)
	}
	if len(v) < 12 {
		return nil, fmt.Errorf("tx record %s truncated", h)
	}
	rec := &TxRecord{Height: binary.BigEndian.Uint64(v), Index: binary.BigEndian.Uint32(v[8:])}
	rec.Receipt, rec.Raw, err = decodeReceipt(v[12:])
	if err != nil {
		return nil, fmt.Errorf("tx record %s: %w", h, err)
	}
	return rec, nil
}

// Applied reports whether the record is of a block that applied the
// transaction: a record of one that did not apply (a precondition failed) is
// not a commit, and the transaction may still apply later.
func (r *TxRecord) Applied() bool { return r.Receipt.Applied() }

// Committed reports whether a transaction with this hash is committed: a block
// applied it (its receipt is final and its hash can never apply again).
func (s *Store) Committed(h txn.Hash) bool {
	v, closer, err := s.db.Get(txKey(h))
	if err != nil {
		return false
	}
	defer closer.Close()
	// height u64 | index u32 | receipt: hash [32] | fee u64 | ...
	const feeAt = 8 + 4 + 32
	return len(v) >= feeAt+8 && binary.BigEndian.Uint64(v[feeAt:]) > 0
}

// hasRecord reports whether any tx record exists for the hash.
func (s *Store) hasRecord(h txn.Hash) bool {
	_, closer, err := s.db.Get(txKey(h))
	if err == nil {
		closer.Close()
		return true
	}
	return false
}

// Meta returns the durable ledger totals, or ErrNotFound before the first block.
func (s *Store) Meta() (ledger.Meta, error) {
	v, err := s.get(keyMeta)
	if err != nil {
		return ledger.Meta{}, err
	}
	return ledger.DecodeMeta(v)
}

// Replay re-executes every stored block from genesis in a fresh in-memory ledger and
// returns its final totals. A node's state hash must equal Replay's: the crash tests
// and `settled verify` use it to prove recovery lost nothing and invented nothing.
func (s *Store) Replay(g *ledger.Genesis) (ledger.Meta, error) {
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return ledger.Meta{}, err
	}
	for h := uint64(1); ; h++ {
		rec, err := s.Block(h)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return ledger.Meta{}, err
		}
		txs := make([]*txn.Tx, len(rec.Receipts))
		for i, r := range rec.Receipts {
			tr, err := s.Tx(r.Hash)
			if err != nil {
				return ledger.Meta{}, fmt.Errorf("replay block %d: %w", h, err)
			}
			if txs[i], err = txn.Decode(tr.Raw); err != nil {
				return ledger.Meta{}, fmt.Errorf("replay block %d tx %d: %w", h, i, err)
			}
		}
		res := l.Execute(h, txs)
		if res.Meta.StateHash != rec.StateHash {
			return res.Meta, fmt.Errorf("replay block %d: state hash %s, stored %s", h, res.Meta.StateHash, rec.StateHash)
		}
		l.Apply(res)
	}
	if err := l.CheckInvariants(); err != nil {
		return l.Meta(), err
	}
	return l.Meta(), nil
}

func escrowKey(id ledger.EscrowID) []byte {
	k := id.Key()
	return append([]byte{prefixEscrow, '/'}, k[:]...)
}

// expiryKey is an open escrow's entry in the expiry index: x/<expiry><owner><seq>.
func expiryKey(e *ledger.Escrow) []byte {
	k := e.ExpiryKey()
	return append([]byte{prefixExpiry, '/'}, k[:]...)
}
