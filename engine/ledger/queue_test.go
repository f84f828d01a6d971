package ledger_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Queue fixture: demo account 0 issues USD; 1-5 hold USD lines (empty at
// genesis). Gridlock resolution runs every block unless a case says otherwise.
func queueGenesis(every uint64) *ledger.Genesis {
	g := genesis(6, testNative)
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: every}
	return g
}

func queued(from, to int, amount uint64, prio uint8) step {
	return step{from: from, build: func(tx *txn.Tx) {
		tx.Type, tx.Dest, tx.Asset, tx.Amount = txn.TypeQueuedPayment, id(to), usd(), amount
		tx.Priority, tx.QueueUntil = prio, noExpiry
	}}
}

func queuedUntil(from, to int, amount uint64, until uint64) step {
	s := queued(from, to, amount, txn.PriorityNormal)
	b := s.build
	s.build = func(tx *txn.Tx) { b(tx); tx.LastValid, tx.QueueUntil = until, until }
	return s
}

func queueCancel(from int, seq uint64) step {
	return step{from: from, build: func(tx *txn.Tx) { tx.Type, tx.QueueSeq = txn.TypeQueueCancel, seq }}
}

func queuePriority(from int, seq uint64, prio uint8) step {
	return step{from: from, build: func(tx *txn.Tx) { tx.Type, tx.QueueSeq, tx.Priority = txn.TypeQueuePrioritySet, seq, prio }}
}

// block executes steps as one block, each sender's in order with consecutive
// sequences, and returns the result (invariants checked).
func block(t *testing.T, l *ledger.Ledger, steps ...step) *ledger.BlockResult {
	t.Helper()
	next := map[int]uint64{}
	var txs []*txn.Tx
	for _, s := range steps {
		seq, ok := next[s.from]
		if !ok {
			seq = 1
			if a, ok := l.Account(id(s.from)); ok {
				seq = a.Seq
			}
		}
		next[s.from] = seq + 1
		tx := &txn.Tx{ChainID: testChain, Sender: id(s.from), Seq: seq, Fee: testBaseFee, LastValid: noExpiry}
		s.build(tx)
		keys := s.keys
		if keys == nil {
			keys = []txn.Key{key(s.from)}
		}
		if err := txn.Sign(tx, keys...); err != nil {
			t.Fatalf("sign %s: %v", tx.Type, err)
		}
		txs = append(txs, tx)
	}
	return execApply(t, l, txs)
}

func results(res *ledger.BlockResult) []codes.Code {
	out := make([]codes.Code, len(res.Receipts))
	for i, r := range res.Receipts {
		out[i] = r.Result
	}
	return out
}

// events renders the queue events as "sender:seq outcome".
func events(res *ledger.BlockResult) []string {
	var out []string
	for _, e := range res.QueueEvents {
		out = append(out, fmt.Sprintf("%s:%d %s", name(e.Entry.ID.Sender), e.Entry.ID.Seq, e.Outcome))
	}
	return out
}

func name(a txn.AccountID) string {
	for i := 0; i < 8; i++ {
		if id(i) == a {
			return fmt.Sprint(i)
		}
	}
	return a.String()
}

func queueLen(l *ledger.Ledger, i int) int { return len(l.Queue(id(i))) }

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueRules walks the queue's rules block by block: each block's
// receipts, its queue events and the USD balances after it.
func TestQueueRules(t *testing.T) {
	U, N := txn.PriorityUrgent, txn.PriorityNormal
	type blk struct {
		steps   []step
		results []codes.Code
		events  []string
		usd     map[int]uint64 // balances after the block
	}
	tests := []struct {
		name   string
		every  uint64 // gridlock_every_blocks
		blocks []blk
	}{
		{name: "settles at once when funds allow", blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 100)}},
			{steps: []step{queued(1, 2, 60, N)}, results: []codes.Code{codes.Success}, usd: map[int]uint64{1: 40, 2: 60}},
		}},
		{name: "queues when short, releases when funds arrive", blocks: []blk{
			{steps: []step{queued(1, 2, 60, N)}, results: []codes.Code{codes.Queued}, usd: map[int]uint64{1: 0, 2: 0}},
			{steps: []step{pay(0, 1, usd(), 50)}, usd: map[int]uint64{1: 50, 2: 0}},
			{steps: []step{pay(0, 1, usd(), 10)}, events: []string{"1:1 released"}, usd: map[int]uint64{1: 0, 2: 60}},
		}},
		{name: "a release cascades to the receiver's queue", every: 0, blocks: []blk{
			{steps: []step{queued(1, 2, 60, N), queued(2, 3, 60, N)}, results: []codes.Code{codes.Queued, codes.Queued}},
			{steps: []step{pay(0, 1, usd(), 60)}, events: []string{"1:1 released", "2:1 released"}, usd: map[int]uint64{1: 0, 2: 0, 3: 60}},
		}},
		{name: "urgent entries settle in strict FIFO order and hold back normal ones", blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 50)}},
			{steps: []step{queued(1, 2, 100, U), queued(1, 2, 10, U), queued(1, 3, 10, N)},
				results: []codes.Code{codes.Queued, codes.Queued, codes.Queued}, usd: map[int]uint64{1: 50}},
			{steps: []step{pay(0, 1, usd(), 10)}, usd: map[int]uint64{1: 60, 2: 0, 3: 0}}, // 10 + 10 would fit, but FIFO
			{steps: []step{pay(0, 1, usd(), 60)}, events: []string{"1:1 released", "1:2 released", "1:3 released"},
				usd: map[int]uint64{1: 0, 2: 110, 3: 10}},
		}},
		{name: "normal entries by-pass earlier normal ones", blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 50)}},
			{steps: []step{queued(1, 2, 100, N), queued(1, 3, 10, N)}, results: []codes.Code{codes.Queued, codes.Success},
				usd: map[int]uint64{1: 40, 3: 10}},
		}},
		{name: "plain payments do not queue", blocks: []blk{
			{steps: []step{pay(1, 2, usd(), 5)}, results: []codes.Code{codes.InsufficientFunds}},
		}},
		{name: "a transfer that cannot settle for another reason fails", blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 50), queued(1, 6, 10, N)}, results: []codes.Code{codes.Success, codes.NoDestination}},
		}},
		{name: "gridlock: a ring with no liquidity settles by offsetting", every: 1, blocks: []blk{
			{steps: []step{queued(1, 2, 100, N), queued(2, 3, 100, N), queued(3, 1, 100, U)},
				results: []codes.Code{codes.Queued, codes.Queued, codes.Queued},
				events:  []string{"3:1 offset", "1:1 offset", "2:1 offset"}, usd: map[int]uint64{1: 0, 2: 0, 3: 0}},
		}},
		{name: "gridlock off: the ring waits", every: 0, blocks: []blk{
			{steps: []step{queued(1, 2, 100, N), queued(2, 3, 100, N), queued(3, 1, 100, N)},
				results: []codes.Code{codes.Queued, codes.Queued, codes.Queued}},
			{steps: []step{noop(4)}},
		}},
		{name: "gridlock: partial optimisation drops the uncovered payment", every: 1, blocks: []blk{
			{steps: []step{pay(0, 2, usd(), 30)}},
			// 2 cannot cover 1→2 100 against 2→1 100 and 2→3 500; without 2→3 the pair offsets.
			{steps: []step{queued(1, 2, 100, N), queued(2, 1, 100, N), queued(2, 3, 500, N)},
				results: []codes.Code{codes.Queued, codes.Queued, codes.Queued},
				events:  []string{"1:1 offset", "2:1 offset"}, usd: map[int]uint64{1: 0, 2: 30, 3: 0}},
		}},
		{name: "gridlock: net positions use the balance", every: 1, blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 20)}},
			{steps: []step{queued(2, 1, 100, N), queued(1, 2, 120, N)}, results: []codes.Code{codes.Queued, codes.Queued},
				events: []string{"2:1 offset", "1:1 offset"}, usd: map[int]uint64{1: 0, 2: 20}},
		}},
		{name: "the worked example of docs/ledger.md", every: 1, blocks: []blk{
			{steps: []step{pay(0, 1, usd(), 20), pay(0, 3, usd(), 10)}},
			{steps: []step{queued(1, 2, 100, N), queued(2, 3, 80, U), queued(3, 1, 90, N), queued(2, 1, 500, N)},
				results: []codes.Code{codes.Queued, codes.Queued, codes.Queued, codes.Queued},
				events:  []string{"2:1 offset", "1:1 offset", "3:1 offset"}, usd: map[int]uint64{1: 10, 2: 20, 3: 0}},
		}},
		{name: "gridlock: a frozen line's entries stay out", every: 1, blocks: []blk{
			{steps: []step{queued(1, 2, 100, N), queued(2, 1, 100, N), queued(3, 4, 50, N), queued(4, 3, 50, N),
				assetSet(3, txn.LineFlagFrozen, 0)},
				events: []string{"1:1 offset", "2:1 offset"}},
		}},
		{name: "cancel and priority changes", every: 0, blocks: []blk{
			{steps: []step{queued(1, 2, 100, N), queued(1, 3, 10, N)}, results: []codes.Code{codes.Queued, codes.Queued}},
			{steps: []step{queuePriority(1, 2, U), queueCancel(1, 1), queueCancel(1, 1)},
				results: []codes.Code{codes.Success, codes.Success, codes.QueueNotFound}, events: []string{"1:1 cancelled"}},
			{steps: []step{queued(1, 2, 5, N)}, results: []codes.Code{codes.Queued}}, // behind the urgent 10
			{steps: []step{pay(0, 1, usd(), 12)}, events: []string{"1:2 released"}, usd: map[int]uint64{1: 2, 3: 10}},
			{steps: []step{pay(0, 1, usd(), 3)}, events: []string{"1:6 released"}, usd: map[int]uint64{1: 0, 2: 5}},
		}},
		{name: "entries expire at the end of their queue_until block", every: 0, blocks: []blk{
			{steps: []step{queuedUntil(1, 2, 100, 2)}, results: []codes.Code{codes.Queued}},
			{steps: []step{noop(4)}, events: []string{"1:1 expired"}},
			{steps: []step{pay(0, 1, usd(), 100)}, usd: map[int]uint64{1: 100, 2: 0}},
		}},
		{name: "an entry due this very block may still settle in it", every: 0, blocks: []blk{
			{steps: []step{queuedUntil(1, 2, 100, 1), pay(0, 1, usd(), 100)}, results: []codes.Code{codes.Queued, codes.Success},
				events: []string{"1:1 released"}, usd: map[int]uint64{2: 100}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, queueGenesis(tc.every))
			for i, b := range tc.blocks {
				res := block(t, l, b.steps...)
				if b.results != nil && !equal(results(res), b.results) {
					t.Fatalf("block %d: results %v, want %v", i+1, results(res), b.results)
				}
				if !equal(events(res), b.events) {
					t.Fatalf("block %d: queue events %q, want %q", i+1, events(res), b.events)
				}
				for acct, want := range b.usd {
					a := account(t, l, id(acct))
					if got := a.Balance(usd()); got != want {
						t.Fatalf("block %d: account %d holds %d USD, want %d", i+1, acct, got, want)
					}
				}
			}
		})
	}
}

// TestQueueEntryIsListed: a queued entry is visible with its terms, and the
// statistics count it.
func TestQueueEntryIsListed(t *testing.T) {
	l := newLedger(t, queueGenesis(0))
	res := block(t, l, queued(1, 2, 100, txn.PriorityUrgent))
	q := l.Queue(id(1))
	if len(q) != 1 || q[0].Hash != res.Receipts[0].Hash || q[0].Height != 1 || q[0].Priority != txn.PriorityUrgent || q[0].Legs[0].Amount != 100 {
		t.Fatalf("queue of 1: %+v", q)
	}
	if a := account(t, l, id(1)); a.Seq != 2 || a.Native != testNative-testBaseFee {
		t.Errorf("a queued payment consumes the sequence and the fee: seq %d native %d", a.Seq, a.Native)
	}
	st := l.QueueStats()
	if st.Entries != 1 || st.Urgent != 1 || st.Value != 100 || st.OldestAt != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestQueuedMultiLeg: a queued multi-leg transfer settles all its legs or
// none, and its co-signed source is authorised when it is queued.
func TestQueuedMultiLeg(t *testing.T) {
	l := newLedger(t, queueGenesis(0))
	ml := func(keys ...txn.Key) step {
		return step{from: 1, keys: keys, build: func(tx *txn.Tx) {
			tx.Type, tx.Priority, tx.QueueUntil = txn.TypeQueuedMultiLeg, txn.PriorityNormal, noExpiry
			tx.Legs = []txn.Leg{leg(1, 2, usd(), 40), leg(3, 1, usd(), 40)}
		}}
	}
	block(t, l, pay(0, 1, usd(), 40))
	if r := block(t, l, ml(key(1))); r.Receipts[0].Result != codes.NotAuthorized || r.Receipts[0].Leg != 2 {
		t.Fatalf("without 3's signature: %s leg %d", r.Receipts[0].Result, r.Receipts[0].Leg)
	}
	if r := block(t, l, ml(key(1), key(3))); r.Receipts[0].Result != codes.Queued {
		t.Fatalf("3 holds nothing: %s", r.Receipts[0].Result)
	}
	wantUSD(t, l, 1, 40) // the first leg did not move alone
	res := block(t, l, pay(0, 3, usd(), 40))
	if !equal(events(res), []string{"1:2 released"}) {
		t.Fatalf("events %q", events(res))
	}
	wantUSD(t, l, 1, 40)
	wantUSD(t, l, 2, 40)
	wantUSD(t, l, 3, 0)
}

// TestQueueBounds: a sender holds at most QueuedPerAccountMax entries.
func TestQueueBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 10,001 transactions")
	}
	l := newLedger(t, queueGenesis(0))
	steps := make([]step, ledger.QueuedPerAccountMax+1)
	for i := range steps {
		steps[i] = queued(1, 2, 1, txn.PriorityNormal)
	}
	res := block(t, l, steps...)
	for i, r := range res.Receipts[:ledger.QueuedPerAccountMax] {
		if r.Result != codes.Queued {
			t.Fatalf("entry %d: %s", i, r.Result)
		}
	}
	if r := res.Receipts[ledger.QueuedPerAccountMax]; r.Result != codes.TooManyEntries || !r.Applied() {
		t.Fatalf("entry past the bound: %s", r.Result)
	}
	if n := queueLen(l, 1); n != ledger.QueuedPerAccountMax {
		t.Fatalf("queue holds %d", n)
	}
}

// TestQueueRestore: a ledger restored from its stored state (accounts,
// assets, queued entries) has the same state root and goes on identically.
func TestQueueRestore(t *testing.T) {
	g := queueGenesis(1)
	l := newLedger(t, g)
	block(t, l, pay(0, 1, usd(), 10), queued(1, 2, 100, txn.PriorityNormal), queued(2, 3, 50, txn.PriorityUrgent))
	var accounts []*ledger.Account
	l.Accounts(func(a *ledger.Account) { c := *a; accounts = append(accounts, &c) })
	var assets []*ledger.AssetInfo
	for _, a := range l.Assets() {
		a := a
		assets = append(assets, &a)
	}
	r := ledger.RestoreState(g, l.Meta(), accounts, assets, nil, l.QueuedEntries())
	if err := r.CheckStateRoot(); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	a := block(t, l, pay(0, 2, usd(), 100))
	b := block(t, r, pay(0, 2, usd(), 100))
	if a.Meta.StateHash != b.Meta.StateHash || !equal(events(a), events(b)) {
		t.Fatalf("restored ledger diverges: %q vs %q", events(a), events(b))
	}
}

// TestQueueEncoding round-trips a queued entry's record.
func TestQueueEncoding(t *testing.T) {
	q := &ledger.Queued{ID: ledger.QueueID{Sender: id(1), Seq: 7}, Priority: txn.PriorityUrgent, Height: 9, Index: 3, Until: 100,
		Legs: []txn.Leg{leg(1, 2, usd(), 5), leg(3, 1, txn.Native, 6)}}
	q.Hash[0] = 1
	b := q.AppendBinary(nil)
	got, err := ledger.DecodeQueued(q.ID, b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*got) != fmt.Sprint(*q) {
		t.Fatalf("round trip: %+v, want %+v", got, q)
	}
	for _, cut := range []int{0, 10, len(b) - 1} {
		if _, err := ledger.DecodeQueued(q.ID, b[:cut]); err == nil {
			t.Errorf("truncated at %d: decoded", cut)
		}
	}
}

// TestGridlockBounds: a resolution considers only the first
// gridlock_entries_max entries in queue order and gives up after
// gridlock_rounds_max passes of partial optimisation.
func TestGridlockBounds(t *testing.T) {
	ring := []step{queued(1, 2, 100, txn.PriorityNormal), queued(2, 3, 100, txn.PriorityNormal), queued(3, 1, 100, txn.PriorityNormal)}
	tests := []struct {
		name    string
		q       ledger.GenesisQueue
		steps   []step
		settled int
	}{
		{"the whole ring within the bound", ledger.GenesisQueue{GridlockEveryBlocks: 1, GridlockEntriesMax: 3}, ring, 3},
		{"the ring cut by the bound", ledger.GenesisQueue{GridlockEveryBlocks: 1, GridlockEntriesMax: 2}, ring, 0},
		// 4→5 cannot be covered: one pass removes it, a second finds the ring covered.
		{"two passes allowed", ledger.GenesisQueue{GridlockEveryBlocks: 1, GridlockRoundsMax: 2},
			append(append([]step(nil), ring...), queued(4, 5, 100, txn.PriorityNormal)), 3},
		{"one pass is not enough", ledger.GenesisQueue{GridlockEveryBlocks: 1, GridlockRoundsMax: 1},
			append(append([]step(nil), ring...), queued(4, 5, 100, txn.PriorityNormal)), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := genesis(6, testNative)
			g.Queue = &tc.q
			l := newLedger(t, g)
			res := block(t, l, tc.steps...)
			if len(res.QueueEvents) != tc.settled {
				t.Fatalf("settled %q, want %d entries", events(res), tc.settled)
			}
		})
	}
}

func TestGenesisQueueValidation(t *testing.T) {
	for _, q := range []ledger.GenesisQueue{{GridlockEntriesMax: -1}, {GridlockRoundsMax: 1001}, {ReleaseAttemptsMax: 2_000_000},
		{GridlockEveryBlocks: 2_000_000}, {ExpiriesMax: -1}} {
		g := genesis(2, testNative)
		g.Queue = &q
		if err := g.Validate(); err == nil {
			t.Errorf("queue %+v accepted", q)
		}
	}
	// A genesis without queue settings encodes as before the queue existed, so
	// its hash (and every existing network's identity) is unchanged; settings
	// are consensus-critical, so they change it.
	g := genesis(2, testNative)
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"queue"`) {
		t.Errorf("a genesis without queue settings encodes them: %s", b)
	}
	h := g.Hash()
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: ledger.GridlockEveryBlocksDefault}
	if g.Hash() == h {
		t.Error("queue settings leave the genesis hash unchanged")
	}
}

// TestReleaseBudget: release tries at most release_attempts_max entries a
// block; the rest wait for the next block that touches their sender.
func TestReleaseBudget(t *testing.T) {
	g := genesis(6, testNative)
	g.Queue = &ledger.GenesisQueue{ReleaseAttemptsMax: 2}
	l := newLedger(t, g)
	N := txn.PriorityNormal
	block(t, l, queued(1, 2, 10, N), queued(1, 3, 10, N), queued(1, 4, 10, N))
	if res := block(t, l, pay(0, 1, usd(), 30)); !equal(events(res), []string{"1:1 released", "1:2 released"}) {
		t.Fatalf("first block: %q", events(res))
	}
	if res := block(t, l, noop(5)); len(res.QueueEvents) != 0 {
		t.Fatalf("a block that does not touch the sender released %q", events(res))
	}
	if res := block(t, l, pay(0, 1, usd(), 1)); !equal(events(res), []string{"1:3 released"}) {
		t.Fatalf("next block touching the sender: %q", events(res))
	}
}

// TestQueueExpiryBound: a block removes at most expiries_max entries on
// expiry; the rest leave in the next blocks and meanwhile never settle, by
// release or by offsetting.
func TestQueueExpiryBound(t *testing.T) {
	g := genesis(6, testNative)
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 3, ExpiriesMax: 1}
	l := newLedger(t, g)
	block(t, l, queuedUntil(1, 2, 100, 2), queuedUntil(2, 1, 100, 2), queuedUntil(3, 4, 100, 2))
	if res := block(t, l, noop(5)); !equal(events(res), []string{"1:1 expired"}) {
		t.Fatalf("block 2: %q", events(res))
	}
	// Block 3 runs gridlock resolution and funds 3: the lapsed 2→1 and 3→4
	// must neither offset nor release.
	if res := block(t, l, pay(0, 3, usd(), 100)); !equal(events(res), []string{"2:1 expired"}) {
		t.Fatalf("block 3: %q", events(res))
	}
	if res := block(t, l, pay(0, 3, usd(), 1)); !equal(events(res), []string{"3:1 expired"}) {
		t.Fatalf("block 4: %q", events(res))
	}
	wantUSD(t, l, 3, 101)
	wantUSD(t, l, 4, 0)
	if st := l.QueueStats(); st.Entries != 0 {
		t.Fatalf("%d entries left", st.Entries)
	}
}

// TestReleaseFairness: a sender whose queue holds many payments it cannot
// fund does not use up the block's release budget: another sender's payment
// still settles when its funds arrive in the same block.
func TestReleaseFairness(t *testing.T) {
	g := genesis(6, testNative)
	g.Queue = &ledger.GenesisQueue{ReleaseAttemptsMax: 100}
	l := newLedger(t, g)
	var steps []step
	for range 200 {
		steps = append(steps, queued(1, 2, 1_000, txn.PriorityNormal))
	}
	steps = append(steps, queued(3, 4, 10, txn.PriorityNormal))
	block(t, l, steps...)
	// 1's 200 entries are older; 1 is funded but for none of them, 3 for its one.
	res := block(t, l, pay(0, 1, usd(), 5), pay(0, 3, usd(), 10))
	if !equal(events(res), []string{"3:1 released"}) {
		t.Fatalf("events %q: 3's payment should release despite 1's older queue", events(res))
	}
}
