package store

import (
	"crypto/sha256"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// TestEscrowExpiryDurable: an escrow returned on expiry leaves a history entry
// for its owner and destination, no settlement delta, and no open escrow or
// expiry-index record; a restart (Load) before the expiry keeps the index, so
// the restarted ledger returns it in the same block with the same state hash;
// Replay from genesis reproduces the state hash.
func TestEscrowExpiryDurable(t *testing.T) {
	g := testGenesis(testAccounts)
	dir := t.TempDir()
	s := openStore(t, dir, g)
	l, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	cond := sha256.Sum256([]byte("pre"))
	owner, dest := keys[3].AccountID(), keys[4].AccountID()
	commit(t, s, l, []*txn.Tx{signTx(t, &txn.Tx{Type: txn.TypeEscrowCreate, Sender: owner, Seq: 1, Dest: dest,
		Asset: txn.Native, Amount: 900, ExpiryHeight: 3, Condition: cond}, 3)})
	commit(t, s, l, nil)

	// Restart before the expiry block.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, g)
	defer s.Close()
	l2, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	want := l.Execute(3, nil)
	_, res := commit(t, s, l2, nil)
	if res.Meta.StateHash != want.Meta.StateHash || len(res.Expired) != 1 {
		t.Fatalf("after restart: hash %s (want %s), %d returned", res.Meta.StateHash, want.Meta.StateHash, len(res.Expired))
	}
	if err := l2.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if a, _ := l2.Account(owner); a.Native != testNative-testFee || a.Ext != nil {
		t.Errorf("owner native %d ext %+v", a.Native, a.Ext)
	}
	for _, who := range []txn.AccountID{owner, dest} {
		es, _, err := s.History(who, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		e := es[0]
		if e.Role != RoleExpiry || e.Height != 3 || e.Index != 0 || e.Amount != 900 || e.Result != codes.EscrowExpired ||
			e.Hash != (ledger.EscrowID{Owner: owner, Seq: 1}).ReturnHash() || e.Fee != 0 {
			t.Errorf("history of %s: %+v", who, e)
		}
	}
	rep, err := s.Report(3, 3, nil)
	if err != nil || len(rep.Positions) != 0 {
		t.Errorf("report of the expiry block: %v, %v", rep, err)
	}
	// Load again: no escrow, and an empty expiry index that agrees.
	l3, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(l3.Escrows()) != 0 || l3.Meta().StateHash != res.Meta.StateHash {
		t.Errorf("reloaded: %d escrows, hash %s", len(l3.Escrows()), l3.Meta().StateHash)
	}
	if m, err := s.Replay(g); err != nil || m.StateHash != res.Meta.StateHash {
		t.Fatalf("replay: %v (hash %s, want %s)", err, m.StateHash, res.Meta.StateHash)
	}
}
