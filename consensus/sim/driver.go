package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// drive performs a node's Ready through hotstuff.Perform, the function the
// production driver uses, until the core has nothing more to ask; then it
// executes what is due and answers a payload request.
func (c *Cluster) drive(n *Node) {
	for n.core != nil && n.core.HasReady() {
		rd := n.core.Ready()
		c.logReady(n, &rd)
		fx := simEffects{c: c, n: n}
		if err := hotstuff.Perform(&rd, &fx); err != nil {
			c.violate(fmt.Errorf("%s: perform: %w", n.Name, err))
			return
		}
		n.core.Advance()
		if fx.lookup != 0 {
			if hash, ok := n.disk.execHashes[fx.lookup]; ok {
				n.core.ExecutedState(fx.lookup, hash)
			}
		}
		if c.opts.ExecDelayMax == 0 {
			c.execute(n, true)
		}
		if fx.need != nil {
			n.needPayload = fx.need
			n.proposeAt = c.Net.Now
			if c.opts.ProposeDelayMax > 0 {
				n.proposeAt += int64(c.rng.Intn(c.opts.ProposeDelayMax + 1))
			}
			if !c.opts.ManualPropose && n.proposeAt <= c.Net.Now {
				if err := c.Propose(n, c.payload(n, *fx.need)); err != nil && debugErrors {
					c.logf("%s: propose: %v", n.Name, err)
				}
			}
		}
	}
}

// simEffects are a simulated replica's actions for one Ready.
type simEffects struct {
	c      *Cluster
	n      *Node
	need   *hotstuff.PayloadRequest
	lookup uint64
}

var _ hotstuff.Effects = (*simEffects)(nil)

func (fx *simEffects) Persist(safety *hotstuff.SafetyState, blocks []*hotstuff.Block) error {
	fx.n.disk.persist(safety, blocks)
	if fx.n.Honest() {
		for _, b := range blocks {
			if certified, ok := fx.n.disk.blocks[b.QC.BlockHash]; ok && b.QC.View > 0 {
				fx.c.checkClaim(certified.ExecHeight, certified.ExecStateHash)
			}
		}
	}
	if f, ok := fx.n.exec.(Follower); ok {
		f.Accepted(blocks)
	}
	return nil
}

func (fx *simEffects) Send(env hotstuff.Envelope) { fx.c.sendEnvelope(fx.n, env) }

// Commit checks commit order and safety, then queues the blocks for execution
// (which happens at once, or up to ExecDelayMax steps later).
func (fx *simEffects) Commit(blocks []*hotstuff.Block) error {
	c, n := fx.c, fx.n
	for _, b := range blocks {
		if b.Height != n.committedHeight+1 {
			c.violate(fmt.Errorf("%s committed height %d after %d", n.Name, b.Height, n.committedHeight))
		}
		n.committedHeight = b.Height
		n.disk.committed[b.Height] = b
		if n.Honest() {
			if prev, ok := c.commits[b.Height]; ok && prev != b.Hash() {
				c.violate(fmt.Errorf("safety: %s committed %s at height %d, another honest node committed %s", n.Name, b.Hash(), b.Height, prev))
			}
			c.commits[b.Height] = b.Hash()
		}
		at := c.Net.Now
		if c.opts.ExecDelayMax > 0 {
			at += int64(c.rng.Intn(c.opts.ExecDelayMax + 1))
		}
		n.execQueue = append(n.execQueue, queued{block: b, at: at})
	}
	if f, ok := n.exec.(Follower); ok {
		f.Committed(blocks)
	}
	return nil
}

func (fx *simEffects) NeedPayload(req hotstuff.PayloadRequest) { fx.need = &req }

func (fx *simEffects) LookupExecuted(height uint64) { fx.lookup = height }

func (fx *simEffects) Evidence(ev hotstuff.Evidence) {
	fx.c.Evidence = append(fx.c.Evidence, fmt.Sprintf("%s: %s", fx.n.Name, ev))
}

// queued is a committed block waiting for execution until tick at.
type queued struct {
	block *hotstuff.Block
	at    int64
}

// execute runs a node's committed blocks that are due (all of them when all is
// set), in height order: the executor applies each, the disk records it as the
// new root (the executed head a restart resumes from, as the node's store does),
// and the core learns the state hash.
func (c *Cluster) execute(n *Node, all bool) {
	for n.core != nil && len(n.execQueue) > 0 && (all || n.execQueue[0].at <= c.Net.Now) {
		b := n.execQueue[0].block
		n.execQueue = n.execQueue[1:]
		state := hotstuff.Hash(n.exec.Execute(b))
		n.executedHeight = b.Height
		n.disk.root = b
		n.disk.execHeight, n.disk.execHash = b.Height, state
		n.disk.execHashes[b.Height] = state
		if n.Honest() {
			c.checkState(n, b, state)
		}
		n.core.ExecutedState(b.Height, state)
	}
}

func (c *Cluster) checkState(n *Node, b *hotstuff.Block, state hotstuff.Hash) {
	if prev, ok := c.states[b.Height]; ok && prev != state {
		c.violate(fmt.Errorf("state: %s has state %s at height %d, another honest node has %s", n.Name, state, b.Height, prev))
	}
	c.states[b.Height] = state
	for _, claim := range c.claims[b.Height] {
		c.checkClaim(b.Height, claim)
	}
	delete(c.claims, b.Height)
	if err := n.exec.CheckInvariants(); err != nil {
		c.violate(fmt.Errorf("executor invariant on %s at height %d: %w", n.Name, b.Height, err))
	}
}

// checkClaim holds the property light clients rely on (docs/consensus.md,
// "Execution state hashes"): a block that a QC certifies claims the state hash
// that honest validators computed. A claim for a height no honest node has
// executed yet waits in c.claims until one does.
func (c *Cluster) checkClaim(height uint64, claim hotstuff.Hash) {
	state, ok := c.states[height]
	if !ok {
		c.claims[height] = append(c.claims[height], claim)
		return
	}
	if state != claim {
		c.violate(fmt.Errorf("soundness: a QC certifies state %s at height %d, honest nodes have %s", claim, height, state))
	}
}

func (c *Cluster) violate(err error) {
	if c.Violation == nil {
		c.Violation = err
		c.logf("VIOLATION %v", err)
	}
}

// sendEnvelope expands an envelope to packets, applying Byzantine mutations.
func (c *Cluster) sendEnvelope(n *Node, env hotstuff.Envelope) {
	for _, to := range c.Nodes {
		if to == n || !(env.Broadcast || to.Val == env.To) {
			continue
		}
		for _, m := range c.mutate(n, to, env.Msg) {
			c.Net.send(n, to, m)
		}
	}
}
