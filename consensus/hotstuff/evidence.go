package hotstuff

import "fmt"

// EvidenceKind names a detected misbehaviour.
type EvidenceKind uint8

const (
	// EquivocatingProposal: two different blocks signed by one leader in one view.
	EquivocatingProposal EvidenceKind = iota + 1
	// EquivocatingVote: two votes for different blocks by one validator in one view.
	EquivocatingVote
	// StateDivergence: a block's ExecStateHash differs from this validator's own
	// state hash at that height; either the proposer or this validator diverged.
	StateDivergence
)

func (k EvidenceKind) String() string {
	switch k {
	case EquivocatingProposal:
		return "equivocating-proposal"
	case EquivocatingVote:
		return "equivocating-vote"
	case StateDivergence:
		return "state-divergence"
	}
	return fmt.Sprintf("evidence(%d)", uint8(k))
}

// Evidence is reported in Ready for the driver to log (and, later, to act upon).
// First and Second are the two conflicting signed messages where there are two.
type Evidence struct {
	Kind      EvidenceKind
	Validator ValidatorIndex
	View      uint64
	Height    uint64 // StateDivergence: the executed height in question
	First     Message
	Second    Message
}

func (e Evidence) String() string {
	if e.Kind == StateDivergence {
		return fmt.Sprintf("%s validator=%d height=%d", e.Kind, e.Validator, e.Height)
	}
	return fmt.Sprintf("%s validator=%d view=%d", e.Kind, e.Validator, e.View)
}
