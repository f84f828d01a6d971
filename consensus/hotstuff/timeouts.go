package hotstuff

// timeoutCollector gathers timeout messages and forms TCs.
// INVARIANT: at most one timeout per (view, sender) is counted.
type timeoutCollector struct {
	views map[uint64]*viewTimeouts
}

type viewTimeouts struct {
	bySender map[ValidatorIndex]*Timeout
	done     bool
}

// add records t; it returns whether t is a duplicate, the number of distinct
// senders for the view, and the TC when t completes a quorum.
func (c *timeoutCollector) add(t *Timeout, quorum int) (dup bool, count int, tc *TC) {
	vt := c.views[t.View]
	if vt == nil {
		vt = &viewTimeouts{bySender: map[ValidatorIndex]*Timeout{}}
		c.views[t.View] = vt
	}
	if _, ok := vt.bySender[t.Sender]; ok {
		return true, len(vt.bySender), nil
	}
	vt.bySender[t.Sender] = t
	count = len(vt.bySender)
	if vt.done || count < quorum {
		return false, count, nil
	}
	vt.done = true
	return false, count, buildTC(t.View, vt.bySender)
}

func (c *timeoutCollector) prune(minView uint64) {
	for v := range c.views {
		if v < minView {
			delete(c.views, v)
		}
	}
}
