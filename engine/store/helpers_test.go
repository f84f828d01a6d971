package store

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

const (
	testAccounts = 20
	testNative   = 1_000_000_000
	testFee      = 10
)

var keys = func() []txn.Key {
	k := make([]txn.Key, testAccounts+5) // the last five are not in the genesis
	for i := range k {
		k[i] = devnet.DemoKey(devnet.ChainID, i)
	}
	return k
}()

func testGenesis(accounts int) *ledger.Genesis {
	o := devnet.DefaultOptions()
	o.Accounts, o.NativeEach, o.BaseFee = accounts, testNative, testFee
	g := devnet.Genesis(o)
	for i := 1; i < accounts; i++ { // every account but the issuer trusts USD
		g.Accounts[i].Issued = []ledger.GenesisBalance{{Asset: usd().String()}}
	}
	return g
}

func usd() txn.Asset { return txn.Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: keys[0].AccountID()} }

func openStore(t testing.TB, dir string, g *ledger.Genesis) *Store {
	t.Helper()
	s, err := Open(dir, g, Options{CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func pay(t testing.TB, from, to int, seq, amount uint64, asset txn.Asset) *txn.Tx {
	t.Helper()
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: keys[from].AccountID(), Seq: seq,
		Fee: testFee, LastValid: 1 << 40, Dest: keys[to].AccountID(), Asset: asset, Amount: amount}
	if err := txn.Sign(tx, keys[from]); err != nil {
		t.Fatal(err)
	}
	return tx
}

func blockHash(h uint64) txn.Hash {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte("test-block"), h))
}

// commit executes txs as the next block, makes it durable and installs it.
func commit(t testing.TB, s *Store, l *ledger.Ledger, txs []*txn.Tx) (*BlockRecord, *ledger.BlockResult) {
	t.Helper()
	h := l.Meta().Height + 1
	res := l.Execute(h, txs)
	rec := &BlockRecord{Height: h, TimeMs: int64(1000 * h), Hash: blockHash(h), Parent: blockHash(h - 1),
		StateHash: res.Meta.StateHash, Receipts: res.Receipts, Cert: []byte{byte(h), 0xce}}
	if err := s.CommitBlock(rec, txs, res); err != nil {
		t.Fatalf("commit block %d: %v", h, err)
	}
	l.Apply(res)
	return rec, res
}

// randomBlocks commits blocks of random payments (native and USD, some failing)
// and returns every transaction by block.
func randomBlocks(t testing.TB, s *Store, l *ledger.Ledger, seed uint64, blocks, perBlock int) [][]*txn.Tx {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var all [][]*txn.Tx
	for b := 0; b < blocks; b++ {
		seq := map[int]uint64{}
		txs := make([]*txn.Tx, 0, perBlock)
		for len(txs) < perBlock {
			from, to := rng.IntN(testAccounts), rng.IntN(len(keys))
			if from == to {
				continue
			}
			if _, ok := seq[from]; !ok {
				a, _ := l.Account(keys[from].AccountID())
				seq[from] = a.Seq
			}
			asset, amount := txn.Native, 1+rng.Uint64N(1000)
			switch rng.IntN(6) {
			case 0, 1:
				asset = usd() // from 0: issuance; else a transfer that may lack funds
			case 2:
				amount = testNative * 2 // insufficient funds: fee charged
			}
			tx := pay(t, from, to, seq[from], amount, asset)
			if rng.IntN(10) == 0 {
				tx = pay(t, from, to, seq[from]+5, amount, asset) // seq_too_far: not applied
			} else {
				seq[from]++
			}
			txs = append(txs, tx)
		}
		commit(t, s, l, txs)
		all = append(all, txs)
	}
	return all
}

type state struct {
	meta     ledger.Meta
	accounts map[txn.AccountID]ledger.Account
	assets   map[txn.Asset]ledger.AssetInfo
}

func stateOf(l *ledger.Ledger) state {
	s := state{meta: l.Meta(), accounts: map[txn.AccountID]ledger.Account{}, assets: map[txn.Asset]ledger.AssetInfo{}}
	l.Accounts(func(a *ledger.Account) {
		c := *a
		if len(a.Issued) == 0 {
			c.Issued = nil
		}
		s.accounts[a.ID] = c
	})
	for _, a := range l.Assets() {
		s.assets[a.Asset] = a
	}
	return s
}
