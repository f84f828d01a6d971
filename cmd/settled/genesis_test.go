package main

import (
	"path/filepath"
	"testing"

	"settle/engine/ledger"
	"settle/engine/node"
	"settle/loadgen"
)

// TestInitAndTestnetTakeAGenesisFile: -genesis keeps the file's chain, accounts and
// assets; testnet replaces its validators with the N it writes.
func TestInitAndTestnetTakeAGenesisFile(t *testing.T) {
	dir := t.TempDir()
	given, err := loadgen.MixGenesisFor(loadgen.MixInterbank, "settle-ib", 10)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "given.json")
	if err := node.WriteJSON(path, given, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeInit(filepath.Join(dir, "one"), 5, "127.0.0.1:0", "ignored", path); err != nil {
		t.Fatal(err)
	}
	addr := func(i int) (string, string) { return "127.0.0.1:1", "127.0.0.1:2" }
	base, err := givenGenesis(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTestnetFrom(filepath.Join(dir, "four"), 4, len(base.Accounts), base.ChainID, base, addr); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir        string
		validators int
	}{{"one", 1}, {"four", 4}} {
		g, err := ledger.LoadGenesis(filepath.Join(dir, tc.dir, "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if g.ChainID != "settle-ib" || len(g.Accounts) != len(given.Accounts) || len(g.Assets) != 2 || len(g.Validators) != tc.validators || g.GenesisTime == 0 {
			t.Errorf("%s: chain %q, %d accounts, %d assets, %d validators, time %d", tc.dir, g.ChainID, len(g.Accounts), len(g.Assets), len(g.Validators), g.GenesisTime)
		}
	}
}
