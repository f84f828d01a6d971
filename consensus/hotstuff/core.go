package hotstuff

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// Core is one validator's consensus state machine. It is not safe for concurrent
// use: the driver calls it from one goroutine.
type Core struct {
	cfg  Config
	self ValidatorIndex
	vals validators
	cert certifier

	safety      SafetyState
	safetyDirty bool
	persisted   SafetyState // the last safety state handed out in a Ready
	recovery    *recovery   // non-nil while the safety state is being relearnt

	pm       pacemaker
	forks    *forks
	votes    voteCollector
	timeouts timeoutCollector
	exec     execTracker

	seenProposals map[uint64]*Block // view → first proposal, for equivocation
	fetching      map[Hash]uint64   // hash → tick when last asked
	sync          catchup
	ticks         uint64
	payloadView   uint64 // view of the outstanding NeedPayload, 0 if none
	payloadParent Hash   // the parent that NeedPayload named
	unreachable   Bitmap // validators the driver cannot reach now (SetUnreachable)
	// awaitingExec is a block of the current view this validator will vote for
	// once it has executed the block's ExecHeight itself (see tryVote).
	awaitingExec *pendingVote

	ready    Ready
	readyOut bool // Ready() was called and Advance() not yet
}

// Start is what the driver recovered from disk.
type Start struct {
	// Safety is the persisted safety state; nil on a validator's very first boot.
	Safety *SafetyState
	// SafetyLost says the safety state should exist but is gone (wiped disk). The
	// core then neither votes nor times out until a quorum told it the view.
	SafetyLost bool
	// Root is the last committed block the driver stored; nil means genesis.
	Root *Block
	// Blocks are stored blocks above Root, in any order; others are ignored.
	Blocks []*Block
	// ExecHeight and ExecStateHash are the last executed height and state hash.
	ExecHeight    uint64
	ExecStateHash Hash
}

// GenesisBlock is block 0: view 0, no parent, the genesis state hash.
func GenesisBlock(stateHash Hash) *Block {
	return &Block{ExecStateHash: stateHash}
}

// New builds a core from a validated config and the recovered state.
func New(cfg Config, st Start) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	vals := newValidators(cfg.Validators)
	if st.SafetyLost && len(cfg.Validators)-1 < vals.quorum() {
		return nil, errors.New("hotstuff: a lost safety state cannot be relearnt with fewer than 4 validators")
	}
	self, _ := cfg.selfIndex()
	genesis := GenesisBlock(cfg.GenesisStateHash)
	c := &Core{
		cfg: cfg, self: self, vals: vals,
		cert: certifier{chainID: cfg.ChainID, vals: vals, verify: cfg.Verify,
			genesis: QC{BlockHash: genesis.Hash()}, known: map[qcKey]struct{}{}, knownMax: 4096},
		votes:         voteCollector{views: map[uint64]*viewVotes{}},
		timeouts:      timeoutCollector{views: map[uint64]*viewTimeouts{}},
		seenProposals: map[uint64]*Block{},
		fetching:      map[Hash]uint64{},
		sync:          catchup{inflight: map[uint64]rangeAsk{}},
		pm:            pacemaker{baseTicks: cfg.ViewTimeoutTicks, maxTicks: cfg.ViewTimeoutTicksMax},
	}
	root := genesis
	if st.Root != nil {
		root = st.Root
	}
	c.forks = newForks(root, cfg.PendingBlocksMax, cfg.UnsafeCommitRule)
	c.exec = newExecTracker(cfg.GenesisStateHash)
	if st.ExecHeight > 0 {
		c.exec.recordLocal(st.ExecHeight, st.ExecStateHash)
	}
	c.safety = SafetyState{HighQC: c.cert.genesis}
	if st.Safety != nil {
		c.safety = *st.Safety
	}
	if st.SafetyLost {
		c.safety = SafetyState{HighQC: c.cert.genesis}
		c.recovery = &recovery{reports: map[ValidatorIndex]uint64{}}
	}
	c.persisted = c.safety
	c.pm.enter(c.safety.view(), c.safety.HighQC.View)
	c.restoreBlocks(st.Blocks)
	c.maybeRequestPayload()
	return c, nil
}

// restoreBlocks re-inserts stored blocks; they were verified before being stored.
func (c *Core) restoreBlocks(blocks []*Block) {
	sorted := append([]*Block(nil), blocks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Height < sorted[j].Height })
	for _, b := range sorted {
		parent, ok := c.forks.get(b.Parent)
		if !ok || b.Height <= c.forks.root.Height {
			continue
		}
		c.forks.add(b)
		c.commitFor(parent)
		if c.safety.HighQC.BlockHash == b.Hash() {
			c.commitFor(b)
		}
	}
}

// Ready returns the pending actions. The driver performs them and then calls
// Advance before giving the core any other input.
func (c *Core) Ready() Ready {
	c.assertNotReadyOut()
	r := c.ready
	if c.safetyDirty {
		s := c.safety
		r.Safety = &s
	}
	checkCovered(&r, &c.persisted, c.self)
	c.readyOut = true
	return r
}

// HasReady reports whether Ready would return any action.
func (c *Core) HasReady() bool { return c.safetyDirty || !c.ready.IsEmpty() }

// Advance tells the core that the last Ready was performed.
func (c *Core) Advance() {
	if !c.readyOut {
		panic("hotstuff: Advance without Ready")
	}
	if c.safetyDirty {
		c.persisted = c.safety
	}
	c.safetyDirty = false
	c.ready = Ready{}
	c.readyOut = false
}

func (c *Core) assertNotReadyOut() {
	if c.readyOut {
		panic("hotstuff: input given between Ready and Advance")
	}
}

// View is the current view.
func (c *Core) View() uint64 { return c.pm.view }

// Leader returns the leader of view.
func (c *Core) Leader(view uint64) ValidatorIndex { return c.vals.leader(view) }

// Self is this validator's index.
func (c *Core) Self() ValidatorIndex { return c.self }

// Committed returns the highest committed block.
func (c *Core) Committed() *Block { return c.forks.root }

// Safety returns a copy of the current (possibly not yet persisted) safety state.
func (c *Core) Safety() SafetyState { return c.safety }

// Recovering reports whether the core is still relearning a lost safety state.
func (c *Core) Recovering() bool { return c.recovery != nil }

// Step processes one message from validator from (as authenticated by the
// transport). Bad input returns one of the sentinel errors in errors.go, wrapped.
func (c *Core) Step(from ValidatorIndex, m Message) error {
	c.assertNotReadyOut()
	if !c.vals.valid(from) {
		return fmt.Errorf("message from %d: %w", from, ErrUnknownValidator)
	}
	var err error
	switch m := m.(type) {
	case *Proposal:
		err = c.onProposal(from, m)
	case *Vote:
		err = c.onVote(m)
	case *Timeout:
		err = c.onTimeout(from, m)
	case *SyncRequest:
		err = c.onSyncRequest(from, m)
	case *SyncResponse:
		err = c.onSyncResponse(from, m)
	case *RangeRequest:
		err = c.onRangeRequest(from, m)
	default:
		err = fmt.Errorf("%w: message type %T", ErrMalformed, m)
	}
	if err != nil {
		return fmt.Errorf("%T from %d: %w", m, from, err)
	}
	return nil
}

// Tick advances logical time by one tick.
func (c *Core) Tick() {
	c.assertNotReadyOut()
	c.ticks++
	if c.pm.tick() || c.leaderGone() {
		c.localTimeout()
	}
	if c.ticks%uint64(c.cfg.ViewTimeoutTicks) == 0 {
		c.refetchMissing()
		c.retryRanges()
	}
}

// SetUnreachable tells the core which validators the driver cannot reach now
// (their connection is down: a crashed process). The view of an unreachable
// leader times out after Config.FastTimeoutTicks instead of the full view
// timeout, and votes also go to the leader after an unreachable next leader.
// Neither affects safety: timing out early only gives up on a view, and a QC
// is valid whoever collects its votes. The driver calls it between Readys.
func (c *Core) SetUnreachable(b Bitmap) {
	c.assertNotReadyOut()
	c.unreachable = b
}

// leaderGone reports that the current view's leader is unreachable, this
// validator has not timed out in the view yet, and FastTimeoutTicks passed.
func (c *Core) leaderGone() bool {
	leader := c.vals.leader(c.pm.view)
	return c.cfg.FastTimeoutTicks > 0 && c.pm.sent == nil && leader != c.self &&
		c.pm.elapsedTicks >= c.cfg.FastTimeoutTicks && c.unreachable.Has(leader)
}

// refetchMissing asks again for the missing ancestors of parked blocks: a lost
// sync request or response must not stall a lagging validator forever.
func (c *Core) refetchMissing() {
	var gaps []Hash
	for parent := range c.forks.pending {
		if !c.forks.isParked(parent) { // else the chain's real gap is further down
			gaps = append(gaps, parent)
		}
	}
	// Sorted so that the core stays deterministic (map order is random).
	sort.Slice(gaps, func(i, j int) bool { return bytes.Compare(gaps[i][:], gaps[j][:]) < 0 })
	for i, parent := range gaps {
		if i == fetchRetriesPerTickMax {
			return
		}
		ps := c.forks.pending[parent]
		c.fetch(parent, ps[0].from, &ps[0].block.QC)
	}
}

// fetchRetriesPerTickMax bounds the sync requests one retry round sends.
const fetchRetriesPerTickMax = 4

func (c *Core) markSafetyDirty() { c.safetyDirty = true }

func (c *Core) send(to ValidatorIndex, m Message) {
	if to == c.self {
		if v, ok := m.(*Vote); ok {
			_ = c.onVote(v) // our own vote, already checked
			return
		}
		panic(fmt.Sprintf("hotstuff: sending %T to self", m))
	}
	c.ready.Messages = append(c.ready.Messages, Envelope{To: to, Msg: m})
}

func (c *Core) broadcast(m Message) {
	c.ready.Messages = append(c.ready.Messages, Envelope{Broadcast: true, Msg: m})
}
