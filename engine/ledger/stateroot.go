package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"settle/engine/merkle"
	"settle/engine/txn"
)

// The state commitment (docs/protocol.md, "Proofs"). Every block's state hash
// commits to two Merkle roots, so that a client can check one transaction's
// result or one account's state against a certified state hash from a few
// hundred bytes:
//
//   - the state root, of a sparse Merkle tree (engine/merkle) over everything
//     in the ledger state: each account, issued asset, open escrow and queued
//     entry, and the
//     running totals, at a key that is the SHA-256 of a kind byte and the
//     object's id, with the SHA-256 of the object's storage encoding as value;
//   - the transaction root, of an RFC 6962 list over the block's receipts.
//
// The state hash chains them: SHA-256("settle/state/v2" | previous | height
// u64 | state root | transaction root).

// The kind bytes of state keys.
const (
	StateKindAccount byte = 'a' // | account id [20]
	StateKindAsset   byte = 's' // | asset key: code [3] | issuer [20]
	StateKindEscrow  byte = 'e' // | owner [20] | sequence u64
	StateKindQueued  byte = 'q' // | sender [20] | sequence u64
	StateKindMeta    byte = 'm' // nothing: the one totals leaf
)

func stateKey(kind byte, id []byte) merkle.Hash {
	var buf [1 + 32]byte
	buf[0] = kind
	n := copy(buf[1:], id)
	return sha256.Sum256(buf[:1+n])
}

// AccountStateKey is an account's key in the state tree.
func AccountStateKey(id txn.AccountID) merkle.Hash { return stateKey(StateKindAccount, id[:]) }

// AssetStateKey is an issued asset's key in the state tree.
func AssetStateKey(as txn.Asset) merkle.Hash {
	k := AssetKey(as)
	return stateKey(StateKindAsset, k[:])
}

// EscrowStateKey is an open escrow's key in the state tree.
func EscrowStateKey(id EscrowID) merkle.Hash {
	k := id.Key()
	return stateKey(StateKindEscrow, k[:])
}

// QueuedStateKey is a queued entry's key in the state tree.
func QueuedStateKey(id QueueID) merkle.Hash {
	k := id.Key()
	return stateKey(StateKindQueued, k[:])
}

// MetaStateKey is the key of the totals leaf.
func MetaStateKey() merkle.Hash { return stateKey(StateKindMeta, nil) }

// AppendMetaLeaf appends the totals leaf's value: native supply u64 | fees
// burned u64 | transaction count u64 (the height and the hashes are the state
// hash's own).
func (m *Meta) AppendMetaLeaf(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, m.NativeSupply)
	dst = binary.BigEndian.AppendUint64(dst, m.FeesBurned)
	return binary.BigEndian.AppendUint64(dst, m.TxCount)
}

// AppendReceiptLeaf appends a transaction-root leaf: index u32 | tx hash [32] |
// fee u64 | result length u8 | result (ASCII) | failed leg u8.
func AppendReceiptLeaf(dst []byte, index uint32, r *Receipt) []byte {
	dst = binary.BigEndian.AppendUint32(dst, index)
	dst = append(dst, r.Hash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.Fee)
	dst = append(dst, byte(len(r.Result)))
	dst = append(dst, r.Result...)
	return append(dst, r.Leg)
}

// TxLeaves returns the leaf hashes of a block's receipts, in block order.
func TxLeaves(receipts []Receipt) []merkle.Hash {
	leaves := make([]merkle.Hash, len(receipts))
	var buf [64 + 256]byte
	for i := range receipts {
		leaves[i] = merkle.LeafHash(AppendReceiptLeaf(buf[:0], uint32(i), &receipts[i]))
	}
	return leaves
}

// StateCommitment is block height's state hash: SHA-256("settle/state/v2" |
// previous state hash | height u64 | state root | transaction root).
func StateCommitment(prev txn.Hash, height uint64, stateRoot, txRoot merkle.Hash) txn.Hash {
	var buf [15 + 32 + 8 + 32 + 32]byte
	b := append(buf[:0], "settle/state/v2"...)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, height)
	b = append(b, stateRoot[:]...)
	b = append(b, txRoot[:]...)
	return sha256.Sum256(b)
}

// GenesisCommitment is the state hash before block 1: SHA-256(
// "settle/state/genesis/v2" | genesis hash | state root of the genesis state).
func GenesisCommitment(genesisHash txn.Hash, stateRoot merkle.Hash) txn.Hash {
	var buf [23 + 32 + 32]byte
	b := append(buf[:0], "settle/state/genesis/v2"...)
	b = append(b, genesisHash[:]...)
	b = append(b, stateRoot[:]...)
	return sha256.Sum256(b)
}

// stateChanges lists a block's writes to the state tree: its touched accounts,
// assets and escrows and the totals leaf.
func stateChanges(res *BlockResult) []merkle.Change {
	cs := make([]merkle.Change, 0, len(res.Accounts)+len(res.Assets)+len(res.Escrows)+1)
	buf := make([]byte, 0, 512)
	for _, a := range res.Accounts {
		buf = a.AppendBinary(buf[:0])
		cs = append(cs, merkle.Change{Key: AccountStateKey(a.ID), Value: sha256.Sum256(buf)})
	}
	for _, a := range res.Assets {
		buf = a.AppendBinary(buf[:0])
		cs = append(cs, merkle.Change{Key: AssetStateKey(a.Asset), Value: sha256.Sum256(buf)})
	}
	for _, w := range res.Escrows {
		if w.Deleted {
			cs = append(cs, merkle.Change{Key: EscrowStateKey(w.ID), Delete: true})
			continue
		}
		buf = w.Escrow.AppendBinary(buf[:0])
		cs = append(cs, merkle.Change{Key: EscrowStateKey(w.ID), Value: sha256.Sum256(buf)})
	}
	for _, w := range res.Queue {
		if w.Queued == nil {
			cs = append(cs, merkle.Change{Key: QueuedStateKey(w.ID), Delete: true})
			continue
		}
		buf = w.Queued.AppendBinary(buf[:0])
		cs = append(cs, merkle.Change{Key: QueuedStateKey(w.ID), Value: sha256.Sum256(buf)})
	}
	buf = res.Meta.AppendMetaLeaf(buf[:0])
	return append(cs, merkle.Change{Key: MetaStateKey(), Value: sha256.Sum256(buf)})
}

// buildTree builds the state tree of a whole state (genesis, or a restart).
func buildTree(accounts []*Account, assets []*AssetInfo, escrows []*Escrow, queued []*Queued, meta Meta) merkle.Tree {
	res := &BlockResult{Accounts: accounts, Assets: assets, Meta: meta}
	for _, e := range escrows {
		res.Escrows = append(res.Escrows, EscrowWrite{ID: e.ID, Escrow: e})
	}
	for _, q := range queued {
		res.Queue = append(res.Queue, QueueWrite{ID: q.ID, Queued: q})
	}
	return merkle.Tree{}.Update(stateChanges(res))
}

// commit finishes a block's result: the state tree's new version, the roots
// and the state hash. With the state root off (DisableStateRoot) the tree
// stays as it was, so the state root does too.
func (l *Ledger) commit(res *BlockResult, prev Meta, tree merkle.Tree) {
	if l.stateRootOff {
		res.tree = tree
	} else {
		res.tree = tree.Update(stateChanges(res))
	}
	res.Meta.StateRoot = res.tree.Root()
	res.Meta.TxRoot = merkle.ListRoot(TxLeaves(res.Receipts))
	res.Meta.StateHash = StateCommitment(prev.StateHash, res.Height, res.Meta.StateRoot, res.Meta.TxRoot)
}

// DisableStateRoot stops maintaining the state tree: blocks keep the state
// root they start with. Benchmarks use it to measure what the tree costs; a
// validator running it diverges from one that does not at its first block
// with a write, so it is never for a network.
func (l *Ledger) DisableStateRoot() { l.stateRootOff = true }

// CheckStateRoot compares the state tree rebuilt from the stored state with
// the state root the stored totals record: a difference is corrupt storage.
func (l *Ledger) CheckStateRoot() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if got := l.mu.tree.Root(); got != l.mu.meta.StateRoot {
		return fmt.Errorf("state root of the stored state %x differs from the %x recorded at height %d",
			got[:8], l.mu.meta.StateRoot[:8], l.mu.meta.Height)
	}
	return nil
}

// ProofHeightsKeptDefault is how many recent heights' state trees a ledger
// keeps for state proofs unless SetProofHeightsKept says otherwise.
const ProofHeightsKeptDefault = 32

// SetProofHeightsKept sets how many recent heights' state trees the ledger
// keeps for state proofs (at least 1: the current one). Older versions share
// most of their nodes with the current tree; what they cost is what their
// blocks rewrote.
func (l *Ledger) SetProofHeightsKept(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.keptMax = max(n, 1)
	l.trimVersionsLocked()
}

// treeVersion is one kept height's state tree with the accounts its block
// wrote (sorted by id) and the values they replaced (nil: created), so that
// an account's value at any kept height is among them or the current one
// (accountAt).
type treeVersion struct {
	height   uint64
	tree     merkle.Tree
	written  []*Account
	replaced []*Account
}

func (l *Ledger) trimVersionsLocked() {
	if over := len(l.mu.versions) - l.mu.keptMax; over > 0 {
		clear(l.mu.versions[:over]) // drop the references, so the old nodes can go
		l.mu.versions = append(l.mu.versions[:0], l.mu.versions[over:]...)
	}
}

// AccountProof is a proof of one account's state at a height: the account
// (nil when absent) and the state tree path to its key.
type AccountProof struct {
	Height  uint64
	Key     merkle.Hash
	Account *Account // read-only; nil: no such account at Height
	Proof   merkle.StateProof
	Root    merkle.Hash
}

// ErrHeightNotKept is returned for a state proof at a height whose tree is no
// longer (or not yet) kept.
var ErrHeightNotKept = errors.New("the state at that height is not kept")

// ProveAccount proves account id's state at height from the kept state
// trees.
func (l *Ledger) ProveAccount(height uint64, id txn.AccountID) (AccountProof, error) {
	key := AccountStateKey(id)
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := len(l.mu.versions)
	if n == 0 {
		return AccountProof{}, fmt.Errorf("%w: no state tree yet", ErrHeightNotKept)
	}
	first := l.mu.versions[0].height
	if height < first || height > l.mu.versions[n-1].height {
		return AccountProof{}, fmt.Errorf("%w: height %d; heights %d to %d are", ErrHeightNotKept, height, first, l.mu.versions[n-1].height)
	}
	v := &l.mu.versions[height-first] // INVARIANT: kept heights are consecutive
	if v.height != height {
		panic(fmt.Sprintf("ledger: kept state trees out of order: %d at the place of %d", v.height, height))
	}
	p := AccountProof{Height: height, Key: key, Proof: v.tree.Prove(key), Root: v.tree.Root()}
	if p.Proof.Leaf != nil && p.Proof.Leaf.Key == key {
		p.Account = l.accountAtLocked(id, p.Proof.Leaf.ValueHash)
		if p.Account == nil {
			panic(fmt.Sprintf("ledger: account %s at height %d is in the state tree but in no kept version", id, height))
		}
	}
	return p, nil
}

// accountAtLocked finds the account value whose encoding hashes to want: the
// current value, or one a kept block wrote or replaced. A value at a kept
// height was either written at a kept height, or written before and then
// still current or replaced at a kept height after it.
func (l *Ledger) accountAtLocked(id txn.AccountID, want merkle.Hash) *Account {
	var buf [512]byte
	match := func(a *Account) bool { return a != nil && sha256.Sum256(a.AppendBinary(buf[:0])) == want }
	if a := l.account(id); match(a) {
		return a
	}
	for i := len(l.mu.versions) - 1; i >= 0; i-- {
		v := &l.mu.versions[i]
		j, ok := slices.BinarySearchFunc(v.written, id, func(a *Account, id txn.AccountID) int { return bytes.Compare(a.ID[:], id[:]) })
		if !ok {
			continue
		}
		if match(v.written[j]) {
			return v.written[j]
		}
		if match(v.replaced[j]) {
			return v.replaced[j]
		}
	}
	return nil
}
