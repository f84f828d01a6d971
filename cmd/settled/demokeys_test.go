package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"settle/engine/txn"
)

// TestDemoKeysFile holds demo-keys.json to docs/loadgen.md: a 0600 JSON array
// of {index, address, seed} in index order, each seed SHA-256("settle/demo/" ||
// chain id || "/" || decimal(index)) and deriving its address.
func TestDemoKeysFile(t *testing.T) {
	const chainID = "settle-doc-check"
	path := filepath.Join(t.TempDir(), "demo-keys.json")
	if err := writeDemoKeys(path, chainID, 12); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v, %v", fi, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 12 {
		t.Fatalf("%d entries", len(entries))
	}
	for i, e := range entries {
		if len(e) != 3 {
			t.Fatalf("entry %d has fields %v, want index, address, seed", i, e)
		}
		if idx, ok := e["index"].(float64); !ok || int(idx) != i {
			t.Fatalf("entry %d: index %v (want the JSON number %d)", i, e["index"], i)
		}
		want := sha256.Sum256([]byte("settle/demo/" + chainID + "/" + strconv.Itoa(i)))
		if e["seed"] != hex.EncodeToString(want[:]) {
			t.Fatalf("entry %d: seed %v, want SHA-256 of the documented string", i, e["seed"])
		}
		k, err := txn.KeyFromSeed(want[:])
		if err != nil || e["address"] != k.AccountID().String() {
			t.Fatalf("entry %d: address %v does not derive from the seed (%v)", i, e["address"], err)
		}
	}
}
