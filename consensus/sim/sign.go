package sim

import "settle/consensus/hotstuff"

// The simulator signs Byzantine variants itself through the core's exported
// helpers, so that they pass signature checks and exercise the deeper rules.

func (c *Cluster) signVote(n *Node, view uint64, h hotstuff.Hash) hotstuff.Signature {
	return hotstuff.SignVote(n.signer, "settle-sim", view, h)
}

func (c *Cluster) resign(n *Node, b *hotstuff.Block) *hotstuff.Block {
	return hotstuff.SignBlock(n.signer, "settle-sim", b)
}
