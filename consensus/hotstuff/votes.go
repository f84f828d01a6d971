package hotstuff

// voteCollector gathers votes at the leader of the next view and forms QCs.
// INVARIANT: at most one vote per (view, voter) is counted; a second, different
// one is equivocation evidence.
type voteCollector struct {
	views map[uint64]*viewVotes
}

type viewVotes struct {
	first  map[ValidatorIndex]*Vote
	byHash map[Hash]map[ValidatorIndex]Signature
	done   bool // a QC was formed for this view
}

// add records v and returns the earlier conflicting vote (equivocation), whether v
// is a duplicate, and the QC when v completes a quorum.
func (c *voteCollector) add(v *Vote, quorum int) (conflict *Vote, dup bool, qc *QC) {
	vv := c.views[v.View]
	if vv == nil {
		vv = &viewVotes{first: map[ValidatorIndex]*Vote{}, byHash: map[Hash]map[ValidatorIndex]Signature{}}
		c.views[v.View] = vv
	}
	if prev, ok := vv.first[v.Voter]; ok {
		if prev.BlockHash != v.BlockHash {
			return prev, false, nil
		}
		return nil, true, nil
	}
	vv.first[v.Voter] = v
	sigs := vv.byHash[v.BlockHash]
	if sigs == nil {
		sigs = map[ValidatorIndex]Signature{}
		vv.byHash[v.BlockHash] = sigs
	}
	sigs[v.Voter] = v.Signature
	if vv.done || len(sigs) < quorum {
		return nil, false, nil
	}
	vv.done = true
	q := buildQC(v.View, v.BlockHash, sigs)
	return nil, false, &q
}

// prune drops views below minView, keeping memory bounded by the view window.
func (c *voteCollector) prune(minView uint64) {
	for v := range c.views {
		if v < minView {
			delete(c.views, v)
		}
	}
}
