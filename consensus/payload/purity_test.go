package payload

import (
	"testing"

	"settle/internal/testkit"
)

// TestPayloadIsPure: what a leader proposes is a function of the chain and the
// mempool; the driver owns the goroutines and the clock.
func TestPayloadIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{Banned: testkit.DeterministicBans, NoGoroutines: true, NoLocks: true})
}
