package ledger

import (
	"testing"

	"settle/internal/testkit"
)

// TestLedgerIsPure: execution is a pure function of (state, block), so the
// package reads no clock, no randomness and does no I/O; genesis_file.go, the
// one edge, reads a genesis file.
func TestLedgerIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{
		Banned:       testkit.DeterministicBans,
		Allowed:      map[string][]string{"genesis_file.go": {"os"}},
		NoGoroutines: true,
	})
}
