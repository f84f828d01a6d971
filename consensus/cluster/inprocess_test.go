package cluster_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/consensus/cluster"
	"settle/engine/chain"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
	"settle/engine/txn"
	"settle/internal/testkit"
	"settle/internal/testpay"
)

// inprocessNode is one validator of the in-process cluster.
type inprocessNode struct {
	n    *node.Node
	drv  *cluster.Driver
	done chan error
}

// syncLog collects the validators' log lines; goroutines may still log while the
// test stops the cluster, so lines go to a buffer printed on failure, not t.Logf.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) logf(prefix string) func(string, ...any) {
	return func(format string, args ...any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintf(&l.buf, "%s %s "+format+"\n", append([]any{time.Now().Format("15:04:05.000"), prefix}, args...)...)
	}
}

// TestInProcessCluster runs four real validators in one process (engine/node with
// the cluster driver, Pebble in temporary directories, TCP transports on
// 127.0.0.1), submits payments to different validators, and checks that all of
// them commit everywhere, with equal block hashes and state hashes at equal
// heights and the ledger invariants holding on every validator. Under
// `go test -race` this is the live driver's race coverage.
func TestInProcessCluster(t *testing.T) {
	const (
		validators  = 4
		accounts    = 32 // senders 0..15 pay 16..31
		txPerWave   = 3  // per sender and wave
		txPerSender = 2 * txPerWave
	)
	c := startInProcess(t, validators, accounts, nil)
	nodes, ctx, stop := c.nodes, c.ctx, c.stop

	// Two waves. In wave w, sender s submits its payments, in sequence order, to
	// validator (s+w) mod 4: every validator gets clients, the transactions reach
	// each leader by gossip, and a sender's next sequences go to another validator
	// once the first ones are committed.
	var hashes []txn.Hash
	for wave := range 2 {
		for s := range accounts / 2 {
			to := nodes[(s+wave)%validators].n
			var txs []*txn.Tx
			for k := range uint64(txPerWave) {
				txs = append(txs, payment(t, s, s+accounts/2, uint64(wave)*txPerWave+k+1, 100+uint64(s)))
				hashes = append(hashes, txs[len(txs)-1].Hash())
			}
			errs := make([]error, len(txs))
			to.Submit(ctx, txs, errs)
			for k, err := range errs {
				if err != nil {
					t.Fatalf("wave %d: sender %d tx %d refused by validator %d: %v", wave, s, k, (s+wave)%validators, err)
				}
			}
		}
		for i, in := range nodes {
			waitUntil(t, fmt.Sprintf("validator %d commits all %d payments", i, len(hashes)), func() bool {
				_ = in.drv.Status() // read concurrently with the core goroutine
				for _, h := range hashes {
					if st, err := in.n.Tx(h); err != nil || !st.Committed {
						return false
					}
				}
				return true
			})
		}
		if wave == 0 {
			// Account 31 has not sent yet: its payment gives the cut-off
			// majority something to commit (a quiet cluster commits nothing).
			partitionAndHeal(t, nodes, payment(t, accounts-1, accounts-2, 1, 1))
		}
	}
	stop()

	minHeight := nodes[0].n.Height()
	for _, in := range nodes {
		minHeight = min(minHeight, in.n.Height())
	}
	for h := uint64(1); h <= minHeight; h++ {
		ref, err := nodes[0].n.Store().Block(h)
		if err != nil {
			t.Fatalf("validator 0 block %d: %v", h, err)
		}
		for i, in := range nodes[1:] {
			rec, err := in.n.Store().Block(h)
			if err != nil {
				t.Fatalf("validator %d block %d: %v", i+1, h, err)
			}
			if rec.Hash != ref.Hash || rec.StateHash != ref.StateHash {
				t.Fatalf("height %d: validator %d has block %s state %s, validator 0 block %s state %s",
					h, i+1, rec.Hash, rec.StateHash, ref.Hash, ref.StateHash)
			}
		}
	}
	for i, in := range nodes {
		l := in.n.Ledger()
		if err := l.CheckInvariants(); err != nil {
			t.Errorf("validator %d: %v", i, err)
		}
		for s := range accounts / 2 {
			a, _ := l.Account(devnet.DemoKey(devnet.ChainID, s).AccountID())
			if a.Seq != txPerSender+1 {
				t.Errorf("validator %d: sender %d at sequence %d, want %d", i, s, a.Seq, txPerSender+1)
			}
		}
		st := in.drv.Stats()
		t.Logf("validator %d: height %d, commits %d, proposals %d, gossip frames %d (%d txs), bad messages %d, slimmed %d",
			i, in.n.Height(), st.Commits, st.Proposals, st.GossipFrames, st.GossipTxs, st.BadMessages, st.Slimmed)
		// Executed blocks are kept once, in the ledger; what block sync serves
		// is still each certified block, byte for byte.
		if st.Slimmed == 0 || st.KeptWhole != 0 {
			t.Errorf("validator %d: %d executed blocks slimmed, %d kept whole", i, st.Slimmed, st.KeptWhole)
		}
		for h := uint64(1); h <= minHeight; h++ {
			rec, err := in.n.Store().Block(h)
			if err != nil {
				t.Fatal(err)
			}
			b, ok := in.drv.StoredBlockAt(h)
			if !ok || txn.Hash(b.Hash()) != rec.Hash {
				t.Fatalf("validator %d: block sync at height %d serves %v (ok %v), the ledger has %s", i, h, b, ok, rec.Hash)
			}
		}
	}
	t.Logf("all %d payments committed on %d validators; %d common heights checked", len(hashes), validators, minHeight)
}

// inprocess is a running in-process cluster.
type inprocess struct {
	g     *ledger.Genesis
	nodes []*inprocessNode
	ctx   context.Context
	stop  func() // stops every validator (idempotent); Cleanup also closes them
}

// startInProcess starts validators real nodes with the cluster driver over TCP
// on 127.0.0.1, from a devnet genesis of accounts, and waits until all are
// ready. edit, when set, adjusts each node's config before it starts.
func startInProcess(t *testing.T, validators, accounts int, edit func(*node.Config)) *inprocess {
	t.Helper()
	return startInProcessCluster(t, validators, accounts, edit, nil)
}

// startInProcessCluster is startInProcess with editCluster, when set,
// adjusting each driver's config too.
func startInProcessCluster(t *testing.T, validators, accounts int, edit func(*node.Config), editCluster func(*cluster.Config)) *inprocess {
	t.Helper()
	logs := &syncLog{}
	t.Cleanup(func() {
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("validator logs:\n%s", logs.buf.String())
			logs.mu.Unlock()
		}
	})
	keys := make([]ed25519.PrivateKey, validators)
	lns := make([]net.Listener, validators)
	o := devnet.DefaultOptions()
	o.Accounts = accounts
	for i := range validators {
		seed := bytes.Repeat([]byte{byte(0x40 + i)}, ed25519.SeedSize)
		keys[i] = ed25519.NewKeyFromSeed(seed)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		o.Validators = append(o.Validators, ledger.GenesisValidator{Name: "v" + strconv.Itoa(i),
			PublicKey: hex.EncodeToString(keys[i].Public().(ed25519.PublicKey)), Address: ln.Addr().String()})
	}
	g := devnet.Genesis(o)
	gl, err := ledger.FromGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	var vals []cluster.Validator
	for _, v := range o.Validators {
		pubKey, _ := hex.DecodeString(v.PublicKey)
		vals = append(vals, cluster.Validator{Name: v.Name, PublicKey: pubKey, Addr: v.Address})
	}
	ctx, cancel := context.WithCancel(context.Background())
	nodes := make([]*inprocessNode, validators)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for i, in := range nodes {
				if in == nil {
					lns[i].Close()
					continue
				}
				if in.done != nil {
					if err := <-in.done; err != nil {
						t.Errorf("validator %d: run: %v", i, err)
					}
					in.done = nil
				}
			}
		})
	}
	t.Cleanup(func() {
		stop()
		for _, in := range nodes {
			if in != nil {
				in.n.Close()
			}
		}
	})
	for i := range validators {
		cfg := node.DefaultConfig(t.TempDir(), g)
		cfg.NodeID = "v" + strconv.Itoa(i)
		cfg.BlockDelayMax = 5 * time.Millisecond
		cfg.VerifyWorkers = 1
		if edit != nil {
			edit(&cfg)
		}
		in := &inprocessNode{}
		in.n, err = node.New(cfg, func(n *node.Node) (chain.Orderer, error) {
			cc := cluster.Config{
				ChainID: g.ChainID, Self: i, Key: keys[i], Validators: vals, Listener: lns[i],
				DB: n.Store().DB(), Pool: n.Pool(), App: n, Payloads: n.Store(), GenesisStateHash: gl.Meta().StateHash,
				Block:           cfg.Assembler(),
				EmptyBlockDelay: 50 * time.Millisecond,
				Logf:            logs.logf(cfg.NodeID),
			}
			if editCluster != nil {
				editCluster(&cc)
			}
			d, err := cluster.New(cc)
			in.drv = d
			return d, err
		})
		if err != nil {
			t.Fatalf("validator %d: %v", i, err)
		}
		nodes[i] = in
	}
	for _, in := range nodes {
		in.done = make(chan error, 1)
		go func() { in.done <- in.n.Run(ctx) }()
	}
	for i, in := range nodes {
		waitUntil(t, fmt.Sprintf("validator %d ready", i), func() bool { return in.n.Ready() })
	}
	return &inprocess{g: g, nodes: nodes, ctx: ctx, stop: stop}
}

// partitionAndHeal cuts the last validator off while the others commit a few
// blocks without it, then heals: it must catch up by block sync.
func partitionAndHeal(t *testing.T, nodes []*inprocessNode, tx *txn.Tx) {
	t.Helper()
	last := len(nodes) - 1
	var others []int
	for i := range last {
		others = append(others, i)
	}
	if err := nodes[last].drv.Partition(others); err != nil {
		t.Fatal(err)
	}
	target := nodes[0].n.Height() + 3
	errs := make([]error, 1)
	nodes[0].n.Submit(context.Background(), []*txn.Tx{tx}, errs)
	if errs[0] != nil {
		t.Fatalf("payment during the partition: %v", errs[0])
	}
	for i, in := range nodes[:last] {
		waitUntil(t, fmt.Sprintf("validator %d reaches height %d without validator %d", i, target, last), func() bool {
			return in.n.Height() >= target
		})
	}
	if err := nodes[last].drv.Partition(nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, fmt.Sprintf("validator %d catches up to height %d", last, target), func() bool {
		return nodes[last].n.Height() >= target
	})
}

// waitUntil polls cond; the bound only catches hangs, nothing asserts on timing.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 60*time.Second, what, cond)
}

func payment(t *testing.T, from, to int, seq, amount uint64) *txn.Tx {
	return testpay.Payment(t, from, to, seq, amount)
}

// TestFullBlocks fills blocks to each of their limits on a real cluster and
// checks that every one commits: a block that closes on bytes (payments with
// 512-byte memos up to the default 4 MiB block_bytes_max, whose encoding adds 2
// bytes per transaction: such proposals were refused and the view timed out
// for ever) and one that closes on count (block_tx_max).
func TestFullBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("signs and commits about 12,000 large payments")
	}
	for _, tc := range []struct {
		name      string
		edit      func(*node.Config)
		senders   int
		perSender int
		memo      int
		full      func(txs, bytes int, cfg node.Config) bool // does a block count as full
	}{
		{"bytes", func(c *node.Config) { c.BlockDelayMax = 300 * time.Millisecond }, 1000, 12, txn.MemoBytesMax,
			func(txs, bytes int, c node.Config) bool { return bytes > c.BlockBytesMax-2*txn.TxBytesMax }},
		{"count", func(c *node.Config) { c.BlockTxMax, c.BlockDelayMax = 100, 300*time.Millisecond }, 200, 3, 0,
			func(txs, bytes int, c node.Config) bool { return txs == c.BlockTxMax }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg node.Config
			c := startInProcess(t, 4, 2*tc.senders, func(nc *node.Config) { tc.edit(nc); cfg = *nc })
			var txs []*txn.Tx
			for s := range tc.senders {
				for k := range tc.perSender {
					tx := payment(t, s, s+tc.senders, uint64(k+1), 1)
					if tc.memo > 0 {
						tx.Memo = bytes.Repeat([]byte{byte(s)}, tc.memo)
						if err := txn.Sign(tx, devnet.DemoKey(devnet.ChainID, s)); err != nil {
							t.Fatal(err)
						}
					}
					txs = append(txs, tx)
				}
			}
			// Every validator gets every payment at once, so that whoever leads
			// next has more than a full block ready (through gossip alone the
			// others would receive them a frame at a time, and a leader proposes
			// what it has once the block delay passed).
			var wg sync.WaitGroup
			for v, in := range c.nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs := make([]error, len(txs))
					in.n.Submit(c.ctx, txs, errs)
					for i, err := range errs {
						// duplicate: the same payment reached it first by gossip from
						// another validator; seq_past: it even committed first (this
						// goroutine started late). Every payment must still commit below.
						if c := codes.Of(err); err != nil && c != codes.Duplicate && c != codes.SeqPast {
							t.Errorf("validator %d: tx %d refused: %v", v, i, err)
						}
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			last := txs[len(txs)-1].Hash()
			for i, in := range c.nodes {
				waitUntil(t, fmt.Sprintf("validator %d commits all %d payments", i, len(txs)), func() bool {
					st, err := in.n.Tx(last)
					return err == nil && st.Committed && in.n.Ledger().Meta().TxCount == uint64(len(txs))
				})
			}
			fullBlocks := 0
			n := c.nodes[0].n
			for h := uint64(1); h <= n.Height(); h++ {
				rec, err := n.Store().Block(h)
				if err != nil {
					t.Fatal(err)
				}
				size := 0
				for _, r := range rec.Receipts {
					tr, err := n.Store().Tx(r.Hash)
					if err != nil {
						t.Fatal(err)
					}
					size += len(tr.Raw)
				}
				if tc.full(len(rec.Receipts), size, cfg) {
					fullBlocks++
				}
			}
			if fullBlocks == 0 {
				t.Fatalf("no block reached the %s limit", tc.name)
			}
			t.Logf("%d payments committed in %d blocks, %d of them full by %s", len(txs), n.Height(), fullBlocks, tc.name)
		})
	}
}

// TestPartialBatchWithLongBlockDelay: with a block deadline (300 ms) longer
// than the idle leader's empty-block delay (50 ms), a few transactions sent
// to an idle cluster must still commit. They used to wait behind empty blocks
// for ever: the leader's assembly gave up at the empty-block delay, before the
// mempool's block deadline released them (found as a rare stall of
// TestFullBlocks, whose tail is such a batch).
func TestPartialBatchWithLongBlockDelay(t *testing.T) {
	for _, idleBlocks := range []bool{true, false} {
		t.Run(fmt.Sprintf("idle blocks %v", idleBlocks), func(t *testing.T) { partialBatchWithLongBlockDelay(t, idleBlocks) })
	}
}

func partialBatchWithLongBlockDelay(t *testing.T, idleBlocks bool) {
	c := startInProcessCluster(t, 4, 8, func(nc *node.Config) { nc.BlockDelayMax = 300 * time.Millisecond },
		func(cc *cluster.Config) { cc.IdleBlocks = idleBlocks })
	n := c.nodes[0].n
	if idleBlocks {
		h := n.Height()
		testkit.WaitFor(t, 20*time.Second, "the idle cluster to commit empty blocks", func() bool { return n.Height() >= h+5 })
	} else {
		// Quiet: the views time out instead; wait for a few.
		testkit.WaitFor(t, 20*time.Second, "the quiet cluster's views to time out", func() bool {
			return c.nodes[0].drv.Status().View >= 4
		})
	}
	txs := []*txn.Tx{payment(t, 1, 5, 1, 7), payment(t, 2, 6, 1, 7), payment(t, 1, 5, 2, 7)}
	errs := make([]error, len(txs))
	n.Submit(c.ctx, txs, errs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	for i, in := range c.nodes {
		testkit.WaitFor(t, 20*time.Second, fmt.Sprintf("validator %d commits the 3 payments", i), func() bool {
			return in.n.Ledger().Meta().TxCount == 3
		})
	}
}
