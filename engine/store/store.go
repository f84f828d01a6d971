// Package store keeps Settle's durable state in Pebble: committed blocks, the
// transaction index, account and asset state, per-account history, the ledger's
// running totals, and (for consensus) opaque safety records.
//
// Each committed block is written as one Pebble batch with a synced commit
// (CommitBlock): a block is either entirely durable or absent after a crash, and
// nothing is acknowledged before that commit returns (Pebble makes writes
// readable before they are durable).
//
// Key layout (docs/storage.md):
//
//	m/meta                      ledger.Meta
//	m/genesis                   SHA-256 of the genesis this directory was created from
//	a/<id 20>                   account record
//	s/<asset 23>                issued-asset record
//	m/format                    storage format version (u32)
//	m/base                      height of the snapshot the state was imported at (u64; absent: from genesis)
//	b/<height u64>              block header: hashes, transaction count, certificate
//	r/<height u64><index u32>   transaction record: receipt, raw tx (in block order)
//	t/<tx hash 32>              tx index: height, index, applied
//	h/<id 20><height u64><index u32><role u8>  history entry
//	e/<owner 20><seq u64>       open escrow
//	x/<expiry u64><owner 20><seq u64>  expiry index of the open escrows (empty value)
//	n/<height u64>                   net settlement deltas of one block (one record)
//	q/<sender 20><seq u64>      queued entry of the RTGS queue
//	o/<tx hash 32>              how a queued transaction left the queue: height u64 | outcome u8
//	w/<height u64><outcome u8>  net deltas of the block's queue settlements (released, offset)
//	u/<height u64>              the block's queue events (entries that left the queue), in order
//	c/<name>                    consensus records (safety state, blocks) owned by the consensus driver
package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/ledger"
	"settle/engine/txn"
)

// ErrNotFound is returned when a block, transaction or record does not exist.
var ErrNotFound = errors.New("not found")

var (
	keyMeta    = []byte("m/meta")
	keyGenesis = []byte("m/genesis")
	keyFormat  = []byte("m/format")
	keyBase    = []byte("m/base")
)

// formatVersion is the storage layout this build reads and writes. Version 3
// adds the state and transaction roots to the totals and the block records,
// and each block's consensus header (the state hash became a commitment to
// the roots, so a version-2 chain does not verify under it). Version 2 stores
// a block's transactions once, in r/ records in key order, with a 13-byte
// index by hash; version 1 (no m/format key) kept each transaction in its t/
// record.
const formatVersion = 3

const (
	prefixAccount  = 'a'
	prefixAsset    = 's'
	prefixBlock    = 'b'
	prefixTx       = 't'
	prefixBody     = 'r'
	prefixHistory  = 'h'
	prefixEscrow   = 'e'
	prefixNet      = 'n'
	prefixExpiry   = 'x'
	prefixCons     = 'c'
	prefixQueued   = 'q'
	prefixOutcome  = 'o'
	prefixQueueNet = 'w'
	// prefixQueueEvents: one record per block that had queue events.
	prefixQueueEvents = 'u'
)

// Store is a Pebble database holding one validator's state.
type Store struct {
	db    *pebble.DB
	stats writeStats
	base  uint64 // the height of the snapshot the state was imported at (snapshot.go); 0: it grew from genesis
}

// writeStats counts what CommitBlock writes, for the keys and bytes per
// transaction that benchmarks and the node's metrics report.
type writeStats struct {
	txs, keys, bytes atomic.Uint64
}

func (s *Store) noteBatch(keys uint32, bytes, txs int) {
	s.stats.txs.Add(uint64(txs))
	s.stats.keys.Add(uint64(keys))
	s.stats.bytes.Add(uint64(bytes))
}

// WriteStats is what CommitBlock has written since Open: transactions, keys
// and batch bytes (keys, values and the batch's own framing).
type WriteStats struct {
	Txs, Keys, Bytes uint64
}

// Written returns the write counters.
func (s *Store) Written() WriteStats {
	return WriteStats{Txs: s.stats.txs.Load(), Keys: s.stats.keys.Load(), Bytes: s.stats.bytes.Load()}
}

// EngineStats is what Pebble itself has written since Open: the WAL, the
// memtable flushes and the compactions. Divided by the transactions committed
// they give the write amplification a block's batch costs after it is durable.
type EngineStats struct {
	WALBytes, FlushedBytes, CompactedBytes uint64
	Flushes, Compactions                   int64
	L0Files                                int64
	ReadAmp                                int
}

// Engine returns Pebble's own write counters (see EngineStats).
func (s *Store) Engine() EngineStats {
	m := s.db.Metrics()
	e := EngineStats{WALBytes: m.WAL.BytesWritten, Flushes: m.Flush.Count, Compactions: m.Compact.Count,
		ReadAmp: m.ReadAmp()}
	for i := range m.Levels {
		l := &m.Levels[i]
		e.FlushedBytes += l.TableBytesFlushed + l.BlobBytesFlushed
		e.CompactedBytes += l.TableBytesCompacted + l.BlobBytesCompacted
	}
	e.L0Files = m.Levels[0].TablesCount
	return e
}

// Options tunes Pebble for Settle's write pattern: one large synced batch per
// block. Zero fields take the values docs/storage.md gives with the
// measurement each was chosen by.
type Options struct {
	// CacheBytes is the block cache size; 0 means 64 MiB.
	CacheBytes int64
	// MemTableBytes is the memtable size; 0 means 64 MiB.
	MemTableBytes uint64
	// L0CompactionFiles is the number of L0 files that starts a compaction
	// into the base level; 0 means Pebble's 4.
	L0CompactionFiles int
	// LBaseMaxBytes bounds the base level before it compacts down; 0 means
	// Pebble's 64 MiB.
	LBaseMaxBytes int64
	// L0TargetFileBytes is the size of the files a flush cuts; 0 means
	// Pebble's 2 MiB.
	L0TargetFileBytes int64
}

// Open opens (or creates, mode 0700) the database in dir and checks that it
// belongs to genesis g. A fresh directory gets g's hash and height-0 state in one
// synced batch. An existing directory keeps its mode.
func Open(dir string, g *ledger.Genesis, o Options) (*Store, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = 64 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 64 << 20
	}
	// The ledger is confidential: create the directory (and any missing parent)
	// 0700 before Pebble would create it 0755. Pebble's files inside are 0644
	// (umask permitting); the directory is what keeps others out.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:        cache,
		MemTableSize: o.MemTableBytes,
		Logger:       quietLogger{},
	}
	po.L0CompactionThreshold = o.L0CompactionFiles
	po.LBaseMaxBytes = o.LBaseMaxBytes
	po.TargetFileSizes[0] = o.L0TargetFileBytes
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open pebble %s: %w", dir, err)
	}
	s := &Store{db: db}
	if err := s.checkGenesis(g); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadBase(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) checkGenesis(g *ledger.Genesis) error {
	want := g.Hash()
	got, err := s.get(keyGenesis)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.writeGenesis(g, want)
	case err != nil:
		return fmt.Errorf("read genesis hash: %w", err)
	case !bytes.Equal(got, want[:]):
		return fmt.Errorf("data directory belongs to genesis %x, not %x: refusing to mix networks", got, want)
	}
	return s.checkFormat()
}

// checkFormat refuses a directory written in another storage layout.
func (s *Store) checkFormat() error {
	v, err := s.get(keyFormat)
	version := uint32(1) // before m/format existed
	switch {
	case err == nil && len(v) == 4:
		version = binary.BigEndian.Uint32(v)
	case err == nil:
		return fmt.Errorf("storage format record is %d bytes, want 4", len(v))
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("read storage format: %w", err)
	}
	if version != formatVersion {
		return fmt.Errorf("data directory has storage format %d, this build reads format %d: "+
			"move it aside and start with an empty one (a validator of a cluster fetches the chain from the others)",
			version, formatVersion)
	}
	return nil
}

// writeGenesis initialises a fresh directory in one synced batch: the genesis hash
// and the height-0 accounts and assets. Blocks write only the accounts they touch,
// so without this an account untouched since genesis would be missing after a
// restart (Load reads stored state only).
func (s *Store) writeGenesis(g *ledger.Genesis, hash txn.Hash) error {
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	var buf []byte
	l.Accounts(func(a *ledger.Account) {
		buf = a.AppendBinary(buf[:0])
		_ = b.Set(accountKey(a.ID), buf, nil) // Set copies; it fails only on a closed batch
	})
	for _, a := range l.Assets() {
		_ = b.Set(assetKey(a.Asset), a.AppendBinary(buf[:0]), nil)
	}
	// INVARIANT: the genesis hash and the state share one atomic batch, so a
	// directory with a genesis hash always holds the complete height-0 state.
	_ = b.Set(keyGenesis, hash[:], nil)
	_ = b.Set(keyFormat, binary.BigEndian.AppendUint32(nil, formatVersion), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("record genesis state: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes Pebble for the consensus driver's own records (prefix "c/").
func (s *Store) DB() *pebble.DB { return s.db }

// get returns a copy of the value at key, or ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// Load returns the committed ledger: the stored state, or genesis on a fresh
// directory. It reads only current state (accounts, assets, totals), never replays
// blocks, so restart time depends on the number of accounts, not of transactions.
func (s *Store) Load(g *ledger.Genesis) (*ledger.Ledger, error) {
	mb, err := s.get(keyMeta)
	if errors.Is(err, ErrNotFound) {
		return ledger.FromGenesis(g)
	}
	if err != nil {
		return nil, fmt.Errorf("load ledger meta: %w", err)
	}
	meta, err := ledger.DecodeMeta(mb)
	if err != nil {
		return nil, err
	}
	var accounts []*ledger.Account
	err = s.scan([]byte{prefixAccount, '/'}, func(k, v []byte) error {
		var id txn.AccountID
		if len(k) != 2+len(id) {
			return fmt.Errorf("account key %x has the wrong length", k)
		}
		copy(id[:], k[2:])
		a, err := ledger.DecodeAccount(id, v)
		if err != nil {
			return err
		}
		accounts = append(accounts, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	var assets []*ledger.AssetInfo
	err = s.scan([]byte{prefixAsset, '/'}, func(k, v []byte) error {
		as, err := ledger.AssetFromKey(k[2:])
		if err != nil {
			return err
		}
		a, err := ledger.DecodeAssetInfo(as, v)
		if err != nil {
			return err
		}
		assets = append(assets, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	var escrows []*ledger.Escrow
	err = s.scan([]byte{prefixEscrow, '/'}, func(k, v []byte) error {
		id, err := ledger.EscrowIDFromKey(k[2:])
		if err != nil {
			return err
		}
		e, err := ledger.DecodeEscrow(id, v)
		if err != nil {
			return err
		}
		escrows = append(escrows, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load escrows: %w", err)
	}
	if err := s.checkExpiryIndex(escrows); err != nil {
		return nil, err
	}
	var queued []*ledger.Queued
	err = s.scan([]byte{prefixQueued, '/'}, func(k, v []byte) error {
		id, err := ledger.QueueIDFromKey(k[2:])
		if err != nil {
			return err
		}
		q, err := ledger.DecodeQueued(id, v)
		if err != nil {
			return err
		}
		queued = append(queued, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load queued entries: %w", err)
	}
	l := ledger.RestoreState(g, meta, accounts, assets, escrows, queued)
	if err := l.CheckStateRoot(); err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	return l, nil
}

// checkExpiryIndex checks that the stored expiry index lists exactly the open
// escrows, each under its expiry height. Restore rebuilds the in-memory index
// from the escrows themselves; a mismatch means a corrupt directory.
func (s *Store) checkExpiryIndex(escrows []*ledger.Escrow) error {
	want := make(map[[8 + ledger.EscrowIDLen]byte]bool, len(escrows))
	for _, e := range escrows {
		want[e.ExpiryKey()] = true
	}
	n := 0
	err := s.scan([]byte{prefixExpiry, '/'}, func(k, _ []byte) error {
		var ek [8 + ledger.EscrowIDLen]byte
		if len(k) != 2+len(ek) {
			return fmt.Errorf("expiry key %x has the wrong length", k)
		}
		copy(ek[:], k[2:])
		if !want[ek] {
			return fmt.Errorf("expiry key %x names no open escrow", k)
		}
		n++
		return nil
	})
	if err == nil && n != len(escrows) {
		err = fmt.Errorf("%d open escrows, %d in the expiry index", len(escrows), n)
	}
	if err != nil {
		return fmt.Errorf("load escrow expiry index: %w", err)
	}
	return nil
}

// scan calls fn for every key with the prefix, in order; k and v are only valid
// during the call.
func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)      {}
func (quietLogger) Errorf(f string, a ...any) { fmt.Printf("pebble: "+f+"\n", a...) }
func (quietLogger) Fatalf(f string, a ...any) { panic(fmt.Sprintf("pebble: "+f, a...)) }
