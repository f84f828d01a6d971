package sim

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"testing"

	"settle/consensus/hotstuff"
	"settle/engine/ledger"
	"settle/engine/txn"
)

var flagLedgerSeeds = flag.Int("ledger-seeds", 50, "number of simulator seeds TestSimLedgerSeeds runs with the real ledger")

func newTestLedgerApp(t testing.TB) *LedgerApp {
	t.Helper()
	app, err := NewLedgerApp(LedgerAppOptions{PoolSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestSimLedgerSeeds runs seeded scenarios (faults, Byzantine nodes) with every
// replica executing the real ledger: the cluster checks safety, equal state
// hashes at equal heights and the ledger invariants after every commit; this test
// also checks that payments really execute and that honest replicas refuse the
// blocks with bad signatures through sigverify.
func TestSimLedgerSeeds(t *testing.T) {
	app := newTestLedgerApp(t)
	seeds := make([]int64, 0, *flagLedgerSeeds)
	if *flagSeed >= 0 {
		seeds = append(seeds, *flagSeed)
	} else {
		for s := int64(1); s <= int64(*flagLedgerSeeds); s++ {
			seeds = append(seeds, s)
		}
	}
	var total LedgerStats
	var badPayloadRuns int
	var badSigs uint64
	for _, seed := range seeds {
		sc := NewScenario(seed)
		sc.Configure = app.Configure
		var log func(string)
		if *flagSeed >= 0 && testing.Verbose() {
			log = func(l string) { t.Log(l) }
		}
		reproduce := "reproduce: go test ./consensus/sim -run TestSimLedgerSeeds -seed=%d -v"
		c, err := sc.Run(log)
		if err != nil {
			t.Fatalf("%v\n%s\n"+reproduce, err, sc, seed)
		}
		if err := checkLedgerReplicas(c); err != nil {
			t.Fatalf("%v\n%s\n"+reproduce, err, sc, seed)
		}
		for _, n := range c.Nodes {
			st := n.exec.(*LedgerExecutor).Stats()
			badSigs += st.BadSigs
			if !n.Honest() {
				continue
			}
			if st.Refused != 0 {
				t.Fatalf("%s executed %d committed payloads that fail validation\n%s\n"+reproduce, n.Name, st.Refused, sc, seed)
			}
			total.Blocks += st.Blocks
			total.Txs += st.Txs
			total.Succeeded += st.Succeeded
			total.Recoveries += st.Recoveries
		}
		for _, b := range sc.Byzantine {
			if b&BadPayload != 0 {
				badPayloadRuns++
			}
		}
		if *flagSeed >= 0 {
			t.Logf("%s: ok at tick %d, heights %v", sc, c.Net.Now, heights(c))
		}
	}
	t.Logf("%d seeds, honest replicas: %d blocks, %d txs, %d succeeded, %d recoveries; %d bad-signature payloads refused",
		len(seeds), total.Blocks, total.Txs, total.Succeeded, total.Recoveries, badSigs)
	if total.Txs == 0 {
		t.Fatal("no transaction was executed")
	}
	if total.Succeeded*10 < total.Txs*9 {
		t.Fatalf("only %d of %d transactions succeeded", total.Succeeded, total.Txs)
	}
	if badPayloadRuns > 0 && badSigs == 0 {
		t.Fatalf("%d runs had a bad-payload leader but no signature was refused", badPayloadRuns)
	}
}

var flagQueueSeeds = flag.Int("queue-seeds", 16, "number of simulator seeds TestSimLedgerQueueSeeds runs")

// TestSimLedgerQueueSeeds runs the seeded fault scenarios with the RTGS queue
// workload: queued payments that wait, are released and are offset by
// gridlock resolution on every replica, under crashes, restarts, partitions
// and Byzantine members. The cluster checks equal state hashes at equal
// heights and the ledger invariants (balances, supply, the queue's indexes)
// after every commit; every submitted transaction must commit (Drain).
func TestSimLedgerQueueSeeds(t *testing.T) {
	app, err := NewLedgerApp(LedgerAppOptions{PoolSeed: 7, Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	var total LedgerStats
	for seed := int64(1); seed <= int64(*flagQueueSeeds); seed++ {
		sc := NewScenario(seed)
		sc.Configure = app.Configure
		c, err := sc.Run(nil)
		if err != nil {
			t.Fatalf("%v\n%s\nreproduce: go test ./consensus/sim -run TestSimLedgerQueueSeeds -queue-seeds=%d", err, sc, seed)
		}
		if err := checkLedgerReplicas(c); err != nil {
			t.Fatalf("%v\n%s", err, sc)
		}
		for _, n := range c.Nodes {
			if !n.Honest() {
				continue
			}
			st := n.exec.(*LedgerExecutor).Stats()
			total.Txs += st.Txs
			total.Queued += st.Queued
			total.Released += st.Released
			total.Offset += st.Offset
			total.Recoveries += st.Recoveries
		}
	}
	t.Logf("%d seeds, honest replicas: %d txs, %d queued, %d released, %d offset, %d recoveries",
		*flagQueueSeeds, total.Txs, total.Queued, total.Released, total.Offset, total.Recoveries)
	if total.Queued == 0 || total.Released == 0 || total.Offset == 0 || total.Recoveries == 0 {
		t.Fatalf("the workload did not exercise the queue under restarts: %+v", total)
	}
}

// checkLedgerReplicas compares every replica's final ledger with the states the
// honest replicas committed.
func checkLedgerReplicas(c *Cluster) error {
	for _, n := range c.Nodes {
		e := n.exec.(*LedgerExecutor)
		meta := e.Ledger().Meta()
		if meta.Height != n.executedHeight {
			return fmt.Errorf("%s: ledger at height %d, executed %d", n.Name, meta.Height, n.executedHeight)
		}
		if !n.Honest() || meta.Height == 0 {
			continue
		}
		if want := c.states[meta.Height]; hotstuff.Hash(meta.StateHash) != want {
			return fmt.Errorf("%s: final state %x at height %d, cluster recorded %s", n.Name, meta.StateHash[:4], meta.Height, want)
		}
		if err := e.CheckInvariants(); err != nil {
			return err
		}
	}
	return nil
}

// TestLedgerRestartEquivalence runs an honest cluster in which one replica
// crashes and restarts mid-way, then checks that executing the committed stream
// straight through, with a restart (Recover) in the middle, and with a restart
// after every block all give the same state hash at every height, equal to the
// cluster's.
func TestLedgerRestartEquivalence(t *testing.T) {
	t.Run("payments", func(t *testing.T) { testRestartEquivalence(t, newTestLedgerApp(t)) })
	t.Run("queue", func(t *testing.T) {
		app, err := NewLedgerApp(LedgerAppOptions{PoolSeed: 1, Queue: true})
		if err != nil {
			t.Fatal(err)
		}
		testRestartEquivalence(t, app)
	})
}

func testRestartEquivalence(t *testing.T, app *LedgerApp) {
	opts := Options{Validators: 4, ViewTimeoutTicks: 8, ViewTimeoutTicksMax: 64}
	app.Configure(&opts)
	c, err := NewCluster(opts, rand.New(rand.NewSource(42)))
	if err != nil {
		t.Fatal(err)
	}
	c.Net.DelayMax = 2
	victim := c.Nodes[1]
	for c.Net.Now < 300 && c.Violation == nil {
		switch c.Net.Now {
		case 100:
			c.Crash(victim)
		case 160:
			if err := c.Restart(victim, false); err != nil {
				t.Fatal(err)
			}
		}
		c.step()
	}
	if c.Violation != nil {
		t.Fatal(c.Violation)
	}
	if err := checkLedgerReplicas(c); err != nil {
		t.Fatal(err)
	}
	if st := victim.exec.(*LedgerExecutor).Stats(); st.Recoveries != 1 {
		t.Fatalf("victim recovered %d times, want 1", st.Recoveries)
	}
	if st := c.Nodes[0].exec.(*LedgerExecutor).Stats(); app.opts.Queue && (st.Queued == 0 || st.Released+st.Offset == 0) {
		t.Fatalf("the queue workload queued %d and settled %d released, %d offset: the replay would not cover the queue", st.Queued, st.Released, st.Offset)
	}
	stream := committedPayloads(t, c.Nodes[0])
	if len(stream) < 10 {
		t.Fatalf("only %d blocks committed", len(stream))
	}
	if h := victim.executedHeight; h < 10 || c.states[h] != hotstuff.Hash(victim.exec.(*LedgerExecutor).StateHash()) {
		t.Fatalf("victim at height %d has state %x, cluster %s", h, victim.exec.(*LedgerExecutor).StateHash(), c.states[h])
	}

	straight := replay(t, app.Genesis(), stream, func(uint64) bool { return false })
	midway := replay(t, app.Genesis(), stream, func(h uint64) bool { return h == uint64(len(stream)/2) })
	always := replay(t, app.Genesis(), stream, func(uint64) bool { return true })
	var txs int
	for i := range stream {
		h := uint64(i + 1)
		if straight[i] != midway[i] || straight[i] != always[i] {
			t.Fatalf("height %d: straight %x, restarted mid-way %x, restarted every block %x", h, straight[i][:4], midway[i][:4], always[i][:4])
		}
		if straight[i] != [32]byte(c.states[h]) {
			t.Fatalf("height %d: replay %x, cluster %s", h, straight[i][:4], c.states[h])
		}
		parsed, err := txn.DecodeBatch(stream[i])
		if err != nil {
			t.Fatal(err)
		}
		txs += len(parsed)
	}
	if txs == 0 {
		t.Fatal("the committed stream holds no transactions")
	}
	t.Logf("%d blocks, %d txs: equal state hashes with and without restarts", len(stream), txs)
}

// replay executes stream on a fresh executor, restarting it after the blocks for
// which restartAfter is true, and returns the state hash after each block.
func replay(t *testing.T, g *ledger.Genesis, stream [][]byte, restartAfter func(height uint64) bool) [][32]byte {
	t.Helper()
	e, err := NewLedgerExecutor(g)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][32]byte, len(stream))
	for i, p := range stream {
		h := uint64(i + 1)
		out[i] = e.Execute(&hotstuff.Block{Height: h, Payload: p})
		if err := e.CheckInvariants(); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		if restartAfter(h) {
			if err := e.Recover(); err != nil {
				t.Fatal(err)
			}
			if e.StateHash() != out[i] {
				t.Fatalf("height %d: recovered state %x, before %x", h, e.StateHash(), out[i])
			}
		}
	}
	return out
}

// committedPayloads walks n's committed chain back from its root.
func committedPayloads(t *testing.T, n *Node) [][]byte {
	t.Helper()
	b := n.disk.root
	if b == nil {
		t.Fatalf("%s committed nothing", n.Name)
	}
	out := make([][]byte, b.Height)
	for {
		out[b.Height-1] = b.Payload
		if b.Height == 1 {
			return out
		}
		var ok bool
		if b, ok = n.disk.blocks[b.Parent]; !ok {
			t.Fatalf("%s: committed block at height %d missing from disk", n.Name, b.Height-1)
		}
	}
}

// TestLedgerValidatePayload checks the vote-time rule on good, tampered and
// malformed payloads, and that an undecodable committed payload runs as an empty
// block on every replica alike.
func TestLedgerValidatePayload(t *testing.T) {
	app := newTestLedgerApp(t)
	good := txn.EncodeBatch([][]byte{app.signed(1, 1), app.signed(2, 1)})
	sigTampered := append([]byte(nil), app.signed(3, 1)...)
	sigTampered[len(sigTampered)-txn.SignatureSize+3] ^= 0x40
	bodyTampered := append([]byte(nil), app.signed(3, 1)...)
	bodyTampered[len(bodyTampered)-2-(1+txn.PublicKeySize+txn.SignatureSize)] ^= 0x10
	cases := []struct {
		name    string
		payload []byte
		wantErr error // nil: valid; errAny: any error
	}{
		{"good", good, nil},
		{"empty", nil, nil},
		{"bad signature", txn.EncodeBatch([][]byte{app.signed(1, 1), sigTampered}), ErrBadSignature},
		{"tampered body", txn.EncodeBatch([][]byte{bodyTampered}), ErrBadSignature},
		{"not a batch", []byte("equivocated-x"), errAny},
		{"truncated", good[:len(good)-1], errAny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := app.NewExecutor().(*LedgerExecutor)
			err := e.ValidatePayload(tc.payload)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr == ErrBadSignature && !errors.Is(err, ErrBadSignature):
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			// Executing it anyway (a replica that skipped the check) is deterministic.
			other := app.NewExecutor().(*LedgerExecutor)
			if h1, h2 := e.Execute(&hotstuff.Block{Height: 1, Payload: tc.payload}), other.Execute(&hotstuff.Block{Height: 1, Payload: tc.payload}); h1 != h2 {
				t.Fatalf("state %x vs %x", h1[:4], h2[:4])
			}
			if err := e.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			if refused := e.Stats().Refused; (refused == 0) != (tc.wantErr == nil) {
				t.Fatalf("refused count %d", refused)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestLedgerRecoverKeepsEscrows: open escrows survive a restart (Recover), can
// be finished after it, and one that expires after the restart is returned to
// its owner automatically; a run without the restart reaches the same state
// hashes.
func TestLedgerRecoverKeepsEscrows(t *testing.T) {
	app := newTestLedgerApp(t)
	owner, dest := app.ids[1], app.ids[2]
	cond := sha256.Sum256([]byte("preimage"))
	sign := func(k int, txs ...*txn.Tx) []byte {
		raws := make([][]byte, len(txs))
		for i, tx := range txs {
			tx.ChainID, tx.Fee, tx.LastValid = simChainID, app.genesis.BaseFee, 1<<40
			if err := txn.Sign(tx, app.keys[k]); err != nil {
				t.Fatal(err)
			}
			raws[i] = tx.Bytes()
		}
		return txn.EncodeBatch(raws)
	}
	stream := [][]byte{
		sign(1,
			&txn.Tx{Type: txn.TypeEscrowCreate, Sender: owner, Seq: 1, Dest: dest, Asset: txn.Native, Amount: 5000, ExpiryHeight: 10, Condition: cond},
			&txn.Tx{Type: txn.TypeEscrowCreate, Sender: owner, Seq: 2, Dest: dest, Asset: txn.Native, Amount: 700, ExpiryHeight: 4, Condition: cond}),
		sign(2, &txn.Tx{Type: txn.TypeEscrowFinish, Sender: dest, Seq: 1, Owner: owner, EscrowSeq: 1, Fulfillment: []byte("preimage")}),
		nil,
		nil, // the second escrow expires here
		nil,
	}
	straight := replay(t, app.genesis, stream, func(uint64) bool { return false })

	e, err := NewLedgerExecutor(app.genesis)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := e.ledger.Account(owner)
	for i, p := range stream {
		h := uint64(i + 1)
		if got := e.Execute(&hotstuff.Block{Height: h, Payload: p}); got != straight[i] {
			t.Fatalf("height %d: state %x with restarts, %x without", h, got, straight[i])
		}
		if err := e.Recover(); err != nil { // a restart after every block
			t.Fatal(err)
		}
		l := e.Ledger()
		a, _ := l.Account(owner)
		x := a.Extended()
		switch h {
		case 1:
			if len(l.Escrows()) != 2 || x.NativeEscrowed != 5700 || x.EscrowCount != 2 {
				t.Fatalf("after restart: %d escrows, %d escrowed in %d", len(l.Escrows()), x.NativeEscrowed, x.EscrowCount)
			}
		case 2, 3:
			if len(l.Escrows()) != 1 || x.NativeEscrowed != 700 {
				t.Fatalf("height %d: %d escrows, %d escrowed", h, len(l.Escrows()), x.NativeEscrowed)
			}
		case 4, 5:
			if len(l.Escrows()) != 0 || a.Ext != nil || a.Native != start.Native-5000-2*app.genesis.BaseFee {
				t.Fatalf("height %d: %d escrows, owner %+v", h, len(l.Escrows()), a)
			}
		}
	}
}
