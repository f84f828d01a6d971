package sim

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"

	"settle/consensus/hotstuff"
)

var errOutOfOrder = errors.New("sim: executor saw heights out of order")

// Options describe a cluster.
type Options struct {
	Validators          int
	Twins               []hotstuff.ValidatorIndex // validators that get a second node with the same key
	Byzantine           map[hotstuff.ValidatorIndex]Behavior
	UnsafeCommitRule    bool
	ViewTimeoutTicks    int
	ViewTimeoutTicksMax int
	NewExecutor         func() Executor
	// Payloads makes the leaders' payloads; nil proposes unique strings.
	Payloads PayloadSource
	// GenesisStateHash is the executor's state before block 1 (zero for HashChain).
	GenesisStateHash hotstuff.Hash
	// ManualPropose leaves NeedPayload unanswered until Propose is called.
	ManualPropose bool
	// ExecDelayMax > 0 executes committed blocks asynchronously, as the node
	// does: each committed block executes 0 to ExecDelayMax ticks later (in
	// height order), so proposals are assembled while committed ancestors are not
	// executed yet. 0 executes every committed block at once.
	ExecDelayMax int
	// ProposeDelayMax > 0 answers a payload request 0 to ProposeDelayMax ticks
	// later, as the node's assembler does (it waits for a full block or its
	// deadline): inputs that arrive meanwhile may change the leader's state.
	ProposeDelayMax int
	// SyncBytesMax > 0 replaces the core's bound on a sync answer's payload
	// bytes: small, answers come back short of what was asked.
	SyncBytesMax int
	// Log receives one line per action, for golden tests; nil logs nothing.
	Log func(line string)
}

// Cluster is a set of simulated nodes on one virtual network.
type Cluster struct {
	opts  Options
	rng   *rand.Rand
	keys  [][]byte
	Nodes []*Node
	Net   Network

	commits map[uint64]hotstuff.Hash // height → block committed by honest nodes
	states  map[uint64]hotstuff.Hash // height → state hash of honest nodes
	// Lies counts the false state claims LieState validators proposed.
	Lies int
	// claims are certified state claims not yet checked against states.
	claims    map[uint64][]hotstuff.Hash
	Evidence  []string
	Violation error // first safety or invariant violation
	wipes     int   // wiped restarts so far
}

// NewCluster builds and starts the nodes. rng drives every random choice.
func NewCluster(opts Options, rng *rand.Rand) (*Cluster, error) {
	if opts.NewExecutor == nil {
		opts.NewExecutor = NewHashChain
	}
	c := &Cluster{opts: opts, rng: rng, commits: map[uint64]hotstuff.Hash{}, states: map[uint64]hotstuff.Hash{},
		claims: map[uint64][]hotstuff.Hash{}}
	c.Net = Network{c: c, groups: map[int]int{}}
	var signers []FakeSigner
	for i := 0; i < opts.Validators; i++ {
		var k [32]byte
		k[0], k[1] = byte(i), byte(i>>8)
		signers = append(signers, FakeSigner{Key: k})
		c.keys = append(c.keys, k[:])
	}
	for i := 0; i < opts.Validators; i++ {
		c.addNode(hotstuff.ValidatorIndex(i), signers[i], fmt.Sprintf("n%d", i))
	}
	for _, v := range opts.Twins {
		c.addNode(v, signers[v], fmt.Sprintf("n%d'", v))
	}
	for _, n := range c.Nodes {
		if err := c.start(n, false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) addNode(v hotstuff.ValidatorIndex, s FakeSigner, name string) {
	n := &Node{ID: len(c.Nodes), Name: name, Val: v, signer: s, disk: newDisk(), exec: c.opts.NewExecutor()}
	n.Byz = c.opts.Byzantine[v]
	for _, t := range c.opts.Twins {
		if t == v {
			n.Byz |= Twin
		}
	}
	c.Nodes = append(c.Nodes, n)
}

func (c *Cluster) config(n *Node) hotstuff.Config {
	cfg := hotstuff.DefaultConfig()
	cfg.ChainID = "settle-sim"
	cfg.Validators = c.keys
	cfg.Signer = n.signer
	cfg.Verify = FakeVerify
	cfg.ValidatePayload = validatePayload
	if v, ok := n.exec.(PayloadValidator); ok {
		cfg.ValidatePayload = v.ValidatePayload // the application's own rule (real signature checks)
	}
	cfg.GenesisStateHash = c.opts.GenesisStateHash
	cfg.Storage = n.disk
	cfg.UnsafeCommitRule = c.opts.UnsafeCommitRule
	if c.opts.ViewTimeoutTicks > 0 {
		cfg.ViewTimeoutTicks, cfg.ViewTimeoutTicksMax = c.opts.ViewTimeoutTicks, c.opts.ViewTimeoutTicksMax
	}
	if c.opts.SyncBytesMax > 0 {
		cfg.SyncBytesMax = c.opts.SyncBytesMax
	}
	if n.Byz&BadPayload != 0 {
		cfg.ValidatePayload = nil // it proposes what honest nodes refuse
	}
	return cfg
}

// validatePayload is the simulated application's rule: payloads starting with
// "BAD" are invalid (a transaction with a bad signature, say).
func validatePayload(p []byte) error {
	if strings.HasPrefix(string(p), "BAD") {
		return errors.New("payload marked bad")
	}
	return nil
}

// start (re)creates a node's core from its disk.
func (c *Cluster) start(n *Node, lost bool) error {
	st, err := n.disk.start(lost)
	if err != nil {
		return err
	}
	core, err := hotstuff.New(c.config(n), st)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	n.core = core
	n.needPayload = nil
	n.committedHeight, n.execQueue = n.executedHeight, nil
	if f, ok := n.exec.(Follower); ok {
		f.Restarted(st)
	}
	c.drive(n)
	return nil
}

// Crash stops a node; only its disk survives.
func (c *Cluster) Crash(n *Node) {
	n.core = nil
	n.execQueue = nil
	c.logf("%s: crash", n.Name)
}

// Restart starts a crashed node from its disk; wipe loses the disk first (and the
// executor's state), so the node restarts with its safety state lost.
func (c *Cluster) Restart(n *Node, wipe bool) error {
	if wipe {
		n.disk = newDisk()
		n.exec = c.opts.NewExecutor()
		n.executedHeight = 0
	} else if r, ok := n.exec.(Recoverer); ok {
		if err := r.Recover(); err != nil {
			return fmt.Errorf("restart %s: %w", n.Name, err)
		}
	}
	c.logf("%s: restart wiped=%t", n.Name, wipe)
	return c.start(n, wipe)
}

// Tick ticks one node and performs its actions.
func (c *Cluster) Tick(n *Node) {
	if n.core == nil {
		return
	}
	n.core.Tick()
	c.drive(n)
}

// Propose answers a node's pending NeedPayload (manual mode).
func (c *Cluster) Propose(n *Node, payload []byte) error {
	if n.core == nil || n.needPayload == nil {
		return fmt.Errorf("%s has no pending payload request", n.Name)
	}
	req := *n.needPayload
	n.needPayload = nil
	err := n.core.Propose(req, payload)
	c.drive(n)
	return err
}

// Deliver hands a packet to its destination node.
func (c *Cluster) Deliver(p *Packet) {
	n := c.Nodes[p.To]
	if n.core == nil {
		return
	}
	m, err := hotstuff.DecodeMessage(p.Bytes)
	if err != nil {
		panic(fmt.Sprintf("sim: a sent message does not decode: %v", err))
	}
	if err := n.core.Step(p.FromVal, m); err != nil {
		c.logf("%s: reject %s", n.Name, shortErr(err))
		if debugErrors {
			c.logf("   %v", err)
		}
	}
	c.drive(n)
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Log != nil {
		c.opts.Log(fmt.Sprintf(format, args...))
	}
}

// Payload for a node's proposal: unique, and bad for a BadPayload node.
func (c *Cluster) payload(n *Node, req hotstuff.PayloadRequest) []byte {
	n.proposals++
	bad := n.Byz&BadPayload != 0 && c.rng.Intn(2) == 0
	if c.opts.Payloads != nil {
		return c.opts.Payloads.Payload(c, n, req, bad)
	}
	if bad {
		return []byte(fmt.Sprintf("BAD-%s-v%d", n.Name, req.View))
	}
	return []byte(fmt.Sprintf("%s-v%d-%d", n.Name, req.View, n.proposals))
}

// equivocal is another payload for the same slot that honest nodes accept.
func (c *Cluster) equivocal(payload []byte) []byte {
	if c.opts.Payloads != nil {
		return c.opts.Payloads.Equivocal(payload)
	}
	return append([]byte("equivocated-"), payload...)
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "hotstuff: "); i >= 0 {
		return s[i+len("hotstuff: "):]
	}
	return s
}
