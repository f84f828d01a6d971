package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/ledger"
)

// A store can start from a snapshot instead of genesis (engine/snapshot,
// state sync): ImportState writes a verified ledger's whole state at height
// H in one synced batch and records H as the store's base. Blocks 1..H are
// then not here — nor their transactions, receipts and history — and every
// read of one says so (ErrPruned) instead of pretending they never existed.

// ErrPruned marks a block this store does not hold because it starts later.
var ErrPruned = errors.New("not held here")

func (s *Store) loadBase() error {
	v, err := s.get(keyBase)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("read the store's base height: %w", err)
	case len(v) != 8:
		return fmt.Errorf("base height record is %d bytes, want 8", len(v))
	}
	s.base = binary.BigEndian.Uint64(v)
	return nil
}

// Base returns the height of the snapshot the store's state was imported at
// (0: it holds every block from genesis). Blocks at or below it are not here.
func (s *Store) Base() uint64 { return s.base }

func (s *Store) prunedError(h uint64) error {
	return fmt.Errorf("block %d: %w: this validator's state starts from a snapshot at height %d, so it holds blocks %d and later only (ask a validator that kept the history)",
		h, ErrPruned, s.base, s.base+1)
}

// ImportState makes l's state (verified by the caller, snapshot.Restore) this
// store's, at l's height, in one synced batch. The store must hold no block
// yet: a fresh directory, at most its genesis state.
func (s *Store) ImportState(l *ledger.Ledger) error {
	meta := l.Meta()
	if meta.Height == 0 {
		return errors.New("import state: a snapshot at height 0 is the genesis")
	}
	if _, err := s.get(keyMeta); !errors.Is(err, ErrNotFound) {
		if err == nil {
			return errors.New("import state: the store already holds blocks; import into an empty data directory")
		}
		return fmt.Errorf("import state: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	set := func(k, v []byte) {
		if err := b.Set(k, v, nil); err != nil {
			panic(fmt.Sprintf("store: batch set: %v", err)) // only fails on a closed batch
		}
	}
	var buf []byte
	l.Accounts(func(a *ledger.Account) { set(accountKey(a.ID), a.AppendBinary(buf[:0])) })
	for _, a := range l.Assets() {
		set(assetKey(a.Asset), a.AppendBinary(buf[:0]))
	}
	for _, e := range l.Escrows() {
		set(escrowKey(e.ID), e.AppendBinary(buf[:0]))
		set(expiryKey(e), nil)
	}
	for _, q := range l.QueuedEntries() {
		set(queuedKey(q.ID), q.AppendBinary(buf[:0]))
	}
	set(keyMeta, meta.AppendBinary(buf[:0]))
	set(keyBase, binary.BigEndian.AppendUint64(nil, meta.Height))
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("import state at height %d: %w", meta.Height, err)
	}
	s.base = meta.Height
	return nil
}
