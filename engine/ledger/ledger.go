// Package ledger is Settle's deterministic state machine: accounts, assets and the
// execution of blocks of transactions. It does no I/O: the node loads it from
// storage, asks it to execute a block (a pure function of the committed state and
// the block, see Execute), makes the result durable, and then installs it (Apply).
//
// Reads (Account, Asset, Meta) are safe from any goroutine; Execute and Apply are
// called by one goroutine at a time, the node's executor.
package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"settle/engine/txn"
)

const shardCount = 64 // power of two; shards cut lock contention between ingress readers and Apply

// Meta is the ledger's running totals, committed with every block.
type Meta struct {
	Height       uint64   // last executed block
	StateHash    txn.Hash // state hash after Height
	NativeSupply uint64   // native minor units created at genesis
	FeesBurned   uint64   // fees destroyed so far; INVARIANT: sum(native) + FeesBurned == NativeSupply
	TxCount      uint64   // transactions executed (any result)
}

// AppendBinary encodes Meta: height u64 | state hash [32] | supply u64 | burned u64 | txs u64.
func (m *Meta) AppendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, m.Height)
	dst = append(dst, m.StateHash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, m.NativeSupply)
	dst = binary.BigEndian.AppendUint64(dst, m.FeesBurned)
	return binary.BigEndian.AppendUint64(dst, m.TxCount)
}

// DecodeMeta parses a Meta encoding.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) != 8+32+24 {
		return Meta{}, fmt.Errorf("ledger meta is %d bytes, want %d", len(b), 8+32+24)
	}
	var m Meta
	m.Height = binary.BigEndian.Uint64(b)
	copy(m.StateHash[:], b[8:40])
	m.NativeSupply = binary.BigEndian.Uint64(b[40:])
	m.FeesBurned = binary.BigEndian.Uint64(b[48:])
	m.TxCount = binary.BigEndian.Uint64(b[56:])
	return m, nil
}

// Ledger holds the committed state in memory. Storage holds the durable copy.
type Ledger struct {
	chainID string
	baseFee uint64

	shards [shardCount]struct {
		mu       sync.RWMutex
		accounts map[txn.AccountID]*Account // values are never mutated in place once installed
	}
	mu struct {
		sync.RWMutex
		assets map[txn.Asset]*AssetInfo
		meta   Meta
	}
}

func newLedger(chainID string, baseFee uint64) *Ledger {
	l := &Ledger{chainID: chainID, baseFee: baseFee}
	for i := range l.shards {
		l.shards[i].accounts = map[txn.AccountID]*Account{}
	}
	l.mu.assets = map[txn.Asset]*AssetInfo{}
	return l
}

// FromGenesis builds the height-0 ledger.
func FromGenesis(g *Genesis) (*Ledger, error) {
	if g.BaseFee == 0 || g.BaseFee > txn.AmountMax {
		return nil, fmt.Errorf("genesis base fee %d must be positive and at most %d", g.BaseFee, uint64(txn.AmountMax))
	}
	st, err := g.state()
	if err != nil {
		return nil, err
	}
	l := newLedger(g.ChainID, g.BaseFee)
	for id, a := range st.accounts {
		l.shards[shardOf(id)].accounts[id] = a
	}
	l.mu.assets = st.assets
	l.mu.meta = Meta{NativeSupply: st.native, StateHash: genesisStateHash(g)}
	return l, nil
}

// Restore builds a ledger from stored state (see package store).
func Restore(g *Genesis, meta Meta, accounts []*Account, assets []*AssetInfo) *Ledger {
	l := newLedger(g.ChainID, g.BaseFee)
	for _, a := range accounts {
		l.shards[shardOf(a.ID)].accounts[a.ID] = a
	}
	for _, a := range assets {
		l.mu.assets[a.Asset] = a
	}
	l.mu.meta = meta
	return l
}

func genesisStateHash(g *Genesis) txn.Hash {
	h := g.Hash()
	return sha256.Sum256(append([]byte("settle/state/genesis/v1"), h[:]...))
}

func shardOf(id txn.AccountID) int { return int(id[0]) & (shardCount - 1) }

// ChainID returns the network's chain id.
func (l *Ledger) ChainID() string { return l.chainID }

// BaseFee returns the minimum fee of any transaction.
func (l *Ledger) BaseFee() uint64 { return l.baseFee }

// Account returns a copy of the committed account, if it exists.
func (l *Ledger) Account(id txn.AccountID) (Account, bool) {
	s := &l.shards[shardOf(id)]
	s.mu.RLock()
	a, ok := s.accounts[id]
	s.mu.RUnlock()
	if !ok {
		return Account{}, false
	}
	return *a, true // Issued is shared but never mutated in place: installed accounts are immutable
}

// account returns the installed pointer (read-only) for the executor.
func (l *Ledger) account(id txn.AccountID) *Account {
	s := &l.shards[shardOf(id)]
	s.mu.RLock()
	a := s.accounts[id]
	s.mu.RUnlock()
	return a
}

// Asset returns the committed record of an issued asset.
func (l *Ledger) Asset(as txn.Asset) (AssetInfo, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a, ok := l.mu.assets[as]
	if !ok {
		return AssetInfo{}, false
	}
	return *a, true
}

// Meta returns the running totals after the last applied block.
func (l *Ledger) Meta() Meta {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.meta
}

// Accounts calls fn for every account (for invariant checks and snapshots); fn must
// not retain or modify the account.
func (l *Ledger) Accounts(fn func(*Account)) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.RLock()
		for _, a := range s.accounts {
			fn(a)
		}
		s.mu.RUnlock()
	}
}

// Assets returns copies of all issued-asset records.
func (l *Ledger) Assets() []AssetInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]AssetInfo, 0, len(l.mu.assets))
	for _, a := range l.mu.assets {
		out = append(out, *a)
	}
	return out
}

// CheckInvariants verifies the supply invariants over the whole state: native
// balances plus burned fees equal the genesis supply; each issued asset's
// outstanding amount equals the sum of its holders' balances; no balance exceeds
// AmountMax; every account's next sequence is at least 1. It costs O(accounts):
// tests and the simulator call it after every block, the node at start-up.
func (l *Ledger) CheckInvariants() error {
	meta := l.Meta()
	held := map[txn.Asset]uint64{}
	var native uint64
	var err error
	l.Accounts(func(a *Account) {
		if err != nil {
			return
		}
		if a.Seq == 0 {
			err = fmt.Errorf("account %s has sequence 0", a.ID)
		}
		native += a.Native
		for _, b := range a.Issued {
			if b.Amount == 0 || b.Amount > txn.AmountMax {
				err = fmt.Errorf("account %s holds %d %s", a.ID, b.Amount, b.Asset)
			}
			held[b.Asset] += b.Amount
		}
	})
	if err != nil {
		return fmt.Errorf("invariant: %w", err)
	}
	if native+meta.FeesBurned != meta.NativeSupply {
		return fmt.Errorf("invariant: native balances %d + burned fees %d != supply %d", native, meta.FeesBurned, meta.NativeSupply)
	}
	for _, info := range l.Assets() {
		if held[info.Asset] != info.Outstanding {
			return fmt.Errorf("invariant: %s held %d != outstanding %d", info.Asset, held[info.Asset], info.Outstanding)
		}
		delete(held, info.Asset)
	}
	for as := range held {
		return fmt.Errorf("invariant: balances of undeclared asset %s", as)
	}
	return nil
}
