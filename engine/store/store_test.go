package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// TestReopenLoadsState commits blocks, closes the store, reopens it and checks that
// Load returns the same ledger (totals, every account, every asset) without replay.
func TestReopenLoadsState(t *testing.T) {
	dir, g := t.TempDir(), testGenesis(testAccounts)
	s := openStore(t, dir, g)
	l, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	randomBlocks(t, s, l, 1, 8, 40)
	want := stateOf(l)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, g)
	defer s.Close()
	got, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.CheckInvariants(); err != nil {
		t.Fatalf("reloaded ledger: %v", err)
	}
	if gs := stateOf(got); !reflect.DeepEqual(gs, want) {
		t.Fatalf("reloaded state differs: meta %+v vs %+v, %d vs %d accounts", gs.meta, want.meta, len(gs.accounts), len(want.accounts))
	}
	if m, err := s.Meta(); err != nil || m != want.meta {
		t.Fatalf("stored meta %+v, %v; want %+v", m, err, want.meta)
	}
	// The reloaded ledger executes the next block exactly as the original would.
	next := []*txn.Tx{pay(t, 3, 4, got.Meta().Height+100, 1, txn.Native)} // seq too far: still a receipt
	if a, b := got.Execute(want.meta.Height+1, next), l.Execute(want.meta.Height+1, next); a.Meta != b.Meta {
		t.Fatalf("next block differs after reload: %+v vs %+v", a.Meta, b.Meta)
	}
}

func TestFreshDirectoryLoadsGenesis(t *testing.T) {
	dir, g := t.TempDir(), testGenesis(testAccounts)
	s := openStore(t, dir, g)
	defer s.Close()
	if _, err := s.Meta(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("meta before the first block: %v, want ErrNotFound", err)
	}
	l, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := ledger.FromGenesis(g)
	if !reflect.DeepEqual(stateOf(l), stateOf(ref)) {
		t.Fatal("a fresh directory does not load the genesis state")
	}
	if _, err := s.Block(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block 1 of a fresh directory: %v", err)
	}
}

// TestUntouchedAccountsSurviveRestart: accounts and assets that no block touched
// come back after a restart (the genesis state is stored when the directory is made).
func TestUntouchedAccountsSurviveRestart(t *testing.T) {
	dir, g := t.TempDir(), testGenesis(testAccounts)
	s := openStore(t, dir, g)
	l, _ := s.Load(g)
	commit(t, s, l, []*txn.Tx{pay(t, 1, 2, 1, 5, txn.Native)})
	s.Close()
	s = openStore(t, dir, g)
	defer s.Close()
	got, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Account(keys[7].AccountID()); !ok {
		t.Fatal("an account untouched since genesis is missing after restart")
	}
	if _, ok := got.Asset(usd()); !ok {
		t.Fatal("an asset untouched since genesis is missing after restart")
	}
	if err := got.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenOtherGenesisFails(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, testGenesis(testAccounts)).Close()
	_, err := Open(dir, testGenesis(testAccounts+1), Options{})
	if err == nil || !strings.Contains(err.Error(), "refusing to mix networks") {
		t.Fatalf("open with another genesis: %v", err)
	}
	// The directory is still usable with its own genesis.
	openStore(t, dir, testGenesis(testAccounts)).Close()
}

func TestBlockAndTxLookups(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	l, _ := s.Load(g)
	blocks := randomBlocks(t, s, l, 2, 3, 2*bodyChunkTxs+22) // three chunks a block
	for i, txs := range blocks {
		h := uint64(i + 1)
		rec, err := s.Block(h)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Height != h || rec.Hash != blockHash(h) || rec.Parent != blockHash(h-1) || rec.TimeMs != int64(1000*h) ||
			len(rec.Receipts) != len(txs) || !reflect.DeepEqual(rec.Cert, []byte{byte(h), 0xce}) {
			t.Fatalf("block %d record %+v", h, rec)
		}
		for j, tx := range txs {
			tr, err := s.Tx(tx.Hash())
			if err != nil {
				t.Fatal(err)
			}
			if tr.Height != h || tr.Index != uint32(j) || tr.Receipt != rec.Receipts[j] || string(tr.Raw) != string(tx.Bytes()) {
				t.Fatalf("tx %d.%d record %+v", h, j, tr)
			}
			if s.Committed(tx.Hash()) != tr.Applied() {
				t.Fatalf("Committed(%s) = %v for a receipt %s applied=%v", tx.Hash(), s.Committed(tx.Hash()), tr.Receipt.Result, tr.Applied())
			}
		}
	}
	if rec, _ := s.Block(3); rec.StateHash != l.Meta().StateHash {
		t.Error("the last block's state hash is not the ledger's")
	}
	missing := txn.Hash{0xde, 0xad}
	if s.Committed(missing) {
		t.Error("Committed of an unknown hash")
	}
	if _, err := s.Tx(missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tx of an unknown hash: %v", err)
	}
	if _, err := s.Block(4); !errors.Is(err, ErrNotFound) {
		t.Errorf("Block past the head: %v", err)
	}
}

// TestTxRecordKeepsFirstApplication: a transaction included again after it applied
// (seq_past, fee 0), in the same block or a later one, keeps its original record.
func TestTxRecordKeepsFirstApplication(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	l, _ := s.Load(g)
	tx := pay(t, 1, 2, 1, 5, txn.Native)
	_, res := commit(t, s, l, []*txn.Tx{tx, tx})
	if res.Receipts[0].Result != codes.Success || res.Receipts[1].Result != codes.SeqPast {
		t.Fatalf("receipts %+v", res.Receipts)
	}
	_, res = commit(t, s, l, []*txn.Tx{pay(t, 3, 4, 1, 5, txn.Native), tx})
	if res.Receipts[1].Result != codes.SeqPast {
		t.Fatalf("replay: %s", res.Receipts[1].Result)
	}
	tr, err := s.Tx(tx.Hash())
	if err != nil || tr.Height != 1 || tr.Index != 0 || tr.Receipt.Result != codes.Success || tr.Receipt.Fee != testFee {
		t.Fatalf("record of the replayed tx %+v, %v; want block 1 index 0 success", tr, err)
	}
	// A transaction first rejected without a fee and applied later gets the later record.
	late := pay(t, 5, 6, 2, 5, txn.Native)
	commit(t, s, l, []*txn.Tx{late})
	commit(t, s, l, []*txn.Tx{pay(t, 5, 6, 1, 5, txn.Native), late})
	if tr, err := s.Tx(late.Hash()); err != nil || tr.Height != 4 || tr.Index != 1 || tr.Receipt.Result != codes.Success {
		t.Fatalf("record of the late tx %+v, %v; want block 4 index 1 success", tr, err)
	}
	if m, err := s.Replay(g); err != nil || m != l.Meta() {
		t.Fatalf("replay %+v, %v", m, err)
	}
}

func TestReplayMatchesStore(t *testing.T) {
	dir, g := t.TempDir(), testGenesis(testAccounts)
	s := openStore(t, dir, g)
	l, _ := s.Load(g)
	randomBlocks(t, s, l, 3, 10, 30)
	s.Close()
	s = openStore(t, dir, g)
	defer s.Close()
	stored, err := s.Meta()
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := s.Replay(g)
	if err != nil {
		t.Fatal(err)
	}
	if replayed != stored || replayed.StateHash != l.Meta().StateHash || replayed.Height != 10 {
		t.Fatalf("replay %+v, stored %+v", replayed, stored)
	}
}

// TestOldFormatRefused: a directory in another storage layout (format 1 had
// no m/format record) is refused with a sentence, not misread.
func TestOldFormatRefused(t *testing.T) {
	dir, g := t.TempDir(), testGenesis(testAccounts)
	s := openStore(t, dir, g)
	if err := s.db.Delete(keyFormat, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(dir, g, Options{})
	if err == nil || !strings.Contains(err.Error(), "storage format 1, this build reads format 3") {
		t.Fatalf("open of a format-1 directory: %v", err)
	}
}
