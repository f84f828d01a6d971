// Package devnet builds the embedded development network: deterministic demo keys
// and a genesis that funds them. Demo keys are public knowledge (anyone can derive
// them): never fund them on a network that matters.
package devnet

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"settle/engine/ledger"
	"settle/engine/txn"
)

// ChainID is the dev network's chain id.
const ChainID = "settle-dev"

// DemoKey returns the key of demo account i on chainID:
// seed = SHA-256("settle/demo/" || chainID || "/" || decimal(i)).
func DemoKey(chainID string, i int) txn.Key {
	buf := []byte("settle/demo/" + chainID + "/")
	buf = strconv.AppendInt(buf, int64(i), 10)
	seed := sha256.Sum256(buf)
	k, err := txn.KeyFromSeed(seed[:])
	if err != nil {
		panic("devnet: demo seed rejected: " + err.Error()) // INVARIANT: 32-byte seed
	}
	return k
}

// ValidatorKey returns the deterministic key of dev validator i (distinct context
// from accounts).
func ValidatorKey(chainID string, i int) txn.Key {
	buf := []byte("settle/demo-validator/" + chainID + "/")
	buf = strconv.AppendInt(buf, int64(i), 10)
	seed := sha256.Sum256(buf)
	k, _ := txn.KeyFromSeed(seed[:])
	return k
}

// Options shape the dev genesis.
type Options struct {
	ChainID       string
	Accounts      int    // demo accounts 0..Accounts-1
	NativeEach    uint64 // native minor units per account
	BaseFee       uint64
	Validators    []ledger.GenesisValidator
	GenesisTimeMs int64
}

// DefaultOptions: 10,000 accounts with 10^12 minor units each, base fee 10, and
// USD issued by demo account 0.
func DefaultOptions() Options {
	return Options{ChainID: ChainID, Accounts: 10_000, NativeEach: 1_000_000_000_000, BaseFee: 10}
}

// Genesis builds the dev genesis. With no validators given it names one, dev
// validator 0, listening nowhere (a single validator needs no replica transport).
func Genesis(o Options) *ledger.Genesis {
	g := &ledger.Genesis{ChainID: o.ChainID, BaseFee: o.BaseFee, GenesisTime: o.GenesisTimeMs, Validators: o.Validators}
	if len(g.Validators) == 0 {
		pub := ValidatorKey(o.ChainID, 0).PublicKey()
		g.Validators = []ledger.GenesisValidator{{Name: "v0", PublicKey: hex.EncodeToString(pub[:])}}
	}
	g.Accounts = make([]ledger.GenesisAccount, o.Accounts)
	for i := range g.Accounts {
		pub := DemoKey(o.ChainID, i).PublicKey()
		g.Accounts[i] = ledger.GenesisAccount{PublicKey: hex.EncodeToString(pub[:]), Native: txn.Uint(o.NativeEach)}
	}
	if o.Accounts > 0 {
		g.Assets = []ledger.GenesisAsset{{Code: "USD", Issuer: DemoKey(o.ChainID, 0).AccountID().String()}}
	}
	return g
}
