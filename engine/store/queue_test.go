package store

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// queuedTx is account from's signed queued USD payment (one leg) or queued
// multi-leg transfer (more), with the given priority; it may wait until the
// end of block until (0: far away).
func queuedTx(t *testing.T, from int, seq uint64, prio uint8, until uint64, legs ...txn.Leg) *txn.Tx {
	t.Helper()
	tx := &txn.Tx{Type: txn.TypeQueuedPayment, ChainID: devnet.ChainID, Sender: keys[from].AccountID(), Seq: seq,
		Fee: testFee, LastValid: 1 << 40, Priority: prio}
	if len(legs) == 1 {
		tx.Dest, tx.Asset, tx.Amount = legs[0].To, legs[0].Asset, legs[0].Amount
	} else {
		tx.Type, tx.Legs = txn.TypeQueuedMultiLeg, legs
	}
	tx.QueueUntil = tx.LastValid + 1000
	if until != 0 {
		tx.LastValid, tx.QueueUntil = until, until
	}
	if err := txn.Sign(tx, keys[from]); err != nil {
		t.Fatal(err)
	}
	return tx
}

func leg(from, to int, amount uint64) txn.Leg {
	return txn.Leg{From: keys[from].AccountID(), To: keys[to].AccountID(), Asset: usd(), Amount: amount}
}

// reload closes the store, opens it again and loads the ledger, checking that
// it is the one that was running: the same totals, state root and queue.
func reload(t *testing.T, s *Store, dir string, g *ledger.Genesis, running *ledger.Ledger) (*Store, *ledger.Ledger) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, g)
	l, err := s.Load(g)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got, want := l.Meta(), running.Meta(); got != want {
		t.Fatalf("restored totals %+v, want %+v", got, want)
	}
	if err := l.CheckStateRoot(); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	got, want := l.QueuedEntries(), running.QueuedEntries()
	if len(got) != len(want) {
		t.Fatalf("restored %d queued entries, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("restored queued entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	return s, l
}

// TestQueueDurable commits blocks with queued payments through the real
// ledger: a ring of three accounts without USD that waits while incomplete and
// settles by offset when closed, an urgent payment released when its sender
// is funded while the sender's normal one keeps waiting and is then made
// urgent and cancelled, a queued multi-leg transfer released, and one that
// expires. The
// store is reopened (Load) after the queuing block and at the end: the
// restored ledger has the same state root and queue; the outcome records, the
// blocks' queue events, the history and the report's split say what
// happened; Replay agrees.
func TestQueueDurable(t *testing.T) {
	const (
		issuer              = 0
		ringA, ringB, ringC = 1, 2, 3
		dAcct, eAcct, fAcct = 4, 5, 6
		gAcct, hAcct        = 7, 8
		iAcct, jAcct, kAcct = 9, 10, 11
	)
	U, N := txn.PriorityUrgent, txn.PriorityNormal
	g := testGenesis(testAccounts)
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 1}
	dir := t.TempDir()
	s := openStore(t, dir, g)
	defer func() { s.Close() }()
	l, err := s.Load(g)
	if err != nil {
		t.Fatal(err)
	}

	// Block 1: everything queues (nobody holds USD).
	ab, bc := queuedTx(t, ringA, 1, N, 0, leg(ringA, ringB, 500)), queuedTx(t, ringB, 1, N, 0, leg(ringB, ringC, 500))
	df, de := queuedTx(t, dAcct, 1, N, 0, leg(dAcct, fAcct, 200)), queuedTx(t, dAcct, 2, U, 0, leg(dAcct, eAcct, 300))
	gh := queuedTx(t, gAcct, 1, N, 3, leg(gAcct, hAcct, 100))
	ijk := queuedTx(t, iAcct, 1, U, 0, leg(iAcct, jAcct, 40), leg(iAcct, kAcct, 60))
	_, res := commit(t, s, l, []*txn.Tx{ab, bc, df, de, gh, ijk})
	for i, r := range res.Receipts {
		if r.Result != codes.Queued {
			t.Fatalf("block 1 tx %d: %s, want queued", i, r.Result)
		}
	}
	if len(res.QueueEvents) != 0 || len(l.QueuedEntries()) != 6 {
		t.Fatalf("block 1: %d queue events, %d queued", len(res.QueueEvents), len(l.QueuedEntries()))
	}
	for _, tx := range []*txn.Tx{ab, de} {
		if _, err := s.QueueOutcome(tx.Hash()); !errors.Is(err, ErrNotFound) {
			t.Errorf("outcome of a waiting payment: %v", err)
		}
	}
	s, l = reload(t, s, dir, g, l)

	// Block 2, on the restored ledger: C closes the ring (offset), the issuer
	// funds D for its urgent payment only (released) and I for its two legs.
	ca := queuedTx(t, ringC, 1, N, 0, leg(ringC, ringA, 500))
	fundD := pay(t, issuer, dAcct, 1, 300, usd())
	fundI := pay(t, issuer, iAcct, 2, 100, usd())
	txs2 := []*txn.Tx{ca, fundD, fundI}
	_, res = commit(t, s, l, txs2)
	if got := queueOutcomes(res); !reflect.DeepEqual(got, map[txn.Hash]ledger.QueueOutcome{
		ab.Hash(): ledger.QueueOffset, bc.Hash(): ledger.QueueOffset, ca.Hash(): ledger.QueueOffset,
		de.Hash(): ledger.QueueReleased, ijk.Hash(): ledger.QueueReleased}) {
		t.Fatalf("block 2 queue events %v", got)
	}
	events2 := res.QueueEvents

	// Block 3: D makes its normal payment urgent, then cancels it; G's
	// expires at the end.
	raise := signTx(t, &txn.Tx{Type: txn.TypeQueuePrioritySet, Sender: keys[dAcct].AccountID(), Seq: 3, QueueSeq: 1, Priority: U}, dAcct)
	cancel := signTx(t, &txn.Tx{Type: txn.TypeQueueCancel, Sender: keys[dAcct].AccountID(), Seq: 4, QueueSeq: 1}, dAcct)
	_, res = commit(t, s, l, []*txn.Tx{raise, cancel})
	if res.Receipts[0].Result != codes.Success || res.Receipts[1].Result != codes.Success || len(res.QueueEvents) != 2 ||
		res.QueueEvents[0].Outcome != ledger.QueueCancelled ||
		res.QueueEvents[1].Outcome != ledger.QueueExpired || res.QueueEvents[1].Entry.Hash != gh.Hash() {
		t.Fatalf("block 3: %s, events %v", res.Receipts[0].Result, queueOutcomes(res))
	}
	events3 := res.QueueEvents
	s, l = reload(t, s, dir, g, l)
	if n := len(l.QueuedEntries()); n != 0 {
		t.Fatalf("%d entries still queued", n)
	}

	// Outcome records: how and when each left, with its priority then.
	for _, tc := range []struct {
		name string
		tx   *txn.Tx
		want QueueExit
	}{
		{"ring A", ab, QueueExit{2, ledger.QueueOffset, N}},
		{"ring B", bc, QueueExit{2, ledger.QueueOffset, N}},
		{"ring C", ca, QueueExit{2, ledger.QueueOffset, N}},
		{"urgent released", de, QueueExit{2, ledger.QueueReleased, U}},
		{"multi-leg released", ijk, QueueExit{2, ledger.QueueReleased, U}},
		{"cancelled after a priority change", df, QueueExit{3, ledger.QueueCancelled, U}},
		{"expired", gh, QueueExit{3, ledger.QueueExpired, N}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueueOutcome(tc.tx.Hash())
			if err != nil || got != tc.want {
				t.Errorf("outcome %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := s.QueueOutcome(fundD.Hash()); !errors.Is(err, ErrNotFound) {
		t.Errorf("outcome of a plain payment: %v", err)
	}

	// Each block's queue events, as the commit stream's replay reads them.
	for h, want := range map[uint64][]ledger.QueueEvent{1: nil, 2: events2, 3: events3} {
		rec, err := s.Block(h)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec.QueueEvents, want) {
			t.Errorf("block %d queue events %v, want %v", h, rec.QueueEvents, want)
		}
	}

	// History: the queue's entries (role RoleExpiry, a queue result, fee 0,
	// after the block's transactions) and the queued transactions' own.
	type entry struct {
		height uint64
		index  uint32
		role   Role
		hash   txn.Hash
		result codes.Code
		amount uint64
		cp     int
	}
	index2 := func(h txn.Hash) uint32 { // the event's index in block 2's history
		for k, e := range events2 {
			if e.Entry.Hash == h {
				return uint32(len(txs2) + k)
			}
		}
		t.Fatalf("no event for %s", h)
		return 0
	}
	for _, tc := range []struct {
		name string
		acct int
		want []entry // newest first
	}{
		{"ring member", ringA, []entry{
			{2, index2(ca.Hash()), RoleExpiry, ca.Hash(), codes.QueueOffset, 500, ringC},
			{2, index2(ab.Hash()), RoleExpiry, ab.Hash(), codes.QueueOffset, 500, ringB},
			{1, 0, RoleSender, ab.Hash(), codes.Queued, 500, ringB},
		}},
		{"released receiver", eAcct, []entry{{2, index2(de.Hash()), RoleExpiry, de.Hash(), codes.QueueReleased, 300, dAcct}}},
		{"multi-leg receiver", kAcct, []entry{{2, index2(ijk.Hash()), RoleExpiry, ijk.Hash(), codes.QueueReleased, 60, iAcct}}},
		{"expired sender", gAcct, []entry{
			// Index 2 + 1: the cancel before it is event 0, without an entry of its own.
			{3, 3, RoleExpiry, gh.Hash(), codes.QueueExpired, 100, hAcct},
			{1, 4, RoleSender, gh.Hash(), codes.Queued, 100, hAcct},
		}},
		{"expired receiver", hAcct, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, _, err := s.History(keys[tc.acct].AccountID(), "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %+v", len(es), len(tc.want), es)
			}
			for i, w := range tc.want {
				e := es[i]
				fee := uint64(0)
				if w.role == RoleSender {
					fee = testFee
				}
				if e.Height != w.height || e.Index != w.index || e.Role != w.role || e.Hash != w.hash || e.Result != w.result ||
					e.Amount != w.amount || e.Asset != usd() || e.Fee != fee || e.Counterparty != keys[w.cp].AccountID() {
					t.Errorf("entry %d: %+v, want %+v", i, e, w)
				}
				if IsQueueResult(e.Result) != (w.role == RoleExpiry) {
					t.Errorf("entry %d: IsQueueResult(%s) = %v", i, e.Result, IsQueueResult(e.Result))
				}
			}
		})
	}

	// The report splits what settled at once from what the queue released or
	// offset.
	rep, err := s.Report(1, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	type split struct{ credited, debited, relC, relD, offC, offD int64 }
	want := map[int]split{
		issuer: {0, 400, 0, 0, 0, 0},
		ringA:  {500, 500, 0, 0, 500, 500},
		ringB:  {500, 500, 0, 0, 500, 500},
		ringC:  {500, 500, 0, 0, 500, 500},
		dAcct:  {300, 300, 0, 300, 0, 0},
		eAcct:  {300, 0, 300, 0, 0, 0},
		iAcct:  {100, 100, 0, 100, 0, 0},
		jAcct:  {40, 0, 40, 0, 0, 0},
		kAcct:  {60, 0, 60, 0, 0, 0},
	}
	got := map[int]split{}
	for _, p := range rep.Positions {
		if p.Asset != usd() {
			t.Errorf("a %s row: %+v", p.Asset, p)
			continue
		}
		acct := -1
		for i := range keys {
			if keys[i].AccountID() == p.Account {
				acct = i
			}
		}
		i64 := func(b *big.Int) int64 { return b.Int64() }
		got[acct] = split{i64(p.Credited), i64(p.Debited), i64(p.ReleasedCredited), i64(p.ReleasedDebited), i64(p.OffsetCredited), i64(p.OffsetDebited)}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report\n got %+v\nwant %+v", got, want)
	}
	if m, err := s.Replay(g); err != nil || m != l.Meta() {
		t.Fatalf("replay: %v (%+v, want %+v)", err, m, l.Meta())
	}
}

func queueOutcomes(res *ledger.BlockResult) map[txn.Hash]ledger.QueueOutcome {
	out := map[txn.Hash]ledger.QueueOutcome{}
	for _, e := range res.QueueEvents {
		out[e.Entry.Hash] = e.Outcome
	}
	return out
}

// TestQueueEventsRecord: the u/ record round-trips, and every truncation or
// corrupt count fails with an error naming the block; none panics.
func TestQueueEventsRecord(t *testing.T) {
	e1 := &ledger.Queued{ID: ledger.QueueID{Sender: keys[1].AccountID(), Seq: 7}, Hash: txn.Hash{1}, Priority: txn.PriorityUrgent,
		Height: 3, Index: 2, Until: 90, Legs: []txn.Leg{leg(1, 2, 5)}}
	e2 := &ledger.Queued{ID: ledger.QueueID{Sender: keys[3].AccountID(), Seq: 1}, Hash: txn.Hash{2}, Priority: txn.PriorityNormal,
		Height: 4, Index: 0, Until: 91, Legs: []txn.Leg{leg(3, 4, 6), {From: keys[3].AccountID(), To: keys[5].AccountID(), Asset: txn.Native, Amount: 9}}}
	evs := []ledger.QueueEvent{{Entry: e1, Outcome: ledger.QueueReleased}, {Entry: e2, Outcome: ledger.QueueExpired}}
	good := appendQueueEvents(nil, evs)
	got, err := decodeQueueEvents(5, good)
	if err != nil || !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for n := 0; n < len(good); n++ {
		if _, err := decodeQueueEvents(5, good[:n]); err == nil {
			t.Errorf("a record truncated to %d of %d bytes decoded", n, len(good))
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(b []byte)
	}{
		{"huge count", func(b []byte) { b[0] = 0xff }},
		{"count one more", func(b []byte) { b[3]++ }},
		{"bad outcome", func(b []byte) { b[4] = 9 }},
		{"record length", func(b []byte) { b[4+1+ledger.QueueIDLen] = 0xff }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			tc.mutate(b)
			if _, err := decodeQueueEvents(5, b); err == nil {
				t.Error("decoded")
			}
		})
	}
	if _, err := decodeQueueEvents(5, append(good, 0)); err == nil {
		t.Error("a record with a trailing byte decoded")
	}
}
