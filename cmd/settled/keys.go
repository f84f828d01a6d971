package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
	"settle/engine/store"
)

type demoKey struct {
	Index   int    `json:"index"`
	Address string `json:"address"`
	Seed    string `json:"seed"`
}

// writeDemoKeys writes the first n demo keys (0600: they are secrets, even if
// derivable) so a human can use them with settlectl.
func writeDemoKeys(path, chainID string, n int) error {
	keys := make([]demoKey, n)
	for i := range keys {
		k := devnet.DemoKey(chainID, i)
		keys[i] = demoKey{Index: i, Address: k.AccountID().String(), Seed: hex.EncodeToString(k.Seed())}
	}
	return node.WriteJSON(path, keys, 0o600)
}

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func verifyReplay(dataDir string, g *ledger.Genesis) error {
	st, err := store.Open(dataDir, g, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	meta, err := st.Meta()
	if err != nil {
		return fmt.Errorf("read stored meta: %w", err)
	}
	replayed, err := st.Replay(g)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if replayed.Height != meta.Height || replayed.StateHash != meta.StateHash {
		return fmt.Errorf("replay reached height %d state %s; stored head is %d state %s",
			replayed.Height, replayed.StateHash, meta.Height, meta.StateHash)
	}
	fmt.Printf("verify: height %d, %d transactions, state %s matches a replay from genesis\n", meta.Height, meta.TxCount, meta.StateHash)
	return nil
}
