package loadgen

import (
	"errors"
	"os"
	"testing"
	"time"

	"settle/engine/txn"
)

// smallSet signs count payments among n demo accounts.
func smallSet(t *testing.T, n, count int, seed uint64) (*TxSet, CacheParams, []txn.AccountID) {
	t.Helper()
	keys := DemoKeys("settle-test", n)
	ids := make([]txn.AccountID, n)
	for i, k := range keys {
		ids[i] = k.AccountID()
	}
	seqs := make([]uint64, n)
	for i := range seqs {
		seqs[i] = 1
	}
	w, err := NewPayments(testSpec(DistZipf, seed), Env{ChainID: "settle-test", Accounts: ids, StartSeqs: seqs})
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	set, err := BuildTxSet(w, keys, count, func(done, total int, _ time.Duration) {
		if total != count || done < last || done > total {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != count {
		t.Errorf("final progress %d, want %d", last, count)
	}
	return set, NewCacheParams("settle-test", w, count, seqs), ids
}

func TestBuildTxSetSignsInOrder(t *testing.T) {
	set, _, ids := smallSet(t, 8, chunkTxs+10, 1) // two chunks, the last short
	next := map[txn.AccountID]uint64{}
	for i := range set.Len() {
		tx, err := txn.Decode(set.Raw(i))
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if tx.Hash() != set.Hash(i) || tx.Sender != ids[set.Sender(i)] {
			t.Fatalf("tx %d: hash or sender index wrong", i)
		}
		if want := max(next[tx.Sender], 1); tx.Seq != want {
			t.Fatalf("tx %d: sequence %d, want %d", i, tx.Seq, want)
		}
		next[tx.Sender] = tx.Seq + 1
	}
}

func TestCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	set, params, ids := smallSet(t, 8, 300, 1)
	if _, err := LoadCache(dir, params, ids); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("empty cache: %v, want ErrCacheMiss", err)
	}
	path, err := SaveCache(dir, params, set)
	if err != nil {
		t.Fatal(err)
	}
	if path != CachePath(dir, params.Key()) {
		t.Errorf("saved to %s", path)
	}
	got, err := LoadCache(dir, params, ids)
	if err != nil {
		t.Fatalf("hit: %v", err)
	}
	if got.Len() != set.Len() {
		t.Fatalf("loaded %d txs, want %d", got.Len(), set.Len())
	}
	for i := range set.Len() {
		if string(got.Frame(i)) != string(set.Frame(i)) || got.Hash(i) != set.Hash(i) || got.Sender(i) != set.Sender(i) {
			t.Fatalf("tx %d differs after the round trip", i)
		}
	}
}

func TestCacheMissOnParameterChange(t *testing.T) {
	dir := t.TempDir()
	set, params, ids := smallSet(t, 8, 100, 1)
	if _, err := SaveCache(dir, params, set); err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(p *CacheParams){
		"count":     func(p *CacheParams) { p.Count++ },
		"chain":     func(p *CacheParams) { p.ChainID = "other" },
		"workload":  func(p *CacheParams) { p.Workload += " seed=2" },
		"sequences": func(p *CacheParams) { p.StartSeqs = "00" },
	}
	for name, change := range changes {
		p := params
		change(&p)
		if p.Key() == params.Key() {
			t.Errorf("%s: key unchanged", name)
		}
		if _, err := LoadCache(dir, p, ids); !errors.Is(err, ErrCacheMiss) {
			t.Errorf("%s changed: %v, want ErrCacheMiss", name, err)
		}
	}
	_, other, _ := smallSet(t, 8, 100, 2)
	if other.Key() == params.Key() {
		t.Error("a different seed gives the same cache key")
	}
}

func TestCacheRejectsCorruptFiles(t *testing.T) {
	set, params, ids := smallSet(t, 8, 100, 1)
	corruptions := map[string]func(b []byte) []byte{
		"flipped body byte": func(b []byte) []byte { b[len(b)-7] ^= 1; return b },
		"truncated":         func(b []byte) []byte { return b[:len(b)-50] },
		"bad magic":         func(b []byte) []byte { b[0] = 'X'; return b },
		"header length":     func(b []byte) []byte { b[9] = 0xff; return b },
		"empty":             func(b []byte) []byte { return nil },
	}
	for name, corrupt := range corruptions {
		dir := t.TempDir()
		path, err := SaveCache(dir, params, set)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, corrupt(b), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCache(dir, params, ids); !errors.Is(err, ErrCacheCorrupt) {
			t.Errorf("%s: %v, want ErrCacheCorrupt", name, err)
		}
	}
	// A valid file stored under another key's name: the header key does not match.
	dir := t.TempDir()
	path, err := SaveCache(dir, params, set)
	if err != nil {
		t.Fatal(err)
	}
	other := params
	other.Count = 99
	if err := os.Rename(path, CachePath(dir, other.Key())); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCache(dir, other, ids); !errors.Is(err, ErrCacheCorrupt) {
		t.Errorf("misnamed file: %v, want ErrCacheCorrupt", err)
	}
	// The right file but another account set: every signer must be known.
	dir = t.TempDir()
	if _, err := SaveCache(dir, params, set); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCache(dir, params, ids[:4]); !errors.Is(err, ErrCacheCorrupt) {
		t.Errorf("unknown signers: %v, want ErrCacheCorrupt", err)
	}
}
