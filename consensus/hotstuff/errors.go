package hotstuff

import "errors"

// Errors returned for bad input from other validators. They are harmless: the
// driver logs them (and may count them against the sender) and carries on. Match
// them with errors.Is. Anything else returned by the core is a bug in the driver.
var (
	ErrMalformed        = errors.New("hotstuff: malformed message")
	ErrUnknownValidator = errors.New("hotstuff: unknown validator index")
	ErrBadSignature     = errors.New("hotstuff: bad signature")
	ErrBadCertificate   = errors.New("hotstuff: invalid certificate")
	ErrWrongLeader      = errors.New("hotstuff: proposer is not the view's leader")
	ErrInvalidBlock     = errors.New("hotstuff: invalid block")
	ErrInvalidPayload   = errors.New("hotstuff: invalid payload")
	ErrStale            = errors.New("hotstuff: stale message")
	ErrDuplicate        = errors.New("hotstuff: duplicate message")
	ErrEquivocation     = errors.New("hotstuff: equivocation")
	ErrNotForMe         = errors.New("hotstuff: message not addressed to this validator's role")
	ErrFull             = errors.New("hotstuff: bounded buffer full")
)

// Errors for driver calls made at the wrong moment.
var (
	ErrNotLeader = errors.New("hotstuff: not the leader of this view")
	ErrNoPending = errors.New("hotstuff: no payload was requested for this view")
)
