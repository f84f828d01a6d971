package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// drive performs a node's Ready in the core's documented order (persist, send,
// commit, fetch) until the core has nothing more to ask.
func (c *Cluster) drive(n *Node) {
	for n.core != nil && n.core.HasReady() {
		rd := n.core.Ready()
		c.logReady(n, &rd)
		n.disk.persist(&rd)
		for _, env := range rd.Messages {
			c.sendEnvelope(n, env)
		}
		executed := c.commit(n, rd.Committed)
		for _, f := range rd.Fetches {
			c.sendEnvelope(n, hotstuff.Envelope{To: f.From, Msg: f.Request()})
		}
		for _, e := range rd.Evidence {
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %s", n.Name, e))
		}
		n.core.Advance()
		for _, ex := range executed {
			n.core.ExecutedState(ex.height, ex.hash)
		}
		if rd.NeedPayload != nil {
			n.needPayload = rd.NeedPayload
			if !c.opts.ManualPropose {
				_ = c.Propose(n, c.payload(n, *rd.NeedPayload))
			}
		}
	}
}

type executed struct {
	height uint64
	hash   hotstuff.Hash
}

// commit executes committed blocks, stores the new root, and checks safety and
// the executor's invariants.
func (c *Cluster) commit(n *Node, blocks []*hotstuff.Block) []executed {
	var out []executed
	for _, b := range blocks {
		if b.Height != n.committedHeight+1 {
			c.violate(fmt.Errorf("%s committed height %d after %d", n.Name, b.Height, n.committedHeight))
		}
		state := hotstuff.Hash(n.exec.Execute(b.Height, b.Payload))
		n.committedHeight = b.Height
		n.disk.root = b
		n.disk.execHeight, n.disk.execHash = b.Height, state
		out = append(out, executed{b.Height, state})
		if n.Honest() {
			c.checkCommit(n, b, state)
		}
	}
	return out
}

func (c *Cluster) checkCommit(n *Node, b *hotstuff.Block, state hotstuff.Hash) {
	if prev, ok := c.commits[b.Height]; ok && prev != b.Hash() {
		c.violate(fmt.Errorf("safety: %s committed %s at height %d, another honest node committed %s", n.Name, b.Hash(), b.Height, prev))
	}
	c.commits[b.Height] = b.Hash()
	if prev, ok := c.states[b.Height]; ok && prev != state {
		c.violate(fmt.Errorf("state: %s has state %s at height %d, another honest node has %s", n.Name, state, b.Height, prev))
	}
	c.states[b.Height] = state
	if err := n.exec.CheckInvariants(); err != nil {
		c.violate(fmt.Errorf("executor invariant on %s at height %d: %w", n.Name, b.Height, err))
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
