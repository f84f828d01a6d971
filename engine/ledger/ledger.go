// Package ledger is Settle's deterministic state machine: accounts, assets and the
// execution of blocks of transactions. It does no I/O: the node loads it from
// storage, asks it to execute a block (a pure function of the committed state and
// the block, see Execute), makes the result durable, and then installs it (Apply).
//
// Reads (Account, Asset, Meta) are safe from any goroutine; Execute and Apply are
// called by one goroutine at a time, the node's executor.
package ledger

import (
	"encoding/binary"
	"fmt"
	"sync"

	"settle/engine/merkle"
	"settle/engine/txn"
)

const shardCount = 64 // power of two; shards cut lock contention between ingress readers and Apply

// Meta is the ledger's running totals, committed with every block.
type Meta struct {
	Height       uint64   // last executed block
	StateHash    txn.Hash // state hash after Height
	NativeSupply uint64   // native minor units created at genesis
	FeesBurned   uint64   // fees destroyed so far; INVARIANT: sum(native) + FeesBurned == NativeSupply
	TxCount      uint64   // transactions applied (success or a failure that charged the fee)
	StateRoot    txn.Hash // root of the state tree after Height (stateroot.go)
	TxRoot       txn.Hash // root of block Height's receipts; zero at genesis
}

// metaLen is the size of a Meta encoding.
const metaLen = 8 + 32 + 24 + 32 + 32

// AppendBinary encodes Meta: height u64 | state hash [32] | supply u64 | burned
// u64 | txs u64 | state root [32] | tx root [32].
func (m *Meta) AppendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, m.Height)
	dst = append(dst, m.StateHash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, m.NativeSupply)
	dst = binary.BigEndian.AppendUint64(dst, m.FeesBurned)
	dst = binary.BigEndian.AppendUint64(dst, m.TxCount)
	dst = append(dst, m.StateRoot[:]...)
	return append(dst, m.TxRoot[:]...)
}

// DecodeMeta parses a Meta encoding.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) != metaLen {
		return Meta{}, fmt.Errorf("ledger meta is %d bytes, want %d", len(b), metaLen)
	}
	var m Meta
	m.Height = binary.BigEndian.Uint64(b)
	copy(m.StateHash[:], b[8:40])
	m.NativeSupply = binary.BigEndian.Uint64(b[40:])
	m.FeesBurned = binary.BigEndian.Uint64(b[48:])
	m.TxCount = binary.BigEndian.Uint64(b[56:])
	copy(m.StateRoot[:], b[64:96])
	copy(m.TxRoot[:], b[96:128])
	return m, nil
}

// Ledger holds the committed state in memory. Storage holds the durable copy.
type Ledger struct {
	chainID    string
	baseFee    uint64
	compliance txn.AccountID // genesis compliance authority; zero: none
	queue      queueParams

	shards [shardCount]struct {
		mu       sync.RWMutex
		accounts map[txn.AccountID]*Account // values are never mutated in place once installed
	}
	mu struct {
		sync.RWMutex
		assets  map[txn.Asset]*AssetInfo
		escrows map[EscrowID]*Escrow  // open escrows; values are never mutated once installed
		expiry  heightIndex[EscrowID] // the open escrows by expiry height
		queue   queueState            // the RTGS queue (queue.go)
		meta    Meta
		tree    merkle.Tree // the state tree after meta.Height
		// versions are the recent heights' state trees, oldest first, for
		// state proofs; the last is tree. At most keptMax.
		versions []treeVersion
		keptMax  int
	}
	stateRootOff bool // DisableStateRoot: benchmarks only
}

func newLedger(g *Genesis) *Ledger {
	l := &Ledger{chainID: g.ChainID, baseFee: g.BaseFee, queue: g.queueParams()}
	if g.ComplianceAuthority != "" {
		l.compliance, _ = txn.ParseAddress(g.ComplianceAuthority) // Validate checked it
	}
	for i := range l.shards {
		l.shards[i].accounts = map[txn.AccountID]*Account{}
	}
	l.mu.assets = map[txn.Asset]*AssetInfo{}
	l.mu.escrows = map[EscrowID]*Escrow{}
	l.mu.queue.init()
	l.mu.keptMax = ProofHeightsKeptDefault
	return l
}

// installTreeLocked makes v's tree the current state tree.
func (l *Ledger) installTreeLocked(v treeVersion) {
	l.mu.tree = v.tree
	l.mu.versions = append(l.mu.versions, v)
	l.trimVersionsLocked()
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
	l := newLedger(g)
	for id, a := range st.accounts {
		l.shards[shardOf(id)].accounts[id] = a
	}
	l.mu.assets = st.assets
	meta := Meta{NativeSupply: st.native}
	accounts := make([]*Account, 0, len(st.accounts))
	for _, a := range st.accounts {
		accounts = append(accounts, a)
	}
	assets := make([]*AssetInfo, 0, len(st.assets))
	for _, a := range st.assets {
		assets = append(assets, a)
	}
	tree := buildTree(accounts, assets, nil, nil, meta)
	meta.StateRoot = tree.Root()
	meta.StateHash = GenesisCommitment(g.Hash(), meta.StateRoot)
	l.mu.meta = meta
	l.installTreeLocked(treeVersion{height: 0, tree: tree})
	return l, nil
}

// Restore builds a ledger from stored state (see package store): accounts, assets
// and the open escrows. It rebuilds the state tree (CheckStateRoot compares it
// with the stored root).
func Restore(g *Genesis, meta Meta, accounts []*Account, assets []*AssetInfo, escrows ...*Escrow) *Ledger {
	return RestoreState(g, meta, accounts, assets, escrows, nil)
}

// RestoreState is Restore with the queued entries too.
func RestoreState(g *Genesis, meta Meta, accounts []*Account, assets []*AssetInfo, escrows []*Escrow, queued []*Queued) *Ledger {
	l := newLedger(g)
	ws := make([]QueueWrite, len(queued))
	for i, q := range queued {
		ws[i] = QueueWrite{ID: q.ID, Queued: q}
	}
	l.mu.queue.install(ws, meta.Height)
	for _, a := range accounts {
		l.shards[shardOf(a.ID)].accounts[a.ID] = a
	}
	for _, a := range assets {
		l.mu.assets[a.Asset] = a
	}
	for _, e := range escrows {
		l.mu.escrows[e.ID] = e
		l.mu.expiry.add(e.ExpiryHeight, e.ID)
	}
	l.mu.meta = meta
	l.installTreeLocked(treeVersion{height: meta.Height, tree: buildTree(accounts, assets, escrows, queued, meta)})
	return l
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

// ComplianceAuthority returns the genesis compliance authority (zero: none).
func (l *Ledger) ComplianceAuthority() txn.AccountID { return l.compliance }

// Escrow returns a committed open escrow.
func (l *Ledger) Escrow(id EscrowID) (Escrow, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.mu.escrows[id]
	if !ok {
		return Escrow{}, false
	}
	return *e, true
}

// Escrows returns pointers to all open escrows (read-only; for snapshots and checks).
func (l *Ledger) Escrows() []*Escrow {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Escrow, 0, len(l.mu.escrows))
	for _, e := range l.mu.escrows {
		out = append(out, e)
	}
	return out
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

// CheckInvariants verifies the ledger invariants over the whole state:
//   - native: spendable plus escrowed native balances plus burned fees equal the
//     genesis supply;
//   - each issued asset: outstanding equals its holders' balances plus their
//     escrowed amounts; every line's balance plus escrowed amount is within its
//     trust-line limit; no balance exceeds AmountMax;
//   - escrows: each account's escrowed amounts and escrow count equal the sums of
//     its open escrows;
//   - bounds: lines, escrows and signers per account within their maxima, a
//     signer list's quorum reachable, every account's next sequence at least 1.
//
// It costs O(accounts + escrows): tests and the simulator call it after every
// block, the node at start-up.
func (l *Ledger) CheckInvariants() error {
	if err := l.checkInvariants(); err != nil {
		return fmt.Errorf("invariant: %w", err)
	}
	return nil
}

type escrowSum struct {
	amount uint64
	count  int
}

func (l *Ledger) checkInvariants() error {
	meta := l.Meta()
	held := map[txn.Asset]uint64{}
	escrowed := map[txn.AccountID]map[txn.Asset]*escrowSum{}
	for _, e := range l.Escrows() {
		if e.Amount == 0 || e.Amount > txn.AmountMax {
			return fmt.Errorf("escrow %x holds %d", e.ID.Key(), e.Amount)
		}
		m := escrowed[e.ID.Owner]
		if m == nil {
			m = map[txn.Asset]*escrowSum{}
			escrowed[e.ID.Owner] = m
		}
		if m[e.Asset] == nil {
			m[e.Asset] = &escrowSum{}
		}
		m[e.Asset].amount += e.Amount
		m[e.Asset].count++
	}
	l.mu.RLock()
	indexed, open := l.mu.expiry.len(), len(l.mu.escrows)
	l.mu.RUnlock()
	if indexed != open {
		return fmt.Errorf("expiry index holds %d escrows, %d are open", indexed, open)
	}
	if err := l.checkQueue(); err != nil {
		return err
	}
	var native uint64
	var err error
	l.Accounts(func(a *Account) {
		if err == nil {
			native += a.Native + a.Extended().NativeEscrowed
			err = checkAccount(a, escrowed[a.ID], held)
		}
	})
	if err != nil {
		return err
	}
	if native+meta.FeesBurned != meta.NativeSupply {
		return fmt.Errorf("native balances and escrows %d + burned fees %d != supply %d", native, meta.FeesBurned, meta.NativeSupply)
	}
	for _, info := range l.Assets() {
		if held[info.Asset] != info.Outstanding {
			return fmt.Errorf("%s held and escrowed %d != outstanding %d", info.Asset, held[info.Asset], info.Outstanding)
		}
		delete(held, info.Asset)
	}
	for as := range held {
		return fmt.Errorf("balances of undeclared asset %s", as)
	}
	return nil
}

// checkAccount checks one account against its escrows and adds its issued
// holdings (spendable and escrowed) to held.
func checkAccount(a *Account, escrows map[txn.Asset]*escrowSum, held map[txn.Asset]uint64) error {
	if a.Seq == 0 {
		return fmt.Errorf("account %s has sequence 0", a.ID)
	}
	x := a.Extended()
	if len(a.Issued) > LinesPerAccountMax || len(x.Signers) > txn.SignerCountMax || int(x.EscrowCount) > EscrowsPerAccountMax {
		return fmt.Errorf("account %s holds %d lines, %d signers, %d escrows", a.ID, len(a.Issued), len(x.Signers), x.EscrowCount)
	}
	if a.Ext != nil && x.zero() {
		return fmt.Errorf("account %s keeps an empty interbank state", a.ID)
	}
	var weight uint32
	for _, s := range x.Signers {
		weight += uint32(s.Weight)
	}
	if (x.Quorum == 0) != (len(x.Signers) == 0) || x.Quorum > weight {
		return fmt.Errorf("account %s has quorum %d over signer weight %d", a.ID, x.Quorum, weight)
	}
	count := 0
	for _, e := range escrows {
		count += e.count
	}
	if count != int(x.EscrowCount) {
		return fmt.Errorf("account %s counts %d escrows, has %d", a.ID, x.EscrowCount, count)
	}
	if want := escrowAmount(escrows, txn.Native); x.NativeEscrowed != want {
		return fmt.Errorf("account %s escrowed native %d != its escrows' %d", a.ID, x.NativeEscrowed, want)
	}
	for i := range a.Issued {
		b := &a.Issued[i]
		switch {
		case b.Amount > txn.AmountMax || b.Escrowed > txn.AmountMax || b.empty():
			return fmt.Errorf("account %s line %s holds %d and %d escrowed", a.ID, b.Asset, b.Amount, b.Escrowed)
		case b.Amount+b.Escrowed > b.Limit:
			return fmt.Errorf("account %s line %s holds %d + %d escrowed over its limit %d", a.ID, b.Asset, b.Amount, b.Escrowed, b.Limit)
		case b.Escrowed != escrowAmount(escrows, b.Asset):
			return fmt.Errorf("account %s line %s escrowed %d != its escrows' %d", a.ID, b.Asset, b.Escrowed, escrowAmount(escrows, b.Asset))
		case i > 0 && !assetLess(a.Issued[i-1].Asset, b.Asset):
			return fmt.Errorf("account %s lines are not sorted", a.ID)
		}
		held[b.Asset] += b.Amount + b.Escrowed
	}
	for as, e := range escrows {
		if !as.IsNative() && a.line(as) == nil && e.amount > 0 {
			return fmt.Errorf("account %s escrows %d %s without a line", a.ID, e.amount, as)
		}
	}
	return nil
}

func escrowAmount(m map[txn.Asset]*escrowSum, as txn.Asset) uint64 {
	if e := m[as]; e != nil {
		return e.amount
	}
	return 0
}
