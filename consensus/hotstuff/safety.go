package hotstuff

import "fmt"

// SafetyState is what a validator must persist before any vote or timeout leaves
// it. In the 2-chain protocol the lock is HighQC: a validator's highest QC.
type SafetyState struct {
	LastVotedView   uint64 // never vote in a view ≤ this (nor propose)
	LastTimeoutView uint64 // never vote in a view ≤ this; time out only at ≥ this
	HighQC          QC     // highest QC seen: the lock, and the block to extend
	HighTC          *TC    // highest TC seen (liveness only: restores the view)
}

// view is the pacemaker view the state implies: one past the highest certificate.
func (s *SafetyState) view() uint64 {
	v := s.HighQC.View
	if s.HighTC != nil {
		v = max(v, s.HighTC.View)
	}
	return v + 1
}

// safeToVote is DiemBFT v4's rule: a fresh view, and a block that extends either
// the previous view's QC or, after a timeout, a QC at least as high as every QC the
// TC's signers reported. INVARIANT: a validator votes at most once per view.
func (s *SafetyState) safeToVote(b *Block, tc *TC) bool {
	if b.View <= max(s.LastVotedView, s.LastTimeoutView) {
		return false
	}
	if b.QC.View+1 == b.View {
		return true
	}
	return tc != nil && tc.View+1 == b.View && b.QC.View >= tc.MaxHighQCView()
}

// safeToTimeout: never time out a view older than one already voted in (a
// timeout at v reports the high QC; voting at v+1 then timing out at v could hide
// a lock), nor older than a timeout already sent.
func (s *SafetyState) safeToTimeout(view uint64) bool {
	return view >= s.LastVotedView && view >= s.LastTimeoutView
}

// EncodeSafetyState: version u8 | last voted view u64 | last timeout view u64 |
// high QC | has TC u8 | high TC.
func EncodeSafetyState(s *SafetyState) []byte {
	var e encoder
	e.u8(codecVersion)
	e.u64(s.LastVotedView)
	e.u64(s.LastTimeoutView)
	e.qc(&s.HighQC)
	e.optTC(s.HighTC)
	return e.buf
}

// DecodeSafetyState strictly decodes EncodeSafetyState's output.
func DecodeSafetyState(buf []byte) (*SafetyState, error) {
	d := decoder{buf: buf}
	if v := d.u8(); v != codecVersion && d.err == nil {
		d.fail("safety state version %d", v)
	}
	s := &SafetyState{LastVotedView: d.u64(), LastTimeoutView: d.u64(), HighQC: d.qc(), HighTC: d.optTC()}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decode safety state: %w", err)
	}
	return s, nil
}
