package hotstuff

import "fmt"

// Ready is the batch of actions the driver performs, in field order, before it
// calls Advance.
type Ready struct {
	// Safety, when non-nil, must be durable before any message is sent.
	Safety *SafetyState
	// Blocks are new verified blocks to store durably (with Safety).
	Blocks []*Block
	// Messages to send after persisting. INVARIANT: every vote, timeout and own
	// proposal here is covered by Safety or by a SafetyState already persisted.
	Messages []Envelope
	// Committed blocks, in height order, to hand to execution.
	Committed []*Block
	// Fetches ask peers for missing blocks (send f.Request() to f.From).
	Fetches []Fetch
	// NeedPayload asks the driver for a payload; answer with Propose.
	NeedPayload *PayloadRequest
	// Evidence of misbehaviour, for the log.
	Evidence []Evidence
	// ExecLookup, when non-zero, asks the driver for this validator's own state
	// hash at that executed height, which the core no longer remembers (a
	// restart, or a claim over execKeptMax heights old): the driver answers
	// with ExecutedState(height, hash) after Advance, from its record of
	// executed blocks, or not at all if it has none. A vote waits for it.
	ExecLookup uint64
}

// Envelope addresses a message to one validator, or to every other one.
type Envelope struct {
	To        ValidatorIndex
	Broadcast bool
	Msg       Message
}

// Fetch asks validator From for the block Hash and its ancestors.
type Fetch struct {
	From     ValidatorIndex
	Hash     Hash
	CountMax uint16
}

// Request is the SyncRequest to send for f.
func (f Fetch) Request() *SyncRequest { return &SyncRequest{Hash: f.Hash, CountMax: f.CountMax} }

// PayloadRequest says this validator leads View and will build block Height on
// Parent once the driver calls Propose(View, payload).
type PayloadRequest struct {
	View   uint64
	Height uint64
	Parent Hash
}

// IsEmpty reports whether r asks for nothing.
func (r *Ready) IsEmpty() bool {
	return r.Safety == nil && len(r.Blocks) == 0 && len(r.Messages) == 0 && len(r.Committed) == 0 &&
		len(r.Fetches) == 0 && r.NeedPayload == nil && len(r.Evidence) == 0 && r.ExecLookup == 0
}

// checkCovered panics if a message would leave before the safety state allowing
// it is durable: the one ordering rule that keeps a crashed validator honest.
func checkCovered(r *Ready, persisted *SafetyState, self ValidatorIndex) {
	covered := persisted
	if r.Safety != nil {
		covered = r.Safety
	}
	for _, env := range r.Messages {
		var ok bool
		switch m := env.Msg.(type) {
		case *Vote:
			ok = m.Voter != self || covered.LastVotedView >= m.View
		case *Timeout:
			ok = m.Sender != self || covered.LastTimeoutView >= m.View
		case *Proposal:
			ok = m.Block.Proposer != self || covered.LastVotedView >= m.Block.View
		default:
			ok = true
		}
		if !ok {
			panic(fmt.Sprintf("hotstuff: %T would be sent before the safety state allowing it is persisted", env.Msg))
		}
	}
}
