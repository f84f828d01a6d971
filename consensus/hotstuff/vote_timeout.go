package hotstuff

import "fmt"

// onVote collects a vote at the leader of the next view, or of the one after
// (voters also send there when the next leader is unreachable: see tryVote).
// Errors: ErrNotForMe (this validator leads neither), ErrStale,
// ErrBadSignature, ErrEquivocation (with Evidence), ErrDuplicate.
func (c *Core) onVote(v *Vote) error {
	switch {
	case !c.vals.valid(v.Voter):
		return fmt.Errorf("voter %d: %w", v.Voter, ErrUnknownValidator)
	case c.vals.leader(v.View+1) != c.self && c.vals.leader(v.View+2) != c.self:
		return fmt.Errorf("vote for view %d: %w", v.View, ErrNotForMe)
	case v.View+1 < c.pm.view:
		return fmt.Errorf("vote for view %d in view %d: %w", v.View, c.pm.view, ErrStale)
	case v.View > c.pm.view+uint64(c.cfg.ViewsAheadMax):
		return fmt.Errorf("vote for view %d, too far past view %d: %w", v.View, c.pm.view, ErrStale)
	}
	if !c.cfg.Verify(c.vals.keys[v.Voter], voteSignBytes(c.cfg.ChainID, v.View, v.BlockHash), v.Signature) {
		return fmt.Errorf("vote by %d: %w", v.Voter, ErrBadSignature)
	}
	conflict, dup, qc := c.votes.add(v, c.vals.quorum())
	switch {
	case conflict != nil:
		c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: EquivocatingVote, Validator: v.Voter, View: v.View, First: conflict, Second: v})
		return fmt.Errorf("vote by %d in view %d: %w", v.Voter, v.View, ErrEquivocation)
	case dup:
		return fmt.Errorf("vote by %d in view %d: %w", v.Voter, v.View, ErrDuplicate)
	case qc != nil:
		c.cert.remember(qc)
		c.processQC(qc, v.Voter)
	}
	return nil
}

// localTimeout runs when the current view's timer expires: the first time it
// signs and broadcasts a timeout (after raising LastTimeoutView), later it resends
// the same message so that a lost one is eventually replaced.
func (c *Core) localTimeout() {
	if c.recovery != nil {
		return // INVARIANT: no timeout while the safety state is being relearnt
	}
	if c.pm.sent != nil {
		c.broadcast(c.pm.sent)
		return
	}
	view := c.pm.view
	if !c.safety.safeToTimeout(view) {
		return
	}
	t := &Timeout{View: view, Sender: c.self, HighQC: c.safety.HighQC}
	if t.HighQC.View+1 != view {
		t.LastTC = c.safety.HighTC
		if t.LastTC == nil || t.LastTC.View+1 != view {
			panic("hotstuff: in a view entered without a certificate for the previous one")
		}
	}
	t.Signature = c.cfg.Signer.Sign(timeoutSignBytes(c.cfg.ChainID, view, t.HighQC.View))
	c.safety.LastTimeoutView = view
	c.markSafetyDirty()
	c.pm.sent = t
	c.broadcast(t)
	_ = c.collectTimeout(t)
}

// onTimeout handles a peer's timeout: its certificates first (they may move this
// validator to the timeout's view), then the count towards a TC. Errors:
// ErrMalformed (the timeout does not prove its view), ErrBadSignature,
// ErrBadCertificate, ErrStale, ErrDuplicate.
func (c *Core) onTimeout(from ValidatorIndex, t *Timeout) error {
	switch {
	case !c.vals.valid(t.Sender):
		return fmt.Errorf("timeout sender %d: %w", t.Sender, ErrUnknownValidator)
	case t.HighQC.View >= t.View:
		return fmt.Errorf("%w: timeout for view %d with QC of view %d", ErrMalformed, t.View, t.HighQC.View)
	case t.LastTC != nil && t.LastTC.View+1 != t.View:
		return fmt.Errorf("%w: timeout for view %d with TC of view %d", ErrMalformed, t.View, t.LastTC.View)
	case t.HighQC.View+1 != t.View && t.LastTC == nil:
		return fmt.Errorf("%w: timeout for view %d does not prove its view", ErrMalformed, t.View)
	case t.View < c.pm.view:
		return fmt.Errorf("timeout for view %d in view %d: %w", t.View, c.pm.view, ErrStale)
	}
	if !c.cfg.Verify(c.vals.keys[t.Sender], timeoutSignBytes(c.cfg.ChainID, t.View, t.HighQC.View), t.Signature) {
		return fmt.Errorf("timeout by %d: %w", t.Sender, ErrBadSignature)
	}
	if err := c.cert.verifyQC(&t.HighQC); err != nil {
		return err
	}
	if t.LastTC != nil {
		if err := c.cert.verifyTC(t.LastTC); err != nil {
			return err
		}
	}
	c.processQC(&t.HighQC, from)
	if t.LastTC != nil {
		c.processTC(t.LastTC, from)
	}
	c.noteRecovery(t.Sender, t.View)
	return c.collectTimeout(t)
}

// collectTimeout counts t; f+1 timeouts for the current view make this validator
// time out too (one of them is honest), 2f+1 form a TC.
func (c *Core) collectTimeout(t *Timeout) error {
	dup, count, tc := c.timeouts.add(t, c.vals.quorum())
	if dup {
		return fmt.Errorf("timeout by %d for view %d: %w", t.Sender, t.View, ErrDuplicate)
	}
	if tc != nil {
		c.processTC(tc, t.Sender)
		return nil
	}
	if count >= c.vals.weak() && t.View == c.pm.view && c.pm.sent == nil {
		c.localTimeout()
	}
	return nil
}
