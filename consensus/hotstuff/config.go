package hotstuff

import (
	"bytes"
	"errors"
	"fmt"
)

// Config holds what a validator needs to run the core. Every limit has a maximum
// and Validate rejects bad values in plain sentences.
type Config struct {
	ChainID    string   // domain-separates every signature; at most 64 bytes
	Validators [][]byte // genesis public keys, in order; n = 3f+1 is recommended
	Signer     Signer   // this validator's key; must be one of Validators
	Verify     VerifyFunc

	// ValidatePayload vets a proposed payload before the core votes for it (the
	// node verifies transaction signatures there). nil accepts every payload.
	ValidatePayload func(payload []byte) error
	// Storage serves sync requests for blocks the core has pruned; may be nil.
	Storage BlockReader

	GenesisStateHash Hash // state hash before any block (block 0's ExecStateHash)

	ViewTimeoutTicks    int // base timeout of a view, in Tick calls
	ViewTimeoutTicksMax int // cap of the exponential backoff
	// FastTimeoutTicks: a view whose leader the driver reports unreachable
	// (SetUnreachable) times out after this many ticks; 0 never.
	FastTimeoutTicks int
	PayloadBytesMax  int // largest payload accepted, ≤ PayloadBytesMax
	SyncBlocksMax    int // blocks asked for / served per sync message, ≤ SyncBlocksMax
	SyncBytesMax     int // payload bytes served per sync message (at least one block is)
	SyncPipelineMax  int // range requests in flight while catching up
	PendingBlocksMax int // blocks waiting for their parent (sync), bounded
	ViewsAheadMax    int // votes accepted for views up to current+ViewsAheadMax

	// UnsafeCommitRule, for tests only, commits a block as soon as its child is
	// certified, whatever the views (the Fast-HotStuff flaw). The simulator's Twins
	// regression scenario shows that it breaks safety.
	UnsafeCommitRule bool
}

// BlockReader reads blocks the driver has stored, to answer sync requests.
type BlockReader interface {
	Block(hash Hash) (*Block, bool)
	// BlockAt returns the committed block at height (below the core's root).
	BlockAt(height uint64) (*Block, bool)
}

// DefaultConfig fills the limits with sensible values; the caller sets the keys.
func DefaultConfig() Config {
	return Config{
		ViewTimeoutTicks:    10,
		ViewTimeoutTicksMax: 160,
		FastTimeoutTicks:    2,
		PayloadBytesMax:     4 << 20,
		SyncBlocksMax:       64,
		SyncBytesMax:        8 << 20,
		SyncPipelineMax:     4,
		PendingBlocksMax:    4096,
		ViewsAheadMax:       16,
	}
}

// Validate reports the first bad value, in a sentence.
func (c *Config) Validate() error {
	n := len(c.Validators)
	switch {
	case len(c.ChainID) == 0 || len(c.ChainID) > 64:
		return fmt.Errorf("hotstuff config: the chain id must be 1 to 64 bytes, not %d", len(c.ChainID))
	case n == 0 || n > ValidatorsMax:
		return fmt.Errorf("hotstuff config: the validator count must be 1 to %d, not %d", ValidatorsMax, n)
	case c.Signer == nil || c.Verify == nil:
		return errors.New("hotstuff config: a signer and a verify function are required")
	case c.FastTimeoutTicks < 0 || c.FastTimeoutTicks > c.ViewTimeoutTicks:
		return fmt.Errorf("hotstuff config: the fast timeout must be 0 to the view timeout (%d) ticks, not %d", c.ViewTimeoutTicks, c.FastTimeoutTicks)
	case c.ViewTimeoutTicks < 1 || c.ViewTimeoutTicksMax < c.ViewTimeoutTicks:
		return fmt.Errorf("hotstuff config: view timeouts must satisfy 1 ≤ base (%d) ≤ max (%d)", c.ViewTimeoutTicks, c.ViewTimeoutTicksMax)
	case c.PayloadBytesMax < 0 || c.PayloadBytesMax > PayloadBytesMax:
		return fmt.Errorf("hotstuff config: the payload limit must be 0 to %d bytes, not %d", PayloadBytesMax, c.PayloadBytesMax)
	case c.SyncBlocksMax < 1 || c.SyncBlocksMax > SyncBlocksMax:
		return fmt.Errorf("hotstuff config: blocks per sync message must be 1 to %d, not %d", SyncBlocksMax, c.SyncBlocksMax)
	case c.SyncBytesMax < 1 || c.SyncBytesMax > MessageBytesMax/2:
		return fmt.Errorf("hotstuff config: sync bytes per message must be 1 to %d, not %d", MessageBytesMax/2, c.SyncBytesMax)
	case c.SyncPipelineMax < 1 || c.SyncPipelineMax > 64:
		return fmt.Errorf("hotstuff config: range requests in flight must be 1 to 64, not %d", c.SyncPipelineMax)
	case c.PendingBlocksMax < (c.SyncPipelineMax+1)*c.SyncBlocksMax:
		return fmt.Errorf("hotstuff config: the pending block limit (%d) must hold the catch-up window, (range requests in flight + 1) × blocks per sync message = %d",
			c.PendingBlocksMax, (c.SyncPipelineMax+1)*c.SyncBlocksMax)
	case c.ViewsAheadMax < 1 || c.ViewsAheadMax > 1024:
		return fmt.Errorf("hotstuff config: views ahead must be 1 to 1024, not %d", c.ViewsAheadMax)
	}
	if _, ok := c.selfIndex(); !ok {
		return errors.New("hotstuff config: the signer's public key is not in the validator list")
	}
	return nil
}

func (c *Config) selfIndex() (ValidatorIndex, bool) {
	pub := c.Signer.PublicKey()
	for i, v := range c.Validators {
		if bytes.Equal(v, pub) {
			return ValidatorIndex(i), true
		}
	}
	return 0, false
}

// validators answers quorum and leader questions for a fixed genesis set.
type validators struct {
	keys [][]byte
	f    int
}

func newValidators(keys [][]byte) validators {
	return validators{keys: keys, f: (len(keys) - 1) / 3}
}

func (v validators) n() int { return len(v.keys) }

// quorum is 2f+1 for n = 3f+1; for other n it is the smallest count q with
// 2q - n > f, so that two quorums always share an honest validator.
func (v validators) quorum() int { return len(v.keys) - v.f }

// weak is f+1: at least one honest validator among that many.
func (v validators) weak() int { return v.f + 1 }

// leader rotates round-robin by view. Reputation-based rotation is future work.
func (v validators) leader(view uint64) ValidatorIndex {
	return ValidatorIndex(view % uint64(len(v.keys)))
}

func (v validators) valid(i ValidatorIndex) bool { return int(i) < len(v.keys) }
