package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// logReady prints a Ready in the canonical form the golden files use.
func (c *Cluster) logReady(n *Node, rd *hotstuff.Ready) {
	if c.opts.Log == nil {
		return
	}
	if s := rd.Safety; s != nil {
		htc := "-"
		if s.HighTC != nil {
			htc = fmt.Sprint(s.HighTC.View)
		}
		c.logf("%s: persist safety voted=%d timeout=%d hqc=%d htc=%s", n.Name, s.LastVotedView, s.LastTimeoutView, s.HighQC.View, htc)
	}
	for _, b := range rd.Blocks {
		c.logf("%s: persist block h%d v%d %s", n.Name, b.Height, b.View, b.Hash())
	}
	for _, env := range rd.Messages {
		to := "all"
		if !env.Broadcast {
			to = fmt.Sprintf("n%d", env.To)
		}
		c.logf("%s: send %s -> %s", n.Name, describe(env.Msg), to)
	}
	for _, b := range rd.Committed {
		c.logf("%s: commit h%d v%d %s payload=%q", n.Name, b.Height, b.View, b.Hash(), b.Payload)
	}
	for _, f := range rd.Fetches {
		c.logf("%s: fetch %s from n%d", n.Name, f.Hash, f.From)
	}
	if p := rd.NeedPayload; p != nil {
		c.logf("%s: need-payload v%d h%d", n.Name, p.View, p.Height)
	}
	for _, e := range rd.Evidence {
		c.logf("%s: evidence %s", n.Name, e)
	}
}
