package sim

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"settle/consensus/hotstuff"
	"settle/consensus/payload"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
	"settle/engine/sigverify"
	"settle/engine/txn"
	"settle/mempool"
)

// ErrBadSignature marks a payload holding a transaction whose signature does not
// verify (sigverify's ZIP-215 rule).
var ErrBadSignature = errors.New("sim: transaction signature does not verify")

// payloadCacheMax bounds the per-replica cache of validated payloads.
const payloadCacheMax = 1024

// LedgerExecutor is one replica's application: the real ledger engine
// (settle/engine/ledger), a real mempool (settle/mempool) and the production
// payload assembly (settle/consensus/payload). A payload is a txn batch
// (txn.EncodeBatch of signed transactions) or empty (an empty block).
//
// Crash model: like the real node, which makes every executed block durable
// (store.CommitBlock) before installing it (ledger.Apply), the committed ledger
// state survives a crash. On restart (Recover) the in-memory ledger is rebuilt
// from that durable state with ledger.Restore and its invariants are checked, as
// node.recover does with store.Load; memory-only data (the mempool, the tracked
// blocks, the cache of validated payloads) is lost (Restarted). A wiped disk
// loses everything: the cluster then builds a fresh executor from genesis and
// the replica re-executes every block it commits again.
type LedgerExecutor struct {
	genesis *ledger.Genesis
	ledger  *ledger.Ledger
	pool    *mempool.Pool[*txn.Tx]
	tracker *payload.Tracker
	commits []mempool.Committed // scratch

	// honest, when set, says which proposers are honest; the executor then checks
	// that their blocks carry only transactions that apply and nothing an earlier
	// block of this replica's chain carried.
	honest   func(hotstuff.ValidatorIndex) bool
	included map[txn.Hash]uint64 // hash → height of the block that applied it
	err      error               // first violation, reported by CheckInvariants
	stats    LedgerStats
}

// LedgerStats counts what an executor did.
type LedgerStats struct {
	Blocks     uint64 // blocks executed
	Txs        uint64 // transactions executed (any result)
	Succeeded  uint64 // receipts with codes.Success
	Skipped    uint64 // transactions a block carried that did not apply
	Refused    uint64 // committed payloads that failed validation and ran as empty blocks
	Rejected   uint64 // proposed payloads ValidatePayload refused
	BadSigs    uint64 // of those, refused for a signature that does not verify
	Recoveries uint64 // restarts from durable state
	Admitted   uint64 // client transactions the mempool admitted
	Queued     uint64 // receipts with codes.Queued (the RTGS queue)
	Released   uint64 // queued entries settled from the queue
	Offset     uint64 // queued entries settled by gridlock resolution
}

// NewLedgerExecutor builds a height-0 ledger from g.
func NewLedgerExecutor(g *ledger.Genesis) (*LedgerExecutor, error) {
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return nil, fmt.Errorf("ledger executor: %w", err)
	}
	e := &LedgerExecutor{genesis: g, ledger: l, included: map[txn.Hash]uint64{}}
	e.resetMemory()
	return e, nil
}

// simMempoolConfig sizes a replica's mempool for the simulator's load.
func simMempoolConfig(baseFee uint64) mempool.Config {
	cfg := mempool.DefaultConfig()
	cfg.Shards, cfg.TxCountMax, cfg.BytesMax, cfg.RecentSendersMax = 4, 4096, 4<<20, 1024
	cfg.BaseFee = baseFee
	return cfg
}

// resetMemory replaces what a crash loses: the mempool and the tracked blocks.
func (e *LedgerExecutor) resetMemory() {
	pool, err := mempool.New[*txn.Tx](simMempoolConfig(e.genesis.BaseFee))
	if err != nil {
		panic(err) // INVARIANT: the config above is valid
	}
	e.pool, e.tracker = pool, payload.NewTracker(payloadCacheMax)
}

// Ledger exposes the committed ledger (read-only use).
func (e *LedgerExecutor) Ledger() *ledger.Ledger { return e.ledger }

// Pool exposes the replica's mempool.
func (e *LedgerExecutor) Pool() *mempool.Pool[*txn.Tx] { return e.pool }

// Stats returns the executor's counters.
func (e *LedgerExecutor) Stats() LedgerStats { return e.stats }

// StateHash is the state hash after the last executed block.
func (e *LedgerExecutor) StateHash() [32]byte { return e.ledger.Meta().StateHash }

// ValidatePayload is the replica's vote-time check: the batch framing, every
// transaction's stateless checks (txn.Decode) and every signature (sigverify).
func (e *LedgerExecutor) ValidatePayload(p []byte) error {
	txs, err := decodeVerified(p)
	if err != nil {
		e.stats.Rejected++
		if errors.Is(err, ErrBadSignature) {
			e.stats.BadSigs++
		}
		return err
	}
	e.tracker.Validated(p, txs)
	return nil
}

// Accepted implements Follower.
func (e *LedgerExecutor) Accepted(blocks []*hotstuff.Block) {
	for _, b := range blocks {
		e.tracker.Track(b)
	}
}

// Committed implements Follower: as the cluster driver does, the committed
// blocks are marked and the forks they prune give their transactions back.
func (e *LedgerExecutor) Committed(blocks []*hotstuff.Block) {
	for _, b := range blocks {
		e.tracker.Commit(b)
	}
	requeue, _ := e.tracker.Abandon(blocks[len(blocks)-1].Height)
	if len(requeue) > 0 {
		e.pool.Requeue(requeue)
	}
}

// Restarted implements Follower: a fresh mempool, and the stored blocks above
// the executed root tracked again (the cluster driver's recovery).
func (e *LedgerExecutor) Restarted(st hotstuff.Start) {
	e.resetMemory()
	e.tracker.Executed(st.ExecHeight)
	for _, b := range st.Blocks {
		if b.Height > st.ExecHeight {
			e.tracker.Track(b)
		}
	}
}

// nextSeq is an account's next sequence in the committed ledger.
func (e *LedgerExecutor) nextSeq(id txn.AccountID) uint64 {
	if a, ok := e.ledger.Account(id); ok {
		return a.Seq
	}
	return 1
}

// Admit hands a client's transaction to the replica's mempool, as the node's
// admission does once the signatures verified.
func (e *LedgerExecutor) Admit(tx *txn.Tx) error {
	h := tx.Hash()
	err := e.pool.Add(mempool.Entry[*txn.Tx]{Hash: h, Sender: tx.Sender, Seq: tx.Seq, Fee: tx.Fee, LastValid: tx.LastValid,
		SizeBytes: len(tx.Bytes()), Tx: tx}, e.nextSeq(tx.Sender), e.ledger.Meta().Height+1)
	if err == nil {
		e.stats.Admitted++
	}
	return err
}

// Assemble is the leader's payload for req, built as the cluster driver builds
// it: reap from the mempool, keep what continues the parent's chain, requeue
// the rest.
func (e *LedgerExecutor) Assemble(req hotstuff.PayloadRequest, txMax int) [][]byte {
	c := e.tracker.Chain(req.Parent)
	entries := e.pool.Reap(txMax, 1<<20, req.Height, nil)
	sel := c.Select(entries, e.nextSeq)
	if len(sel.Requeue) > 0 {
		e.pool.Requeue(sel.Requeue)
	}
	raws := make([][]byte, len(sel.Txs))
	for i, tx := range sel.Txs {
		raws[i] = tx.Bytes()
	}
	return raws
}

// Execute runs the committed block and installs the result, then tells the
// mempool what the block did, as the node does (node.MempoolCommits). A payload
// that fails validation (only a replica that skips ValidatePayload, or a broken
// consensus, can commit one) runs as an empty block: every replica reaches the
// same verdict, so the state stays deterministic.
func (e *LedgerExecutor) Execute(b *hotstuff.Block) [32]byte {
	height := b.Height
	meta := e.ledger.Meta()
	if height != meta.Height+1 {
		e.fail(fmt.Errorf("%w: height %d after %d", errOutOfOrder, height, meta.Height))
		return meta.StateHash
	}
	var txs []*txn.Tx
	var err error
	if info, ok := e.tracker.Get(b.Hash()); ok && e.tracker.IsValidated(b.Payload) {
		txs = info.Txs // signatures already checked by this replica
	} else {
		txs, err = decodeVerified(b.Payload) // e.g. after a restart lost the cache
	}
	if err != nil {
		txs = nil
		e.stats.Refused++
	}
	res := e.ledger.Execute(height, txs)
	e.ledger.Apply(res) // the simulated store has made it durable
	e.stats.Blocks++
	e.stats.Txs += uint64(len(res.Receipts))
	for i := range res.Receipts {
		r := &res.Receipts[i]
		switch {
		case r.Result == codes.Success:
			e.stats.Succeeded++
		case r.Result == codes.Queued:
			e.stats.Queued++
		case !r.Applied():
			e.stats.Skipped++
		}
		e.checkInclusion(b, r)
	}
	for _, ev := range res.QueueEvents {
		switch ev.Outcome {
		case ledger.QueueReleased:
			e.stats.Released++
		case ledger.QueueOffset:
			e.stats.Offset++
		}
	}
	e.commits = node.MempoolCommits(e.commits[:0], e.ledger, txs, res)
	e.pool.Commit(height, e.commits)
	e.tracker.Executed(height)
	return res.Meta.StateHash
}

// checkInclusion: an honest proposer never includes a transaction that does not
// apply (out of sequence, say) nor one that an earlier block applied. (A
// Byzantine proposer may carry anything; what does not apply changes nothing.)
func (e *LedgerExecutor) checkInclusion(b *hotstuff.Block, r *ledger.Receipt) {
	first, seen := e.included[r.Hash]
	if !seen && r.Applied() {
		e.included[r.Hash] = b.Height
	}
	if e.honest == nil || !e.honest(b.Proposer) {
		return
	}
	switch {
	case seen:
		e.fail(fmt.Errorf("re-included: honest validator %d's block %d carries %s, applied at height %d (now %s)",
			b.Proposer, b.Height, r.Hash, first, r.Result))
	case !r.Applied():
		e.fail(fmt.Errorf("not applied: honest validator %d's block %d carries %s, which did not apply (%s)",
			b.Proposer, b.Height, r.Hash, r.Result))
	}
}

func (e *LedgerExecutor) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// CheckInvariants reports blocks executed out of order, inclusion violations
// and the ledger's supply invariants (native conserved with burned fees, issued
// outstanding = holdings).
func (e *LedgerExecutor) CheckInvariants() error {
	if e.err != nil {
		return e.err
	}
	return e.ledger.CheckInvariants()
}

// Recover rebuilds the in-memory ledger from the durable committed state
// (accounts, assets, open escrows and queued entries, copied), as a restarted node does, and
// checks its invariants.
func (e *LedgerExecutor) Recover() error {
	var accounts []*ledger.Account
	e.ledger.Accounts(func(a *ledger.Account) {
		c := *a
		c.Issued = slices.Clone(a.Issued)
		if a.Ext != nil {
			x := *a.Ext
			x.Signers = slices.Clone(a.Ext.Signers)
			c.Ext = &x
		}
		accounts = append(accounts, &c)
	})
	infos := e.ledger.Assets()
	assets := make([]*ledger.AssetInfo, len(infos))
	for i := range infos {
		assets[i] = &infos[i]
	}
	open := e.ledger.Escrows()
	escrows := make([]*ledger.Escrow, len(open))
	for i, es := range open {
		c := *es // as read back from the durable escrow records
		escrows[i] = &c
	}
	entries := e.ledger.QueuedEntries()
	queued := make([]*ledger.Queued, len(entries))
	for i, q := range entries {
		c := *q
		c.Legs = slices.Clone(q.Legs)
		queued[i] = &c
	}
	l := ledger.RestoreState(e.genesis, e.ledger.Meta(), accounts, assets, escrows, queued)
	if err := l.CheckInvariants(); err != nil {
		return fmt.Errorf("ledger executor recover at height %d: %w", l.Meta().Height, err)
	}
	e.ledger = l
	e.resetMemory()
	e.stats.Recoveries++
	return nil
}

// decodeVerified is decodePayload plus a batch check of every signature.
func decodeVerified(payload []byte) ([]*txn.Tx, error) {
	txs, err := txn.DecodeBatch(payload)
	if err != nil || len(txs) == 0 {
		return txs, err
	}
	var items []sigverify.Item
	var owner []int
	for i, tx := range txs {
		msg := tx.SigningMessage()
		for j := range tx.Sigs {
			s := &tx.Sigs[j]
			items = append(items, sigverify.Item{Pub: s.PublicKey[:], Msg: msg, Sig: s.Signature[:]})
			owner = append(owner, i)
		}
	}
	ok := make([]bool, len(items))
	if sigverify.VerifyBatch(items, ok) {
		return txs, nil
	}
	bad := slices.Index(ok, false)
	return nil, fmt.Errorf("payload tx %d (%s): %w", owner[bad], txs[owner[bad]].Hash(), ErrBadSignature)
}

// LedgerAppOptions shape the simulated ledger application.
type LedgerAppOptions struct {
	Accounts      int   // demo accounts funded at genesis; default 32
	TxPerBlockMax int   // transactions per proposal at most; default 8
	PoolSeed      int64 // derives each pooled transaction's destination and amount
	// SubmitPct is the chance, per tick, that a client submits a new
	// transaction; default 60.
	SubmitPct int
	// WindowMax bounds a sender's submitted but uncommitted transactions; default 4.
	WindowMax uint64
	// ResendTicks: a client resubmits its uncommitted transactions after this
	// many ticks without a commit; default 30.
	ResendTicks int64
	// Queue makes the clients send RTGS queued payments of USD between banks
	// that hold little of it (every account but the issuer starts with
	// QueueOpeningUSD), a fifth of them urgent, so that payments queue, are
	// released and are offset by gridlock resolution every 3 blocks, across
	// crashes and restarts.
	Queue bool
}

// QueueOpeningUSD is each bank's opening USD in the Queue workload; payments
// are 1 to 2,000, so many wait.
const QueueOpeningUSD = 1_000

// LedgerApp is the ledger application of a simulated cluster: it builds every
// replica's LedgerExecutor from one devnet genesis, runs the clients that
// submit signed payments to the replicas' mempools, and makes the leaders'
// payloads through the production assembly (LedgerExecutor.Assemble).
//
// Transactions come from a pool: the transaction of sender i with sequence s is a
// pure function of (PoolSeed, i, s), signed once and memoised (Ed25519 signing is
// deterministic), so runs stay fast and every seed reproduces. Each sender is
// one client: it submits its next sequence to a random set of replicas (as
// clients and gossip spread transactions), keeps at most WindowMax in flight,
// and resubmits what has not committed after ResendTicks (mempools are lost in
// crashes). Drain then proves that everything submitted commits.
type LedgerApp struct {
	opts        LedgerAppOptions
	genesis     *ledger.Genesis
	genesisHash hotstuff.Hash
	keys        []txn.Key
	ids         []txn.AccountID
	index       map[txn.AccountID]int
	usd         txn.Asset

	// Client state, per sender.
	next     []uint64 // next sequence to submit
	lastSent []int64  // tick of the last (re)submission
	draining bool     // no new transactions, resubmissions only
	honest   func(hotstuff.ValidatorIndex) bool

	mu   sync.Mutex
	pool map[poolKey][]byte // signed encodings
}

type poolKey struct {
	sender int
	seq    uint64
}

// simChainID is the ledger's chain id in the simulator.
const simChainID = "settle-sim"

// NewLedgerApp builds the genesis and the demo keys.
func NewLedgerApp(opts LedgerAppOptions) (*LedgerApp, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 32
	}
	if opts.TxPerBlockMax == 0 {
		opts.TxPerBlockMax = 8
	}
	if opts.SubmitPct == 0 {
		opts.SubmitPct = 60
	}
	if opts.WindowMax == 0 {
		opts.WindowMax = 4
	}
	if opts.ResendTicks == 0 {
		opts.ResendTicks = 30
	}
	if opts.Accounts < 2 || opts.TxPerBlockMax < 1 {
		return nil, fmt.Errorf("ledger app: want at least 2 accounts and 1 tx per block, got %d and %d", opts.Accounts, opts.TxPerBlockMax)
	}
	g := devnet.Genesis(devnet.Options{ChainID: simChainID, Accounts: opts.Accounts, NativeEach: 1_000_000_000_000, BaseFee: 10})
	if opts.Queue {
		issuer := devnet.DemoKey(simChainID, 0).AccountID()
		for i := 1; i < len(g.Accounts); i++ {
			g.Accounts[i].Issued = []ledger.GenesisBalance{{Asset: "USD/" + issuer.String(), Amount: QueueOpeningUSD}}
		}
		g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 3}
	}
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return nil, fmt.Errorf("ledger app genesis: %w", err)
	}
	a := &LedgerApp{opts: opts, genesis: g, genesisHash: hotstuff.Hash(l.Meta().StateHash),
		index: map[txn.AccountID]int{}, pool: map[poolKey][]byte{}}
	for i := 0; i < opts.Accounts; i++ {
		k := devnet.DemoKey(simChainID, i)
		a.keys = append(a.keys, k)
		a.ids = append(a.ids, k.AccountID())
		a.index[k.AccountID()] = i
	}
	a.usd = txn.Asset{Issuer: a.ids[0]}
	copy(a.usd.Code[:], "USD")
	return a, nil
}

// Genesis is the application's genesis.
func (a *LedgerApp) Genesis() *ledger.Genesis { return a.genesis }

// Configure makes a cluster run this application, with fresh clients.
func (a *LedgerApp) Configure(o *Options) {
	byz := map[hotstuff.ValidatorIndex]bool{}
	for v, b := range o.Byzantine {
		byz[v] = b != 0
	}
	for _, v := range o.Twins {
		byz[v] = true
	}
	a.honest = func(v hotstuff.ValidatorIndex) bool { return !byz[v] }
	a.next = make([]uint64, len(a.ids))
	for i := range a.next {
		a.next[i] = 1
	}
	a.lastSent = make([]int64, len(a.ids))
	a.draining = false
	o.NewExecutor = a.NewExecutor
	o.Payloads = a
	o.GenesisStateHash = a.genesisHash
}

// NewExecutor is a fresh replica ledger at genesis.
func (a *LedgerApp) NewExecutor() Executor {
	e, err := NewLedgerExecutor(a.genesis)
	if err != nil {
		panic(err) // INVARIANT: NewLedgerApp built this genesis once already
	}
	e.honest = a.honest
	return e
}

// Step implements Stepper: one client may submit a new transaction, and one
// may resubmit what has not committed.
func (a *LedgerApp) Step(c *Cluster) {
	if len(a.next) == 0 {
		return // not configured (a test driving payloads by hand)
	}
	if !a.draining && c.rng.Intn(100) < a.opts.SubmitPct {
		i := c.rng.Intn(len(a.ids))
		if a.next[i]-a.committedSeq(c, i) < a.opts.WindowMax {
			a.submit(c, i, a.next[i])
			a.next[i]++
			a.lastSent[i] = c.Net.Now
		}
	}
	j := c.rng.Intn(len(a.ids))
	if committed := a.committedSeq(c, j); committed < a.next[j] && c.Net.Now-a.lastSent[j] > a.opts.ResendTicks {
		for seq := committed; seq < a.next[j]; seq++ {
			a.submit(c, j, seq)
		}
		a.lastSent[j] = c.Net.Now
	}
}

// submit hands sender i's transaction seq to a random non-empty set of running
// replicas.
func (a *LedgerApp) submit(c *Cluster, i int, seq uint64) {
	tx, err := txn.Decode(a.signed(i, seq))
	if err != nil {
		panic(err) // INVARIANT: signed encodes a valid transaction
	}
	targets := 1 + c.rng.Intn(len(c.Nodes))
	for _, k := range c.rng.Perm(len(c.Nodes))[:targets] {
		n := c.Nodes[k]
		if e, ok := n.exec.(*LedgerExecutor); ok && n.Up() {
			_ = e.Admit(tx) // duplicates and stale sequences are refused, as at any node
		}
	}
}

// committedSeq is sender i's next sequence in the most advanced honest ledger.
func (a *LedgerApp) committedSeq(c *Cluster, i int) uint64 {
	seq := uint64(1)
	for _, n := range c.Nodes {
		if e, ok := n.exec.(*LedgerExecutor); ok && n.Honest() {
			seq = max(seq, e.nextSeq(a.ids[i]))
		}
	}
	return seq
}

// Drain implements Drainer: clients stop submitting new transactions and keep
// resubmitting until every honest replica has executed everything submitted,
// or ticks pass. An accepted transaction must end committed: one that never
// does is stuck.
func (a *LedgerApp) Drain(c *Cluster, ticks int64) error {
	a.draining = true
	deadline := c.Net.Now + ticks
	for c.Net.Now < deadline && c.Violation == nil {
		if a.drained(c) == "" {
			return nil
		}
		c.step()
	}
	if c.Violation != nil {
		return c.Violation
	}
	if stuck := a.drained(c); stuck != "" {
		return fmt.Errorf("stuck after %d ticks of draining: %s", ticks, stuck)
	}
	return nil
}

// drained describes the first submitted transaction an honest replica has not
// executed, or returns "".
func (a *LedgerApp) drained(c *Cluster) string {
	for _, n := range c.Nodes {
		e, ok := n.exec.(*LedgerExecutor)
		if !ok || !n.Honest() {
			continue
		}
		for i, id := range a.ids {
			if got := e.nextSeq(id); got < a.next[i] {
				return fmt.Sprintf("%s has sender %d at sequence %d, clients submitted up to %d (mempool: %d queued, %d proposed)",
					n.Name, i, got, a.next[i]-1, e.pool.Stats().TxCount, e.pool.Stats().Proposed)
			}
		}
	}
	return ""
}

// Payload proposes what the leader's mempool offers for req; a bad one has one
// transaction whose body or signature was altered after signing, and a Replay
// leader adds transactions that cannot apply (an old one, one out of sequence).
func (a *LedgerApp) Payload(c *Cluster, n *Node, req hotstuff.PayloadRequest, bad bool) []byte {
	e, ok := n.exec.(*LedgerExecutor)
	if !ok {
		return nil
	}
	raws := e.Assemble(req, a.opts.TxPerBlockMax)
	if n.Byz&Replay != 0 {
		i := c.rng.Intn(len(a.ids))
		committed := e.nextSeq(a.ids[i])
		if committed > 1 {
			raws = append(raws, a.signed(i, 1+uint64(c.rng.Int63n(int64(committed-1))))) // seq_past
		}
		raws = append(raws, a.signed(i, committed+1)) // seq_too_far unless committed is in this block
	}
	if bad {
		if len(raws) == 0 {
			raws = append(raws, a.signed(c.rng.Intn(len(a.ids)), 1))
		}
		j := c.rng.Intn(len(raws))
		raw := slices.Clone(raws[j])
		if c.rng.Intn(2) == 0 {
			raw[len(raw)-txn.SignatureSize+3] ^= 0x40 // inside R
		} else {
			raw[len(raw)-2-(1+txn.PublicKeySize+txn.SignatureSize)] ^= 0x10 // the amount, kept nonzero
		}
		raws[j] = raw
	}
	if len(raws) == 0 {
		return nil
	}
	return txn.EncodeBatch(raws)
}

// Equivocal drops the last transaction (an empty block when there is only one).
func (a *LedgerApp) Equivocal(payload []byte) []byte {
	raws, err := txn.SplitBatch(payload, nil)
	if err != nil || len(raws) < 2 {
		return nil
	}
	return txn.EncodeBatch(raws[:len(raws)-1])
}

// signed returns the pooled transaction of sender i with sequence seq.
func (a *LedgerApp) signed(i int, seq uint64) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := poolKey{i, seq}
	if raw, ok := a.pool[k]; ok {
		return raw
	}
	h := mix64(uint64(a.opts.PoolSeed) ^ uint64(i)<<40 ^ seq)
	dest := (i + 1 + int(h%uint64(len(a.ids)-1))) % len(a.ids)
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: simChainID, Sender: a.ids[i], Seq: seq, Fee: a.genesis.BaseFee,
		LastValid: 1 << 40, Dest: a.ids[dest], Asset: txn.Native, Amount: 1 + (h>>32)%1000}
	switch {
	case a.opts.Queue && i != 0 && dest != 0:
		tx.Type, tx.Asset, tx.Amount = txn.TypeQueuedPayment, a.usd, 1+(h>>32)%2000
		tx.Priority, tx.QueueUntil = txn.PriorityNormal, tx.LastValid
		if h%5 == 0 {
			tx.Priority = txn.PriorityUrgent
		}
	case i == 0 && h&1 == 0:
		tx.Asset = a.usd // issuance: exercises the outstanding-supply invariant
	}
	if err := txn.Sign(tx, a.keys[i]); err != nil {
		panic(fmt.Sprintf("sim: sign pooled tx: %v", err)) // INVARIANT: the fields above pass Check
	}
	a.pool[k] = tx.Bytes()
	return a.pool[k]
}

// mix64 is the SplitMix64 finaliser: a fixed, well-spread function of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
