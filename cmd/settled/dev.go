package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"settle/engine/ledger"
)

// devWant is what a `settled dev` run asks for; accounts and apiAddr count only
// where their flags were given (set).
type devWant struct {
	validators int
	accounts   int
	apiAddr    string
	set        map[string]bool // flags given on the command line
}

// checkDevDir refuses to run `settled dev` on a data directory that holds a
// different network than the flags ask for, rather than overwrite its genesis
// or run something other than what was asked. An absent or empty directory is
// fine: dev writes a new network into it. The sentences say how to proceed.
func checkDevDir(data string, w devWant) error {
	g, err := ledger.LoadGenesis(filepath.Join(data, "genesis.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return checkFreshDevDir(data)
	}
	if err != nil {
		return fmt.Errorf("dev: %s: %w; add -reset to start a new network there (deleting its data)", data, err)
	}
	const startOver = "or add -reset to replace it with a new network (deleting its data)"
	if n := len(g.Validators); n != w.validators {
		return fmt.Errorf("dev: %s holds a %d-validator network, not the %d that -validators asks for: run `settled dev -validators %d -dir %s`, %s",
			data, n, w.validators, n, data, startOver)
	}
	if w.set["accounts"] && len(g.Accounts) != w.accounts {
		return fmt.Errorf("dev: %s's genesis funds %d accounts, not the %d that -accounts asks for (-accounts applies to a new directory only): drop -accounts, %s",
			data, len(g.Accounts), w.accounts, startOver)
	}
	// One validator takes -api as an override; a cluster's API addresses are in
	// its genesis.
	if w.validators > 1 && w.set["api"] && g.Validators[0].APIAddr != w.apiAddr {
		return fmt.Errorf("dev: %s's validators listen from %s, not the %s that -api asks for (-api applies to a new directory only): drop -api, %s",
			data, g.Validators[0].APIAddr, w.apiAddr, startOver)
	}
	for _, f := range devConfigFiles(g) {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			return fmt.Errorf("dev: %s has a genesis but no %s (an interrupted first run?): add -reset to start a new network there (deleting its data)", data, f)
		}
	}
	return nil
}

// devConfigFiles names the config files dev wrote next to genesis g.
func devConfigFiles(g *ledger.Genesis) []string {
	if len(g.Validators) == 1 {
		return []string{"config.json"}
	}
	files := make([]string, len(g.Validators))
	for i, v := range g.Validators {
		files[i] = v.Name + ".json"
	}
	return files
}

// checkFreshDevDir accepts a directory dev may write a new network into: absent
// or empty. Anything else is someone's data, which -reset would delete, so the
// sentence does not suggest it.
func checkFreshDevDir(data string) error {
	entries, err := os.ReadDir(data)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("dev: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("dev: %s is not empty and holds no genesis.json, so it is not a dev data directory: choose another -data", data)
	}
	return nil
}
