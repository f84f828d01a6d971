package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"

	"settle/consensus/hotstuff"
)

// Behavior is a set of Byzantine behaviours of one validator's node(s).
type Behavior uint32

// Byzantine behaviours. A node with any of them is excluded from the safety and
// liveness checks; the others must stay safe and live despite it.
const (
	Equivocate    Behavior = 1 << iota // sends different proposals to different peers
	DoubleVote                         // adds a vote for another block to each vote
	BadPayload                         // proposes payloads honest nodes refuse
	BadSignature                       // corrupts some of its signatures
	ForgedQC                           // proposes blocks with forged certificates
	WithholdVotes                      // never sends its votes
	Twin                               // shares its key with another node
	Replay                             // proposes transactions that cannot apply (replays, gaps)
	LieState                           // claims a false state hash for the newest height it may name
)

var behaviorNames = []string{"equivocate", "double-vote", "bad-payload", "bad-signature", "forged-qc", "withhold-votes", "twin", "replay", "lie-state"}

func (b Behavior) String() string {
	var names []string
	for i, n := range behaviorNames {
		if b&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "honest"
	}
	return strings.Join(names, "+")
}

// mutate turns one message from n to peer into what a Byzantine n really sends.
func (c *Cluster) mutate(n, to *Node, m hotstuff.Message) []hotstuff.Message {
	b := n.Byz
	if b&^Twin == 0 {
		return []hotstuff.Message{m}
	}
	switch m := m.(type) {
	case *hotstuff.Vote:
		return c.mutateVote(n, m)
	case *hotstuff.Proposal:
		if m.Block.Proposer == n.Val {
			return c.mutateProposal(n, to, m)
		}
	case *hotstuff.Timeout:
		if b&BadSignature != 0 && c.rng.Intn(2) == 0 {
			t := *m
			t.Signature[0] ^= 1
			return []hotstuff.Message{&t}
		}
	}
	return []hotstuff.Message{m}
}

func (c *Cluster) mutateVote(n *Node, v *hotstuff.Vote) []hotstuff.Message {
	if n.Byz&WithholdVotes != 0 {
		return nil
	}
	out := []hotstuff.Message{v}
	if n.Byz&BadSignature != 0 && c.rng.Intn(2) == 0 {
		bad := *v
		bad.Signature[5] ^= 1
		out[0] = &bad
	}
	if n.Byz&DoubleVote != 0 {
		other := hotstuff.Vote{View: v.View, Voter: v.Voter}
		c.rng.Read(other.BlockHash[:])
		other.Signature = c.signVote(n, other.View, other.BlockHash)
		out = append(out, &other)
	}
	return out
}

// mutateProposal equivocates (odd peers get another block first, then the real
// one), forges the QC, or corrupts the signature.
func (c *Cluster) mutateProposal(n, to *Node, p *hotstuff.Proposal) []hotstuff.Message {
	switch {
	case n.Byz&Equivocate != 0 && to.ID%2 == 1:
		b := *p.Block
		b.Payload = c.equivocal(b.Payload)
		return []hotstuff.Message{&hotstuff.Proposal{Block: c.resign(n, &b), TC: p.TC}, p}
	case n.Byz&ForgedQC != 0 && p.Block.QC.View > 0 && c.rng.Intn(2) == 0:
		b := *p.Block
		b.QC.Sigs = append([]hotstuff.Signature(nil), b.QC.Sigs...)
		b.QC.Sigs[0][0] ^= 1
		return []hotstuff.Message{&hotstuff.Proposal{Block: c.resign(n, &b), TC: p.TC}}
	case n.Byz&LieState != 0 && p.Block.Height > 1 && p.Block.View%4 < 3:
		// The newest height a block may name is the one least likely to be
		// executed by its voters: the claim a light client must never see
		// certified. Every peer gets the same lie, so that votes could add up.
		b := *p.Block
		b.ExecHeight = b.Height - 1
		b.ExecStateHash = sha256.Sum256(binary.BigEndian.AppendUint64([]byte("lie"), b.View))
		c.Lies++
		return []hotstuff.Message{&hotstuff.Proposal{Block: c.resign(n, &b), TC: p.TC}}
	case n.Byz&BadSignature != 0 && c.rng.Intn(2) == 0:
		b := *p.Block
		b.Signature[0] ^= 1
		return []hotstuff.Message{&hotstuff.Proposal{Block: &b, TC: p.TC}}
	}
	return []hotstuff.Message{p}
}
