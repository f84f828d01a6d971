// Package snapshot cuts a ledger's state at a committed height into verified
// chunks and rebuilds a ledger from them: the ground of state sync (a new or
// wiped validator takes the state from its peers instead of replaying every
// block since genesis).
//
// A snapshot is a manifest and chunks. Each chunk is a run of state items —
// the objects the state tree commits to (accounts, issued assets, open
// escrows, queued entries), each as its kind byte, its id and its storage
// encoding — in the order of their state-tree keys, so that every snapshot of
// one state cuts the same way. The manifest names the height, the ledger
// totals (ledger.Meta, with the state root and the transaction root), the
// previous block's state hash and the SHA-256 of every chunk.
//
// Restore trusts nothing but a state hash the caller has verified (a
// certified header, docs/protocol.md §15): the manifest must chain to it
// (StateCommitment(previous, height, state root, transaction root)), every
// chunk must hash to the manifest's entry, and the ledger rebuilt from the
// items must have exactly the manifest's state root and pass the ledger's
// invariants. A peer can therefore withhold a snapshot but not forge one.
package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"settle/engine/ledger"
	"settle/engine/merkle"
	"settle/engine/txn"
)

// Bounds of a snapshot, so that a peer's answer is bounded before it is
// checked.
const (
	ChunkBytesDefault = 1 << 20  // the size a chunk is cut at
	ChunkBytesMax     = 16 << 20 // the largest chunk Restore accepts
	ChunksMax         = 1 << 20  // chunks in one manifest
	itemValueMax      = 1 << 16  // the largest record (an account with every line and signer is a few KiB)
)

// ErrMismatch marks a snapshot that does not prove the state it claims.
var ErrMismatch = errors.New("snapshot does not match")

// Manifest describes one snapshot.
type Manifest struct {
	Height        uint64
	Meta          ledger.Meta // totals after Height: state hash, state root, transaction root
	PrevStateHash txn.Hash    // the state hash after Height-1: what Meta.StateHash chains from
	Chunks        []txn.Hash  // SHA-256 of each chunk, in order
}

const manifestMagic = "settle/snapshot/v1"

// AppendBinary encodes the manifest: magic | height u64 | meta | previous
// state hash [32] | chunk count u32 | chunk hashes.
func (m *Manifest) AppendBinary(dst []byte) []byte {
	dst = append(dst, manifestMagic...)
	dst = binary.BigEndian.AppendUint64(dst, m.Height)
	dst = m.Meta.AppendBinary(dst)
	dst = append(dst, m.PrevStateHash[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Chunks)))
	for _, h := range m.Chunks {
		dst = append(dst, h[:]...)
	}
	return dst
}

// DecodeManifest parses a manifest encoding.
func DecodeManifest(b []byte) (*Manifest, error) {
	metaLen := len(new(ledger.Meta).AppendBinary(nil))
	fixed := len(manifestMagic) + 8 + metaLen + 32 + 4
	if len(b) < fixed || string(b[:len(manifestMagic)]) != manifestMagic {
		return nil, fmt.Errorf("snapshot manifest: %d bytes, not a %s manifest", len(b), manifestMagic)
	}
	off := len(manifestMagic)
	m := &Manifest{Height: binary.BigEndian.Uint64(b[off:])}
	off += 8
	meta, err := ledger.DecodeMeta(b[off : off+metaLen])
	if err != nil {
		return nil, fmt.Errorf("snapshot manifest: %w", err)
	}
	m.Meta = meta
	off += metaLen
	copy(m.PrevStateHash[:], b[off:])
	off += 32
	n := binary.BigEndian.Uint32(b[off:])
	off += 4
	if n > ChunksMax || len(b) != off+32*int(n) {
		return nil, fmt.Errorf("snapshot manifest: %d chunks in %d bytes (at most %d chunks)", n, len(b), ChunksMax)
	}
	m.Chunks = make([]txn.Hash, n)
	for i := range m.Chunks {
		copy(m.Chunks[i][:], b[off+32*i:])
	}
	return m, nil
}

// item is one state object: kind | id | record.
type item struct {
	key   merkle.Hash // its state-tree key: the order of the snapshot
	kind  byte
	id    []byte
	value []byte
}

// Build cuts l's committed state into chunks of about chunkBytes (0: the
// default). prev is the state hash after the height before l's (the
// previous block header's). The ledger must not change meanwhile: the node
// builds a snapshot between blocks.
func Build(l *ledger.Ledger, prev txn.Hash, chunkBytes int) (*Manifest, [][]byte, error) {
	if chunkBytes <= 0 {
		chunkBytes = ChunkBytesDefault
	}
	if chunkBytes > ChunkBytesMax {
		return nil, nil, fmt.Errorf("snapshot chunks of %d bytes: at most %d", chunkBytes, ChunkBytesMax)
	}
	meta := l.Meta()
	var items []item
	l.Accounts(func(a *ledger.Account) {
		id := a.ID
		items = append(items, item{key: ledger.AccountStateKey(id), kind: ledger.StateKindAccount, id: id[:], value: a.AppendBinary(nil)})
	})
	for _, a := range l.Assets() {
		k := ledger.AssetKey(a.Asset)
		items = append(items, item{key: ledger.AssetStateKey(a.Asset), kind: ledger.StateKindAsset, id: k[:], value: a.AppendBinary(nil)})
	}
	for _, e := range l.Escrows() {
		k := e.ID.Key()
		items = append(items, item{key: ledger.EscrowStateKey(e.ID), kind: ledger.StateKindEscrow, id: k[:], value: e.AppendBinary(nil)})
	}
	for _, q := range l.QueuedEntries() {
		k := q.ID.Key()
		items = append(items, item{key: ledger.QueuedStateKey(q.ID), kind: ledger.StateKindQueued, id: k[:], value: q.AppendBinary(nil)})
	}
	if l.Meta() != meta {
		return nil, nil, errors.New("snapshot: the ledger changed while it was read")
	}
	slices.SortFunc(items, func(x, y item) int { return bytes.Compare(x.key[:], y.key[:]) })
	m := &Manifest{Height: meta.Height, Meta: meta, PrevStateHash: prev}
	var chunks [][]byte
	var cur []byte
	count := 0
	flush := func() {
		c := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(cur)), uint32(count))
		c = append(c, cur...)
		chunks = append(chunks, c)
		m.Chunks = append(m.Chunks, sha256.Sum256(c))
		cur, count = cur[:0:0], 0
	}
	for _, it := range items {
		if count > 0 && len(cur)+itemLen(it) > chunkBytes {
			flush()
		}
		cur = appendItem(cur, it)
		count++
	}
	if count > 0 || len(chunks) == 0 {
		flush()
	}
	if len(chunks) > ChunksMax {
		return nil, nil, fmt.Errorf("snapshot of %d chunks: at most %d; cut bigger chunks", len(chunks), ChunksMax)
	}
	return m, chunks, nil
}

func itemLen(it item) int { return 1 + 1 + len(it.id) + 4 + len(it.value) }

// appendItem appends kind u8 | id length u8 | id | value length u32 | value.
func appendItem(dst []byte, it item) []byte {
	dst = append(dst, it.kind, byte(len(it.id)))
	dst = append(dst, it.id...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(it.value)))
	return append(dst, it.value...)
}

// state is what the items decode into.
type state struct {
	accounts []*ledger.Account
	assets   []*ledger.AssetInfo
	escrows  []*ledger.Escrow
	queued   []*ledger.Queued
	last     merkle.Hash // the previous item's state key: keys strictly ascend across chunks
	items    int
}

// decodeChunk reads one chunk's items into st.
func (st *state) decodeChunk(i int, c []byte) error {
	if len(c) < 4 {
		return fmt.Errorf("chunk %d: %d bytes", i, len(c))
	}
	n := binary.BigEndian.Uint32(c)
	r := c[4:]
	for k := uint32(0); k < n; k++ {
		if len(r) < 2 || len(r) < 2+int(r[1])+4 {
			return fmt.Errorf("chunk %d item %d: truncated", i, k)
		}
		kind, id := r[0], r[2:2+int(r[1])]
		r = r[2+len(id):]
		vl := binary.BigEndian.Uint32(r)
		if vl > itemValueMax || len(r) < 4+int(vl) {
			return fmt.Errorf("chunk %d item %d: a %d-byte record in %d bytes", i, k, vl, len(r)-4)
		}
		val := r[4 : 4+vl]
		r = r[4+vl:]
		key, err := st.add(kind, id, val)
		if err != nil {
			return fmt.Errorf("chunk %d item %d: %w", i, k, err)
		}
		if st.items > 0 && bytes.Compare(key[:], st.last[:]) <= 0 {
			return fmt.Errorf("chunk %d item %d: %w: state keys out of order or repeated", i, k, ErrMismatch)
		}
		st.last = key
		st.items++
	}
	if len(r) != 0 {
		return fmt.Errorf("chunk %d: %d bytes after its %d items", i, len(r), n)
	}
	return nil
}

// add decodes one item and returns its state key.
func (st *state) add(kind byte, id, val []byte) (merkle.Hash, error) {
	switch kind {
	case ledger.StateKindAccount:
		var a txn.AccountID
		if len(id) != len(a) {
			return merkle.Hash{}, fmt.Errorf("account id of %d bytes", len(id))
		}
		copy(a[:], id)
		acc, err := ledger.DecodeAccount(a, val)
		if err != nil {
			return merkle.Hash{}, err
		}
		st.accounts = append(st.accounts, acc)
		return ledger.AccountStateKey(a), nil
	case ledger.StateKindAsset:
		as, err := ledger.AssetFromKey(id)
		if err != nil {
			return merkle.Hash{}, err
		}
		info, err := ledger.DecodeAssetInfo(as, val)
		if err != nil {
			return merkle.Hash{}, err
		}
		st.assets = append(st.assets, info)
		return ledger.AssetStateKey(as), nil
	case ledger.StateKindEscrow:
		eid, err := ledger.EscrowIDFromKey(id)
		if err != nil {
			return merkle.Hash{}, err
		}
		e, err := ledger.DecodeEscrow(eid, val)
		if err != nil {
			return merkle.Hash{}, err
		}
		st.escrows = append(st.escrows, e)
		return ledger.EscrowStateKey(eid), nil
	case ledger.StateKindQueued:
		qid, err := ledger.QueueIDFromKey(id)
		if err != nil {
			return merkle.Hash{}, err
		}
		q, err := ledger.DecodeQueued(qid, val)
		if err != nil {
			return merkle.Hash{}, err
		}
		st.queued = append(st.queued, q)
		return ledger.QueuedStateKey(qid), nil
	}
	return merkle.Hash{}, fmt.Errorf("unknown state kind %q", kind)
}

// Restore rebuilds the ledger of genesis g from a snapshot that must prove
// the trusted state hash: the manifest chains to it, each chunk (chunk(i)
// fetches chunk i, from any peer) hashes to its entry, and the rebuilt state
// has the manifest's state root and passes the invariants. Errors wrapping
// ErrMismatch mean the snapshot is false; others, that it is malformed or
// could not be fetched.
func Restore(g *ledger.Genesis, m *Manifest, trusted txn.Hash, chunk func(i int) ([]byte, error)) (*ledger.Ledger, error) {
	if m.Meta.Height != m.Height || m.Height == 0 {
		return nil, fmt.Errorf("snapshot at height %d with totals of height %d", m.Height, m.Meta.Height)
	}
	if m.Meta.StateHash != trusted ||
		ledger.StateCommitment(m.PrevStateHash, m.Height, m.Meta.StateRoot, m.Meta.TxRoot) != trusted {
		return nil, fmt.Errorf("snapshot at height %d: %w: its totals do not chain to the trusted state hash %x", m.Height, ErrMismatch, trusted[:8])
	}
	if len(m.Chunks) == 0 || len(m.Chunks) > ChunksMax {
		return nil, fmt.Errorf("snapshot at height %d: %d chunks (1 to %d)", m.Height, len(m.Chunks), ChunksMax)
	}
	st := &state{}
	for i, want := range m.Chunks {
		c, err := chunk(i)
		if err != nil {
			return nil, fmt.Errorf("snapshot chunk %d: %w", i, err)
		}
		if len(c) > ChunkBytesMax {
			return nil, fmt.Errorf("snapshot chunk %d: %d bytes, at most %d", i, len(c), ChunkBytesMax)
		}
		if sha256.Sum256(c) != want {
			return nil, fmt.Errorf("snapshot chunk %d: %w: its hash is not the manifest's", i, ErrMismatch)
		}
		if err := st.decodeChunk(i, c); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	l := ledger.RestoreState(g, m.Meta, st.accounts, st.assets, st.escrows, st.queued)
	if err := l.CheckStateRoot(); err != nil {
		return nil, fmt.Errorf("snapshot at height %d: %w: %v", m.Height, ErrMismatch, err)
	}
	if err := l.CheckInvariants(); err != nil {
		return nil, fmt.Errorf("snapshot at height %d: %w: %v", m.Height, ErrMismatch, err)
	}
	return l, nil
}
