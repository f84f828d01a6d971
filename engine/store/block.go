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

// BlockRecord is a committed block as served: its header, the hashes and
// results of its transactions, and the certificate that committed it (opaque
// here; empty for a single validator).
//
// It is stored as one header record (b/<height>) and the block's transaction
// records (receipt and raw transaction) in chunks of bodyChunkTxs
// (r/<height><chunk>), so that a block's transactions are written once, in key
// order, in few keys, and the index by hash (t/<hash>) is a 13-byte pointer.
type BlockRecord struct {
	Height    uint64
	TimeMs    int64
	Hash      txn.Hash
	Parent    txn.Hash
	StateHash txn.Hash // after executing this block
	StateRoot txn.Hash // the state tree's root after this block
	TxRoot    txn.Hash // the root of this block's receipts
	Receipts  []ledger.Receipt
	// Header is the consensus header the block's hash covers (hotstuff's
	// HeaderBytes; empty for a single validator) and Cert the QC that
	// certifies it: together what a proof carries of a certified block.
	// ClaimHeight is the executed height whose state hash the header claims.
	Header      []byte
	ClaimHeight uint64
	Cert        []byte
	// QueueEvents are the RTGS queue entries that left the queue at this
	// block, in the order they did (Block fills it from the block's u/
	// record; CommitBlock writes it from the BlockResult, not from here).
	QueueEvents []ledger.QueueEvent
}

func blockKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixBlock, '/'}, h)
}

// bodyPrefix is the prefix of block h's transaction records.
func bodyPrefix(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixBody, '/'}, h)
}

// bodyChunkTxs is how many transaction records one r/ record holds. A block's
// Pebble cost grows with its key count (each key is a memtable insert), so few
// keys; a lookup by hash decodes one chunk, so not too many (64 payments are
// about 16 KiB). BenchmarkCommitBlock chose it (docs/storage.md).
const bodyChunkTxs = 64

func bodyKey(h uint64, chunk uint32) []byte {
	return binary.BigEndian.AppendUint32(bodyPrefix(h), chunk)
}

func txKey(h txn.Hash) []byte { return appendTxKey(make([]byte, 0, 2+len(h)), h) }

func appendTxKey(dst []byte, h txn.Hash) []byte { return append(append(dst, prefixTx, '/'), h[:]...) }

func accountKey(id txn.AccountID) []byte { return appendAccountKey(make([]byte, 0, 2+len(id)), id) }

func appendAccountKey(dst []byte, id txn.AccountID) []byte {
	return append(append(dst, prefixAccount, '/'), id[:]...)
}

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

// blockHeaderLen is the header record's size without its consensus header
// and certificate.
const blockHeaderLen = 8 + 8 + 32*5 + 8 + 4 + 4 + 4

// appendBlockHeader encodes the header record of r, a block of txCount
// transactions: height u64 | time i64 | hash | parent | state hash | state
// root | tx root | claim height u64 | transaction count u32 | consensus
// header length u32 |
// consensus header | cert length u32 | cert. (r.Receipts is not read: the
// receipts are the transaction records'.)
func appendBlockHeader(dst []byte, r *BlockRecord, txCount int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, r.Height)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.TimeMs))
	dst = append(dst, r.Hash[:]...)
	dst = append(dst, r.Parent[:]...)
	dst = append(dst, r.StateHash[:]...)
	dst = append(dst, r.StateRoot[:]...)
	dst = append(dst, r.TxRoot[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.ClaimHeight)
	dst = binary.BigEndian.AppendUint32(dst, uint32(txCount))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Header)))
	dst = append(dst, r.Header...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Cert)))
	return append(dst, r.Cert...)
}

// decodeBlockHeader parses a header record; Receipts is left nil and the
// transaction count returned.
func decodeBlockHeader(b []byte) (*BlockRecord, uint32, error) {
	if len(b) < blockHeaderLen {
		return nil, 0, fmt.Errorf("block record is %d bytes, want at least %d", len(b), blockHeaderLen)
	}
	r := &BlockRecord{Height: binary.BigEndian.Uint64(b), TimeMs: int64(binary.BigEndian.Uint64(b[8:]))}
	copy(r.Hash[:], b[16:])
	copy(r.Parent[:], b[48:])
	copy(r.StateHash[:], b[80:])
	copy(r.StateRoot[:], b[112:])
	copy(r.TxRoot[:], b[144:])
	r.ClaimHeight = binary.BigEndian.Uint64(b[176:])
	n := binary.BigEndian.Uint32(b[184:])
	hl := int(binary.BigEndian.Uint32(b[188:]))
	if hl > len(b)-blockHeaderLen {
		return nil, 0, fmt.Errorf("block %d: bad consensus header length", r.Height)
	}
	r.Header = append([]byte(nil), b[192:192+hl]...)
	rest := b[192+hl:]
	if len(rest)-4 != int(binary.BigEndian.Uint32(rest)) {
		return nil, 0, fmt.Errorf("block %d: bad certificate length", r.Height)
	}
	r.Cert = append([]byte(nil), rest[4:]...)
	return r, n, nil
}

// TxRecord is a committed transaction with its place and result.
type TxRecord struct {
	Height  uint64
	Index   uint32
	Receipt ledger.Receipt
	Raw     []byte // canonical signed encoding
}

// appendBody appends a transaction record to a chunk: length u32 | receipt |
// the raw transaction.
func appendBody(dst []byte, r *ledger.Receipt, raw []byte) []byte {
	at := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = append(appendReceipt(dst, r), raw...)
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// nextBody splits the first transaction record off a chunk.
func nextBody(chunk []byte) (ledger.Receipt, []byte, []byte, error) {
	if len(chunk) < 4 || uint64(len(chunk)-4) < uint64(binary.BigEndian.Uint32(chunk)) {
		return ledger.Receipt{}, nil, nil, fmt.Errorf("transaction record truncated")
	}
	n := binary.BigEndian.Uint32(chunk)
	r, raw, err := decodeReceipt(chunk[4 : 4+n])
	return r, raw, chunk[4+n:], err
}

// txIndexLen is the size of a t/ value: height u64 | index u32 | applied u8.
const txIndexLen = 8 + 4 + 1

func appendTxIndex(dst []byte, height uint64, index uint32, applied bool) []byte {
	dst = binary.BigEndian.AppendUint64(dst, height)
	dst = binary.BigEndian.AppendUint32(dst, index)
	if applied {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// CommitBlock makes one executed block durable in a single synced Pebble batch:
// the block header, each transaction's record and its index entry, the history
// entries (including those of the escrows the block returned on expiry), the
// escrows and their expiry index, the touched accounts and assets, and the
// ledger totals. When it returns nil the block survives any crash.
func (s *Store) CommitBlock(rec *BlockRecord, txs []*txn.Tx, res *ledger.BlockResult) error {
	if len(txs) != len(res.Receipts) || rec.Height != res.Height {
		panic(fmt.Sprintf("store: block %d with %d txs and %d receipts", rec.Height, len(txs), len(res.Receipts)))
	}
	// About 700 bytes a transaction (its record, index entry, two history
	// entries, accounts): sizing the batch once avoids regrowing (copying) it.
	b := s.db.NewBatchWithSize(1024 + 768*len(txs))
	defer b.Close()
	// Keys and values are built in these two scratch buffers: Set copies both,
	// so a transaction's records cost no allocation.
	buf, kb := make([]byte, 0, 4096), make([]byte, 0, 64)
	set := func(k, v []byte) {
		if err := b.Set(k, v, nil); err != nil {
			panic(fmt.Sprintf("store: batch set: %v", err)) // only fails on a closed batch
		}
	}
	set(blockKey(rec.Height), appendBlockHeader(buf[:0], rec, len(txs)))
	written := make(map[txn.Hash]bool, len(txs)) // hashes given an index entry in this batch
	var chunk []byte
	if len(txs) > 0 {
		chunk = make([]byte, 0, 300*min(len(txs), bodyChunkTxs))
	}
	deltas := newNetDeltas(len(txs))
	transfers := res.Transfers
	var one [1]ledger.Transfer
	for i, tx := range txs {
		var mine []ledger.Transfer
		mine, transfers = res.TxTransfers(txs, i, transfers, &one)
		deltas.add(mine)
		r := &res.Receipts[i]
		chunk = appendBody(chunk, r, tx.Bytes())
		if (i+1)%bodyChunkTxs == 0 || i+1 == len(txs) {
			set(bodyKey(rec.Height, uint32(i/bodyChunkTxs)), chunk) // Set copies
			chunk = chunk[:0]
		}
		if !r.Applied() && (written[r.Hash] || s.hasRecord(r.Hash)) {
			// A transaction a block carried without applying it (a replay, or one out
			// of sequence) keeps the index entry it has: the lookup by hash must keep
			// answering with the block that applied it. A first entry of one that
			// did not apply only points at its bytes; Committed says false.
			continue
		}
		written[r.Hash] = true
		set(appendTxKey(kb[:0], r.Hash), appendTxIndex(buf[:0], rec.Height, uint32(i), r.Applied()))
		if r.Applied() {
			addHistory(set, kb, buf, rec.Height, uint32(i), tx, r, mine)
		}
	}
	addExpiryHistory(set, buf[:0], rec.Height, uint32(len(txs)), res.Expired)
	del := func(k []byte) {
		if err := b.Delete(k, nil); err != nil {
			panic(fmt.Sprintf("store: batch delete: %v", err))
		}
	}
	writeQueue(set, del, buf, rec.Height, uint32(len(txs)+len(res.Expired)), res, deltas)
	deltas.write(set, netPrefix(rec.Height))
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
		set(appendAccountKey(kb[:0], a.ID), a.AppendBinary(buf[:0]))
	}
	for _, a := range res.Assets {
		set(assetKey(a.Asset), a.AppendBinary(buf[:0]))
	}
	set(keyMeta, res.Meta.AppendBinary(buf[:0]))
	s.noteBatch(b.Count(), b.Len(), len(txs))
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit block %d: %w", rec.Height, err)
	}
	return nil
}

// Block returns the committed block at height h, with its queue events.
func (s *Store) Block(h uint64) (*BlockRecord, error) {
	rec, _, err := s.block(h, nil)
	if err != nil {
		return nil, err
	}
	if rec.QueueEvents, err = s.QueueEvents(h); err != nil {
		return nil, err
	}
	return rec, nil
}

// BlockHeader returns the committed block at height h without its
// transactions (Receipts nil) and its transaction count: one small read.
func (s *Store) BlockHeader(h uint64) (*BlockRecord, uint32, error) {
	v, err := s.get(blockKey(h))
	if err != nil {
		return nil, 0, fmt.Errorf("load block %d: %w", h, err)
	}
	return decodeBlockHeader(v)
}

// block reads block h's header and transaction records; fn, when non-nil, also
// receives each transaction's bytes, valid only during the call, with the
// block's transaction count n.
func (s *Store) block(h uint64, fn func(i int, n uint32, raw []byte) error) (*BlockRecord, uint32, error) {
	if h <= s.base {
		return nil, 0, s.prunedError(h)
	}
	v, err := s.get(blockKey(h))
	if err != nil {
		return nil, 0, fmt.Errorf("load block %d: %w", h, err)
	}
	rec, n, err := decodeBlockHeader(v)
	if err != nil {
		return nil, 0, err
	}
	rec.Receipts = make([]ledger.Receipt, 0, min(n, 1<<16))
	err = s.scan(bodyPrefix(h), func(k, v []byte) error {
		c := uint32(len(rec.Receipts) / bodyChunkTxs)
		if len(k) != 2+8+4 || binary.BigEndian.Uint32(k[10:]) != c || len(rec.Receipts)%bodyChunkTxs != 0 {
			return fmt.Errorf("block %d: transaction chunk %x out of place (want chunk %d after %d records)", h, k, c, len(rec.Receipts))
		}
		for len(v) > 0 {
			i := len(rec.Receipts)
			r, raw, rest, err := nextBody(v)
			if err != nil {
				return fmt.Errorf("block %d tx %d: %w", h, i, err)
			}
			rec.Receipts = append(rec.Receipts, r)
			if fn != nil {
				if err := fn(i, n, raw); err != nil {
					return err
				}
			}
			v = rest
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("load block %d: %w", h, err)
	}
	if uint32(len(rec.Receipts)) != n {
		return nil, 0, fmt.Errorf("load block %d: %d transaction records, the header says %d", h, len(rec.Receipts), n)
	}
	return rec, n, nil
}

// BlockPayload returns block h's transactions in the batch encoding a
// proposal carries them in (txn.EncodeBatch of its records in order; nil for
// a block without transactions). A cluster's consensus driver serves block
// sync from it, so an executed block's transactions are kept once, here.
func (s *Store) BlockPayload(h uint64) ([]byte, error) {
	var batch []byte
	if _, _, err := s.block(h, func(i int, n uint32, raw []byte) error {
		if i == 0 {
			batch = txn.AppendBatchHeader(make([]byte, 0, txn.BatchHeader+int(n)*(2+len(raw))), int(n))
		}
		batch = txn.AppendBatchTx(batch, raw)
		return nil
	}); err != nil {
		return nil, err
	}
	return batch, nil
}

// Tx returns a committed transaction by hash.
func (s *Store) Tx(h txn.Hash) (*TxRecord, error) {
	v, err := s.get(txKey(h))
	if err != nil {
		return nil, fmt.Errorf("load tx %s: %w", h, err)
	}
	if len(v) != txIndexLen {
		return nil, fmt.Errorf("tx index entry %s truncated", h)
	}
	rec := &TxRecord{Height: binary.BigEndian.Uint64(v), Index: binary.BigEndian.Uint32(v[8:])}
	chunk, err := s.get(bodyKey(rec.Height, rec.Index/bodyChunkTxs))
	if err != nil {
		return nil, fmt.Errorf("load tx %s at %d.%d: %w", h, rec.Height, rec.Index, err)
	}
	for k := uint32(0); ; k++ {
		var raw []byte
		rec.Receipt, raw, chunk, err = nextBody(chunk)
		if err != nil {
			return nil, fmt.Errorf("tx record %s at %d.%d: %w", h, rec.Height, rec.Index, err)
		}
		if k == rec.Index%bodyChunkTxs {
			rec.Raw = raw
			break
		}
	}
	if rec.Receipt.Hash != h {
		return nil, fmt.Errorf("tx index entry %s points at %d.%d, which holds %s", h, rec.Height, rec.Index, rec.Receipt.Hash)
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
	return len(v) == txIndexLen && v[txIndexLen-1] == 1
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
		var txs []*txn.Tx
		rec, _, err := s.block(h, func(i int, _ uint32, raw []byte) error {
			tx, err := txn.Decode(append([]byte(nil), raw...)) // the transaction keeps its bytes
			if err != nil {
				return fmt.Errorf("replay block %d tx %d: %w", h, i, err)
			}
			txs = append(txs, tx)
			return nil
		})
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return ledger.Meta{}, err
		}
		for i, r := range rec.Receipts {
			if r.Hash != txs[i].Hash() {
				return ledger.Meta{}, fmt.Errorf("replay block %d tx %d: the record's hash is not its transaction's", h, i)
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
