package hotstuff

// pacemaker tracks the current view and its timeout in logical ticks. A view's
// timeout doubles with every view since the last QC (capped), so that after a
// period of asynchrony views grow long enough for a quorum to meet in one.
type pacemaker struct {
	view         uint64
	elapsedTicks int
	timeoutTicks int
	baseTicks    int
	maxTicks     int
	// sent is this validator's timeout for view, resent at each expiry so that
	// lost timeouts are eventually replaced. nil until it times out in view.
	sent *Timeout
}

// enter moves to view. INVARIANT: views only grow.
func (p *pacemaker) enter(view, highQCView uint64) {
	if view <= p.view {
		panic("hotstuff: pacemaker view must grow")
	}
	p.view = view
	p.elapsedTicks = 0
	p.sent = nil
	shift := min(view-highQCView-1, 16)
	p.timeoutTicks = min(p.baseTicks<<shift, p.maxTicks)
}

// tick counts one tick and reports whether the view's timeout expired (again).
func (p *pacemaker) tick() bool {
	p.elapsedTicks++
	if p.elapsedTicks < p.timeoutTicks {
		return false
	}
	p.elapsedTicks = 0
	return true
}
