package store

import (
	"errors"
	"reflect"
	"testing"

	"settle/engine/ledger"
	"settle/engine/snapshot"
	"settle/engine/txn"
)

// TestImportState: a store started from a verified snapshot of another
// validator's state loads the same ledger, commits the next block to the
// same state hash, survives a restart, and says of every earlier block that
// it does not hold it.
func TestImportState(t *testing.T) {
	g := testGenesis(testAccounts)
	src := openStore(t, t.TempDir(), g)
	defer src.Close()
	l, err := src.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	randomBlocks(t, src, l, 3, 8, 40)
	commit(t, src, l, []*txn.Tx{queuedTx(t, 5, nextSeq(l, 5), txn.PriorityUrgent, 0, leg(5, 6, 1<<50))})
	head := l.Meta().Height
	prev, err := src.Block(head - 1)
	if err != nil {
		t.Fatal(err)
	}
	m, chunks, err := snapshot.Build(l, prev.StateHash, 4096)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := snapshot.Restore(g, m, l.Meta().StateHash, func(i int) ([]byte, error) { return chunks[i], nil })
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	dst := openStore(t, dir, g)
	if err := dst.ImportState(restored); err != nil {
		t.Fatal(err)
	}
	if err := dst.ImportState(restored); err == nil {
		t.Fatal("a second import into a store with state was accepted")
	}
	dst.Close()
	dst = openStore(t, dir, g)
	defer dst.Close()
	got, err := dst.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stateOf(got), stateOf(l)) || len(got.QueuedEntries()) != 1 {
		t.Fatal("the imported store loads another state")
	}
	if dst.Base() != head {
		t.Fatalf("base %d, want %d", dst.Base(), head)
	}
	for _, h := range []uint64{1, head} {
		if _, err := dst.Block(h); !errors.Is(err, ErrPruned) {
			t.Fatalf("block %d: %v, want ErrPruned", h, err)
		}
	}
	if _, err := dst.Replay(g); !errors.Is(err, ErrPruned) {
		t.Fatalf("replay from genesis: %v, want ErrPruned", err)
	}
	next := []*txn.Tx{pay(t, 1, 2, nextSeq(l, 1), 7, txn.Native)}
	_, a := commit(t, src, l, next)
	_, b := commit(t, dst, got, next)
	if a.Meta.StateHash != b.Meta.StateHash {
		t.Fatal("the imported store commits the next block to another state hash")
	}
	if _, err := dst.Block(head + 1); err != nil {
		t.Fatalf("the block after the base: %v", err)
	}
}

func nextSeq(l *ledger.Ledger, i int) uint64 {
	a, _ := l.Account(keys[i].AccountID())
	return a.Seq
}
