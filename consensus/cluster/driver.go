package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"settle/consensus/hotstuff"
	"settle/consensus/payload"
	"settle/consensus/transport"
	"settle/engine/chain"
	"settle/engine/txn"
	"settle/internal/invariants"
)

// Frame kinds: the first byte of every transport frame.
const (
	frameConsensus byte = 1 // hotstuff.EncodeMessage follows
	frameGossip    byte = 2 // txn.EncodeBatch of newly admitted transactions follows
)

// execNoticesMax bounds the executed-state notices waiting for the core goroutine.
const execNoticesMax = 4096

// Driver runs one validator's HotStuff core. It implements chain.Orderer.
type Driver struct {
	cfg         Config
	st          store
	genesisHash hotstuff.Hash // hash of hotstuff's block 0

	// Owned by the core goroutine (Run).
	core        *hotstuff.Core
	tr          *transport.Transport
	tracker     *payload.Tracker // blocks above the executed height, validated payloads
	pruneBelow  uint64           // c/u/ entries below this height go in the next batch
	execLookup  uint64           // a Ready's ExecLookup, answered after Advance
	unreachable hotstuff.Bitmap  // peers last reported unreachable to the core
	started     time.Time
	markerDone  bool
	asmCancel   context.CancelFunc
	toSlim      []*hotstuff.Block // committed with a payload, not yet known executed
	peerUp      []bool            // each peer's connection at the last tick, for the log

	coreIn   chan inbound
	gossipIn chan []byte
	payloadC chan payloadResult
	execC    chan struct{}
	slimC    chan []*hotstuff.Block // executed blocks for slimLoop

	exec struct {
		mu      sync.Mutex
		notices []execNotice
	}
	gossip struct {
		mu   sync.Mutex
		raws [][]byte
	}

	running         atomic.Pointer[transport.Transport]
	view            atomic.Uint64
	leader          atomic.Int64
	behind          atomic.Uint64 // committed blocks known to exist but not executed here
	syncing         atomic.Bool
	recovering      atomic.Bool // the core relearns a lost safety state
	catchup         catchupLog  // core goroutine
	counters        counters
	latency         *latency
	lastTimeoutView uint64 // core goroutine: the last view this validator sent a timeout for
	startView       uint64 // core goroutine: the view the core started in
	// lastTxHeight is the highest committed height whose block carried
	// transactions (core goroutine): a quiet cluster stops proposing once a
	// committed block claims the state after it (see startAssembly).
	lastTxHeight uint64
}

type counters struct {
	gossipDropsOut, gossipDropsIn, gossipFrames, gossipTxs atomic.Uint64
	badMessages, proposals, commits, abandoned             atomic.Uint64
	slimmed, keptWhole                                     atomic.Uint64
	timeouts                                               atomic.Uint64 // views this validator timed out in
	syncedWrites                                           atomic.Uint64 // synced Pebble batches of the consensus store
}

type inbound struct {
	from int
	msg  hotstuff.Message
}

type execNotice struct {
	height uint64
	hash   [32]byte
}

var _ chain.Orderer = (*Driver)(nil)

// New validates cfg and builds a driver; nothing runs until Run.
func New(cfg Config) (*Driver, error) {
	cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Driver{
		cfg:         cfg,
		st:          store{db: cfg.DB, payloads: cfg.Payloads},
		genesisHash: hotstuff.GenesisBlock(cfg.GenesisStateHash).Hash(),
		tracker:     payload.NewTracker(payloadCacheMax),
		coreIn:      make(chan inbound, coreInQueueMax),
		gossipIn:    make(chan []byte, cfg.GossipInQueueMax),
		payloadC:    make(chan payloadResult, 1),
		execC:       make(chan struct{}, 1),
		slimC:       make(chan []*hotstuff.Block, slimQueueMax),
		latency:     newLatency(),
	}
	// Not ready until Run has heard from the others (noteSync): set here, not in
	// Run, so that the node never reads "not syncing" before Run starts.
	d.syncing.Store(true)
	return d, nil
}

func (d *Driver) coreConfig() hotstuff.Config {
	hc := hotstuff.DefaultConfig()
	hc.ChainID = d.cfg.ChainID
	for _, v := range d.cfg.Validators {
		hc.Validators = append(hc.Validators, v.PublicKey)
	}
	hc.Signer = hotstuff.Ed25519Signer{Key: d.cfg.Key}
	hc.Verify = hotstuff.VerifyZIP215
	hc.ValidatePayload = d.validatePayload
	hc.Storage = d.st
	hc.GenesisStateHash = d.cfg.GenesisStateHash
	// Accept any leader's payload up to the protocol's limit: validators may
	// run different block limits, and every one of them fits (checkLimits).
	hc.PayloadBytesMax = hotstuff.PayloadBytesMax
	hc.ViewTimeoutTicks = d.cfg.ViewTimeoutTicks
	hc.ViewTimeoutTicksMax = d.cfg.ViewTimeoutTicksMax
	return hc
}

func (d *Driver) transportConfig() transport.Config {
	tc := transport.Config{ChainID: d.cfg.ChainID, Self: d.cfg.Self, Key: d.cfg.Key, ListenAddr: d.cfg.ListenAddr,
		Listener: d.cfg.Listener, DisableTLS: d.cfg.ReplicaPlaintext}
	for i, v := range d.cfg.Validators {
		tc.Peers = append(tc.Peers, transport.Peer{Index: i, PublicKey: v.PublicKey, Addr: v.Addr})
	}
	return tc
}

// Run implements chain.Orderer: it recovers the core from Pebble and head,
// starts the transport and drives the core until ctx ends or commit fails.
func (d *Driver) Run(ctx context.Context, head chain.Head, commit chain.CommitFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start, err := d.recover(head)
	if err != nil {
		return err
	}
	if d.core, err = hotstuff.New(d.coreConfig(), start); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	d.startView = d.core.View()
	// Not knowing which recovered blocks carried transactions, count the
	// executed head as one: a restarted cluster then proposes until the
	// committed root claims it, so that a transaction committed just before
	// the restart still gets its certified claim (quiet).
	d.lastTxHeight = start.ExecHeight
	if d.tr, err = transport.New(d.transportConfig()); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := d.tr.Start(ctx); err != nil {
		d.tr.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	d.syncing.Store(true) // until it has heard from the others (noteSync)
	d.started = time.Now()
	d.running.Store(d.tr)
	links := "TLS 1.3"
	if d.cfg.ReplicaPlaintext {
		links = "plaintext (replica_tls false)"
	}
	d.cfg.Logf("cluster: validator %d (%s) view %d, committed %d, safety lost %v, replica %s, links %s",
		d.cfg.Self, d.cfg.Validators[d.cfg.Self].Name, d.core.View(), d.core.Committed().Height, start.SafetyLost, d.cfg.ListenAddr, links)
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); d.slimLoop(ctx) }()
	go func() { defer wg.Done(); d.readLoop(ctx) }()
	go func() { defer wg.Done(); d.gossipOut(ctx) }()
	go func() { defer wg.Done(); d.gossipAdmit(ctx) }()
	err = d.loop(ctx, commit)
	cancel()
	d.running.Store(nil)
	d.tr.Close()
	wg.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// recover builds the core's Start from Pebble, the node's head and the last
// executed-state notice, and applies the wiped-disk rule.
func (d *Driver) recover(head chain.Head) (hotstuff.Start, error) {
	var st hotstuff.Start
	safety, err := d.st.loadSafety()
	if err != nil {
		return st, fmt.Errorf("cluster: load safety state: %w", err)
	}
	st.Safety = safety
	if safety == nil && d.cfg.MarkerPath != "" {
		if _, err := os.Stat(d.cfg.MarkerPath); err == nil {
			st.SafetyLost = true
		}
	}
	d.markerDone = safety != nil
	if safety != nil && d.cfg.MarkerPath != "" {
		if err := writeMarker(d.cfg.MarkerPath); err != nil {
			return st, err
		}
	}
	if head.Height > 0 {
		root, err := d.st.loadBlock(hotstuff.Hash(head.Hash))
		if err != nil || root == nil {
			return st, fmt.Errorf("cluster: the executed head %d (%s) is not in the consensus store (%v)", head.Height, head.Hash, err)
		}
		st.Root = root
	}
	if st.Blocks, err = d.st.loadUp(); err != nil {
		return st, fmt.Errorf("cluster: load stored blocks: %w", err)
	}
	d.tracker.Executed(head.Height)
	for _, b := range st.Blocks {
		if b.Height > head.Height {
			d.tracker.Track(b)
		}
	}
	for _, n := range d.takeNotices() {
		if n.height == head.Height {
			st.ExecHeight, st.ExecStateHash = n.height, hotstuff.Hash(n.hash)
		}
	}
	return st, nil
}

// loop is the core goroutine: one input, then every Ready it produced.
func (d *Driver) loop(ctx context.Context, commit chain.CommitFunc) error {
	ticker := time.NewTicker(d.cfg.TickPeriod)
	defer ticker.Stop()
	for {
		if err := d.drain(ctx, commit); err != nil {
			return err
		}
		select { // timeouts first
		case <-ticker.C:
			d.tick()
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			d.tick()
		case in := <-d.coreIn:
			if err := d.step(in); err != nil {
				return err
			}
		case res := <-d.payloadC:
			d.propose(res)
		case <-d.execC:
			d.applyExecuted()
		}
	}
}

// unreachableGrace is how long after start a peer never connected still counts
// as starting rather than unreachable.
const unreachableGrace = 5 * time.Second

// tick tells the core which peers are unreachable (their connection is down),
// so that a dead leader's view times out fast, then ticks it.
func (d *Driver) tick() {
	var b hotstuff.Bitmap
	grace := time.Since(d.started) < unreachableGrace
	if d.peerUp == nil {
		d.peerUp = make([]bool, len(d.cfg.Validators))
	}
	for i := range d.cfg.Validators {
		if i == d.cfg.Self {
			continue
		}
		up, ever := d.tr.PeerUp(i)
		if !up && (ever || !grace) {
			b = b.With(hotstuff.ValidatorIndex(i))
		}
		d.logPeer(i, up)
	}
	if string(b) != string(d.unreachable) {
		d.unreachable = b
		d.core.SetUnreachable(b)
	}
	d.core.Tick()
}

// logPeer logs peer i's connection when it opened or closed since the last
// tick (core goroutine).
func (d *Driver) logPeer(i int, up bool) {
	if up == d.peerUp[i] {
		return
	}
	d.peerUp[i] = up
	v := d.cfg.Validators[i]
	if up {
		d.cfg.Log.Info("cluster: peer up", "peer", v.Name, "addr", v.Addr)
	} else {
		d.cfg.Log.Warn("cluster: peer down", "peer", v.Name, "addr", v.Addr)
	}
}

// harmless are the core's errors for bad or late input from other validators.
var harmless = []error{hotstuff.ErrMalformed, hotstuff.ErrUnknownValidator, hotstuff.ErrBadSignature,
	hotstuff.ErrBadCertificate, hotstuff.ErrWrongLeader, hotstuff.ErrInvalidBlock, hotstuff.ErrInvalidPayload,
	hotstuff.ErrStale, hotstuff.ErrDuplicate, hotstuff.ErrEquivocation, hotstuff.ErrNotForMe, hotstuff.ErrFull}

func (d *Driver) step(in inbound) error {
	err := d.core.Step(hotstuff.ValidatorIndex(in.from), in.msg)
	if err == nil {
		return nil
	}
	for _, h := range harmless {
		if errors.Is(err, h) {
			d.counters.badMessages.Add(1)
			if !errors.Is(err, hotstuff.ErrStale) && !errors.Is(err, hotstuff.ErrDuplicate) {
				d.cfg.Logf("cluster: %v", err)
			}
			return nil
		}
	}
	return fmt.Errorf("cluster: core refused input from %d: %w", in.from, err)
}

func (d *Driver) drain(ctx context.Context, commit chain.CommitFunc) error {
	for d.core.HasReady() {
		rd := d.core.Ready()
		if err := hotstuff.Perform(&rd, &effects{d: d, ctx: ctx, commit: commit}); err != nil {
			return err
		}
		d.core.Advance()
		if h := d.execLookup; h != 0 {
			d.execLookup = 0
			if hash, ok := d.cfg.App.StateHashAt(h); ok {
				d.core.ExecutedState(h, hotstuff.Hash(hash))
			}
		}
	}
	v := d.core.View()
	if old := d.view.Swap(v); old != v && d.cfg.Log.Enabled(ctx, slog.LevelDebug) {
		// The leader rotates every view: a line per block, so at debug level.
		d.cfg.Log.Debug("cluster: new view", "view", v, "leader", d.cfg.Validators[d.core.Leader(v)].Name,
			"committed", d.core.Committed().Height)
	}
	d.leader.Store(int64(d.core.Leader(v)))
	d.recovering.Store(d.core.Recovering())
	d.noteSync()
	return nil
}

// readyLagBlocksMax is how many known blocks a validator may lack (not yet
// executed) and still call itself ready: a few blocks of pipeline are normal.
const readyLagBlocksMax = 16

// catchupLogEvery paces the progress lines while catching up.
const catchupLogEvery = 5 * time.Second

// catchupLog remembers when catching up began, for the log line at its end.
type catchupLog struct {
	active     bool
	heard      bool // a block above the local root was seen since start
	since      time.Time
	fromHeight uint64
	lastLog    time.Time
}

// noteSync updates the readiness the node reports and logs the start and end
// of a catch-up with its rate. Until it has seen a block from the others, a
// starting validator does not know whether it is behind: it is not ready.
func (d *Driver) noteSync() {
	st := d.core.Sync()
	exec := d.tracker.ExecHeight()
	behind := uint64(0)
	if st.Known > exec {
		behind = st.Known - exec
	}
	d.behind.Store(behind)
	cl := &d.catchup
	// Heard from the others: a block above the local root, or a view entered
	// on their certificates. A quiet cluster (startAssembly) proposes nothing
	// while idle, but its views still time out, so a restarted validator
	// learns it is up to date from the first TC.
	if !cl.heard && (st.Known > st.Committed || d.core.View() > d.startView) {
		cl.heard = true
	}
	syncing := !cl.heard || behind > readyLagBlocksMax
	d.syncing.Store(syncing)
	switch {
	case behind > readyLagBlocksMax && !cl.active:
		*cl = catchupLog{active: true, heard: cl.heard, since: time.Now(), fromHeight: exec, lastLog: time.Now()}
		d.cfg.Logf("cluster: catching up: executed height %d, the others are at %d", exec, st.Known)
	case cl.active && time.Since(cl.lastLog) >= catchupLogEvery:
		cl.lastLog = time.Now()
		d.cfg.Logf("cluster: catching up: executed %d, committed %d, tree top %d, known %d, next range %d, %d in flight, %d parked",
			exec, st.Committed, st.Top, st.Known, st.Next, st.Ranges, st.Parked)
	case behind <= readyLagBlocksMax && cl.active:
		cl.active = false
		el := time.Since(cl.since)
		d.cfg.Logf("cluster: caught up at height %d: %d blocks in %v (%.0f blocks/s, %d range requests so far)",
			exec, exec-cl.fromHeight, el.Round(time.Millisecond), float64(exec-cl.fromHeight)/max(el.Seconds(), 1e-3), st.Asked)
	}
}

// Syncing implements chain.Orderer.
func (d *Driver) Syncing() bool { return d.syncing.Load() }

// effects carries out a Ready for the driver (hotstuff.Perform calls them in the
// core's order). Core goroutine only.
type effects struct {
	d      *Driver
	ctx    context.Context
	commit chain.CommitFunc
}

var _ hotstuff.Effects = (*effects)(nil)

// Persist writes the safety state and blocks in one synced batch (with the
// pending prune of the restart index), then the wiped-disk marker.
func (fx *effects) Persist(safety *hotstuff.SafetyState, blocks []*hotstuff.Block) error {
	d := fx.d
	for _, b := range blocks {
		_, known := d.tracker.Get(b.Hash())
		info := d.tracker.Track(b)
		if !known {
			d.holdCarried(info)
		}
	}
	d.latency.stored(blocks, time.Now())
	prune := d.pruneBelow
	d.pruneBelow = 0
	if err := d.st.persist(safety, blocks, prune); err != nil {
		return err
	}
	if safety != nil || len(blocks) > 0 {
		d.counters.syncedWrites.Add(1)
	}
	if safety != nil && !d.markerDone && d.cfg.MarkerPath != "" {
		if err := writeMarker(d.cfg.MarkerPath); err != nil {
			return err
		}
		d.markerDone = true
	}
	return nil
}

func (fx *effects) Send(env hotstuff.Envelope) {
	if to, ok := env.Msg.(*hotstuff.Timeout); ok && to.View > fx.d.lastTimeoutView {
		d := fx.d
		d.lastTimeoutView = to.View
		d.counters.timeouts.Add(1)
		leader := d.core.Leader(to.View)
		d.cfg.Log.Warn("cluster: view timed out; voting for a view change", "view", to.View,
			"leader", d.cfg.Validators[leader].Name, "committed", d.core.Committed().Height)
	}
	frame := encodeFrame(env.Msg)
	if env.Broadcast {
		fx.d.tr.Broadcast(frame)
	} else {
		fx.d.tr.Send(int(env.To), frame)
	}
}

// Commit hands the blocks to the node's CommitFunc in height order, then gives
// back the transactions of the forks the commit pruned.
func (fx *effects) Commit(blocks []*hotstuff.Block) error {
	d := fx.d
	if err := d.st.indexCommitted(blocks); err != nil {
		return err
	}
	for _, b := range blocks {
		cb := d.toChain(b)
		if err := fx.commit(fx.ctx, cb); err != nil {
			if fx.ctx.Err() != nil {
				return context.Canceled
			}
			return fmt.Errorf("cluster: commit block %d: %w", b.Height, err)
		}
		d.counters.commits.Add(1)
		if len(cb.Txs) > 0 {
			d.lastTxHeight = b.Height
		}
		if d.cfg.Payloads != nil && len(b.Payload) > 0 {
			if batchLen(cb.Txs) == len(b.Payload) {
				d.toSlim = append(d.toSlim, b)
			} else {
				d.counters.keptWhole.Add(1)
			}
		}
	}
	d.latency.committed(blocks, time.Now())
	requeue, abandoned := d.tracker.Abandon(blocks[len(blocks)-1].Height)
	d.requeue(requeue)
	d.counters.abandoned.Add(uint64(abandoned))
	return nil
}

func (fx *effects) NeedPayload(req hotstuff.PayloadRequest) { fx.d.startAssembly(fx.ctx, req) }

func (fx *effects) LookupExecuted(height uint64) { fx.d.execLookup = height }

func (fx *effects) Evidence(ev hotstuff.Evidence) {
	fx.d.cfg.Log.Error("cluster: EVIDENCE of a faulty validator", "evidence", fmt.Sprint(ev))
}

func encodeFrame(m hotstuff.Message) []byte {
	enc := hotstuff.EncodeMessage(m)
	frame := make([]byte, 1+len(enc))
	frame[0] = frameConsensus
	copy(frame[1:], enc)
	return frame
}

// toChain converts a committed hotstuff block for the node. Block 1's parent is
// the node's zero hash (its head before any block), not hotstuff's block 0.
func (d *Driver) toChain(b *hotstuff.Block) *chain.Block {
	h := b.Hash()
	info := d.tracker.Commit(b)
	cb := &chain.Block{Height: b.Height, View: b.View, Hash: txn.Hash(h), Parent: txn.Hash(b.Parent),
		TimeMs: time.Now().UnixMilli(), Txs: info.Txs, Header: b.HeaderBytes(), ClaimHeight: b.ExecHeight}
	if b.Parent == d.genesisHash && b.Height == 1 {
		cb.Parent = txn.Hash{}
	}
	if qc, ok := d.tracker.Certificate(h); ok {
		cb.Cert = hotstuff.EncodeQC(&qc)
	}
	return cb
}

// Executed implements the node's executed-state hook: block height is durably
// executed with state hash stateHash. It never blocks.
func (d *Driver) Executed(height uint64, stateHash [32]byte) {
	d.exec.mu.Lock()
	if len(d.exec.notices) >= execNoticesMax {
		d.exec.notices = d.exec.notices[1:]
	}
	d.exec.notices = append(d.exec.notices, execNotice{height, stateHash})
	d.exec.mu.Unlock()
	select {
	case d.execC <- struct{}{}:
	default:
	}
}

func (d *Driver) takeNotices() []execNotice {
	d.exec.mu.Lock()
	defer d.exec.mu.Unlock()
	ns := d.exec.notices
	d.exec.notices = nil
	return ns
}

func (d *Driver) applyExecuted() {
	for _, n := range d.takeNotices() {
		d.core.ExecutedState(n.height, hotstuff.Hash(n.hash))
		d.tracker.Executed(n.height)
	}
	d.pruneBelow = d.tracker.ExecHeight() + 1
	d.slimExecuted()
}

// slimQueueMax bounds the batches of executed blocks waiting for slimLoop;
// beyond it blocks stay whole (counted in KeptWhole), which costs only space.
const slimQueueMax = 64

// slimExecuted hands the executed blocks among toSlim to slimLoop. Core
// goroutine: it never waits, because a Pebble commit, even an unsynced one,
// waits for the synced commits queued before it.
func (d *Driver) slimExecuted() {
	exec := d.tracker.ExecHeight()
	n := 0
	for n < len(d.toSlim) && d.toSlim[n].Height <= exec {
		n++
	}
	if n == 0 {
		return
	}
	ready := slices.Clone(d.toSlim[:n])
	clear(d.toSlim[:n])
	d.toSlim = append(d.toSlim[:0], d.toSlim[n:]...)
	select {
	case d.slimC <- ready:
	default:
		d.counters.keptWhole.Add(uint64(len(ready)))
	}
}

// slimLoop keeps executed blocks without their payloads (see c/s/).
func (d *Driver) slimLoop(ctx context.Context) {
	for {
		var blocks []*hotstuff.Block
		select {
		case <-ctx.Done():
			return
		case blocks = <-d.slimC:
		}
		d.slimBlocks(blocks)
	}
}

// batchLen is the length of txn.EncodeBatch of txs' bytes. The node stores
// exactly these bytes as the block's records; the transactions were decoded
// from the payload (or the payload encoded from them, on the proposer), so
// equal lengths mean the ledger holds the payload.
func batchLen(txs []*txn.Tx) int {
	n := txn.BatchHeader
	for _, tx := range txs {
		n += 2 + len(tx.Bytes())
	}
	return n
}

// slimBlocks keeps blocks without their payloads. The full check (reading
// each payload back from the ledger) runs in invariants builds; otherwise
// batchLen's check at commit and the hash check on every load stand for it:
// a block that does not rebuild is refused, never served.
func (d *Driver) slimBlocks(blocks []*hotstuff.Block) {
	ready := blocks[:0]
	for _, b := range blocks {
		if invariants.Enabled {
			p, err := d.cfg.Payloads.BlockPayload(b.Height)
			if err != nil || !bytes.Equal(p, b.Payload) {
				d.counters.keptWhole.Add(1)
				d.cfg.Logf("cluster: block %d: the ledger does not give its payload back (%v); keeping it whole", b.Height, err)
				continue
			}
		}
		ready = append(ready, b)
	}
	if err := d.st.slim(ready); err != nil {
		d.counters.keptWhole.Add(uint64(len(ready)))
		d.cfg.Logf("cluster: %v; the blocks stay whole", err)
		return
	}
	d.counters.slimmed.Add(uint64(len(ready)))
}

// Status implements chain.Orderer.
func (d *Driver) Status() chain.Status {
	st := chain.Status{View: d.view.Load(), Syncing: d.syncing.Load(), BehindBlocks: d.behind.Load(),
		SafetyRecovering: d.recovering.Load()}
	if l := d.leader.Load(); l >= 0 && int(l) < len(d.cfg.Validators) {
		st.Leader = d.cfg.Validators[l].Name
	}
	st.Peers = []string{}
	if tr := d.running.Load(); tr != nil {
		for _, p := range tr.Stats().Peers {
			if p.Connected {
				st.Peers = append(st.Peers, d.cfg.Validators[p.Index].Name)
			}
		}
	}
	return st
}

// ErrNotRunning is returned by Partition before Run started or after it ended.
var ErrNotRunning = errors.New("cluster: not running")

// Partition cuts this validator off from the listed validators (by genesis index)
// and heals the others; an empty list heals everything. Fault injection only.
func (d *Driver) Partition(peers []int) error {
	tr := d.running.Load()
	if tr == nil {
		return ErrNotRunning
	}
	for _, p := range peers {
		if p < 0 || p >= len(d.cfg.Validators) {
			return fmt.Errorf("cluster: partition: no validator %d", p)
		}
	}
	tr.SetBlocked(peers)
	d.cfg.Logf("cluster: partition from %v", peers)
	return nil
}

// Stats are the driver's counters.
type Stats struct {
	GossipFrames, GossipTxs, GossipDropsOut, GossipDropsIn uint64
	BadMessages, Proposals, Commits, Abandoned             uint64
	// Slimmed executed blocks are kept without their payloads (the ledger
	// holds it); KeptWhole ones the ledger could not give back identically.
	Slimmed, KeptWhole uint64
}

// Stats returns a snapshot of the counters.
func (d *Driver) Stats() Stats {
	c := &d.counters
	return Stats{GossipFrames: c.gossipFrames.Load(), GossipTxs: c.gossipTxs.Load(), GossipDropsOut: c.gossipDropsOut.Load(),
		GossipDropsIn: c.gossipDropsIn.Load(), BadMessages: c.badMessages.Load(), Proposals: c.proposals.Load(),
		Commits: c.commits.Load(), Abandoned: c.abandoned.Load(), Slimmed: c.slimmed.Load(), KeptWhole: c.keptWhole.Load()}
}
