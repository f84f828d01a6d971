package hotstuff

// recovery relearns a lost safety state (a wiped disk) without equivocating.
//
// Before the loss this validator may have voted or timed out in any view v it
// reached. Reaching v needs a QC or TC for v-1, so at least f+1 honest validators
// were then in views ≥ v-1, and at least f of them are not this one. Views only
// grow. So once 2f+1 distinct other validators have shown certified views (each
// proposal or timeout proves its view by a QC or TC), the largest of those views,
// M, satisfies M ≥ v-1: some reporter is one of those f honest ones. Voting and
// timing out only in views ≥ M+2 therefore never repeats a view of the past.
//
// INVARIANT: while recovery is non-nil the core sends no vote, timeout or proposal.
type recovery struct {
	reports map[ValidatorIndex]uint64 // validator → highest certified view it showed
}

// noteRecovery records that validator from showed a certified view.
func (c *Core) noteRecovery(from ValidatorIndex, view uint64) {
	if c.recovery == nil || from == c.self {
		return
	}
	r := c.recovery
	r.reports[from] = max(r.reports[from], view)
	if len(r.reports) < c.vals.quorum() {
		return
	}
	m := uint64(0)
	for _, v := range r.reports {
		m = max(m, v)
	}
	c.safety.LastVotedView = max(c.safety.LastVotedView, m+1)
	c.safety.LastTimeoutView = max(c.safety.LastTimeoutView, m+1)
	c.markSafetyDirty()
	c.recovery = nil
}
