package node

import (
	"context"
	"testing"
	"time"

	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
	"settle/internal/testkit"
	"settle/internal/testpay"
)

func testNode(t *testing.T, accounts int) (*Node, context.CancelFunc, chan error) {
	t.Helper()
	o := devnet.DefaultOptions()
	o.Accounts = accounts
	return testNodeOf(t, devnet.Genesis(o))
}

// testNodeOf starts a single validator of genesis g on a fresh data directory.
func testNodeOf(t *testing.T, g *ledger.Genesis) (*Node, context.CancelFunc, chan error) {
	t.Helper()
	cfg := DefaultConfig(t.TempDir(), g)
	cfg.BlockDelayMax = 5 * time.Millisecond
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	testkit.WaitFor(t, 10*time.Second, "the node ready", n.Ready)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		n.Close()
	})
	return n, cancel, done
}

func pay(t testing.TB, from, to int, seq, amount uint64) *txn.Tx {
	return testpay.Payment(t, from, to, seq, amount)
}

func TestSubmitCommit(t *testing.T) {
	n, _, _ := testNode(t, 20)
	var txs []*txn.Tx
	for i := 0; i < 10; i++ {
		for s := uint64(1); s <= 5; s++ {
			txs = append(txs, pay(t, i, i+10, s, 100))
		}
	}
	errs := make([]error, len(txs))
	n.Submit(context.Background(), txs, errs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for n.Ledger().Meta().TxCount < uint64(len(txs)) {
		if err := n.WaitHeight(ctx, n.Height()+1); err != nil {
			t.Fatalf("waiting for commits: %v (committed %d)", err, n.Ledger().Meta().TxCount)
		}
	}
	for i := 0; i < 10; i++ {
		a, _ := n.Account(devnet.DemoKey(devnet.ChainID, i).AccountID())
		if a.Seq != 6 || a.Native != devnet.DefaultOptions().NativeEach-5*110 {
			t.Errorf("account %d: seq %d native %d", i, a.Seq, a.Native)
		}
	}
	for _, tx := range txs {
		st, err := n.Tx(tx.Hash())
		if err != nil || !st.Committed || st.Record.Receipt.Result != codes.Success {
			t.Fatalf("tx %s: %+v %v", tx.Hash(), st, err)
		}
	}
	if err := n.Ledger().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// Replays are rejected at the door and change nothing.
	n.Submit(context.Background(), txs[:1], errs[:1])
	if codes.Of(errs[0]) != codes.Duplicate {
		t.Fatalf("replay: got %v, want duplicate", errs[0])
	}
}

func TestAdmissionRejects(t *testing.T) {
	n, _, _ := testNode(t, 4)
	bad := pay(t, 0, 1, 1, 5)
	bad.Sigs[0].Signature[3] ^= 1
	wrongChain := pay(t, 0, 1, 1, 5)
	wrongChain.ChainID = "other"
	txn.Sign(wrongChain, devnet.DemoKey(devnet.ChainID, 0))
	cases := []struct {
		name string
		tx   *txn.Tx
		want codes.Code
	}{
		{"bad signature", bad, codes.BadSignature},
		{"wrong chain", wrongChain, codes.WrongChain},
		{"seq too far", pay(t, 0, 1, 10_000, 5), codes.SeqTooFar},
		{"seq past", pay(t, 0, 1, 0, 5), codes.SeqPast},
		{"insufficient funds", pay(t, 0, 1, 1, devnet.DefaultOptions().NativeEach), codes.InsufficientFunds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := make([]error, 1)
			n.Submit(context.Background(), []*txn.Tx{c.tx}, errs)
			if codes.Of(errs[0]) != c.want {
				t.Fatalf("got %v, want %s", errs[0], c.want)
			}
		})
	}
	if n.Pool().Stats().TxCount != 0 || n.Height() != 0 {
		t.Fatalf("rejected transactions changed state: pool %d height %d", n.Pool().Stats().TxCount, n.Height())
	}
}
