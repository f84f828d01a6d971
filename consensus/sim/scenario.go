package sim

import (
	"fmt"
	"math/rand"

	"settle/consensus/hotstuff"
)

// Scenario is one seeded run: a fault phase, then a heal and a liveness window.
type Scenario struct {
	Seed            int64
	Validators      int
	Byzantine       map[hotstuff.ValidatorIndex]Behavior
	Twins           []hotstuff.ValidatorIndex
	FaultTicks      int64
	LivenessTicks   int64 // every honest node must commit new blocks within this
	DropPct         int
	DupPct          int
	DelayMax        int64
	ExecDelayMax    int // see Options.ExecDelayMax
	ProposeDelayMax int // see Options.ProposeDelayMax
	DrainTicks      int64
	// Configure, if set, adjusts the cluster options (the application) before the run.
	Configure func(*Options)
}

var byzantineChoices = []Behavior{Equivocate, DoubleVote, BadPayload, BadSignature, ForgedQC, WithholdVotes, Twin, Equivocate | DoubleVote, Replay, LieState}

// NewScenario derives a scenario from a seed.
func NewScenario(seed int64) Scenario {
	rng := rand.New(rand.NewSource(seed))
	s := Scenario{Seed: seed, Validators: 4, Byzantine: map[hotstuff.ValidatorIndex]Behavior{}}
	if rng.Intn(4) == 0 {
		s.Validators = 7
	}
	f := (s.Validators - 1) / 3
	for _, v := range rng.Perm(s.Validators)[:rng.Intn(f+1)] {
		b := byzantineChoices[rng.Intn(len(byzantineChoices))]
		s.Byzantine[hotstuff.ValidatorIndex(v)] = b
		if b&Twin != 0 {
			s.Twins = append(s.Twins, hotstuff.ValidatorIndex(v))
		}
	}
	s.FaultTicks = 150 + rng.Int63n(250)
	s.LivenessTicks = 1500
	s.DropPct, s.DupPct, s.DelayMax = rng.Intn(15), rng.Intn(10), 1+rng.Int63n(4)
	s.ExecDelayMax = rng.Intn(3)
	s.ProposeDelayMax = rng.Intn(3)
	s.DrainTicks = 2000
	return s
}

func (s Scenario) String() string {
	return fmt.Sprintf("seed=%d n=%d byzantine=%v faultTicks=%d drop=%d%% dup=%d%% delayMax=%d execDelayMax=%d proposeDelayMax=%d",
		s.Seed, s.Validators, s.Byzantine, s.FaultTicks, s.DropPct, s.DupPct, s.DelayMax, s.ExecDelayMax, s.ProposeDelayMax)
}

// Run plays the scenario and returns the first violation (safety, state, executor
// invariant or liveness), or nil.
func (s Scenario) Run(log func(string)) (*Cluster, error) {
	rng := rand.New(rand.NewSource(s.Seed ^ 0x5e771e))
	opts := Options{Validators: s.Validators, Byzantine: s.Byzantine, Twins: s.Twins,
		ViewTimeoutTicks: 8, ViewTimeoutTicksMax: 64, ExecDelayMax: s.ExecDelayMax, ProposeDelayMax: s.ProposeDelayMax, Log: log}
	if s.Configure != nil {
		s.Configure(&opts)
	}
	c, err := NewCluster(opts, rng)
	if err != nil {
		return nil, err
	}
	c.Net.DropPct, c.Net.DupPct, c.Net.DelayMax = s.DropPct, s.DupPct, s.DelayMax
	c.splitTwins()
	for c.Net.Now < s.FaultTicks && c.Violation == nil {
		c.injectFault()
		c.step()
	}
	if c.Violation != nil {
		return c, c.Violation
	}
	c.healAll()
	if err := c.checkLiveness(s.LivenessTicks); err != nil {
		return c, err
	}
	if d, ok := opts.Payloads.(Drainer); ok {
		if err := d.Drain(c, s.DrainTicks); err != nil {
			return c, err
		}
	}
	c.executeAll()
	return c, c.Violation
}

// step is one virtual tick: clients act, what is due is delivered, every
// running node ticks and executes some of its committed blocks.
func (c *Cluster) step() {
	if s, ok := c.opts.Payloads.(Stepper); ok {
		s.Step(c)
	}
	c.Net.deliverDue(func() {})
	for _, i := range c.rng.Perm(len(c.Nodes)) {
		n := c.Nodes[i]
		c.noteReachable(n)
		c.Tick(n)
		if n.Up() && n.needPayload != nil && !c.opts.ManualPropose && n.proposeAt <= c.Net.Now {
			_ = c.Propose(n, c.payload(n, *n.needPayload))
		}
		if c.opts.ExecDelayMax > 0 && n.Up() {
			c.execute(n, false)
			c.drive(n)
		}
	}
	c.Net.Now++
}

// noteReachable tells a node's core which validators it cannot reach (every
// node of theirs down or in another partition), as the cluster driver does from
// its transport's connection state.
func (c *Cluster) noteReachable(n *Node) {
	if n.core == nil {
		return
	}
	var b hotstuff.Bitmap
	for v := 0; v < c.opts.Validators; v++ {
		if hotstuff.ValidatorIndex(v) == n.Val {
			continue
		}
		reachable := false
		for _, m := range c.Nodes {
			if int(m.Val) == v && m.Up() && c.Net.Connected(n.ID, m.ID) {
				reachable = true
			}
		}
		if !reachable {
			b = b.With(hotstuff.ValidatorIndex(v))
		}
	}
	n.core.SetUnreachable(b)
}

// executeAll executes every node's queued blocks (the end of a run).
func (c *Cluster) executeAll() {
	for _, n := range c.Nodes {
		c.execute(n, true)
	}
}

// Step runs one virtual tick (for tests that drive a cluster by hand).
func (c *Cluster) Step() { c.step() }

// injectFault changes partitions and crashes or restarts nodes, at random.
func (c *Cluster) injectFault() {
	switch r := c.rng.Intn(1000); {
	case r < 15:
		c.randomPartition()
	case r < 30:
		c.Net.Heal()
		c.splitTwins()
	case r < 40:
		n := c.Nodes[c.rng.Intn(len(c.Nodes))]
		if n.Up() {
			c.Crash(n)
		}
	case r < 60:
		n := c.Nodes[c.rng.Intn(len(c.Nodes))]
		if !n.Up() {
			// A wiped validator is faulty until it relearns its view, so wipes
			// share the fault budget f with the Byzantine validators.
			wipe := c.rng.Intn(8) == 0 && n.Honest() && c.wipes+len(c.opts.Byzantine) < (c.opts.Validators-1)/3
			if wipe {
				c.wipes++
			}
			if err := c.Restart(n, wipe); err != nil {
				c.violate(err)
			}
		}
	}
}

func (c *Cluster) randomPartition() {
	var a, b []int
	for _, n := range c.Nodes {
		if c.rng.Intn(2) == 0 {
			a = append(a, n.ID)
		} else {
			b = append(b, n.ID)
		}
	}
	c.Net.Partition(a, b)
	c.splitTwins()
}

// splitTwins keeps the two nodes of each twin pair in different partitions
// during the fault phase, so each can lead a different majority astray.
func (c *Cluster) splitTwins() {
	for _, n := range c.Nodes {
		if n.Byz&Twin != 0 && n.ID >= c.opts.Validators && c.Net.Connected(n.ID, int(n.Val)) {
			c.Net.groups[n.ID] = c.Net.groups[int(n.Val)] + 100
		}
	}
}

// healAll ends the fault phase: one partition, no loss, every node running.
func (c *Cluster) healAll() {
	c.Net.Heal()
	c.Net.DropPct, c.Net.DupPct = 0, 0
	c.Net.DelayMax = min(c.Net.DelayMax, 2)
	for _, n := range c.Nodes {
		if !n.Up() {
			if err := c.Restart(n, false); err != nil {
				c.violate(err)
			}
		}
	}
}

// checkLiveness runs until every honest node committed at least two new blocks,
// and fails if that takes longer than window ticks.
func (c *Cluster) checkLiveness(window int64) error {
	start := map[int]uint64{}
	for _, n := range c.Nodes {
		start[n.ID] = n.committedHeight
	}
	deadline := c.Net.Now + window
	for c.Net.Now < deadline && c.Violation == nil {
		c.step()
		if c.allProgressed(start) {
			return nil
		}
	}
	if c.Violation != nil {
		return c.Violation
	}
	for _, n := range c.Nodes {
		if n.Honest() && n.committedHeight < start[n.ID]+2 {
			return fmt.Errorf("liveness: %s committed %d → %d in %d ticks after healing (view %d)",
				n.Name, start[n.ID], n.committedHeight, window, n.core.View())
		}
	}
	return nil
}

func (c *Cluster) allProgressed(start map[int]uint64) bool {
	highest := uint64(0)
	for _, n := range c.Nodes {
		highest = max(highest, n.committedHeight)
	}
	for _, n := range c.Nodes {
		if n.Honest() && (n.committedHeight < start[n.ID]+2 || n.committedHeight+1 < highest) {
			return false
		}
	}
	return true
}
