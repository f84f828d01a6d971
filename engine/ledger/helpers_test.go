package ledger_test

import (
	"sync"
	"testing"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

const (
	testChain   = devnet.ChainID
	testBaseFee = 10
	testNative  = 1_000_000 // native minor units per demo account in small fixtures
	noExpiry    = 1 << 40
)

// keyCache keeps demo keys: deriving one costs a scalar multiplication.
var keyCache sync.Map // int -> txn.Key

func key(i int) txn.Key {
	if k, ok := keyCache.Load(i); ok {
		return k.(txn.Key)
	}
	k := devnet.DemoKey(testChain, i)
	keyCache.Store(i, k)
	return k
}

func id(i int) txn.AccountID { return key(i).AccountID() }

// usd is the issued asset of the dev genesis: USD issued by demo account 0.
func usd() txn.Asset {
	as, err := txn.ParseAsset("USD/" + id(0).String())
	if err != nil {
		panic(err)
	}
	return as
}

// plainGenesis is the dev genesis as devnet builds it: no trust lines.
func plainGenesis(n int, native uint64) *ledger.Genesis {
	o := devnet.DefaultOptions()
	o.Accounts, o.NativeEach, o.BaseFee = n, native, testBaseFee
	return devnet.Genesis(o)
}

// genesis returns a dev genesis of n demo accounts with native each, where every
// account but the issuer (0) has a USD trust line at the maximum limit.
func genesis(n int, native uint64) *ledger.Genesis {
	o := devnet.DefaultOptions()
	o.Accounts, o.NativeEach, o.BaseFee = n, native, testBaseFee
	g := devnet.Genesis(o)
	for i := 1; i < n; i++ {
		g.Accounts[i].Issued = []ledger.GenesisBalance{{Asset: usd().String()}}
	}
	return g
}

func newLedger(t testing.TB, g *ledger.Genesis) *ledger.Ledger {
	t.Helper()
	l, err := ledger.FromGenesis(g)
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	return l
}

// payment describes a payment to sign; zero fields take defaults.
type payment struct {
	from, to  int
	toID      *txn.AccountID // overrides to
	signer    *txn.Key       // overrides the sender's own key
	seq       uint64
	fee       uint64
	lastValid uint64 // 0 means noExpiry, unless zeroValid
	zeroValid bool   // last valid height 0: expired in every block
	chain     string
	asset     txn.Asset
	amount    uint64
}

func (p payment) sign(t testing.TB) *txn.Tx {
	t.Helper()
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: testChain, Sender: id(p.from), Seq: p.seq, Fee: p.fee,
		LastValid: p.lastValid, Dest: id(p.to), Asset: p.asset, Amount: p.amount}
	if p.toID != nil {
		tx.Dest = *p.toID
	}
	if p.chain != "" {
		tx.ChainID = p.chain
	}
	if tx.Fee == 0 {
		tx.Fee = testBaseFee
	}
	if tx.LastValid == 0 && !p.zeroValid {
		tx.LastValid = noExpiry
	}
	signer := key(p.from)
	if p.signer != nil {
		signer = *p.signer
	}
	if err := txn.Sign(tx, signer); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tx
}

// execApply executes txs as the next block, checks the invariants and installs it.
func execApply(t testing.TB, l *ledger.Ledger, txs []*txn.Tx) *ledger.BlockResult {
	t.Helper()
	res := l.Execute(l.Meta().Height+1, txs)
	l.Apply(res)
	if err := l.CheckInvariants(); err != nil {
		t.Fatalf("block %d: %v", res.Height, err)
	}
	return res
}

func account(t testing.TB, l *ledger.Ledger, a txn.AccountID) ledger.Account {
	t.Helper()
	acc, ok := l.Account(a)
	if !ok {
		t.Fatalf("account %s does not exist", a)
	}
	return acc
}
