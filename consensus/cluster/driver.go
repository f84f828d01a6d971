package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"settle/consensus/hotstuff"
	"settle/consensus/transport"
	"settle/engine/chain"
	"settle/engine/txn"
)

// Frame kinds: the first byte of every transport frame.
const (
	frameConsensus byte = 1 // hotstuff.EncodeMessage follows
	frameGossip    byte = 2 // txn.EncodeBatch of newly admitted transactions follows
)

// execNoticesMax bounds the executed-state notices waiting for the core goroutine.
const execNoticesMax = 4096

// Driver runs one validator's HotStuff core. It implements chain.Orderer and
// the node's optional hooks (Executed, Gossip, Partition).
type Driver struct {
	cfg         Config
	st          store
	genesisHash hotstuff.Hash // hash of hotstuff's block 0

	// Owned by the core goroutine (Run).
	core       *hotstuff.Core
	tr         *transport.Transport
	blocks     map[hotstuff.Hash]*blockInfo // known blocks above the executed height
	cache      payloadCache
	execHeight uint64
	pruneBelow uint64 // c/u/ entries below this height go in the next batch
	markerDone bool
	asmCancel  context.CancelFunc

	coreIn   chan inbound
	gossipIn chan []byte
	payloadC chan payloadResult
	execC    chan struct{}

	exec struct {
		mu      sync.Mutex
		notices []execNotice
	}
	gossip struct {
		mu   sync.Mutex
		raws [][]byte
	}

	running  atomic.Pointer[transport.Transport]
	view     atomic.Uint64
	leader   atomic.Int64
	counters counters
}

type counters struct {
	gossipDropsOut, gossipDropsIn, gossipFrames, gossipTxs atomic.Uint64
	badMessages, proposals, commits, abandoned             atomic.Uint64
}

type inbound struct {
	from int
	msg  hotstuff.Message
}

type execNotice struct {
	height uint64
	hash   [32]byte
}

// blockInfo is what the driver keeps about a block the core accepted.
type blockInfo struct {
	block     *hotstuff.Block
	txs       []*txn.Tx
	hashes    [][32]byte
	committed bool
}

var _ chain.Orderer = (*Driver)(nil)

// New validates cfg and builds a driver; nothing runs until Run.
func New(cfg Config) (*Driver, error) {
	cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Driver{
		cfg:         cfg,
		st:          store{db: cfg.DB},
		genesisHash: hotstuff.GenesisBlock(cfg.GenesisStateHash).Hash(),
		blocks:      map[hotstuff.Hash]*blockInfo{},
		cache:       newPayloadCache(payloadCacheMax),
		coreIn:      make(chan inbound, coreInQueueMax),
		gossipIn:    make(chan []byte, cfg.GossipInQueueMax),
		payloadC:    make(chan payloadResult, 1),
		execC:       make(chan struct{}, 1),
	}, nil
}

func (d *Driver) coreConfig() hotstuff.Config {
	hc := hotstuff.DefaultConfig()
	hc.ChainID = d.cfg.ChainID
	for _, v := range d.cfg.Validators {
		hc.Validators = append(hc.Validators, v.PublicKey)
	}
	hc.Signer = hotstuff.Ed25519Signer{Key: d.cfg.Key}
	hc.Verify = hotstuff.VerifyEd25519
	hc.ValidatePayload = d.validatePayload
	hc.Storage = d.st
	hc.GenesisStateHash = d.cfg.GenesisStateHash
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
	if d.tr, err = transport.New(d.transportConfig()); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := d.tr.Start(ctx); err != nil {
		d.tr.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	d.running.Store(d.tr)
	links := "TLS 1.3"
	if d.cfg.ReplicaPlaintext {
		links = "plaintext (replica_tls false)"
	}
	d.cfg.Logf("cluster: validator %d (%s) view %d, committed %d, safety lost %v, replica %s, links %s",
		d.cfg.Self, d.cfg.Validators[d.cfg.Self].Name, d.core.View(), d.core.Committed().Height, start.SafetyLost, d.cfg.ListenAddr, links)
	var wg sync.WaitGroup
	wg.Add(3)
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
	for _, b := range st.Blocks {
		if b.Height > head.Height {
			d.track(b)
		}
	}
	d.execHeight = head.Height
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
			d.core.Tick()
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			d.core.Tick()
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
		if err := d.perform(ctx, &rd, commit); err != nil {
			return err
		}
		d.core.Advance()
	}
	v := d.core.View()
	d.view.Store(v)
	d.leader.Store(int64(d.core.Leader(v)))
	return nil
}

// perform carries out one Ready in the order the core requires.
func (d *Driver) perform(ctx context.Context, rd *hotstuff.Ready, commit chain.CommitFunc) error {
	// 1. Durable before anything leaves.
	for _, b := range rd.Blocks {
		d.track(b)
	}
	prune := d.pruneBelow
	d.pruneBelow = 0
	if err := d.st.persist(rd.Safety, rd.Blocks, prune); err != nil {
		return err
	}
	if rd.Safety != nil && !d.markerDone && d.cfg.MarkerPath != "" {
		if err := writeMarker(d.cfg.MarkerPath); err != nil {
			return err
		}
		d.markerDone = true
	}
	// 2. Send.
	for _, env := range rd.Messages {
		frame := encodeFrame(env.Msg)
		if env.Broadcast {
			d.tr.Broadcast(frame)
		} else {
			d.tr.Send(int(env.To), frame)
		}
	}
	for _, f := range rd.Fetches {
		d.tr.Send(int(f.From), encodeFrame(f.Request()))
	}
	// 3. Commit, in height order.
	for _, b := range rd.Committed {
		if err := commit(ctx, d.toConsensus(b)); err != nil {
			if ctx.Err() != nil {
				return context.Canceled
			}
			return fmt.Errorf("cluster: commit block %d: %w", b.Height, err)
		}
		d.counters.commits.Add(1)
	}
	if n := len(rd.Committed); n > 0 {
		d.abandonUpTo(rd.Committed[n-1].Height)
	}
	// 4. Payload, evidence.
	if rd.NeedPayload != nil {
		d.startAssembly(ctx, rd.NeedPayload)
	}
	for _, ev := range rd.Evidence {
		d.cfg.Logf("cluster: EVIDENCE %s", ev)
	}
	return nil
}

func encodeFrame(m hotstuff.Message) []byte {
	enc := hotstuff.EncodeMessage(m)
	frame := make([]byte, 1+len(enc))
	frame[0] = frameConsensus
	copy(frame[1:], enc)
	return frame
}

// track records a block the core accepted, with its decoded transactions.
func (d *Driver) track(b *hotstuff.Block) {
	h := b.Hash()
	if _, ok := d.blocks[h]; ok {
		return
	}
	info := &blockInfo{block: b}
	if txs, ok := d.cache.get(b.Payload); ok {
		info.txs = txs
	} else {
		// Every stored block was validated (signatures included) before the core
		// accepted it, so decoding is enough here.
		txs, err := txn.DecodeBatch(b.Payload)
		if err != nil {
			panic(fmt.Sprintf("cluster: accepted block %s has an undecodable payload: %v", h, err))
		}
		info.txs = txs
	}
	info.hashes = make([][32]byte, len(info.txs))
	for i, tx := range info.txs {
		info.hashes[i] = tx.Hash()
	}
	d.blocks[h] = info
}

// toConsensus converts a committed hotstuff block for the node. Block 1's parent
// is the node's zero hash (its head before any block), not hotstuff's block 0.
func (d *Driver) toConsensus(b *hotstuff.Block) *chain.Block {
	h := b.Hash()
	info, ok := d.blocks[h]
	if !ok {
		d.track(b)
		info = d.blocks[h]
	}
	info.committed = true
	cb := &chain.Block{Height: b.Height, View: b.View, Hash: txn.Hash(h), Parent: txn.Hash(b.Parent),
		TimeMs: time.Now().UnixMilli(), Txs: info.txs}
	if b.Parent == d.genesisHash && b.Height == 1 {
		cb.Parent = txn.Hash{}
	}
	for _, c := range d.blocks {
		if c.block.QC.BlockHash == h {
			qc := c.block.QC
			cb.Cert = hotstuff.EncodeMessage(&hotstuff.SyncResponse{HighQC: &qc})
			break
		}
	}
	return cb
}

// abandonUpTo gives back the transactions of blocks at or below the committed
// height that were not committed: a pruned fork. Requeue ignores transactions this
// validator never reaped, so only the proposer (and validators that reaped them as
// part of an ancestor) are affected.
func (d *Driver) abandonUpTo(height uint64) {
	for h, info := range d.blocks {
		if info.block.Height > height || info.committed {
			continue
		}
		if len(info.hashes) > 0 {
			d.cfg.Pool.Requeue(info.hashes)
		}
		d.counters.abandoned.Add(1)
		delete(d.blocks, h)
	}
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
		d.execHeight = max(d.execHeight, n.height)
	}
	d.pruneBelow = d.execHeight + 1
	for h, info := range d.blocks {
		if info.committed && info.block.Height <= d.execHeight {
			delete(d.blocks, h)
		}
	}
}

// Status implements chain.Orderer.
func (d *Driver) Status() chain.Status {
	st := chain.Status{View: d.view.Load()}
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
}

// Stats returns a snapshot of the counters.
func (d *Driver) Stats() Stats {
	c := &d.counters
	return Stats{GossipFrames: c.gossipFrames.Load(), GossipTxs: c.gossipTxs.Load(), GossipDropsOut: c.gossipDropsOut.Load(),
		GossipDropsIn: c.gossipDropsIn.Load(), BadMessages: c.badMessages.Load(), Proposals: c.proposals.Load(),
		Commits: c.commits.Load(), Abandoned: c.abandoned.Load()}
}
